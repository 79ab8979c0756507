package main

import (
	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cmd/internal/cli"
)

// newCabCmd groups the cabinet commands.
func newCabCmd(o *cli.Output) *cobra.Command {
	return cli.Group("cab", "Create, list, test and extract Microsoft cabinets",
		newCabCreateCmd(o), newCabListCmd(o), newCabTestCmd(o), newCabExtractCmd(o))
}
