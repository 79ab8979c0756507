package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/flight"
	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/smbios/product"
)

type resultsReport struct {
	Results []flight.Result `json:"results"`
}

func printResults(rep *resultsReport) func(io.Writer) {
	return func(w io.Writer) {
		for _, r := range rep.Results {
			printResult(w, r)
		}
	}
}

func newFlightProductsCmd(g *globalOptions) *cobra.Command {
	ff := &flightFlags{needKeys: true}
	add := &cobra.Command{
		Use:   "add PRODUCT.yaml... --store URL --keys FILE",
		Short: "Register more products and create their repositories in their rings",
		Args:  usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			products, err := product.ValidateFiles(args)
			if err != nil {
				return err
			}
			f, done, err := ff.open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			infos, err := f.AddProducts(cmd.Context(), products)
			if infos == nil {
				infos = []flight.ProductInfo{}
			}
			return flightReport(cmd, g, map[string]any{"products": infos}, err, func(w io.Writer) {
				for _, p := range infos {
					fmt.Fprintf(w, "product %s: %s, rings %v\n", p.Name, p.CHID, p.Rings)
				}
			})
		},
	}
	ff.register(add)
	return newGroupCmd("products", "Register products in the flighting rings", add)
}

func newFlightAddCmd(g *globalOptions) *cobra.Command {
	ff := &flightFlags{needKeys: true, change: true}
	var (
		ring, rootsFile, osRootsFile string
		opts                         flight.AddOptions
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
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ring == "" {
				return usageErrorf("--ring is required")
			}
			if rootsFile == "" {
				return usageErrorf("--roots is required: give the PEM roots the cabinets' EV signatures chain to")
			}
			if opts.Rollout != 0 && (opts.Rollout < 1 || opts.Rollout > 100) {
				return usageErrorf("--rollout %d: must be 1 to 100", opts.Rollout)
			}
			policy := signer.Policy{RequireEV: true}
			var err error
			if policy.Roots, err = signer.LoadRoots(cmd.Context(), rootsFile); err != nil {
				return err
			}
			if osRootsFile != "" {
				if policy.OSVendorRoots, err = signer.LoadRoots(cmd.Context(), osRootsFile); err != nil {
					return err
				}
			}
			f, done, err := ff.open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			rep := &resultsReport{Results: []flight.Result{}}
			var cands []*flight.Candidate
			for _, p := range args {
				c, err := f.Prepare(cmd.Context(), p, policy)
				if err != nil {
					return flightReport(cmd, g, rep, err, nil)
				}
				cands = append(cands, c)
			}
			rep.Results, err = f.Add(cmd.Context(), ring, cands, opts, ff.who())
			if rep.Results == nil {
				rep.Results = []flight.Result{}
			}
			return flightReport(cmd, g, rep, err, printResults(rep))
		},
	}
	ff.register(c)
	c.Flags().StringVar(&ring, "ring", "", "the ring (the first ring of the targeted products)")
	c.Flags().StringVar(&rootsFile, "roots", "", "PEM roots the cabinets' EV signatures must chain to (required)")
	c.Flags().StringVar(&osRootsFile, "os-vendor-roots", "", "PEM roots of the OS vendor, for the packages inside os-kind cabinets")
	c.Flags().IntVar(&opts.Rollout, "rollout", 0, "percentage of devices reached, 1-100 (default 100)")
	c.Flags().BoolVar(&opts.AllowDowngrade, "allow-downgrade", false, "add a version lower than one added before, marked as a downgrade")
	return c
}

// nameVersion parses the NAME VERSION arguments.
func nameVersion(args []string) (string, catalog.Version, error) {
	v, err := catalog.ParseVersion(args[1])
	if err != nil {
		return "", v, usageErrorf("VERSION: %v", err)
	}
	return args[0], v, nil
}

func newFlightPromoteCmd(g *globalOptions) *cobra.Command {
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
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if to == "" {
				return usageErrorf("--to is required")
			}
			if rollout != 0 && (rollout < 1 || rollout > 100) {
				return usageErrorf("--rollout %d: must be 1 to 100", rollout)
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
			rep := &resultsReport{Results: []flight.Result{}}
			if res != nil {
				rep.Results = append(rep.Results, *res)
			}
			return flightReport(cmd, g, rep, err, printResults(rep))
		},
	}
	ff.register(c)
	c.Flags().StringVar(&to, "to", "", "the ring to promote into")
	c.Flags().IntVar(&rollout, "rollout", 0, "percentage of devices reached in RING, 1-100 (default 100)")
	c.Flags().BoolVar(&skipSoak, "insecure-skip-soak", false, "promote before the previous ring's soak time is over")
	return c
}

func newFlightStateCmd(g *globalOptions, action string) *cobra.Command {
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
		Args:  usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ring == "" {
				return usageErrorf("--ring is required")
			}
			if action == "rollout" && (percent < 1 || percent > 100) {
				return usageErrorf("--percent %s: must be 1 to 100", strconv.Itoa(percent))
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
			rep := &resultsReport{Results: []flight.Result{}}
			if res != nil {
				rep.Results = append(rep.Results, *res)
			}
			return flightReport(cmd, g, rep, err, printResults(rep))
		},
	}
	ff.register(c)
	c.Flags().StringVar(&ring, "ring", "", "the ring")
	if action == "rollout" {
		c.Flags().IntVar(&percent, "percent", 0, "percentage of devices, 1-100")
	}
	return c
}
