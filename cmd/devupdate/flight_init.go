package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/flight"
	"github.com/devupdate/devupdate/internal/iox"
	"github.com/devupdate/devupdate/smbios/product"
)

type initReport struct {
	cli.Status
	DevKeys string     `json:"dev_keys,omitempty"`
	Rings   []ringRoot `json:"rings"`
}

// ringRoot is a ring's root as init and keys rotate report it: its
// version and, with --out, the file a device image ships.
type ringRoot struct {
	Ring        string `json:"ring"`
	RootVersion int64  `json:"root_version,omitempty"`
	RootFile    string `json:"root_file,omitempty"`
}

func (r *ringRoot) write(w io.Writer) error {
	line := fmt.Sprintf("ring %s: root version %d", r.Ring, r.RootVersion)
	if r.RootFile != "" {
		line += ", device root " + r.RootFile
	}
	_, err := fmt.Fprintln(w, line)
	return err
}

func newFlightInitCmd(o *cli.Output) *cobra.Command {
	ff := &flightFlags{needKeys: true, create: true}
	var (
		devKeys, out  string
		soaks, expiry []string
	)
	c := &cobra.Command{
		Use:   "init [PRODUCT.yaml...] --store URL (--keys FILE | --dev-keys DIR) [--out DIR]",
		Short: "Create the rings' TUF repositories and register products",
		Long: `Creates each ring's root metadata (signed by the ring's root keys), registers
the products (their targeting CHIDs key their repositories) and creates their
repositories. Rings come from the products' rings: lists, else the default
Preview, EarlyAdopter, GeneralAvailability. --out DIR writes DIR/<ring>.root.json,
the root a device image ships for each ring it may be moved to. Re-running it is
safe: existing roots are never rewritten, and an existing ring keeps its
settings (--soak or --expiry that differ from them are refused: change a ring
with devupdate flight rings set).

--dev-keys DIR generates TEST-ONLY development keys (ECDSA P-256 files, in the
clear) and DIR/keys.json; never use them for devices in the field.`,
		Args: cli.Args(cobra.ArbitraryArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if devKeys != "" && ff.keys != "" {
				return cli.Usagef("--dev-keys and --keys conflict: give one")
			}
			var products []*product.Product
			if len(args) > 0 {
				var err error
				if products, err = product.ValidateFiles(cmd.Context(), args); err != nil {
					return err
				}
			}
			rings, settings, err := initRings(products, soaks, expiry)
			if err != nil {
				return err
			}
			rep := &initReport{Rings: []ringRoot{}}
			if devKeys != "" {
				var names []string
				for _, r := range rings {
					names = append(names, r.Name)
				}
				if ff.keys, err = flight.GenerateDevKeys(cmd.Context(), devKeys, names); err != nil {
					return err
				}
				rep.DevKeys = ff.keys
			}
			f, done, err := ff.open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			res, err := f.Init(cmd.Context(), flight.InitRequest{Rings: rings, Products: products, Settings: settings})
			if res != nil {
				for _, r := range res.Rings {
					rr := ringRoot{Ring: r.Ring, RootVersion: r.Version}
					if err == nil && out != "" {
						rr.RootFile, err = writeRoot(out, &r)
					}
					rep.Rings = append(rep.Rings, rr)
				}
			}
			return cli.Single(o, rep, err, func(w io.Writer, rep *initReport) error {
				if rep.DevKeys != "" {
					fmt.Fprintf(w, "TEST-ONLY development keys: %s\n", rep.DevKeys)
				}
				for _, r := range rep.Rings {
					if err := r.write(w); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	ff.register(c)
	c.Flags().StringVar(&devKeys, "dev-keys", "", "generate TEST-ONLY development keys into DIR and use them")
	c.Flags().StringVar(&out, "out", "", "write each ring's root.json (what a device image ships) into DIR")
	c.Flags().StringArrayVar(&soaks, "soak", nil, "RING=DURATION: how long an update stays in RING before promotion out of it (default 0)")
	c.Flags().StringArrayVar(&expiry, "expiry", nil, "ROLE=DURATION for every ring: root, targets, snapshot, timestamp (defaults 8760h, 2160h, 168h, 24h)")
	return c
}

// initRings derives the ring list: the products' rings in order, else the
// defaults; and the settings --soak and --expiry ask for them.
func initRings(products []*product.Product, soaks, expiry []string) ([]flight.RingConfig, map[string]flight.RingSettings, error) {
	var names []string
	for _, p := range products {
		for _, r := range p.Rings {
			if !slices.Contains(names, r) {
				names = append(names, r)
			}
		}
	}
	if len(names) == 0 {
		names = product.DefaultRings
	}
	exp, err := parseExpiry(expiry)
	if err != nil {
		return nil, nil, err
	}
	var rings []flight.RingConfig
	settings := map[string]flight.RingSettings{}
	for _, n := range names {
		rings = append(rings, flight.RingConfig{Name: n, Expiry: flight.DefaultExpiry})
		if len(exp) > 0 {
			settings[n] = flight.RingSettings{Expiry: exp}
		}
	}
	for _, kv := range soaks {
		ring, d, err := splitDuration("--soak", kv)
		if err != nil {
			return nil, nil, err
		}
		if !slices.Contains(names, ring) {
			return nil, nil, cli.Usagef("--soak %q: no ring %s (rings: %s)", kv, ring, strings.Join(names, ", "))
		}
		s := settings[ring]
		s.Soak = &d
		settings[ring] = s
	}
	return rings, settings, nil
}

// parseExpiry reads --expiry ROLE=DURATION values.
func parseExpiry(expiry []string) (map[string]flight.Duration, error) {
	out := map[string]flight.Duration{}
	for _, kv := range expiry {
		role, d, err := splitDuration("--expiry", kv)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(flight.Roles, role) {
			return nil, cli.Usagef("--expiry %q: the role must be root, targets, snapshot or timestamp", kv)
		}
		out[role] = d
	}
	return out, nil
}

func splitDuration(flag, kv string) (string, flight.Duration, error) {
	k, v, ok := strings.Cut(kv, "=")
	d, err := time.ParseDuration(v)
	if !ok || err != nil || d < 0 {
		return "", 0, cli.Usagef("%s %q: want NAME=DURATION such as Preview=24h", flag, kv)
	}
	return k, flight.Duration(d), nil
}

// writeRoot writes a ring's root as DIR/<ring>.root.json (replacing an
// older one: a device image always ships the newest) and returns its path.
func writeRoot(dir string, r *flight.RingRoot) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(dir, r.Ring+".root.json")
	if err := iox.WriteFileAtomic(p, r.Root, 0o644); err != nil {
		return "", err
	}
	return p, nil
}
