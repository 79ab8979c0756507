package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func newVersionCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the agent's version",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			v := "(devel)"
			if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
				v = bi.Main.Version
			}
			platform := runtime.GOOS + "/" + runtime.GOARCH
			if g.json() {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"ok": true, "version": v, "platform": platform})
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "devupdate-agent %s %s\n", v, platform)
			return err
		},
	}
}
