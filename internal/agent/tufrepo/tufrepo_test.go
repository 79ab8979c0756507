package tufrepo_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"

	"github.com/devupdate/devupdate/flight"
	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/internal/agent/agenttest"
	"github.com/devupdate/devupdate/internal/agent/fetch"
	"github.com/devupdate/devupdate/internal/agent/tufrepo"
)

// counter counts requests and body bytes at the HTTP layer.
type counter struct {
	requests, bytes atomic.Int64
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		c.requests.Add(1)
		resp.Body = &countBody{resp.Body, c}
	}
	return resp, err
}

type countBody struct {
	body interface {
		Read([]byte) (int, error)
		Close() error
	}
	c *counter
}

func (b *countBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	b.c.bytes.Add(int64(n))
	return n, err
}
func (b *countBody) Close() error { return b.body.Close() }

type device struct {
	repo  *tufrepo.Repo
	cache tufrepo.Dir
	http  *counter
	now   time.Time
}

func newDevice(t *testing.T, w *agenttest.World, ring string, product int, memo *tufrepo.Memo) *device {
	t.Helper()
	root, err := os.ReadFile(filepath.Join(w.RootsDir, ring+".root.json"))
	if err != nil {
		t.Fatal(err)
	}
	d := &device{http: &counter{}, cache: tufrepo.Dir(filepath.Join(t.TempDir(), "tuf")), now: time.Now()}
	f, err := fetch.New([]string{w.URL}, fetch.WithHTTPClient(&http.Client{Transport: d.http}), fetch.WithBackoff(0, 0), fetch.WithAttempts(2))
	if err != nil {
		t.Fatal(err)
	}
	d.repo = &tufrepo.Repo{Root: root, Dir: catalog.MetadataDir(ring, w.CHID(product)), Fetcher: f, Cache: d.cache,
		Now: func() time.Time { return d.now }, Memo: memo}
	return d
}

// oracle refreshes go-tuf's own updater from a copy of the device's cache
// (the same <role>.json layout as its LocalMetadataDir).
func oracle(t *testing.T, w *agenttest.World, d *device, ring string, product int) error {
	t.Helper()
	dir := t.TempDir()
	for _, role := range []string{"root", "timestamp", "snapshot", "targets"} {
		if data, err := d.cache.Get(role); err == nil {
			os.WriteFile(filepath.Join(dir, role+".json"), data, 0o600)
		}
	}
	cfg, err := config.New(w.URL+catalog.MetadataDir(ring, w.CHID(product)), d.repo.Root)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RemoteTargetsURL = w.URL + catalog.TargetsDir
	cfg.LocalMetadataDir = dir
	cfg.LocalTargetsDir = t.TempDir()
	cfg.SetDefaultFetcherRetry(time.Millisecond, 1)
	up, err := updater.New(cfg)
	if err != nil {
		return err
	}
	up.UnsafeSetRefTime(d.now)
	return up.Refresh()
}

