package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/devupdate/devupdate/cmd/internal/cli/clitest"
)

// TestFlightJSONGolden holds the JSON report of every flight command, each
// a success and for some a refusal with its code: one golden file per
// command under testdata/json, each reviewed by hand.
func TestFlightJSONGolden(t *testing.T) {
	fx := newFlightFixture(t, filepath.Join(t.TempDir(), "store"))
	blender := filepath.Join(fx.dir, "blender.yaml")
	if err := os.WriteFile(blender, []byte(`name: blender
smbios:
  manufacturer: Contoso
  family: Kitchen Appliances
  product_name: Blender 9
  sku: BLD-9
  baseboard_manufacturer: Contoso
  baseboard_product: BB-09
rings: [Preview, GeneralAvailability]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	settings1, settings2 := fx.cab("Contoso.Toaster.Settings", "1.0.0.1"), fx.cab("Contoso.Toaster.Settings", "1.0.0.2")
	firmware := fx.cab("Contoso.Toaster.Firmware", "2.1.0.0")
	norm := func(out string) string {
		return clitest.Normalize(out, append(clitest.Digests(t, settings1, settings2, firmware), fx.dir, "$TMP")...)
	}
	steps := []struct {
		golden string
		args   []string
		code   int
	}{
		// init never changes a ring: another soak is refused.
		{"flight-init-soak", []string{"flight", "init", "--soak", "Preview=24h"}, exitFailed},
		{"flight-products-add", []string{"flight", "products", "add", blender}, exitOK},
		{"flight-rings-set", []string{"flight", "rings", "set", "GeneralAvailability", "--soak", "72h", "--expiry", "timestamp=48h", "--reason", "three days before GA"}, exitOK},
		{"flight-add", []string{"flight", "add", settings2, firmware, "--ring", "Preview", "--roots", fx.roots, "--reason", "nightly"}, exitOK},
		{"flight-add-lower", []string{"flight", "add", settings1, "--ring", "Preview", "--roots", fx.roots, "--reason", "an older build"}, exitFailed},
		// Rotated before anything enters EarlyAdopter, so that its history
		// has one order whatever second each change falls in.
		{"flight-keys-rotate", []string{"flight", "keys", "rotate", "--ring", "EarlyAdopter", "--out", filepath.Join(fx.dir, "roots"), "--reason", "yearly"}, exitOK},
		{"flight-promote", []string{"flight", "promote", "Contoso.Toaster.Settings", "1.0.0.2", "--to", "EarlyAdopter", "--rollout", "50", "--reason", "quiet in Preview"}, exitOK},
		{"flight-rollout", []string{"flight", "rollout", "Contoso.Toaster.Settings", "1.0.0.2", "--ring", "EarlyAdopter", "--percent", "80", "--reason", "no failures"}, exitOK},
		{"flight-pause", []string{"flight", "pause", "Contoso.Toaster.Settings", "1.0.0.2", "--ring", "EarlyAdopter", "--reason", "a report to read"}, exitOK},
		{"flight-resume", []string{"flight", "resume", "Contoso.Toaster.Settings", "1.0.0.2", "--ring", "EarlyAdopter", "--reason", "not ours"}, exitOK},
		{"flight-halt", []string{"flight", "halt", "Contoso.Toaster.Firmware", "2.1.0.0", "--ring", "Preview", "--reason", "bricks a test unit"}, exitOK},
		{"flight-promote-halted", []string{"flight", "promote", "Contoso.Toaster.Firmware", "2.1.0.0", "--to", "EarlyAdopter", "--reason", "by mistake"}, exitFailed},
		// Every timestamp is within 25h of its expiry: all are re-signed.
		{"flight-refresh", []string{"flight", "refresh", "--resign-within", "25h"}, exitOK},
		{"flight-status", []string{"flight", "status"}, exitOK},
		{"flight-history", []string{"flight", "history", "--ring", "EarlyAdopter"}, exitOK},
	}
	// The fixture's init: products, development keys, device roots.
	clitest.Golden(t, "json/flight-init.json", norm(fx.initJSON))
	for _, st := range steps {
		t.Run(st.golden, func(t *testing.T) {
			// fx.run merges stderr into stdout: one JSON document means
			// nothing on stderr.
			out := fx.run(st.code, append(st.args, "-O", "json")...)
			if !json.Valid([]byte(out)) {
				t.Errorf("not one JSON document (stderr too?):\n%s", out)
			}
			clitest.Golden(t, "json/"+st.golden+".json", norm(out))
		})
	}
}
