package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/manifest/build"
)

// buildResult is one update.yaml in `build`.
type buildResult struct {
	cli.Item
	Cabinet *cabinetFile `json:"cabinet,omitempty"`
}

// cabinetFile is a cabinet a command wrote or found in place.
type cabinetFile struct {
	File   string `json:"file"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// State is "written", or "unchanged" for the same cabinet already
	// there (signed or not).
	State string `json:"state"`
}

func newBuildCmd(o *cli.Output) *cobra.Command {
	var outDir string
	cmd := &cobra.Command{
		Use:   "build update.yaml... [-o DIR]",
		Short: "Check update manifests and write their cabinets",
		Long: `Check each update.yaml (every problem of every file is printed as
FILE:LINE:COL: FIELD: RULE, exit status 1, and nothing is written), then write
one cabinet per manifest to DIR as <name>_<version>.cab: the payload files and
the canonical update.json, deterministic (file times from SOURCE_DATE_EPOCH or
a fixed default). An existing cabinet with the same bytes is left as it is; a
different one is never overwritten (exit status 1). Reports the path, size
and SHA-256 of each cabinet.`,
		Args: cli.Args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if outDir == "" {
				return cli.Usagef("-o needs a directory")
			}
			results, err := build.Manifests(cmd.Context(), args, outDir)
			items := make([]*buildResult, len(results))
			for i, r := range results {
				items[i] = &buildResult{Item: cli.Item{File: r.Manifest, Err: r.Err}}
				if r.Err == nil {
					state := "written"
					if r.Existed {
						state = "unchanged"
					}
					items[i].Cabinet = &cabinetFile{File: r.Path, Size: r.Size, SHA256: r.SHA256, State: state}
				}
			}
			return cli.Batch(o, items, err, func(w io.Writer, r *buildResult) error {
				c := r.Cabinet
				_, err := fmt.Fprintf(w, "%s %s (%d bytes, sha256 %s)\n", c.State, c.File, c.Size, c.SHA256)
				return err
			})
		},
	}
	cmd.Flags().StringVarP(&outDir, "out-dir", "o", ".", "write the cabinets to `DIR` (created if missing)")
	return cmd
}
