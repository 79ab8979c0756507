package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cmd/internal/cli"
)

// buildVersion is stamped by `make build` (-ldflags "-X main.buildVersion=…",
// from git describe: see hack/version.sh).
var buildVersion string

// version is the stamped version; else the module version (go install
// …@vX.Y.Z); else the VCS revision the go command recorded; else "devel".
func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	return versionOf(bi)
}

func versionOf(bi *debug.BuildInfo) string {
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		return "devel-" + rev + dirty
	}
	return "devel"
}

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
			return cli.Single(o, &versionReport{Version: version(), Go: runtime.Version()}, nil, func(w io.Writer, r *versionReport) error {
				_, err := fmt.Fprintf(w, "devupdate %s (%s)\n", r.Version, r.Go)
				return err
			})
		},
	}
}
