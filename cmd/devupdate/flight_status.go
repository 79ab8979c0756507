package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/flight"
)

type statusReport struct {
	cli.Status
	Rings []flight.RingStatus `json:"rings"`
}

type historyReport struct {
	cli.Status
	Events []flight.Event `json:"events"`
}

type refreshReport struct {
	cli.Status
	flight.RefreshResult
}

type rotateReport struct {
	cli.Status
	ringRoot
}

func newFlightStatusCmd(o *cli.Output) *cobra.Command {
	ff := &flightFlags{}
	var (
		ring     string
		warnArgs []string
	)
	c := &cobra.Command{
		Use:   "status --store URL [--ring RING] [--warn-within [ROLE=]DURATION]...",
		Short: "What is in which ring: state, percentage, since when, by whom; metadata expiry",
		Long: `For each ring: every update with its state, rollout percentage, since when and
its last change (who, when, why); each role's earliest expiry, flagged WARNING
when it falls within the role's warning window; and the metadata and targets
base paths (relative to the store's root, {chid} being the product's targeting
CHID) a device's TUF client is configured with.

A role's warning window is a quarter of its lifetime (6h for a one-day
timestamp): flight refresh re-signs timestamps and snapshots at half their
lifetime, so a ring it keeps fresh shows no warning, and one whose refresh job
stopped does, well before devices refuse it. --warn-within ROLE=DURATION sets
one role's window (repeatable); a bare DURATION sets every role's.`,
		Args: cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			warn, err := warnWithin(warnArgs)
			if err != nil {
				return err
			}
			f, done, err := ff.open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			rings, err := f.Status(cmd.Context(), ring, warn)
			if rings == nil {
				rings = []flight.RingStatus{}
			}
			return cli.Single(o, &statusReport{Rings: rings}, err, func(w io.Writer, rep *statusReport) error {
				for _, r := range rep.Rings {
					fmt.Fprintf(w, "ring %s (root v%d, soak %v): metadata %s, targets %s\n", r.Ring, r.RootVersion, time.Duration(r.Soak), r.MetadataBase, r.TargetsBase)
					if c := r.SettingsChanged; c != nil {
						fmt.Fprintf(w, "  settings changed %s by %s: %s\n", fmtTime(c.Time), cli.Printable(c.Actor), cli.Printable(c.Reason))
					}
					for _, e := range r.Expires {
						flag := ""
						if e.Warning {
							flag = "  WARNING: expires within " + time.Duration(e.WarnWithin).String()
						}
						fmt.Fprintf(w, "  %-9s expires %s%s\n", e.Role, fmtTime(e.Expires), flag)
					}
					if len(r.Updates) == 0 {
						fmt.Fprintln(w, "  (no updates)")
					}
					for _, u := range r.Updates {
						state := string(u.State)
						if u.Mixed {
							state += " (mixed: re-run the last change)"
						}
						fmt.Fprintf(w, "  %s %s %s %d%% since %s; %s by %s at %s: %s [%s]\n", u.Name, u.Version, state, u.Percent,
							fmtTime(u.Since), u.Change.Action, cli.Printable(u.Change.Actor), fmtTime(u.Change.Time), cli.Printable(u.Change.Reason), strings.Join(u.Products, ", "))
					}
				}
				return nil
			})
		},
	}
	ff.register(c)
	c.Flags().StringVar(&ring, "ring", "", "only this ring")
	c.Flags().StringArrayVar(&warnArgs, "warn-within", nil, "ROLE=DURATION: flag the role's metadata expiring within DURATION; a bare DURATION for every role (default a quarter of each role's lifetime)")
	return c
}

// warnWithin reads --warn-within values: ROLE=DURATION for one role, a bare
// DURATION for every role; later values override earlier ones.
func warnWithin(args []string) (flight.WarnWithin, error) {
	w := flight.WarnWithin{}
	for _, a := range args {
		if d, err := time.ParseDuration(a); err == nil && d >= 0 {
			for _, role := range flight.Roles {
				w[role] = d
			}
			continue
		}
		role, d, err := splitDuration("--warn-within", a)
		if err != nil {
			return nil, cli.Usagef("--warn-within %q: want ROLE=DURATION such as timestamp=6h, or a DURATION for every role", a)
		}
		if !slices.Contains(flight.Roles, role) {
			return nil, cli.Usagef("--warn-within %q: the role must be root, targets, snapshot or timestamp", a)
		}
		w[role] = time.Duration(d)
	}
	return w, nil
}

