package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cmd/internal/cli"
)

// Exit statuses, the CLI contract's (see "Output and exit status" in the
// README).
const (
	exitOK     = cli.ExitOK
	exitFailed = cli.ExitFailed
	exitUsage  = cli.ExitUsage
)

// buildVersion is stamped by `make build` (see hack/version.sh).
var buildVersion string

// Execute runs the agent's command line with args and returns the exit
// status: the testable entry point; main adds os.Args and the signals.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := &cli.App{
		Name:    "devupdate-agent",
		Short:   "Find, fetch, verify and install the updates meant for this device",
		Version: cli.Version(buildVersion),
		Codes:   codes,
		Commands: func(o *cli.Output) []*cobra.Command {
			return []*cobra.Command{newScanCmd(o), newInstallCmd(o), newRunCmd(o), newStatusCmd(o), newVersionCmd(o)}
		},
	}
	return app.Execute(ctx, args, stdout, stderr)
}
