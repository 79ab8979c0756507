package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/packager"
)

// cabCreateReport is `cab create`.
type cabCreateReport struct {
	cli.Status
	cli.Subject
	Directory   string `json:"directory"`
	Size        int64  `json:"size,omitempty"`
	SHA256      string `json:"sha256,omitempty"`
	FileCount   int    `json:"file_count,omitempty"`
	FolderCount int    `json:"folder_count,omitempty"`
}

func newCabCreateCmd(o *cli.Output) *cobra.Command {
	var compression string
	var noReserve bool
	cmd := &cobra.Command{
		Use:   "create CAB DIR",
		Short: "Package every file under DIR into a deterministic cabinet (SOURCE_DATE_EPOCH sets the file times)",
		Long: `Package every regular file under DIR, sorted by name, into the cabinet CAB.
The same input and SOURCE_DATE_EPOCH give the same bytes. CAB is written to a
temporary file and then linked into place: an existing CAB is never
overwritten (exit status 1).`,
		Args: cli.Args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			var c packager.Compression
			switch compression {
			case "mszip":
				c = packager.MSZIP
			case "none":
				c = packager.None
			default:
				return cli.Usagef("--compression must be mszip or none, not %q", compression)
			}
			rep := &cabCreateReport{Subject: cli.Subject{File: args[0]}, Directory: args[1]}
			files, err := packager.DirFiles(args[1])
			if err == nil {
				var res *packager.Result
				res, err = packager.WriteFile(cmd.Context(), args[0], files,
					packager.WithCompression(c), packager.WithSignatureReserve(!noReserve))
				if err == nil {
					rep.Size, rep.SHA256, rep.FileCount, rep.FolderCount = res.Size, res.SHA256, res.Files, res.Folders
				}
			}
			return cli.Single(o, rep, err, func(w io.Writer, r *cabCreateReport) error {
				_, err := fmt.Fprintf(w, "%s: %d files, %d bytes, sha256 %s\n", r.File, r.FileCount, r.Size, r.SHA256)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&compression, "compression", "mszip", "`METHOD`: mszip or none")
	cmd.Flags().BoolVar(&noReserve, "no-signature-reserve", false, "do not reserve header space for an Authenticode signature")
	return cmd
}