func newFlightHistoryCmd(o *cli.Output) *cobra.Command {
	ff := &flightFlags{}
	var ring string
	c := &cobra.Command{
		Use:   "history --store URL [--ring RING] [NAME]",
		Short: "The audit trail: who changed what, when and why, from the signed metadata",
		Args:  cli.Args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			f, done, err := ff.open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			events, err := f.History(cmd.Context(), ring, name)
			if events == nil {
				events = []flight.Event{}
			}
			return cli.Single(o, &historyReport{Events: events}, err, func(w io.Writer, rep *historyReport) error {
				for _, e := range rep.Events {
					if e.RootVersion != 0 {
						fmt.Fprintf(w, "%s %s root v%d: %s keys by %s: %s\n", fmtTime(e.Change.Time), e.Ring, e.RootVersion, e.Change.Action, e.Change.Actor, e.Change.Reason)
						continue
					}
					from := ""
					if e.Change.From != "" {
						from = " from " + e.Change.From
					}
					fmt.Fprintf(w, "%s %s/%s v%d: %s %s %s%s -> %s %d%% by %s: %s\n", fmtTime(e.Change.Time), e.Ring, e.Product, e.TargetsVersion,
						e.Change.Action, e.Name, e.Version, from, e.State, e.Percent, cli.Printable(e.Change.Actor), cli.Printable(e.Change.Reason))
				}
				return nil
			})
		},
	}
	ff.register(c)
	c.Flags().StringVar(&ring, "ring", "", "only this ring")
	return c
}

func newFlightRefreshCmd(o *cli.Output) *cobra.Command {
	ff := &flightFlags{needKeys: true}
	var opts flight.RefreshOptions
	c := &cobra.Command{
		Use:   "refresh --store URL --keys FILE [--warn-within 168h] [--resign-within DURATION] [--targets]",
		Short: "Re-sign timestamps and snapshots before they expire (online keys only; run it on a schedule)",
		Long: `Re-signs, with the online timestamp and snapshot keys only, every repository
whose timestamp or snapshot is past half its lifetime (or expires within
--resign-within). Idempotent. Exits 1, naming them, when targets or root
metadata (offline keys) expire within --warn-within.

--targets also re-signs the targets metadata expiring within --warn-within
with each ring's targets keys (the same entries, a new version and expiry):
run it where those offline keys are. Root metadata is renewed by
'devupdate flight keys rotate' (with the same keys, it only extends the root).`,
		Args: cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.WarnWithin < 0 || opts.ResignWithin < 0 {
				return cli.Usagef("--warn-within and --resign-within must not be negative")
			}
			f, done, err := ff.open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			res, err := f.Refresh(cmd.Context(), opts)
			rep := &refreshReport{}
			if res != nil {
				rep.RefreshResult = *res
			}
			if err != nil && res != nil && !o.JSON() {
				// The expiring roles are the failure: name each.
				for _, e := range res.Expiring {
					how := "devupdate flight refresh --targets, where the targets keys are"
					if e.Role == "root" {
						how = "devupdate flight keys rotate --ring " + e.Ring
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "EXPIRING %s %s %s at %s: re-sign it with %s\n", e.Ring, e.Product, e.Role, fmtTime(e.Expires), how)
				}
			}
			return cli.Single(o, rep, err, func(w io.Writer, rep *refreshReport) error {
				_, err := fmt.Fprintf(w, "re-signed %d repositories\n", len(rep.Resigned))
				return err
			})
		},
	}
	ff.register(c)
	c.Flags().DurationVar(&opts.WarnWithin, "warn-within", 7*24*time.Hour, "fail when targets or root metadata expire within this long")
	c.Flags().DurationVar(&opts.ResignWithin, "resign-within", 0, "re-sign timestamps and snapshots expiring within this long (default: those past half their lifetime)")
	c.Flags().BoolVar(&opts.Targets, "targets", false, "also re-sign targets metadata expiring within --warn-within, with the targets keys")
	return c
}

func newFlightKeysCmd(o *cli.Output) *cobra.Command {
	ff := &flightFlags{needKeys: true, change: true}
	var ring, out string
	rotate := &cobra.Command{
		Use:   "rotate --ring RING --store URL --keys FILE --reason TEXT [--out DIR]",
		Short: "Give a ring the keys the keys file now names: a new root version devices walk to",
		Long: `Writes root version N+1 with the keys the keys file names for RING (signed by
its new root keys and by the current ones, listed under "retired"), copies it
into every product repository and re-signs each repository's metadata with the
new keys. Devices walk from the root they shipped with. Re-running it after an
interruption completes the rotation.`,
		Args: cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ring == "" {
				return cli.Missing("--ring", "the ring whose keys to rotate")
			}
			f, done, err := ff.open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			rr, err := f.RotateKeys(cmd.Context(), ring, ff.who())
			rep := &rotateReport{ringRoot: ringRoot{Ring: ring}}
			if rr != nil {
				rep.RootVersion = rr.Version
				if out != "" {
					rep.RootFile, err = writeRoot(out, rr)
				}
			}
			return cli.Single(o, rep, err, func(w io.Writer, rep *rotateReport) error { return rep.write(w) })
		},
	}
	ff.register(rotate)
	rotate.Flags().StringVar(&ring, "ring", "", "the ring")
	rotate.Flags().StringVar(&out, "out", "", "write the new root.json into DIR")
	return cli.Group("keys", "Manage the rings' TUF keys", rotate)
}
