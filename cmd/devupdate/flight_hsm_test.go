//go:build cgo

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/devupdate/devupdate/flight"
	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/signer/pkcs11/softhsmtest"
)

// TestFlightTargetsKeyOnSoftHSM signs a ring's targets role with a
// non-extractable ECDSA P-256 key on a SoftHSM2 token, named by a pkcs11:
// URI in the keys file, the PIN from the environment; go-tuf's client
// verifies what it signed.
func TestFlightTargetsKeyOnSoftHSM(t *testing.T) {
	dir := t.TempDir()
	tok := softhsmtest.New(t, filepath.Join(dir, "hsm"), "flight-test", "246810", "preview-targets")
	// File keys for every role, then the Preview targets key moved to the token.
	keysPath, err := flight.GenerateDevKeys(filepath.Join(dir, "keys"), []string{"Preview", "EarlyAdopter", "GeneralAvailability"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := flight.ReadKeysFile(t.Context(), keysPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Rings["Preview"]["targets"] = &flight.RoleKeys{Keys: []string{"pkcs11:token=flight-test;object=preview-targets?module-path=" + tok.Module}, Threshold: 1}
	data, _ := json.Marshal(cfg)
	hsmKeys := filepath.Join(dir, "keys", "hsm-keys.json")
	if err := os.WriteFile(hsmKeys, data, 0o600); err != nil {
		t.Fatal(err)
	}
	fx := newFlightFixture(t, filepath.Join(dir, "store"),
		"SOFTHSM2_CONF="+tok.Conf, signer.EnvPKCS11PIN+"="+tok.PIN, EnvFlightKeys+"="+hsmKeys)
	cab := fx.cab("Contoso.Toaster.Hsm", "1.0.0.1")
	fx.run(0, "flight", "add", cab, "--ring", "Preview", "--roots", fx.roots, "--reason", "signed on the token")

	// The root names the token's key for targets; the device verifies.
	root, err := os.ReadFile(filepath.Join(fx.dir, "roots", "Preview.root.json"))
	if err != nil {
		t.Fatal(err)
	}
	var md metadata.Metadata[metadata.RootType]
	if _, err := md.FromBytes(root); err != nil {
		t.Fatal(err)
	}
	ids := md.Signed.Roles["targets"].KeyIDs
	if len(ids) != 1 || md.Signed.Keys[ids[0]].Type != metadata.KeyTypeECDSA_SHA2_P256 {
		t.Fatalf("root's targets keys: %v", ids)
	}
	w := fx.watch("Preview")
	w.finish(t)
	out := fx.run(0, "flight", "status", "--ring", "Preview")
	if want := "Contoso.Toaster.Hsm 1.0.0.1 active 100%"; !strings.Contains(out, want) {
		t.Errorf("status lacks %q:\n%s", want, out)
	}
}
