package main

import (
	"fmt"

	"github.com/devupdate/devupdate/packager"
	"github.com/spf13/cobra"
)

type cabExtractReport struct {
	Cabinet   string           `json:"cabinet"`
	Directory string           `json:"directory"`
	Files     []packager.Entry `json:"files"`
}

func newCabExtractCmd(g *globalOptions) *cobra.Command {
	var dir string
	var maxBytes int64
	cmd := &cobra.Command{
		Use:   "extract CAB",
		Short: "Extract a cabinet's files into a directory, refusing unsafe names and overwrites",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := packager.OpenFile(args[0], packager.WithMaxUncompressed(maxBytes))
			if err != nil {
				return err
			}
			defer c.Close()
			files, err := c.Extract(cmd.Context(), dir)
			if err != nil {
				return err
			}
			if g.json() {
				return writeJSON(cmd.OutOrStdout(), cabExtractReport{Cabinet: args[0], Directory: dir, Files: files})
			}
			for _, f := range files {
				if _, err := fmt.Fprintln(cmd.OutOrStdout(), f.Name); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&dir, "directory", "C", ".", "directory to extract into (created if missing)")
	cmd.Flags().Int64Var(&maxBytes, "max-bytes", packager.DefaultMaxUncompressed, "refuse to decompress more than this many bytes")
	return cmd
}
