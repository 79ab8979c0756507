package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cmd/internal/cli"
)

type versionReport struct {
	cli.Status
	Version  string `json:"version"`
	Platform string `json:"platform"`
}

func newVersionCmd(o *cli.Output) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the agent's version",
		Args:  cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep := &versionReport{Version: cli.Version(buildVersion), Platform: runtime.GOOS + "/" + runtime.GOARCH}
			return cli.Single(o, rep, nil, func(w io.Writer, r *versionReport) error {
				_, err := fmt.Fprintf(w, "devupdate-agent %s %s\n", r.Version, r.Platform)
				return err
			})
		},
	}
}
