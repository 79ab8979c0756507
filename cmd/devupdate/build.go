package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/manifest/build"
)

func newBuildCmd(g *globalOptions) *cobra.Command {
	var outDir string
	cmd := &cobra.Command{
		Use:   "build update.yaml... [-o DIR]",
		Short: "Check update manifests and write their cabinets",
		Long: `Check each update.yaml (every problem of every file is printed as
FILE:LINE:COL: FIELD: RULE, exit status 1, and nothing is written), then write
one cabinet per manifest to DIR as <name>_<version>.cab: the payload files and
the canonical update.json, deterministic (file times from SOURCE_DATE_EPOCH or
a fixed default). An existing cabinet with the same bytes is left as it is; a
different one is never overwritten (exit status 1). Reports path, size and
SHA-256 of each cabinet; with --output json an object, or a list when several
manifests are given.`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if outDir == "" {
				return usageErrorf("-o needs a directory")
			}
			results, err := build.Manifests(cmd.Context(), args, outDir)
			if problem.As(err) != nil {
				return printProblems(cmd, g, err)
			}
			out := cmd.OutOrStdout()
			if g.json() {
				var v any = results
				if len(args) == 1 && len(results) == 1 {
					v = results[0]
				}
				if results == nil {
					v = []*build.Result{}
				}
				if werr := writeJSON(out, v); werr != nil {
					return werr
				}
			} else {
				for _, r := range results {
					state := "wrote"
					if r.Existed {
						state = "unchanged"
					}
					fmt.Fprintf(out, "%s %s (%d bytes, sha256 %s)\n", state, r.Path, r.Size, r.SHA256)
				}
			}
			return err
		},
	}
	cmd.Flags().StringVarP(&outDir, "out-dir", "o", ".", "directory to write the cabinets to (created if missing)")
	return cmd
}
