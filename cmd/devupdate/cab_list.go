package main

import (
	"fmt"

	"github.com/devupdate/devupdate/packager"
	"github.com/spf13/cobra"
)

type cabListing struct {
	Cabinet   string                 `json:"cabinet"`
	Size      int64                  `json:"size"`
	Signature packager.SignatureInfo `json:"signature"`
	Folders   []packager.FolderInfo  `json:"folders"`
	Files     []packager.Entry       `json:"files"`
}

func newCabListCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "list CAB",
		Short: "List the files in a cabinet",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := packager.OpenFile(args[0])
			if err != nil {
				return err
			}
			defer c.Close()
			l := cabListing{Cabinet: args[0], Size: c.Size(), Signature: c.Signature(), Folders: c.Folders(), Files: c.Files()}
			if g.json() {
				return writeJSON(cmd.OutOrStdout(), l)
			}
			w := cmd.OutOrStdout()
			for _, f := range l.Files {
				if _, err := fmt.Fprintf(w, "%12d  %s  %s\n", f.Size, f.Modified.Format("2006-01-02 15:04:05"), f.Name); err != nil {
					return err
				}
			}
			signed := "unsigned"
			if l.Signature.Size > 0 {
				signed = fmt.Sprintf("signed (%d-byte signature)", l.Signature.Size)
			}
			_, err = fmt.Fprintf(w, "%d files, %d folders, %d bytes, %s\n", len(l.Files), len(l.Folders), l.Size, signed)
			return err
		},
	}
}
