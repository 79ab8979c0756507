package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/packager"
)

// cabTestReport is `cab test`.
type cabTestReport struct {
	cli.Status
	cli.Subject
	FileCount   int `json:"file_count,omitempty"`
	FolderCount int `json:"folder_count,omitempty"`
}

// testCabinet opens and tests the cabinet in r.File.
func testCabinet(ctx context.Context, r *cabTestReport) error {
	c, err := packager.OpenFile(r.File)
	if err != nil {
		return err
	}
	defer c.Close()
	r.FileCount, r.FolderCount = len(c.Files()), len(c.Folders())
	return c.Test(ctx)
}

func newCabTestCmd(o *cli.Output) *cobra.Command {
	return &cobra.Command{
		Use:   "test CAB",
		Short: "Check a cabinet's structure, CFDATA checksums and compressed data",
		Args:  cli.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			r := &cabTestReport{Subject: cli.Subject{File: args[0]}}
			err := testCabinet(cmd.Context(), r)
			return cli.Single(o, r, err, func(w io.Writer, r *cabTestReport) error {
				_, err := fmt.Fprintf(w, "%s: OK (%d files, %d folders)\n", r.File, r.FileCount, r.FolderCount)
				return err
			})
		},
	}
}
