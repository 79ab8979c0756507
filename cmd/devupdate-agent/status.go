package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/internal/agent"
	"github.com/devupdate/devupdate/smbios"
)

// statusReport is `status`: the SMBIOS fields and CHIDs, and with a
// configuration the agent's state.
type statusReport struct {
	cli.Status
	Source              string `json:"source,omitempty"`
	*smbios.Report             // nil when the source could not be read
	*agent.DeviceStatus        // nil without a configuration
}

func newStatusCmd(o *cli.Output) *cobra.Command {
	var af agentFlags
	c := &cobra.Command{
		Use:   "status [--config FILE] [--smbios FILE]",
		Short: "Show the device: its SMBIOS and CHIDs, identity, ring, what is installed, the last scan",
		Long: `Shows the SMBIOS fields the device's CHIDs come from, and the CHIDs, which
decide what updates are meant for it. Without --smbios the running machine is
read: on Windows GetSystemFirmwareTable('RSMB'), on Linux
/sys/firmware/dmi/tables (root), else /sys/class/dmi/id. --smbios reads a
dmidecode --dump-bin FILE or a JSON fields FILE instead (for tests).
With a configuration (--config, $` + EnvConfig + `, or the default file when it
exists) it also shows the device id and where it comes from, the ring and
product CHID, what is installed (by the agent, or the base inventory), an
install in progress, failures, the last scan and the reports. It touches no
network and changes nothing (but makes the generated identity if there is
none yet).
--output json: {"ok", "source", "smbios_version", "fields", "chids", and with a
configuration "device", "ring", "installed", "attempt", "failures",
"last_scan", "reports_pending", "last_report"}.`,
		Args: cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, asked, err := af.path(cmd)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("smbios") && af.over.SMBIOS == "" {
				return cli.Usagef("--smbios needs a path")
			}
			rep := &statusReport{}
			var info *smbios.Info
			if _, serr := os.Stat(path); !asked && errors.Is(serr, fs.ErrNotExist) {
				// No agent configuration: the SMBIOS part only.
				if af.over.SMBIOS != "" {
					info, err = smbios.ReadFile(cmd.Context(), af.over.SMBIOS)
				} else {
					info, err = smbios.ReadRunningMachine(cmd.Context(), "")
				}
			} else {
				var a *agent.Agent
				if a, err = af.open(cmd, quiet()); err == nil {
					info = a.Device().Info
					rep.DeviceStatus, err = a.Status(cmd.Context())
				}
			}
			if info != nil {
				// A failure leaves out the report (no empty fields).
				r := smbios.NewReport(info)
				rep.Source, rep.Report = info.Source, &r
			}
			return cli.Single(o, rep, err, func(w io.Writer, r *statusReport) error {
				if err := smbios.WriteText(w, info); err != nil {
					return err
				}
				return writeStatus(w, r.DeviceStatus)
			})
		},
	}
	af.register(c)
	return c
}

func writeStatus(w io.Writer, s *agent.DeviceStatus) error {
	if s == nil {
		return nil
	}
	t := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	fmt.Fprintf(w, "\nDevice\n------\n\n")
	fmt.Fprintf(w, "\tid: %s (%s)\n\tring: %s\n\tproduct CHID: %s\n", s.Device.ID, s.Device.IDSource, s.Ring, s.Device.Product)
	fmt.Fprintf(w, "\nInstalled\n---------\n\n")
	for _, p := range s.Installed {
		fmt.Fprintf(w, "\t%s %s (%s", p.Name, p.Version, p.Source)
		if p.Ring != "" {
			fmt.Fprintf(w, ", %s", p.Ring)
		}
		if p.InstalledAt != nil {
			fmt.Fprintf(w, ", %s", t(*p.InstalledAt))
		}
		if p.PendingReboot {
			fmt.Fprint(w, ", pending a reboot")
		}
		fmt.Fprintln(w, ")")
	}
	if len(s.Installed) == 0 {
		fmt.Fprintln(w, "\tnothing")
	}
	if a := s.Attempt; a != nil {
		fmt.Fprintf(w, "\nIn progress: %s %s (%s since %s)\n", a.Name, a.Version, a.Phase, t(a.Started))
	}
	keys := make([]string, 0, len(s.Failures))
	for k := range s.Failures {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		f := s.Failures[k]
		fmt.Fprintf(w, "\nFailed %d times: %s (last %s: %s)\n", f.Count, k, t(f.Last), f.Message)
	}
	if l := s.LastScan; l != nil {
		if l.OK {
			fmt.Fprintf(w, "\nLast scan: %s, ring %s, %d applicable (targets version %d)\n", t(l.Time), l.Ring, l.Offered, l.TargetsVersion)
		} else {
			fmt.Fprintf(w, "\nLast scan: %s, ring %s, failed: %s: %s\n", t(l.Time), l.Ring, l.Code, l.Message)
		}
	} else {
		fmt.Fprintln(w, "\nLast scan: never")
	}
	fmt.Fprintf(w, "Reports not sent: %d\n", s.ReportsPending)
	if r := s.LastReport; r != nil {
		fmt.Fprintf(w, "Last report: %s %s %s at %s\n", r.Name, r.Version, r.Outcome, t(r.Finished))
	}
	return nil
}
