package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cmd/internal/cli"
)

// buildVersion is stamped by `make build` (-ldflags "-X main.buildVersion=…",
// from git describe: see hack/version.sh).
var buildVersion string

type versionReport struct {
	cli.Status
	Version string `json:"version"`
	Go      string `json:"go"`
}

func newVersionCmd(o *cli.Output) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the devupdate version",
		Args:  cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cli.Single(o, &versionReport{Version: cli.Version(buildVersion), Go: runtime.Version()}, nil, func(w io.Writer, r *versionReport) error {
				_, err := fmt.Fprintf(w, "devupdate %s (%s)\n", r.Version, r.Go)
				return err
			})
		},
	}
}
