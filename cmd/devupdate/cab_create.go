package main

import (
	"fmt"

	"github.com/devupdate/devupdate/packager"
	"github.com/spf13/cobra"
)

type cabCreateReport struct {
	Path string `json:"path"`
	*packager.Result
}

func newCabCreateCmd(g *globalOptions) *cobra.Command {
	var compression string
	var noReserve bool
	cmd := &cobra.Command{
		Use:   "create CAB DIR",
		Short: "Package every file under DIR into a deterministic cabinet (SOURCE_DATE_EPOCH sets the file times)",
		Args:  usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			var c packager.Compression
			switch compression {
			case "mszip":
				c = packager.MSZIP
			case "none":
				c = packager.None
			default:
				return usageErrorf("--compression must be mszip or none, not %q", compression)
			}
			files, err := packager.DirFiles(args[1])
			if err != nil {
				return err
			}
			res, err := packager.WriteFile(cmd.Context(), args[0], files,
				packager.WithCompression(c), packager.WithSignatureReserve(!noReserve))
			if err != nil {
				return err
			}
			if g.json() {
				return writeJSON(cmd.OutOrStdout(), cabCreateReport{Path: args[0], Result: res})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: %d files, %d bytes, sha256 %s\n", args[0], res.Files, res.Size, res.SHA256)
			return err
		},
	}
	cmd.Flags().StringVar(&compression, "compression", "mszip", "mszip or none")
	cmd.Flags().BoolVar(&noReserve, "no-signature-reserve", false, "do not reserve header space for an Authenticode signature")
	return cmd
}
