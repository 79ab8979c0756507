package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/manifest"
)

func newManifestCmd(g *globalOptions) *cobra.Command {
	return newGroupCmd("manifest", "Check update manifests (update.yaml)",
		newManifestValidateCmd(g))
}

func newManifestValidateCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "validate update.yaml...",
		Short: "Check update manifests without writing anything",
		Long: `Check each update.yaml as devupdate build does (names, kinds, versions,
targets from the products, requirements, file globs and cabinet paths, the
driver's .inf and the files it names, the app's package, the OS build) and
print every problem as FILE:LINE:COL: FIELD: RULE (exit status 1). With
--output json, {"valid": true, "updates": [the update.json of each]}.`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			updates, err := manifest.LoadAll(cmd.Context(), args)
			if err != nil {
				return printProblems(cmd, g, err)
			}
			out := cmd.OutOrStdout()
			if g.json() {
				docs := make([]json.RawMessage, len(updates))
				for i, u := range updates {
					if docs[i], err = u.MarshalJSON(); err != nil {
						return err
					}
				}
				return writeJSON(out, struct {
					Valid   bool              `json:"valid"`
					Updates []json.RawMessage `json:"updates"`
				}{true, docs})
			}
			for i, u := range updates {
				fmt.Fprintf(out, "%s: %s %s (%s): ok, %d file(s), %d target(s)\n",
					args[i], u.Name, u.Version, u.Kind, len(u.Files), len(u.Targets))
			}
			return nil
		},
	}
}
