//go:build cgo

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"

	"github.com/devupdate/devupdate/flight"
	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/signer/pkcs11/softhsmtest"
)

// keysWithTokenKey writes DIR/keys/hsm-keys.json: TEST-ONLY file keys for
// every role of the default rings, except Preview's role, named by uri (a
// key on a token).
func keysWithTokenKey(t *testing.T, dir, role, uri string) string {
	t.Helper()
	keysPath, err := flight.GenerateDevKeys(filepath.Join(dir, "keys"), []string{"Preview", "EarlyAdopter", "GeneralAvailability"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := flight.ReadKeysFile(t.Context(), keysPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Rings["Preview"][role] = &flight.RoleKeys{Keys: []string{uri}, Threshold: 1}
	data, _ := json.Marshal(cfg)
	path := filepath.Join(dir, "keys", "hsm-keys.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestFlightTargetsKeyOnSoftHSM signs a ring's targets role with a
// non-extractable ECDSA P-256 key on a SoftHSM2 token, named by a pkcs11:
// URI in the keys file, the PIN from the environment; go-tuf's client
// verifies what it signed.
func TestFlightTargetsKeyOnSoftHSM(t *testing.T) {
	dir := t.TempDir()
	tok := softhsmtest.New(t, filepath.Join(dir, "hsm"), "flight-test", "246810", "preview-targets")
	hsmKeys := keysWithTokenKey(t, dir, "targets", "pkcs11:token=flight-test;object=preview-targets?module-path="+tok.Module)
	fx := newFlightFixture(t, filepath.Join(dir, "store"),
		"SOFTHSM2_CONF="+tok.Conf, signer.EnvPKCS11PIN+"="+tok.PIN, EnvFlightKeys+"="+hsmKeys)
	cab := fx.cab("Contoso.Toaster.Hsm", "1.0.0.1")
	fx.run(0, "flight", "add", cab, "--ring", "Preview", "--roots", fx.roots, "--reason", "signed on the token")

	// The root names the token's key for targets; the device verifies.
	var md metadata.Metadata[metadata.RootType]
	if _, err := md.FromBytes(fx.shippedRoot("Preview")); err != nil {
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

// TestFlightTimestampKeyOnSoftHSM: a ring's timestamp role (an online key,
// the one the scheduled refresh uses) is a non-extractable P-256 key on a
// SoftHSM2 token, named by a pkcs11: URI in the keys file, the PIN from the
// environment. init and flight refresh sign with it; the timestamp in the
// store carries the token key's signature, and go-tuf's client verifies it.
func TestFlightTimestampKeyOnSoftHSM(t *testing.T) {
	dir := t.TempDir()
	tok := softhsmtest.New(t, filepath.Join(dir, "hsm"), "flight-online", "135790", "preview-timestamp")
	hsmKeys := keysWithTokenKey(t, dir, "timestamp", "pkcs11:token=flight-online;object=preview-timestamp")
	// The module from the environment this time, the PIN too.
	fx := newFlightFixture(t, filepath.Join(dir, "store"), "SOFTHSM2_CONF="+tok.Conf, signer.EnvPKCS11PIN+"="+tok.PIN,
		signer.EnvPKCS11Module+"="+tok.Module, EnvFlightKeys+"="+hsmKeys)
	var root metadata.Metadata[metadata.RootType]
	if _, err := root.FromBytes(fx.shippedRoot("Preview")); err != nil {
		t.Fatal(err)
	}
	ids := root.Signed.Roles["timestamp"].KeyIDs
	if len(ids) != 1 || root.Signed.Keys[ids[0]].Type != metadata.KeyTypeECDSA_SHA2_P256 {
		t.Fatalf("root's timestamp keys: %v", ids)
	}
	tsKey := catalog.RingDir("Preview") + "/" + fx.chid + "/timestamp.json"
	before, err := metadata.Timestamp().FromBytes(readKey(t, fx.store, tsKey))
	if err != nil {
		t.Fatal(err)
	}

	// The timestamps are fresh: re-sign those expiring within 48h (all).
	out := fx.run(0, "flight", "refresh", "--resign-within", "48h", "-O", "json")
	var rep struct {
		OK       bool `json:"ok"`
		Resigned []struct {
			Ring  string   `json:"ring"`
			Roles []string `json:"roles"`
		} `json:"resigned"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || !rep.OK || len(rep.Resigned) != 3 {
		t.Fatalf("refresh: %v\n%s", err, out)
	}
	after, err := metadata.Timestamp().FromBytes(readKey(t, fx.store, tsKey))
	if err != nil {
		t.Fatal(err)
	}
	if after.Signed.Version != before.Signed.Version+1 || len(after.Signatures) != 1 || after.Signatures[0].KeyID != ids[0] {
		t.Errorf("timestamp after refresh: version %d (was %d), signatures %+v; want the next version signed by the token's key %s",
			after.Signed.Version, before.Signed.Version, after.Signatures, ids[0])
	}
	if err := root.VerifyDelegate("timestamp", after); err != nil {
		t.Errorf("the re-signed timestamp does not verify under the shipped root: %v", err)
	}
	up, err := updater.New(fx.device("Preview", fx.shippedRoot("Preview")))
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Refresh(); err != nil || up.GetTrustedMetadataSet().Timestamp.Signed.Version != after.Signed.Version {
		t.Errorf("go-tuf device after refresh: %v", err)
	}
	// With a wrong PIN, or none, the token cannot sign: refresh says so,
	// with its code, and still re-signs the rings whose keys are files.
	for pin, code := range map[string]string{"000000": "wrong_pin", "": "no_pin"} {
		fx.env = append(fx.env, signer.EnvPKCS11PIN+"="+pin)
		var failed struct {
			flightJSON
			Resigned []struct {
				Ring string `json:"ring"`
			} `json:"resigned"`
		}
		out = fx.run(1, "flight", "refresh", "--resign-within", "48h", "-O", "json")
		if err := json.Unmarshal([]byte(out), &failed); err != nil || failed.Error == nil || failed.Error.Code != code || len(failed.Resigned) != 2 {
			t.Errorf("refresh with PIN %q: want %s and the two other rings re-signed:\n%s", pin, code, out)
		}
	}
}
