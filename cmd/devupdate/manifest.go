package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/manifest"
)

func newManifestCmd(o *cli.Output) *cobra.Command {
	return cli.Group("manifest", "Check update manifests (update.yaml)",
		newManifestValidateCmd(o))
}

// manifestResult is one update.yaml in `manifest validate`.
type manifestResult struct {
	cli.Item
	// Update is the update.json the manifest becomes.
	Update json.RawMessage `json:"update,omitempty"`
	u      *manifest.Update
}

func newManifestValidateCmd(o *cli.Output) *cobra.Command {
	return &cobra.Command{
		Use:   "validate update.yaml...",
		Short: "Check update manifests without writing anything",
		Long: `Check each update.yaml as devupdate build does (names, kinds, versions,
targets from the products, requirements, file globs and cabinet paths, the
driver's .inf and the files it names, the app's package, the OS build) and
print every problem as FILE:LINE:COL: FIELD: RULE (exit status 1). With
--output json, each result carries the update.json the manifest becomes.`,
		Args: cli.Args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			updates, err := manifest.LoadAll(cmd.Context(), args)
			probs := problem.As(err)
			if err != nil && probs == nil {
				return err
			}
			items := make([]*manifestResult, len(args))
			for i, file := range args {
				r := &manifestResult{Item: cli.Item{File: file, Err: probs.Of(file)}, u: updates[i]}
				if r.Err == nil && r.u == nil {
					r.Err = fmt.Errorf("%s: %w in the files it refers to", file, problem.ErrInvalid)
				}
				if r.u != nil {
					if r.Update, r.Err = r.u.MarshalJSON(); r.Err != nil {
						return r.Err
					}
				}
				items[i] = r
			}
			return cli.Batch(o, items, err, func(w io.Writer, r *manifestResult) error {
				_, err := fmt.Fprintf(w, "%s: %s %s (%s): ok, %d file(s), %d target(s)\n",
					r.File, r.u.Name, r.u.Version, r.u.Kind, len(r.u.Files), len(r.u.Targets))
				return err
			})
		},
	}
}
