package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func newVersionCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the devupdate version",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			v := "(devel)"
			if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
				v = bi.Main.Version
			}
			if g.json() {
				return writeJSON(cmd.OutOrStdout(), map[string]string{"version": v})
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "devupdate %s\n", v)
			return err
		},
	}
}
