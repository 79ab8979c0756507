package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cmd/internal/cli"
)

// Execute runs the devupdate command line with args and returns the process
// exit status (see cli.App.Execute). It is the testable entry point: main
// only adds os.Args and the signal-aware context.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return newApp().Execute(ctx, args, stdout, stderr)
}

func newApp() *cli.App {
	return &cli.App{
		Name:    "devupdate",
		Short:   "Validate, package, sign, publish and flight device updates",
		Version: cli.Version(buildVersion),
		Codes:   codes,
		Commands: func(o *cli.Output) []*cobra.Command {
			return []*cobra.Command{
				newVersionCmd(o),
				newSmbiosCmd(o),
				newProductCmd(o),
				newBuildCmd(o),
				newManifestCmd(o),
				newCabCmd(o),
				newKeysCmd(o),
				newSignCmd(o),
				newVerifyCmd(o),
				newPublishCmd(o),
				newServeCmd(o),
				newFlightCmd(o),
			}
		},
	}
}
