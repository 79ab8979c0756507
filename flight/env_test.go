package flight_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/cdn/origin"
	"github.com/devupdate/devupdate/flight"
	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/manifest"
	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/smbios"
	"github.com/devupdate/devupdate/smbios/product"
)

// clock is a settable clock starting now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// openFileKey opens keys the way the CLI does, files only.
func openFileKey(ctx context.Context, ref string) (flight.Key, error) {
	k, err := signer.OpenKey(ctx, ref)
	if err != nil {
		return nil, err
	}
	return k.Key, nil
}

type env struct {
	t        *testing.T
	s        cdn.Store
	f        *flight.Flight
	keys     *flight.Keyring
	keysPath string
	clock    *clock
	products []*product.Product
	srv      *httptest.Server
}

func testProduct(t testing.TB, i int) *product.Product {
	t.Helper()
	p, err := product.Parse(fmt.Sprintf("p%d.yaml", i), fmt.Appendf(nil, `name: toaster-%d
smbios:
  manufacturer: Contoso
  family: Kitchen Appliances
  product_name: Toaster %d
  sku: TST-%d
  baseboard_manufacturer: Contoso
  baseboard_product: TB-01
`, i, 3000+i, i))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func chidOf(p *product.Product) smbios.CHID {
	h, _ := p.TargetingID()
	return h.GUID
}

// newEnv initialises the default rings (Preview soaks an hour) with two
// products on s, keys generated into a temporary directory.
func newEnv(t *testing.T, s cdn.Store) *env {
	t.Helper()
	e := &env{t: t, s: s, clock: &clock{t: time.Now().UTC()}}
	rings := flight.DefaultRings()
	rings[0].Soak = flight.Duration(time.Hour)
	names := []string{rings[0].Name, rings[1].Name, rings[2].Name}
	var err error
	if e.keysPath, err = flight.GenerateDevKeys(filepath.Join(t.TempDir(), "keys"), names); err != nil {
		t.Fatal(err)
	}
	if e.keys, err = flight.LoadKeyring(t.Context(), e.keysPath, openFileKey); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.keys.Close() })
	if e.f, err = flight.New(s, flight.WithKeys(e.keys), flight.WithClock(e.clock.now)); err != nil {
		t.Fatal(err)
	}
	e.products = []*product.Product{testProduct(t, 1), testProduct(t, 2)}
	if _, err := e.f.Init(t.Context(), flight.InitRequest{Rings: rings, Products: e.products}); err != nil {
		t.Fatal(err)
	}
	h, err := origin.NewHandler(s)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

var who = flight.Who{Actor: "test@ci", Reason: "testing"}

// cand publishes random bytes as the cabinet of an update and returns the
// candidate Add takes (Prepare's verification is tested on its own).
func (e *env) cand(name, version string, targets ...smbios.CHID) *flight.Candidate {
	e.t.Helper()
	v, err := manifest.ParseVersion(version)
	if err != nil {
		e.t.Fatal(err)
	}
	data := make([]byte, 1000)
	rand.Read(data)
	p := filepath.Join(e.t.TempDir(), name+".cab")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		e.t.Fatal(err)
	}
	res, err := cdn.Publish(e.t.Context(), e.s, p)
	if err != nil {
		e.t.Fatal(err)
	}
	return &flight.Candidate{File: p, SHA256: res.SHA256, Length: res.Size,
		Update: &manifest.Update{Name: name, Kind: manifest.KindDriver, Version: v, Targets: targets}}
}

// device is a TUF client of one ring's repository for one product, as a
// device would configure go-tuf: the ring's root.json, the metadata base and
// the shared targets base, default settings otherwise.
type device struct {
	ring string
	chid smbios.CHID
	cfg  *config.UpdaterConfig
	up   *updater.Updater
}

func (e *env) device(ring string, chid smbios.CHID, root []byte) *device {
	e.t.Helper()
	if root == nil {
		rr, err := e.f.RingRoot(e.t.Context(), ring)
		if err != nil {
			e.t.Fatal(err)
		}
		root = rr.Root
	}
	cfg, err := config.New(e.srv.URL+"/"+catalog.MetadataDir(ring, chid), root)
	if err != nil {
		e.t.Fatal(err)
	}
	cfg.RemoteTargetsURL = e.srv.URL + "/" + catalog.TargetsDir
	cfg.LocalMetadataDir = filepath.Join(e.t.TempDir(), "metadata")
	cfg.LocalTargetsDir = filepath.Join(e.t.TempDir(), "targets")
	if err := cfg.SetDefaultFetcherRetry(time.Millisecond, 1); err != nil {
		e.t.Fatal(err)
	}
	return &device{ring: ring, chid: chid, cfg: cfg}
}

// refresh runs the updater from the device's current trusted state.
func (d *device) refresh() error {
	up, err := updater.New(d.cfg)
	if err != nil {
		return err
	}
	d.up = up
	return up.Refresh()
}

// entries refreshes and returns what the device sees, checking that every
// target downloads and matches its signed length and hash.
func (e *env) entries(d *device) map[string]*catalog.Entry {
	e.t.Helper()
	if err := d.refresh(); err != nil {
		e.t.Fatalf("device refresh: %v", err)
	}
	if err := catalog.CheckRepository("targets.json", d.up.GetTrustedMetadataSet().Targets["targets"], d.ring, d.chid); err != nil {
		e.t.Fatalf("device checks its repository: %v", err)
	}
	out := map[string]*catalog.Entry{}
	for p, tf := range d.up.GetTopLevelTargets() {
		tf.Path = p
		ent, err := catalog.FromTarget("targets.json", tf)
		if err != nil {
			e.t.Fatalf("device reads entry %s: %v", p, err)
		}
		if _, _, err := d.up.DownloadTarget(tf, filepath.Join(e.t.TempDir(), "dl"), ""); err != nil {
			e.t.Fatalf("device downloads %s: %v", p, err)
		}
		out[p] = ent
	}
	return out
}

func newUpdater(d *device) (*updater.Updater, error) { return updater.New(d.cfg) }
