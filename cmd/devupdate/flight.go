package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/cdn/stores"
	"github.com/devupdate/devupdate/flight"
	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/signer/pkcs11"
)

// EnvFlightKeys names the keys file when --keys is not given.
const EnvFlightKeys = "DEVUPDATE_FLIGHT_KEYS"

func newFlightCmd(g *globalOptions) *cobra.Command {
	c := newGroupCmd("flight", "Manage flighting rings: signed TUF catalogs devices read",
		newFlightInitCmd(g), newFlightProductsCmd(g), newFlightAddCmd(g), newFlightPromoteCmd(g),
		newFlightStateCmd(g, "rollout"), newFlightStateCmd(g, "pause"), newFlightStateCmd(g, "resume"), newFlightStateCmd(g, "halt"),
		newFlightStatusCmd(g), newFlightHistoryCmd(g), newFlightRefreshCmd(g), newFlightKeysCmd(g))
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
	store, keys, module string
	actor, reason       string
	needKeys, change    bool
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
		return nil, nil, usageErrorf("--store is required")
	}
	if ff.change && ff.reason == "" {
		return nil, nil, usageErrorf("--reason is required: every change is kept in the audit trail with why it was made")
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
			return nil, nil, usageErrorf("--keys is required: give the keys file (or set %s)", EnvFlightKeys)
		}
		kr, err := flight.LoadKeyring(ctx, path, keyOpener(ff.module))
		if err != nil {
			return nil, nil, err
		}
		closers = append(closers, func() { kr.Close() })
		opts = append(opts, flight.WithKeys(kr))
	}
	s, closeStore, err := stores.Open(ctx, ff.store)
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

// flightCodes are the machine-readable codes of flight's refusals.
var flightCodes = []struct {
	err  error
	code string
}{
	{flight.ErrNotInitialised, "not_initialised"},
	{flight.ErrUnknownRing, "unknown_ring"},
	{flight.ErrUnknownProduct, "unknown_product"},
	{flight.ErrVersionNotHigher, "version_not_higher"},
	{flight.ErrDuplicateVersion, "duplicate_version"},
	{flight.ErrNotInRing, "not_in_ring"},
	{flight.ErrHalted, "halted"},
	{flight.ErrSoak, "soak_not_over"},
	{flight.ErrTransition, "invalid_transition"},
	{flight.ErrNotPublished, "not_published"},
	{flight.ErrConflict, "conflict"},
	{flight.ErrExpiring, "expiring"},
	{flight.ErrCorrupt, "corrupt_metadata"},
	{flight.ErrKey, "key_unusable"},
	{flight.ErrConfig, "invalid_config"},
	{signer.ErrInvalidUpdateJSON, "invalid_update_json"},
	{cdn.ErrDigestMismatch, "digest_mismatch"},
}

func flightCode(err error) string {
	for _, c := range flightCodes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	var pe *signer.PolicyError
	if errors.As(err, &pe) {
		return "certificate_refused"
	}
	return "failed"
}

// flightReport prints a flight command's result: with --output json one
// document {"ok", "error"?: {"code", "message"}, ...v's fields}; in text,
// text(w) on success and the error on stderr. It returns the error that
// sets the exit status.
func flightReport(cmd *cobra.Command, g *globalOptions, v any, err error, text func(w io.Writer)) error {
	var ue *usageError
	if errors.As(err, &ue) {
		return err
	}
	if !g.json() {
		if text != nil && v != nil && err == nil {
			text(cmd.OutOrStdout())
		}
		return err
	}
	doc := map[string]any{}
	if v != nil {
		raw, merr := json.Marshal(v)
		if merr != nil {
			return merr
		}
		if merr := json.Unmarshal(raw, &doc); merr != nil {
			return merr
		}
	}
	doc["ok"] = err == nil
	if err != nil {
		doc["error"] = map[string]string{"code": flightCode(err), "message": err.Error()}
	}
	if werr := writeJSON(cmd.OutOrStdout(), doc); werr != nil {
		return werr
	}
	if err != nil {
		return &reportedError{err}
	}
	return nil
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func printResult(w io.Writer, r flight.Result) {
	fmt.Fprintf(w, "%s %s %s in %s: changed %d product(s)", r.Action, r.Name, r.Version, r.Ring, len(r.Changed))
	if len(r.Already) > 0 {
		fmt.Fprintf(w, ", %d already so", len(r.Already))
	}
	fmt.Fprintln(w)
}
