package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/packager"
)

// cabExtractReport is `cab extract`.
type cabExtractReport struct {
	cli.Status
	cli.Subject
	Directory string           `json:"directory"`
	Files     []packager.Entry `json:"files,omitempty"`
}

func newCabExtractCmd(o *cli.Output) *cobra.Command {
	var dir string
	var maxBytes int64
	cmd := &cobra.Command{
		Use:   "extract CAB [-C DIR]",
		Short: "Extract a cabinet's files into a directory, refusing unsafe names and overwrites",
		Args:  cli.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep := &cabExtractReport{Subject: cli.Subject{File: args[0]}, Directory: dir}
			c, err := packager.OpenFile(args[0], packager.WithMaxUncompressed(maxBytes))
			if err == nil {
				defer c.Close()
				rep.Files, err = c.Extract(cmd.Context(), dir)
				if errors.Is(err, packager.ErrTooLarge) {
					err = fmt.Errorf("%w (--max-bytes %d: raise it to extract this cabinet)", err, maxBytes)
				}
			}
			return cli.Single(o, rep, err, func(w io.Writer, r *cabExtractReport) error {
				for _, f := range r.Files {
					if _, err := fmt.Fprintln(w, f.Name); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&dir, "directory", "C", ".", "extract into `DIR` (created if missing)")
	cmd.Flags().Int64Var(&maxBytes, "max-bytes", packager.DefaultMaxUncompressed, "refuse to decompress more than `N` bytes")
	return cmd
}
