package flight_test

import (
	"context"
	"errors"
	"io"
	"maps"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/cdn/memory"
	"github.com/devupdate/devupdate/flight"
	"github.com/devupdate/devupdate/flight/catalog"
)

// TestKeyRotation replaces a ring's root key and its timestamp key (two new
// keys, threshold 2). A device that shipped the first root walks to the
// new one; metadata signed by the revoked timestamp key, or by only one of
// the two new keys, is refused.
func TestKeyRotation(t *testing.T) {
	e := newEnv(t, memory.New())
	ctx := t.Context()
	p1 := chidOf(e.products[0])
	if _, err := e.f.Add(ctx, "Preview", []*flight.Candidate{e.cand("A.B", "1.0.0.1", p1)}, flight.AddOptions{}, who); err != nil {
		t.Fatal(err)
	}
	shipped, err := e.f.RingRoot(ctx, "Preview")
	if err != nil {
		t.Fatal(err)
	}
	dev := e.device("Preview", p1, shipped.Root)
	e.entries(dev)
	dir := catalog.MetadataDir("Preview", p1)
	revokedTS := e.signTimestamp("Preview", 1000, 2, time.Now().Add(time.Hour))

	// New keys: root and two timestamp keys; the old root key is retired.
	newDir := filepath.Join(t.TempDir(), "new")
	newPath, err := flight.GenerateDevKeys(newDir, []string{"Preview", "EarlyAdopter"})
	if err != nil {
		t.Fatal(err)
	}
	oldCfg := loadKeysFile(t, e.keysPath)
	newCfg := loadKeysFile(t, newPath)
	abs := func(dir string, refs []string) []string {
		var out []string
		for _, r := range refs {
			out = append(out, "file:"+filepath.Join(dir, r[len("file:"):]))
		}
		return out
	}
	pv := oldCfg.Rings["Preview"]
	for role, rk := range pv {
		rk.Keys = abs(filepath.Dir(e.keysPath), rk.Keys)
		pv[role] = rk
	}
	pv["root"] = &flight.RoleKeys{Keys: abs(newDir, newCfg.Rings["Preview"]["root"].Keys), Threshold: 1, Retired: pv["root"].Keys}
	pv["timestamp"] = &flight.RoleKeys{Keys: append(abs(newDir, newCfg.Rings["Preview"]["timestamp"].Keys), abs(newDir, newCfg.Rings["EarlyAdopter"]["timestamp"].Keys)...), Threshold: 2}
	kr := flight.NewKeyring(oldCfg, "/", openFileKey)
	defer kr.Close()
	f2, err := flight.New(e.s, flight.WithKeys(kr))
	if err != nil {
		t.Fatal(err)
	}
	rr, err := f2.RotateKeys(ctx, "Preview", who)
	if err != nil {
		t.Fatal(err)
	}
	if rr.Version != 2 {
		t.Errorf("root version %d after rotation, want 2", rr.Version)
	}
	got := e.entries(dev)
	if len(got) != 1 {
		t.Errorf("after rotation the device sees %v", got)
	}
	if v := dev.up.GetTrustedMetadataSet().Root.Signed.Version; v != 2 {
		t.Errorf("device trusts root version %d, want 2 (walked from 1)", v)
	}
	// A device that ships only root 1 walks too.
	if got := e.entries(e.device("Preview", p1, shipped.Root)); len(got) != 1 {
		t.Errorf("fresh device with the shipped root sees %v", got)
	}
	// Changes go on with the new keys.
	if _, err := f2.SetState(ctx, "Preview", "A.B", ver("1.0.0.1"), catalog.ActionPause, 0, who); err != nil {
		t.Fatal(err)
	}
	if en := e.entries(dev)["A.B_1.0.0.1.cab"]; en == nil || en.Rollout.State != catalog.Paused {
		t.Errorf("after pause: %+v", en)
	}
	cur := e.read(dir + "/timestamp.json")
	t.Run("revoked timestamp key", func(t *testing.T) {
		e.overwrite(dir+"/timestamp.json", revokedTS)
		defer e.overwrite(dir+"/timestamp.json", cur)
		wantTUFError[*metadata.ErrUnsignedMetadata](t, "refresh", e.device("Preview", p1, shipped.Root).refresh())
	})
	t.Run("threshold not met", func(t *testing.T) {
		var md metadata.Metadata[metadata.TimestampType]
		if _, err := md.FromBytes(cur); err != nil {
			t.Fatal(err)
		}
		if len(md.Signatures) != 2 {
			t.Fatalf("timestamp carries %d signatures, want 2", len(md.Signatures))
		}
		md.Signatures = md.Signatures[:1]
		one, _ := md.ToBytes(false)
		e.overwrite(dir+"/timestamp.json", one)
		defer e.overwrite(dir+"/timestamp.json", cur)
		wantTUFError[*metadata.ErrUnsignedMetadata](t, "refresh", e.device("Preview", p1, shipped.Root).refresh())
	})
	// A rotation whose new root the current root keys do not sign is refused.
	pv["root"].Retired = nil
	pv["root"].Keys = abs(newDir, newCfg.Rings["EarlyAdopter"]["root"].Keys)
	if _, err := f2.RotateKeys(ctx, "Preview", who); !errors.Is(err, flight.ErrKey) {
		t.Errorf("rotation without the current root key: error = %v, want ErrKey", err)
	}
	// The audit trail still verifies across the rotation, and records it
	// (not under an update's name).
	if evs, err := f2.History(ctx, "Preview", "A.B"); err != nil || len(evs) != 2 {
		t.Errorf("history across rotation: %v, %v", evs, err)
	}
	evs, err := f2.History(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	var rotations []flight.Event
	for _, ev := range evs {
		if ev.Change.Action == flight.ActionRotate {
			rotations = append(rotations, ev)
		}
	}
	if len(rotations) != 1 || rotations[0].Ring != "Preview" || rotations[0].RootVersion != 2 || rotations[0].Change.Actor != who.Actor ||
		rotations[0].Change.Reason != who.Reason || rotations[0].Product != "" || rotations[0].Name != "" {
		t.Errorf("rotations in the audit trail: %+v, want Preview's root v2 by %s", rotations, who.Actor)
	}
}

func loadKeysFile(t *testing.T, path string) flight.KeysFile {
	t.Helper()
	cfg, err := flight.ReadKeysFile(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestRefresh re-signs what is about to expire with the online keys only,
// is idempotent, and fails when targets expire soon.
func TestRefresh(t *testing.T) {
	e := newEnv(t, memory.New())
	ctx := t.Context()
	p1 := chidOf(e.products[0])
	res, err := e.f.Refresh(ctx, flight.RefreshOptions{WarnWithin: 24 * time.Hour})
	if err != nil || len(res.Resigned) != 0 {
		t.Fatalf("fresh rings: %+v, %v", res, err)
	}
	e.clock.add(13 * time.Hour) // past half of the timestamp's day
	res, err = e.f.Refresh(ctx, flight.RefreshOptions{WarnWithin: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Resigned) != 6 { // 3 rings x 2 products
		t.Errorf("re-signed %d repositories, want 6", len(res.Resigned))
	}
	for _, r := range res.Resigned {
		if len(r.Roles) != 1 || r.Roles[0] != "timestamp" {
			t.Errorf("re-signed %v, want the timestamp only", r)
		}
	}
	if again, err := e.f.Refresh(ctx, flight.RefreshOptions{WarnWithin: 24 * time.Hour}); err != nil || len(again.Resigned) != 0 {
		t.Errorf("second refresh: %+v, %v", again, err)
	}
	// A device whose clock is 13 h on still reads the ring: the timestamp
	// was renewed.
	d := e.device("Preview", p1, nil)
	up, err := newUpdater(d)
	if err != nil {
		t.Fatal(err)
	}
	up.UnsafeSetRefTime(time.Now().Add(20 * time.Hour))
	if err := up.Refresh(); err != nil {
		t.Errorf("device after refresh: %v", err)
	}
	// Four days on the snapshot is re-signed too; 89 days on, targets
	// (an offline key) expire within the window: exit 1 with a reason.
	e.clock.add(4 * 24 * time.Hour)
	res, err = e.f.Refresh(ctx, flight.RefreshOptions{WarnWithin: 24 * time.Hour})
	if err != nil || len(res.Resigned) != 6 || len(res.Resigned[0].Roles) != 2 {
		t.Errorf("refresh after 4 days: %+v, %v", res, err)
	}
	e.clock.add(85 * 24 * time.Hour)
	res, err = e.f.Refresh(ctx, flight.RefreshOptions{WarnWithin: 7 * 24 * time.Hour})
	if !errors.Is(err, flight.ErrExpiring) || len(res.Expiring) != 6 {
		t.Errorf("targets expiring: %+v, %v, want ErrExpiring for 6 repositories", res, err)
	}
}

// TestRefreshWindows: --resign-within re-signs online metadata ahead of the
// half-lifetime rule; --targets renews expiring targets with the targets
// key (the same entries, a new version) instead of failing, and the audit
// trail gains no event.
func TestRefreshWindows(t *testing.T) {
	e := newEnv(t, memory.New())
	ctx := t.Context()
	p1 := chidOf(e.products[0])
	if _, err := e.f.Add(ctx, "Preview", []*flight.Candidate{e.cand("A.B", "1.0.0.1", p1)}, flight.AddOptions{Rollout: 30}, who); err != nil {
		t.Fatal(err)
	}
	roles := func(res *flight.RefreshResult) map[string]int {
		out := map[string]int{}
		for _, r := range res.Resigned {
			out[strings.Join(r.Roles, "+")]++
		}
		return out
	}
	res, err := e.f.Refresh(ctx, flight.RefreshOptions{ResignWithin: 48 * time.Hour})
	if got := roles(res); err != nil || !maps.Equal(got, map[string]int{"timestamp": 6}) {
		t.Errorf("fresh rings, --resign-within 48h: %v, %v; want 6 timestamps", got, err)
	}
	res, err = e.f.Refresh(ctx, flight.RefreshOptions{ResignWithin: 8 * 24 * time.Hour})
	if got := roles(res); err != nil || !maps.Equal(got, map[string]int{"timestamp+snapshot": 6}) {
		t.Errorf("--resign-within 8 days: %v, %v; want 6 timestamps and snapshots", got, err)
	}
	before, err := e.f.History(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.add(85 * 24 * time.Hour) // targets expire within a week
	if _, err := e.f.Refresh(ctx, flight.RefreshOptions{WarnWithin: 7 * 24 * time.Hour}); !errors.Is(err, flight.ErrExpiring) {
		t.Fatalf("targets expiring: %v", err)
	}
	res, err = e.f.Refresh(ctx, flight.RefreshOptions{WarnWithin: 7 * 24 * time.Hour, Targets: true})
	if got := roles(res); err != nil || len(res.Expiring) != 0 || !maps.Equal(got, map[string]int{"timestamp+snapshot+targets": 6}) {
		t.Fatalf("refresh --targets: %v, expiring %v, %v; want 6 targets renewed", got, res.Expiring, err)
	}
	if res, err := e.f.Refresh(ctx, flight.RefreshOptions{WarnWithin: 7 * 24 * time.Hour}); err != nil || len(res.Resigned) != 0 {
		t.Errorf("after renewal: %+v, %v", res, err)
	}
	// A device (its clock on by as much) reads the same entry.
	d := e.device("Preview", p1, nil)
	up, err := newUpdater(d)
	if err != nil {
		t.Fatal(err)
	}
	up.UnsafeSetRefTime(e.clock.now())
	if err := up.Refresh(); err != nil {
		t.Fatalf("device after renewal: %v", err)
	}
	tf, err := up.GetTargetInfo("A.B_1.0.0.1.cab")
	if err != nil {
		t.Fatal(err)
	}
	en, err := catalog.FromTarget("targets.json", tf)
	if err != nil || en.Rollout.Percent != 30 || en.Change.Action != catalog.ActionAdd {
		t.Errorf("entry after renewal: %+v, %v", en, err)
	}
	if exp := up.GetTrustedMetadataSet().Targets["targets"].Signed.Expires; exp.Sub(e.clock.now()) < 89*24*time.Hour {
		t.Errorf("renewed targets expire %v, %v from now", exp, exp.Sub(e.clock.now()))
	}
	after, err := e.f.History(ctx, "", "")
	if err != nil || len(after) != len(before) {
		t.Errorf("history after renewal: %d events (%v), want %d", len(after), err, len(before))
	}
	if _, err := e.f.Refresh(ctx, flight.RefreshOptions{ResignWithin: -time.Hour}); !errors.Is(err, flight.ErrConfig) {
		t.Errorf("negative window: %v", err)
	}
}

// countingStore records the keys read from a store.
type countingStore struct {
	cdn.Store
	mu   sync.Mutex
	gets []string
}

func (c *countingStore) Get(ctx context.Context, key string, r cdn.Range) (io.ReadCloser, cdn.Info, error) {
	c.mu.Lock()
	c.gets = append(c.gets, key)
	c.mu.Unlock()
	return c.Store.Get(ctx, key, r)
}

// take returns the keys read since the last call, by file name pattern.
func (c *countingStore) take() (timestamps, snapshots, targets []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range c.gets {
		switch {
		case strings.HasSuffix(k, "/timestamp.json"):
			timestamps = append(timestamps, k)
		case strings.HasSuffix(k, ".snapshot.json"):
			snapshots = append(snapshots, k)
		case strings.HasSuffix(k, ".targets.json"):
			targets = append(targets, k)
		}
	}
	c.gets = nil
	return timestamps, snapshots, targets
}

// TestRefreshReads: refresh reads each repository's timestamp and snapshot
// and never its targets (the snapshot carries their expiry, under its
// signature); a snapshot without that field (an older store) costs a read
// of the targets; one repository that cannot be read does not keep the
// others from being refreshed.
func TestRefreshReads(t *testing.T) {
	cs := &countingStore{Store: memory.New()}
	e := newEnv(t, cs)
	ctx := t.Context()
	p1 := chidOf(e.products[0])
	if _, err := e.f.Add(ctx, "Preview", []*flight.Candidate{e.cand("A.B", "1.0.0.1", p1)}, flight.AddOptions{}, who); err != nil {
		t.Fatal(err)
	}
	cs.take()
	e.clock.add(13 * time.Hour)
	res, err := e.f.Refresh(ctx, flight.RefreshOptions{WarnWithin: 24 * time.Hour})
	if err != nil || len(res.Resigned) != 6 {
		t.Fatalf("refresh: %+v, %v", res, err)
	}
	ts, snaps, targets := cs.take()
	if len(ts) != 6 || len(snaps) != 6 || len(targets) != 0 {
		t.Errorf("refresh read %d timestamps, %d snapshots and targets %v; want 6, 6 and none", len(ts), len(snaps), targets)
	}
	// The snapshot re-signed four days on still names its targets' expiry.
	e.clock.add(4 * 24 * time.Hour)
	if res, err := e.f.Refresh(ctx, flight.RefreshOptions{WarnWithin: 24 * time.Hour}); err != nil || len(res.Resigned) != 6 || len(res.Resigned[0].Roles) != 2 {
		t.Fatalf("refresh re-signing snapshots: %+v, %v", res, err)
	}
	if _, _, targets := cs.take(); len(targets) != 0 {
		t.Errorf("refresh re-signing snapshots read targets %v", targets)
	}
	e.entries(e.device("Preview", p1, nil))
	cs.take()                        // what the device read
	e.clock.add(85 * 24 * time.Hour) // targets expire within a week: seen without reading them
	if res, err := e.f.Refresh(ctx, flight.RefreshOptions{WarnWithin: 7 * 24 * time.Hour}); !errors.Is(err, flight.ErrExpiring) || len(res.Expiring) != 6 {
		t.Errorf("targets expiring: %+v, %v", res, err)
	}
	if _, _, targets := cs.take(); len(targets) != 0 {
		t.Errorf("refresh read targets %v to learn their expiry", targets)
	}

	// An older store's snapshot, without the field: the targets are read.
	dir := catalog.MetadataDir("Preview", p1)
	var cur metadata.Metadata[metadata.TimestampType]
	if _, err := cur.FromBytes(e.read(dir + "/timestamp.json")); err != nil {
		t.Fatal(err)
	}
	snapKey := dir + "/" + itoa(cur.Signed.Meta["snapshot.json"].Version) + ".snapshot.json"
	snap, err := metadata.Snapshot().FromBytes(e.read(snapKey))
	if err != nil {
		t.Fatal(err)
	}
	delete(snap.Signed.UnrecognizedFields, "x-devupdate-targets-expires")
	snap.ClearSignatures()
	ss, err := e.keys.Signers(ctx, "Preview", "snapshot", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snap.Sign(ss[0]); err != nil {
		t.Fatal(err)
	}
	old, _ := snap.ToBytes(false)
	e.overwrite(snapKey, old)
	if _, err := e.f.Refresh(ctx, flight.RefreshOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, targets := cs.take(); len(targets) != 1 || !strings.HasPrefix(targets[0], dir+"/") {
		t.Errorf("with one snapshot lacking its targets' expiry, refresh read targets %v; want that repository's", targets)
	}

	// A repository that cannot be read: the others are re-signed, and the
	// error names it.
	e.clock.add(13 * time.Hour)
	bad := catalog.MetadataDir("EarlyAdopter", chidOf(e.products[1])) + "/timestamp.json"
	e.overwrite(bad, []byte("{}"))
	res, err = e.f.Refresh(ctx, flight.RefreshOptions{})
	if !errors.Is(err, flight.ErrCorrupt) || !strings.Contains(err.Error(), "toaster-2 in EarlyAdopter") || len(res.Resigned) != 5 {
		t.Errorf("refresh with one unreadable repository: %d re-signed, error %v; want 5 and ErrCorrupt naming it", len(res.Resigned), err)
	}
}
