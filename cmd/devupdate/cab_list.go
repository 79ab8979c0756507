package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/packager"
)

// cabListReport is `cab list`.
type cabListReport struct {
	cli.Status
	cli.Subject
	// CabinetSize is CFHEADER.cbCabinet: the cabinet without its signature.
	CabinetSize int64                   `json:"cabinet_size,omitempty"`
	Signature   *packager.SignatureInfo `json:"signature,omitempty"`
	Folders     []packager.FolderInfo   `json:"folders,omitempty"`
	Files       []packager.Entry        `json:"files,omitempty"`
}

func newCabListCmd(o *cli.Output) *cobra.Command {
	return &cobra.Command{
		Use:   "list CAB",
		Short: "List the files in a cabinet",
		Args:  cli.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep := &cabListReport{Subject: cli.Subject{File: args[0]}}
			c, err := packager.OpenFile(args[0])
			if err == nil {
				defer c.Close()
				sig := c.Signature()
				rep.CabinetSize, rep.Signature, rep.Folders, rep.Files = c.Size(), &sig, c.Folders(), c.Files()
			}
			return cli.Single(o, rep, err, func(w io.Writer, l *cabListReport) error {
				for _, f := range l.Files {
					if _, err := fmt.Fprintf(w, "%12d  %s  %s\n", f.Size, f.Modified.Format("2006-01-02 15:04:05"), f.Name); err != nil {
						return err
					}
				}
				signed := "unsigned"
				if l.Signature.Size > 0 {
					signed = fmt.Sprintf("signed (%d-byte signature)", l.Signature.Size)
				}
				_, err := fmt.Fprintf(w, "%d files, %d folders, %d bytes, %s\n", len(l.Files), len(l.Folders), l.CabinetSize, signed)
				return err
			})
		},
	}
}
