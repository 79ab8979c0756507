package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/internal/agent"
	"github.com/devupdate/devupdate/internal/agent/report"
)

// installReport is `install`.
type installReport struct {
	cli.Status
	Device *agent.Device `json:"device,omitempty"`
	*agent.InstallResult
}

func newInstallCmd(o *cli.Output) *cobra.Command {
	var af agentFlags
	c := &cobra.Command{
		Use:   "install [--config FILE]",
		Short: "Scan, then download, verify and install what applies, in dependency order",
		Long: `Scans (see scan), then for each update that applies, in dependency order:
downloads it into the state directory (resumed after a drop; bounded by and
checked against the length and SHA-256 of the signed metadata), verifies its
Authenticode signature (EV, the OEM's roots, one of the configured subjects; an
OS update's vendor packages against the vendor's roots), checks that it is the
update the metadata names, extracts it safely and runs its kind's handler. Each
step is recorded crash-safely; an install a crash interrupted is finished first.
Each attempt is reported to the state directory and, with report_url, POSTed
after the installs. Exit status 1 when an update failed.
--output json: {"ok", "device", "scan", "installations": [{"name", "version",
"kind", "outcome", "error", "report", "handler"}], "reports_sent",
"reports_pending"}; outcome is installed, pending_reboot, already_installed,
failed or abandoned.`,
		Args: cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := af.open(cmd, quiet())
			if err != nil {
				return err
			}
			res, err := a.Install(cmd.Context())
			rep := &installReport{Device: a.Device(), InstallResult: res}
			if err == nil {
				err = failures(res)
			}
			if !o.JSON() && res != nil {
				// What succeeded is printed even when something failed.
				if werr := writeInstall(o.Stdout, rep); werr != nil {
					return werr
				}
				for _, i := range res.Installations {
					if i.Err != nil {
						fmt.Fprintf(o.Stderr, "%s %s: %s\n", i.Name, i.Version, i.Err)
					}
				}
			}
			return cli.Single(o, rep, err, func(io.Writer, *installReport) error { return nil })
		},
	}
	af.register(c)
	return c
}

// failures is the run's error when updates failed: the first one's error
// (its code is the report's) with how many failed.
func failures(res *agent.InstallResult) error {
	var first error
	n := 0
	for _, i := range res.Installations {
		if i.Outcome == report.Failed || i.Outcome == report.Abandoned {
			n++
			if first == nil {
				first = i.Err
			}
		}
	}
	if n == 0 {
		return nil
	}
	return &failedError{n: n, total: len(res.Installations), first: first}
}

type failedError struct {
	n, total int
	first    error
}

func (e *failedError) Error() string {
	return fmt.Sprintf("%d of %d updates failed; first: %v", e.n, e.total, e.first)
}

func (e *failedError) Unwrap() error { return e.first }

func writeInstall(w io.Writer, r *installReport) error {
	if r.Scan != nil && len(r.Installations) == 0 {
		fmt.Fprintf(w, "nothing to install (ring %s, targets version %d)\n", r.Scan.Ring, r.Scan.TargetsVersion)
	}
	for _, i := range r.Installations {
		if i.Err == nil {
			fmt.Fprintf(w, "%-17s %s %s\n", i.Outcome, i.Name, i.Version)
		}
	}
	if r.ReportsPending > 0 {
		fmt.Fprintf(w, "%d reports not sent yet\n", r.ReportsPending)
	}
	return nil
}
