package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/flight"
	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/signer"
)

// refreshDevice runs go-tuf's updater from the device's trusted state and
// returns it (with what it trusts) and the entry of target (nil if absent).
func refreshDevice(t *testing.T, cfg *config.UpdaterConfig, target string) (*updater.Updater, *catalog.Entry, error) {
	t.Helper()
	up, err := updater.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	if err := up.Refresh(); err != nil {
		return up, nil, err
	}
	tf, err := up.GetTargetInfo(target)
	if err != nil {
		return up, nil, nil
	}
	e, err := catalog.FromTarget("targets.json", tf)
	return up, e, err
}

// signWithFile signs md with the key in a PEM file, as whoever holds that
// key (a revoked one) could.
func signWithFile[T metadata.Roles](t *testing.T, md *metadata.Metadata[T], keyFile string) []byte {
	t.Helper()
	k, err := signer.OpenKey(t.Context(), "file:"+keyFile)
	if err != nil {
		t.Fatal(err)
	}
	s, err := flight.NewSigner(k.Key)
	if err != nil {
		t.Fatal(err)
	}
	md.ClearSignatures()
	if _, err := md.Sign(s); err != nil {
		t.Fatal(err)
	}
	data, err := md.ToBytes(false)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestFlightKeysRotate: `devupdate flight keys rotate` replaces a ring's root
// key and its snapshot key (an online key, as after a leak). go-tuf's
// updater walks from the root the device image shipped to the new root,
// refuses metadata signed by the revoked snapshot key, and sees the changes
// made afterwards; a rotation the current root keys do not sign is
// refused.
func TestFlightKeysRotate(t *testing.T) {
	fx := newFlightFixture(t, filepath.Join(t.TempDir(), "store"))
	cab := fx.cab("Contoso.Toaster.Rotate", "1.0.0.1")
	const target = "Contoso.Toaster.Rotate_1.0.0.1.cab"
	fx.run(0, "flight", "add", cab, "--ring", "Preview", "--roots", fx.roots, "--reason", "before the leak")
	shipped := fx.shippedRoot("Preview")
	dev := fx.device("Preview", shipped)
	if _, e, err := refreshDevice(t, dev, target); err != nil || e == nil {
		t.Fatalf("device before rotation: %+v, %v", e, err)
	}

	// New root and snapshot keys; the current root key is retired (it
	// signs the next root so that devices trusting it walk on).
	keysDir := filepath.Join(fx.dir, "keys")
	keysPath := filepath.Join(keysDir, "keys.json")
	newKeys, err := flight.GenerateDevKeys(t.Context(), filepath.Join(fx.dir, "new-keys"), []string{"Preview"})
	if err != nil {
		t.Fatal(err)
	}
	newDir := filepath.Dir(newKeys)
	cfg, err := flight.ReadKeysFile(t.Context(), keysPath)
	if err != nil {
		t.Fatal(err)
	}
	pv := cfg.Rings["Preview"]
	oldRoot, oldSnapshot := pv["root"].Keys[0], filepath.Join(keysDir, pv["snapshot"].Keys[0][len("file:"):])
	pv["root"] = &flight.RoleKeys{Keys: []string{"file:" + filepath.Join(newDir, "TEST-ONLY-Preview-root.key")}, Retired: []string{oldRoot}}
	pv["snapshot"] = &flight.RoleKeys{Keys: []string{"file:" + filepath.Join(newDir, "TEST-ONLY-Preview-snapshot.key")}}
	data, _ := json.Marshal(cfg)
	if err := os.WriteFile(keysPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out := fx.run(0, "flight", "keys", "rotate", "--ring", "Preview", "--reason", "snapshot key leaked", "--out", filepath.Join(fx.dir, "roots-2"), "-O", "json")
	var rep struct {
		OK          bool   `json:"ok"`
		Ring        string `json:"ring"`
		RootVersion int64  `json:"root_version"`
		RootFile    string `json:"root_file"`
	}
	rootFile := filepath.Join(fx.dir, "roots-2", "Preview.root.json")
	if err := json.Unmarshal([]byte(out), &rep); err != nil || !rep.OK || rep.Ring != "Preview" || rep.RootVersion != 2 || rep.RootFile != rootFile {
		t.Fatalf("keys rotate: %v\n%s", err, out)
	}
	root2, err := os.ReadFile(rootFile)
	if err != nil {
		t.Fatal(err)
	}
	var md2 metadata.Metadata[metadata.RootType]
	if _, err := md2.FromBytes(root2); err != nil || md2.Signed.Version != 2 || len(md2.Signatures) != 2 {
		t.Fatalf("--out root: version %d, %d signatures (%v); want 2, by the old and the new root key", md2.Signed.Version, len(md2.Signatures), err)
	}

	// The device walks from the shipped root; so does a new one.
	for name, c := range map[string]*config.UpdaterConfig{"the running device": dev, "a device from the shipped root": fx.device("Preview", shipped)} {
		up, e, err := refreshDevice(t, c, target)
		if err != nil || e == nil {
			t.Fatalf("%s after rotation: %+v, %v", name, e, err)
		}
		if v := up.GetTrustedMetadataSet().Root.Signed.Version; v != 2 {
			t.Errorf("%s trusts root version %d, want 2", name, v)
		}
	}

	// Metadata signed by the revoked snapshot key is refused.
	dir := catalog.RingDir("Preview") + "/" + fx.chid
	curTS := readKey(t, fx.store, dir+"/timestamp.json")
	ts, err := metadata.Timestamp().FromBytes(curTS)
	if err != nil {
		t.Fatal(err)
	}
	snapName := strconv.FormatInt(ts.Signed.Meta["snapshot.json"].Version, 10) + ".snapshot.json"
	snap, err := metadata.Snapshot().FromBytes(readKey(t, fx.store, dir+"/"+snapName))
	if err != nil {
		t.Fatal(err)
	}
	tsKey := filepath.Join(keysDir, cfg.Rings["Preview"]["timestamp"].Keys[0][len("file:"):])
	// forge serves a snapshot signed by snapshotKey (under a timestamp the
	// current timestamp key signs) and has a device from the shipped root
	// refresh.
	forge := func(bump int64, snapshotKey string) error {
		t.Helper()
		s := *snap
		s.Signed.Version = snap.Signed.Version + bump
		name := strconv.FormatInt(s.Signed.Version, 10) + ".snapshot.json"
		if _, err := fx.store.Create(t.Context(), dir+"/"+name, bytes.NewReader(signWithFile(t, &s, snapshotKey)), cdn.Props{ContentType: "application/json"}); err != nil {
			t.Fatal(err)
		}
		forged := metadata.Timestamp(time.Now().Add(time.Hour).UTC().Truncate(time.Second))
		forged.Signed.Version = ts.Signed.Version + bump
		forged.Signed.Meta["snapshot.json"] = metadata.MetaFile(s.Signed.Version)
		info, err := fx.store.Stat(t.Context(), dir+"/timestamp.json")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fx.store.Replace(t.Context(), dir+"/timestamp.json", bytes.NewReader(signWithFile(t, forged, tsKey)), info.Props, info.ETag); err != nil {
			t.Fatal(err)
		}
		_, _, err = refreshDevice(t, fx.device("Preview", shipped), target)
		return err
	}
	if err := forge(100, filepath.Join(newDir, "TEST-ONLY-Preview-snapshot.key")); err != nil {
		t.Fatalf("control: a snapshot signed by the new key: %v", err)
	}
	if err := forge(101, oldSnapshot); !errors.As(err, new(*metadata.ErrUnsignedMetadata)) {
		t.Errorf("snapshot signed by the revoked key: error = %v, want ErrUnsignedMetadata", err)
	}
	info, _ := fx.store.Stat(t.Context(), dir+"/timestamp.json")
	if _, err := fx.store.Replace(t.Context(), dir+"/timestamp.json", bytes.NewReader(curTS), info.Props, info.ETag); err != nil {
		t.Fatal(err)
	}

	// Changes go on with the new keys; the device sees them.
	fx.run(0, "flight", "pause", "Contoso.Toaster.Rotate", "1.0.0.1", "--ring", "Preview", "--reason", "after the rotation")
	if _, e, err := refreshDevice(t, dev, target); err != nil || e == nil || e.Rollout.State != catalog.Paused {
		t.Errorf("device after a change with the new keys: %+v, %v", e, err)
	}
	var st struct {
		Rings []struct {
			RootVersion int64 `json:"root_version"`
		} `json:"rings"`
	}
	if err := json.Unmarshal([]byte(fx.run(0, "flight", "status", "--ring", "Preview", "-O", "json")), &st); err != nil || len(st.Rings) != 1 || st.Rings[0].RootVersion != 2 {
		t.Errorf("status after rotation: %+v, %v", st, err)
	}

	// The rotation is in the audit trail, with its reason.
	var h struct {
		Events []struct {
			Ring        string         `json:"ring"`
			RootVersion int64          `json:"root_version"`
			Change      catalog.Change `json:"change"`
		} `json:"events"`
	}
	if err := json.Unmarshal([]byte(fx.run(0, "flight", "history", "--ring", "Preview", "-O", "json")), &h); err != nil {
		t.Fatal(err)
	}
	rotations := 0
	for _, ev := range h.Events {
		if ev.Change.Action == flight.ActionRotate {
			rotations++
			if ev.RootVersion != 2 || ev.Change.Reason != "snapshot key leaked" || ev.Change.Actor != "tester" {
				t.Errorf("rotation event %+v", ev)
			}
		}
	}
	if rotations != 1 {
		t.Errorf("history holds %d rotations, want 1: %+v", rotations, h.Events)
	}
	if out := fx.run(0, "flight", "history", "--ring", "Preview"); !strings.Contains(out, "Preview root v2: rotate keys by tester: snapshot key leaked") {
		t.Errorf("text history lacks the rotation:\n%s", out)
	}

	// A new root the current root key does not sign: refused, nothing written.
	pv["root"] = &flight.RoleKeys{Keys: []string{oldRoot}}
	data, _ = json.Marshal(cfg)
	if err := os.WriteFile(keysPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	var failed flightJSON
	out = fx.run(1, "flight", "keys", "rotate", "--ring", "Preview", "--reason", "back to the old key", "-O", "json")
	if err := json.Unmarshal([]byte(out), &failed); err != nil || failed.Error == nil || failed.Error.Code != "key_unusable" {
		t.Errorf("rotation unsigned by the current root key: %s", out)
	}
	if _, err := fx.store.Stat(t.Context(), catalog.RingDir("Preview")+"/root/3.root.json"); err == nil {
		t.Error("a refused rotation wrote root version 3")
	}
}
