package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/flight"
)

// ringReport is a ring's settings after flight rings set, named as flight
// status names them (the registry's own names are not the report's).
type ringReport struct {
	cli.Status
	Ring            string                 `json:"ring"`
	Soak            *flight.Duration       `json:"soak,omitempty"`
	Expiry          *flight.Expiry         `json:"expiry,omitempty"`
	SettingsChanged *flight.SettingsChange `json:"settings_changed,omitempty"`
}

func newFlightRingsCmd(o *cli.Output) *cobra.Command {
	ff := &flightFlags{change: true, unsigned: true}
	var (
		soak   string
		expiry []string
	)
	set := &cobra.Command{
		Use:   "set RING (--soak DURATION | --expiry ROLE=DURATION...) --store URL --reason TEXT",
		Short: "Change a ring's soak time or its metadata expiry",
		Long: `Changes a ring's settings and records who did it, when and why (flight status
shows it). --soak applies to the next promotion out of the ring; --expiry
ROLE=DURATION (root, targets, snapshot, timestamp) from the next time that role
is signed: a change or flight refresh. The settings guard the release process
and are kept in the store's registry, which is not signed; devices never read
them.`,
		Args: cli.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			var s flight.RingSettings
			if cmd.Flags().Changed("soak") {
				d, err := time.ParseDuration(soak)
				if err != nil || d < 0 {
					return cli.Usagef("--soak %q: want a duration such as 24h or 0s", soak)
				}
				fd := flight.Duration(d)
				s.Soak = &fd
			}
			exp, err := parseExpiry(expiry)
			if err != nil {
				return err
			}
			if len(exp) > 0 {
				s.Expiry = exp
			}
			if s.Soak == nil && s.Expiry == nil {
				return cli.Usagef("nothing to change: give --soak DURATION or --expiry ROLE=DURATION")
			}
			f, done, err := ff.open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			cfg, err := f.SetRing(cmd.Context(), args[0], s, ff.who())
			rep := &ringReport{Ring: args[0]}
			if cfg != nil {
				rep.Soak, rep.Expiry, rep.SettingsChanged = &cfg.Soak, &cfg.Expiry, cfg.Changed
			}
			return cli.Single(o, rep, err, func(w io.Writer, r *ringReport) error {
				e := r.Expiry
				_, err := fmt.Fprintf(w, "ring %s: soak %v; expiry root %v, targets %v, snapshot %v, timestamp %v\n", r.Ring,
					time.Duration(*r.Soak), time.Duration(e.Root), time.Duration(e.Targets), time.Duration(e.Snapshot), time.Duration(e.Timestamp))
				return err
			})
		},
	}
	ff.register(set)
	set.Flags().StringVar(&soak, "soak", "", "how long an update stays in RING before promotion out of it")
	set.Flags().StringArrayVar(&expiry, "expiry", nil, "ROLE=DURATION: how long the role's metadata stays valid once signed")
	return cli.Group("rings", "Change the rings' settings", set)
}
