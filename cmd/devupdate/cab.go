package main

import "github.com/spf13/cobra"

// newCabCmd groups the cabinet commands.
func newCabCmd(g *globalOptions) *cobra.Command {
	return newGroupCmd("cab", "Create, list, test and extract Microsoft cabinets",
		newCabCreateCmd(g), newCabListCmd(g), newCabTestCmd(g), newCabExtractCmd(g))
}
