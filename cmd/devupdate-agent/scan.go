package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/internal/agent"
)

// scanReport is `scan`.
type scanReport struct {
	cli.Status
	Device *agent.Device `json:"device,omitempty"`
	*agent.ScanResult
}

func newScanCmd(o *cli.Output) *cobra.Command {
	var af agentFlags
	c := &cobra.Command{
		Use:   "scan [--config FILE]",
		Short: "Refresh the ring's signed catalog and say which updates apply to this device, and why not",
		Long: `Refreshes the device's ring repository for its product (TUF, from the shipped
root.json) and decides, for every update in it, whether it applies: a target
CHID matches, requirements are met by what is installed (or by an update of the
same scan, installed first), the version is higher than the installed one
(lower only for an update marked as a downgrade), the device is inside the
rollout, the update is neither paused nor halted. Nothing is downloaded.
--output json: {"ok", "device", "ring", "product_chid", "repository",
"targets_version", "updates": [{"name", "version", "kind", "target", "sha256",
"length", "applies", "reason", "message", "rollout", "after"}]}.`,
		Args: cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := af.open(cmd, quiet())
			if err != nil {
				return err
			}
			res, err := a.Scan(cmd.Context())
			return cli.Single(o, &scanReport{Device: a.Device(), ScanResult: res}, err, writeScan)
		},
	}
	af.register(c)
	return c
}

func writeScan(w io.Writer, r *scanReport) error {
	s := r.ScanResult
	fmt.Fprintf(w, "ring %s, product %s (targets version %d)\n", s.Ring, s.Product, s.TargetsVersion)
	if len(s.Updates) == 0 {
		fmt.Fprintln(w, "  no updates in the ring for this product")
	}
	for _, d := range s.Updates {
		line := fmt.Sprintf("%s %s", d.Name, d.Version)
		if d.Kind != "" {
			line += " (" + string(d.Kind) + ")"
		}
		if d.Applies {
			if len(d.After) > 0 {
				line += ", after " + strings.Join(d.After, ", ")
			}
			fmt.Fprintf(w, "  applies  %s\n", line)
			continue
		}
		fmt.Fprintf(w, "  no       %s: %s\n", line, d.Message)
	}
	return nil
}