func TestRefreshAndNothingNew(t *testing.T) {
	w := agenttest.New(t)
	w.Add("Preview", w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Settings", Version: "1.0.0.1"}), 100, nil)
	memo := &tufrepo.Memo{}
	d := newDevice(t, w, "Preview", 0, memo)
	ctx := context.Background()
	tr, err := d.repo.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tr.Targets["Contoso.Toaster.Settings_1.0.0.1.cab"]; !ok || len(tr.Targets) != 1 {
		t.Fatalf("targets %v", tr.Targets)
	}
	// Nothing new: the next-root probe and the timestamp, and the
	// verified state of the last refresh.
	d.http.requests.Store(0)
	d.http.bytes.Store(0)
	again, err := d.repo.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again != tr || d.http.requests.Load() != 2 {
		t.Errorf("nothing new: %d requests (want 2), same state %v", d.http.requests.Load(), again == tr)
	}
	// Without a memo, the same two requests, with everything verified again.
	d2 := newDevice(t, w, "Preview", 0, nil)
	if _, err := d2.repo.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	d2.http.requests.Store(0)
	fresh, err := d2.repo.Refresh(ctx)
	if err != nil || fresh.TargetsVersion != tr.TargetsVersion || d2.http.requests.Load() != 2 {
		t.Errorf("without memo: %v, %d requests", err, d2.http.requests.Load())
	}
	// A change: the new timestamp, snapshot and targets.
	w.Add("Preview", w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Settings", Version: "1.0.0.2"}), 100, nil)
	d.http.requests.Store(0)
	changed, err := d.repo.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(changed.Targets) != 2 || changed.TargetsVersion <= tr.TargetsVersion || d.http.requests.Load() != 4 {
		t.Errorf("after a change: %d targets, version %d, %d requests (want 4)", len(changed.Targets), changed.TargetsVersion, d.http.requests.Load())
	}
	if err := oracle(t, w, d, "Preview", 0); err != nil {
		t.Errorf("go-tuf's updater refuses what was accepted: %v", err)
	}
}

// TestRefuses: each attack is refused with its go-tuf error, by this
// client and by go-tuf's updater alike, from the same trusted state.
func TestRefuses(t *testing.T) {
	w := agenttest.New(t)
	ctx := context.Background()
	dir := catalog.MetadataDir("Preview", w.CHID(0))
	w.Add("Preview", w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Settings", Version: "1.0.0.1"}), 100, nil)
	oldTS := w.Read(dir + "/timestamp.json")
	w.Add("Preview", w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Settings", Version: "1.0.0.2"}), 100, nil)
	curTS := w.Read(dir + "/timestamp.json")

	tests := []struct {
		name   string
		attack func(d *device) (restore func())
		want   func(error) bool
	}{
		{"replayed older timestamp", func(d *device) func() { return w.Overwrite(dir+"/timestamp.json", oldTS) }, is[*metadata.ErrBadVersionNumber]},
		{"expired metadata", func(d *device) func() { d.now = d.now.Add(25 * time.Hour); return func() {} }, is[*metadata.ErrExpiredMetadata]},
		{"another ring's metadata", func(d *device) func() {
			return w.Overwrite(dir+"/timestamp.json", w.Read(catalog.MetadataDir("EarlyAdopter", w.CHID(0))+"/timestamp.json"))
		}, is[*metadata.ErrUnsignedMetadata]},
		{"oversized timestamp", func(d *device) func() {
			return w.Overwrite(dir+"/timestamp.json", append(bytes.Clone(curTS), bytes.Repeat([]byte(" "), tufrepo.MaxTimestamp)...))
		}, func(err error) bool { return errors.Is(err, fetch.ErrTooLong) }},
	}
	for _, memo := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(tt.name+map[bool]string{true: " (memo)", false: ""}[memo], func(t *testing.T) {
				var m *tufrepo.Memo
				if memo {
					m = &tufrepo.Memo{}
				}
				d := newDevice(t, w, "Preview", 0, m)
				if _, err := d.repo.Refresh(ctx); err != nil {
					t.Fatal(err)
				}
				restore := tt.attack(d)
				defer restore()
				_, err := d.repo.Refresh(ctx)
				if !tt.want(err) {
					t.Errorf("error %v (%T)", err, err)
				}
				if tt.name != "oversized timestamp" {
					if oerr := oracle(t, w, d, "Preview", 0); !tt.want(oerr) {
						t.Errorf("go-tuf's updater: %v, ours: %v", oerr, err)
					}
				}
				restore()
				if _, err := d.repo.Refresh(ctx); err != nil && tt.name != "expired metadata" {
					t.Errorf("after the attack ended: %v", err)
				}
			})
		}
	}
	t.Run("another ring's root", func(t *testing.T) {
		d := newDevice(t, w, "EarlyAdopter", 0, nil)
		d.repo.Dir = dir // an EarlyAdopter device pointed at Preview's repository
		if _, err := d.repo.Refresh(ctx); !is[*metadata.ErrUnsignedMetadata](err) {
			t.Errorf("error %v", err)
		}
	})
}

func is[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

// TestCorruptCacheRebuilt: whatever a power cut leaves in the cache, the
// next refresh succeeds from the shipped root and rewrites it.
func TestCorruptCacheRebuilt(t *testing.T) {
	w := agenttest.New(t)
	w.Add("Preview", w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Settings", Version: "1.0.0.1"}), 100, nil)
	ctx := context.Background()
	for _, role := range []string{"root", "timestamp", "snapshot", "targets"} {
		for name, damage := range map[string][]byte{"garbage": []byte("\x00\x00garbage"), "empty": {}, "truncated": nil} {
			t.Run(role+" "+name, func(t *testing.T) {
				d := newDevice(t, w, "Preview", 0, &tufrepo.Memo{})
				want, err := d.repo.Refresh(ctx)
				if err != nil {
					t.Fatal(err)
				}
				p := filepath.Join(string(d.cache), role+".json")
				good, _ := os.ReadFile(p)
				if damage == nil {
					damage = good[:len(good)/2]
				}
				if err := os.WriteFile(p, damage, 0o600); err != nil {
					t.Fatal(err)
				}
				got, err := d.repo.Refresh(ctx)
				if err != nil {
					t.Fatalf("refresh over a corrupt %s: %v", role, err)
				}
				if got.TargetsVersion != want.TargetsVersion || !d.repo.Rebuilt {
					t.Errorf("targets version %d (want %d), rebuilt %v", got.TargetsVersion, want.TargetsVersion, d.repo.Rebuilt)
				}
				if again, _ := os.ReadFile(p); !bytes.Equal(again, good) {
					t.Errorf("%s not rewritten", role)
				}
				if err := oracle(t, w, d, "Preview", 0); err != nil {
					t.Errorf("go-tuf's updater on the rebuilt cache: %v", err)
				}
			})
		}
	}
}

// TestRootRotation: the device walks from its shipped root to the next.
func TestRootRotation(t *testing.T) {
	w := agenttest.New(t)
	w.Add("Preview", w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Settings", Version: "1.0.0.1"}), 100, nil)
	ctx := context.Background()
	d := newDevice(t, w, "Preview", 0, &tufrepo.Memo{})
	if _, err := d.repo.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	rr, err := w.Flight.RotateKeys(ctx, "Preview", flight.Who{Actor: "t", Reason: "rotation"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.repo.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.RootVersion != rr.Version || rr.Version < 2 {
		t.Errorf("root version %d, ring's %d", got.RootVersion, rr.Version)
	}
}

// BenchmarkRefresh is a scan's refresh with nothing new: without a memo
// (a device's agent process, which verifies its cached metadata again
// each run) and with one (the fleet simulator's devices).
func BenchmarkRefresh(b *testing.B) {
	w := agenttest.New(b)
	w.Add("Preview", w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Settings", Version: "1.0.0.1"}), 100, nil)
	root, err := os.ReadFile(filepath.Join(w.RootsDir, "Preview.root.json"))
	if err != nil {
		b.Fatal(err)
	}
	f, err := fetch.New([]string{w.URL})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		memo *tufrepo.Memo
	}{{"no-memo", nil}, {"memo", &tufrepo.Memo{}}} {
		b.Run(bc.name, func(b *testing.B) {
			repo := &tufrepo.Repo{Root: root, Dir: catalog.MetadataDir("Preview", w.CHID(0)), Fetcher: f, Cache: &tufrepo.Memory{}, Memo: bc.memo}
			ctx := context.Background()
			if _, err := repo.Refresh(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := repo.Refresh(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
