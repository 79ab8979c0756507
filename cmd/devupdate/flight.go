package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cdn/stores"
	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/flight"
	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/signer/pkcs11"
)

// EnvFlightKeys names the keys file when --keys is not given.
const EnvFlightKeys = "DEVUPDATE_FLIGHT_KEYS"

func newFlightCmd(o *cli.Output) *cobra.Command {
	c := cli.Group("flight", "Manage flighting rings: signed TUF catalogs devices read",
		newFlightInitCmd(o), newFlightProductsCmd(o), newFlightRingsCmd(o), newFlightAddCmd(o), newFlightPromoteCmd(o),
		newFlightStateCmd(o, "rollout"), newFlightStateCmd(o, "pause"), newFlightStateCmd(o, "resume"), newFlightStateCmd(o, "halt"),
		newFlightStatusCmd(o), newFlightHistoryCmd(o), newFlightRefreshCmd(o), newFlightKeysCmd(o))
	c.Long = `Rings (Preview, EarlyAdopter, GeneralAvailability by default) are TUF 1.0
repositories kept in the store beside the blobs: one per ring and product, at
rings/<ring>/<chid>/ (the product's targeting CHID), with the ring's own keys.
Cabinets are served to TUF clients from targets/<sha256>.<name>_<version>.cab.
Every change needs --reason; the actor comes from --actor, DEVUPDATE_ACTOR, the
CI's variables (GitHub Actions, Azure Pipelines), else user@host.
Keys come from a keys file (--keys or DEVUPDATE_FLIGHT_KEYS) naming, per ring
and role, key references: file:PATH (PEM/PKCS#8) or pkcs11: URIs (PIN from
DEVUPDATE_PKCS11_PIN or pin-source=file:). Secrets never on the command line.`
	return c
}

// flightFlags are the flags every flight command shares.
type flightFlags struct {
	store, keys, module      string
	actor, reason            string
	needKeys, change, create bool
	// unsigned: the change is kept in the registry, not in signed metadata.
	unsigned bool
}

func (ff *flightFlags) register(c *cobra.Command) {
	f := c.Flags()
	f.StringVar(&ff.store, "store", "", "store URL: a directory, file://, mem:// or azblob://ACCOUNT/CONTAINER")
	if ff.needKeys {
		f.StringVar(&ff.keys, "keys", "", "keys file naming each ring's TUF keys (default $"+EnvFlightKeys+")")
		f.StringVar(&ff.module, "pkcs11-module", "", "PKCS#11 module for pkcs11: key URIs without module-path (default $"+signer.EnvPKCS11Module+")")
	}
	if ff.change {
		f.StringVar(&ff.actor, "actor", "", "who makes the change (default $"+flight.EnvActor+", the CI's variables, else user@host)")
		f.StringVar(&ff.reason, "reason", "", "why (required; kept in the signed audit trail)")
	}
}

// open checks the shared flags and opens the store and the flight manager.
func (ff *flightFlags) open(ctx context.Context) (*flight.Flight, func(), error) {
	if ff.store == "" {
		return nil, nil, cli.Missing("--store", "the store URL: a directory, file:///PATH or azblob://ACCOUNT/CONTAINER")
	}
	if ff.change && ff.reason == "" {
		why := "why: every change is kept in the signed audit trail with its reason"
		if ff.unsigned {
			why = "why: the ring's settings keep who changed them, when and why"
		}
		return nil, nil, cli.Missing("--reason", why)
	}
	var opts []flight.Option
	closers := []func(){}
	done := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	if ff.needKeys {
		path := ff.keys
		if path == "" {
			path = os.Getenv(EnvFlightKeys)
		}
		if path == "" {
			return nil, nil, cli.Missing("--keys", "the keys file naming each ring's TUF keys", EnvFlightKeys)
		}
		kr, err := flight.LoadKeyring(ctx, path, keyOpener(ff.module))
		if err != nil {
			return nil, nil, err
		}
		closers = append(closers, func() { kr.Close() })
		opts = append(opts, flight.WithKeys(kr))
	}
	// A store is created only by init; every other command needs it to exist.
	storeOpt := stores.Existing()
	if ff.create {
		storeOpt = stores.Durable()
	}
	s, closeStore, err := stores.Open(ctx, ff.store, storeOpt)
	if err != nil {
		done()
		return nil, nil, storeErr(err)
	}
	closers = append(closers, func() { _ = closeStore() })
	f, err := flight.New(s, opts...)
	if err != nil {
		done()
		return nil, nil, err
	}
	return f, done, nil
}

func (ff *flightFlags) who() flight.Who {
	return flight.Who{Actor: flight.Actor(ff.actor, os.Getenv), Reason: ff.reason}
}

// keyOpener opens key references as signing does: files, and pkcs11: URIs
// through signer/pkcs11 (the flight library links no HSM code).
func keyOpener(module string) flight.KeyOpener {
	return func(ctx context.Context, ref string) (flight.Key, error) {
		opts := []signer.KeyOption{signer.WithPKCS11(pkcs11.Open)}
		if module != "" {
			opts = append(opts, signer.WithPKCS11Module(module))
		}
		k, err := signer.OpenKey(ctx, ref, opts...)
		if err != nil {
			return nil, err
		}
		return k.Key, nil
	}
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func printResult(w io.Writer, r *flight.Result) error {
	msg := fmt.Sprintf("%s %s %s in %s: changed %d product(s)", r.Action, r.Name, r.Version, r.Ring, len(r.Changed))
	if len(r.Already) > 0 {
		msg += fmt.Sprintf(", %d already so", len(r.Already))
	}
	_, err := fmt.Fprintln(w, msg)
	return err
}

// resultReport is a change to one update (promote, rollout, pause, resume,
// halt): the result's fields beside ok and error.
type resultReport struct {
	cli.Status
	flight.Result
}

func reportResult(o *cli.Output, res *flight.Result, err error) error {
	rep := &resultReport{}
	if res != nil {
		rep.Result = *res
	}
	return cli.Single(o, rep, err, func(w io.Writer, r *resultReport) error { return printResult(w, &r.Result) })
}
