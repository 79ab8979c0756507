package main

import (
	"context"
	"fmt"

	"github.com/devupdate/devupdate/packager"
	"github.com/spf13/cobra"
)

type cabTestReport struct {
	Cabinet string `json:"cabinet"`
	OK      bool   `json:"ok"`
	Files   int    `json:"files"`
	Folders int    `json:"folders"`
	Error   string `json:"error,omitempty"`
}

// testCabinet opens and tests path; the error is the cabinet's problem.
func testCabinet(ctx context.Context, path string) (cabTestReport, error) {
	r := cabTestReport{Cabinet: path}
	c, err := packager.OpenFile(path)
	if err != nil {
		return r, err
	}
	defer c.Close()
	r.Files, r.Folders = len(c.Files()), len(c.Folders())
	return r, c.Test(ctx)
}

func newCabTestCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "test CAB",
		Short: "Check a cabinet's structure, CFDATA checksums and compressed data",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := testCabinet(cmd.Context(), args[0])
			r.OK = err == nil
			if err != nil {
				r.Error = err.Error()
			}
			if g.json() {
				if jerr := writeJSON(cmd.OutOrStdout(), r); jerr != nil {
					return jerr
				}
				if err != nil {
					return &reportedError{err}
				}
				return nil
			}
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: OK (%d files, %d folders)\n", r.Cabinet, r.Files, r.Folders)
			return err
		},
	}
}
