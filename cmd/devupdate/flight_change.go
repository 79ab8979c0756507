package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/flight"
	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/smbios/product"
)

// addResult is one cabinet of flight add.
type addResult struct {
	cli.Item
	flight.Result
}

func newFlightProductsCmd(o *cli.Output) *cobra.Command {
	ff := &flightFlags{needKeys: true}
	add := &cobra.Command{
		Use:   "add PRODUCT.yaml... --store URL --keys FILE",
		Short: "Register more products and create their repositories in their rings",
		Args:  cli.Args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			// All registered or none: problems in any file fail the
			// command as a whole; the results are product validate's.
			products, err := product.ValidateFiles(cmd.Context(), args)
			if err != nil {
				return err
			}
			f, done, err := ff.open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			if _, err := f.AddProducts(cmd.Context(), products); err != nil {
				return err
			}
			return cli.Batch(o, productResults(args, products, nil), nil, func(w io.Writer, r *productResult) error {
				_, err := fmt.Fprintf(w, "product %s: %s, rings %v\n", r.Name, r.TargetingID.GUID, r.Rings)
				return err
			})
		},
	}
	ff.register(add)
	return cli.Group("products", "Register products in the flighting rings", add)
}

func newFlightAddCmd(o *cli.Output) *cobra.Command {
	ff := &flightFlags{needKeys: true, change: true}
	var (
		ring  string
		roots rootFlags
		opts  flight.AddOptions
	)
	c := &cobra.Command{
		Use:   "add CAB... --ring RING --roots ROOTS.pem --reason TEXT [--rollout N] [--allow-downgrade]",
		Short: "Add signed cabinets to the first ring of the products they target",
		Long: `Each cabinet must verify (Authenticode, EV, chained to --roots), carry a valid
update.json, target registered products, and have a version higher than every
version of its name ever added to any ring; the same name and version with other
bytes is refused. The cabinet is published to the store if it is not yet.
--allow-downgrade adds a lower version marked as a downgrade (the only way a
device installs a lower version).`,
		Args: cli.Args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ring == "" {
				return cli.Missing("--ring", "the ring to add to (the first ring of the targeted products)")
			}
			if roots.roots == "" {
				return cli.Missing("--roots", "the PEM roots the cabinets' EV signatures chain to")
			}
			if opts.Rollout != 0 && (opts.Rollout < 1 || opts.Rollout > 100) {
				return cli.Usagef("--rollout %d: must be 1 to 100", opts.Rollout)
			}
			policy, err := roots.policy(cmd.Context())
			if err != nil {
				return err
			}
			f, done, err := ff.open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			// Every cabinet is checked (one failing does not stop the
			// others); those that pass are added in one change per product.
			items := make([]*addResult, len(args))
			var cands []*flight.Candidate
			for i, p := range args {
				items[i] = &addResult{Item: cli.Item{File: p}}
				c, err := f.Prepare(cmd.Context(), p, policy)
				if err != nil {
					items[i].Err = hint(err)
					continue
				}
				items[i].Name, items[i].Version = c.Update.Name, c.Update.Version.String()
				cands = append(cands, c)
			}
			results, err := f.Add(cmd.Context(), ring, cands, opts, ff.who())
			for _, it := range items {
				if it.Err != nil {
					continue
				}
				i := slices.IndexFunc(results, func(r flight.Result) bool { return r.Name == it.Name && r.Version == it.Version })
				switch {
				case i >= 0:
					it.Result = results[i]
				case err != nil:
					it.Err = err // refused, or not reached after a refusal
				}
			}
			var whole error
			if err != nil && !errors.As(err, new(*flight.ChangeError)) {
				whole = err // not about one cabinet: the ring, the keys, the store
			}
			return cli.Batch(o, items, whole, func(w io.Writer, r *addResult) error { return printResult(w, &r.Result) })
		},
	}
	ff.register(c)
	c.Flags().StringVar(&ring, "ring", "", "the ring (the first ring of the targeted products)")
	roots.register(c.Flags(), "PEM roots the cabinets' EV signatures must chain to (required)")
	c.Flags().IntVar(&opts.Rollout, "rollout", 0, "percentage of devices reached, 1-100 (default 100)")
	c.Flags().BoolVar(&opts.AllowDowngrade, "allow-downgrade", false, "add a version lower than one added before, marked as a downgrade")
	return c
}

// nameVersion parses the NAME VERSION arguments.
func nameVersion(args []string) (string, catalog.Version, error) {
	v, err := catalog.ParseVersion(args[1])
	if err != nil {
		return "", v, cli.Usagef("VERSION: %v", err)
	}
	return args[0], v, nil
}

func newFlightPromoteCmd(o *cli.Output) *cobra.Command {
	ff := &flightFlags{needKeys: true, change: true}
	var (
		to       string
		rollout  int
		skipSoak bool
	)
	c := &cobra.Command{
		Use:   "promote NAME VERSION --to RING --reason TEXT [--rollout N] [--insecure-skip-soak]",
		Short: "Promote an update from the ring before RING: the same signed bytes",
		Long: `Moves the same target (the same blob, the same sha256) from the previous ring
of each product into RING. Refused when it is not there, is paused or halted
there, or has not soaked there for the previous ring's soak time
(--insecure-skip-soak, with a reason, overrides the soak time only).`,
		Args: cli.Args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if to == "" {
				return cli.Missing("--to", "the ring to promote into")
			}
			if rollout != 0 && (rollout < 1 || rollout > 100) {
				return cli.Usagef("--rollout %d: must be 1 to 100", rollout)
			}
			name, v, err := nameVersion(args)
			if err != nil {
				return err
			}
			f, done, err := ff.open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			res, err := f.Promote(cmd.Context(), name, v, to, rollout, skipSoak, ff.who())
			return reportResult(o, res, err)
		},
	}
	ff.register(c)
	c.Flags().StringVar(&to, "to", "", "the ring to promote into")
	c.Flags().IntVar(&rollout, "rollout", 0, "percentage of devices reached in RING, 1-100 (default 100)")
	c.Flags().BoolVar(&skipSoak, "insecure-skip-soak", false, "promote before the previous ring's soak time is over")
	return c
}

func newFlightStateCmd(o *cli.Output, action string) *cobra.Command {
	ff := &flightFlags{needKeys: true, change: true}
	var (
		ring    string
		percent int
	)
	short := map[string]string{
		"rollout": "Set the percentage of devices an update reaches in a ring (staged rollout)",
		"pause":   "Withhold an update from every device that has not installed it",
		"resume":  "Resume a paused update at its percentage",
		"halt":    "Pull an update from a ring for good (roll forward with a higher version)",
	}[action]
	use := action + " NAME VERSION --ring RING --reason TEXT"
	if action == "rollout" {
		use += " --percent N"
	}
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cli.Args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ring == "" {
				return cli.Missing("--ring", "the ring")
			}
			if action == "rollout" && (percent < 1 || percent > 100) {
				return cli.Usagef("--percent %s: must be 1 to 100", strconv.Itoa(percent))
			}
			name, v, err := nameVersion(args)
			if err != nil {
				return err
			}
			f, done, err := ff.open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			res, err := f.SetState(cmd.Context(), ring, name, v, catalog.Action(action), percent, ff.who())
			return reportResult(o, res, err)
		},
	}
	ff.register(c)
	c.Flags().StringVar(&ring, "ring", "", "the ring")
	if action == "rollout" {
		c.Flags().IntVar(&percent, "percent", 0, "percentage of devices, 1-100")
	}
	return c
}
