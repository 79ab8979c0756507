// Package agenttest builds, for the agent's tests and benchmarks, the
// world a device meets, out of the real parts: rings made by the flight
// library (TEST-ONLY development keys) on a directory store, served on
// loopback by cdn/origin (what `devupdate serve` runs), cabinets written
// by the packager and signed by the signer with a TEST-ONLY EV chain from
// signer/devpki (the OEM's), and a second TEST-ONLY EV chain that is not
// the OEM's. It links the publishing side, so only tests and benchmark
// programs (hack/agentbench) import it.
package agenttest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/cdn/local"
	"github.com/devupdate/devupdate/cdn/memory"
	"github.com/devupdate/devupdate/cdn/origin"
	"github.com/devupdate/devupdate/flight"
	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/internal/agent/config"
	"github.com/devupdate/devupdate/manifest"
	"github.com/devupdate/devupdate/manifest/update"
	"github.com/devupdate/devupdate/packager"
	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/signer/devpki"
	"github.com/devupdate/devupdate/smbios"
	"github.com/devupdate/devupdate/smbios/product"
)

// OEMSubject is the common name of the OEM's TEST-ONLY EV certificate.
const OEMSubject = "Contoso Ltd TEST-ONLY EV Code Signing"

// OtherSubject is the second chain's: a valid EV signer that is not the OEM.
const OtherSubject = "Fabrikam Inc TEST-ONLY EV Code Signing"

// TB is what the world needs of its caller: a test or benchmark
// (testing.TB), or a benchmark program (hack/agentbench).
type TB interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	TempDir() string
	Cleanup(func())
}

// Clock is a settable clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Add moves the clock.
func (c *Clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// World is a store with initialised rings served on loopback, two
// products, the OEM's signing chain and another EV chain.
type World struct {
	T     TB
	Dir   string
	Store cdn.Store
	// StoreDir is the directory store's root (empty with WithMemoryStore).
	StoreDir string
	Flight   *flight.Flight
	Keys     *flight.Keyring
	KeysPath string
	// Clock drives flight's changes (metadata times and expiries).
	Clock *Clock
	// Origin serves the store (cdn/origin, as `devupdate serve`); nil with
	// WithoutOrigin.
	Origin *httptest.Server
	// URL is the base URL devices use: Origin's, unless Front was set
	// (empty with WithoutOrigin until the caller sets it).
	URL string
	// RootsDir holds <ring>.root.json, as `flight init --out` writes it.
	RootsDir string
	// OEM is the OEM's TEST-ONLY EV chain; OEMRoots its root as PEM.
	OEM      *devpki.PKI
	OEMRoots string
	// Other is a second TEST-ONLY EV chain (another company's);
	// OtherRoots its root.
	Other      *devpki.PKI
	OtherRoots string
	// Products are Contoso's Toaster 3000 (the example product, whose
	// golden device is examples/contoso-toaster/golden-device.bin), a
	// Toaster 4000, and with WithProducts more (see Product).
	Products []*product.Product

	mu   sync.Mutex
	cabs int
}

// ExampleProduct is the example product file, relative to the repository.
const ExampleProduct = "examples/contoso-toaster/product.yaml"

// GoldenDevice is the example product's golden device dump.
const GoldenDevice = "examples/contoso-toaster/golden-device.bin"

// Repo returns the path of a file of the repository.
func Repo(t TB, rel string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, rel)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// Option configures New.
type Option func(*worldOptions)

type worldOptions struct {
	products    int
	originOpts  []origin.Option
	noOrigin    bool
	memoryStore bool
}

// WithProducts registers n products (default 2, the least): the two of
// Products, then Toaster models made up from their number (Product).
func WithProducts(n int) Option { return func(o *worldOptions) { o.products = max(n, 2) } }

// WithOrigin passes options to the origin (its max-ages, as `devupdate
// serve --timestamp-max-age` and `--not-found-max-age` set them).
func WithOrigin(opts ...origin.Option) Option {
	return func(o *worldOptions) { o.originOpts = append(o.originOpts, opts...) }
}

// WithoutOrigin serves nothing: the caller serves StoreDir itself (the
// fleet simulation runs `devupdate serve` on it) and sets URL (default:
// the origin in this process).
func WithoutOrigin() Option { return func(o *worldOptions) { o.noOrigin = true } }

// WithMemoryStore keeps the store in memory (cdn/memory) instead of a
// directory: for figures that do not depend on the store, at sizes where
// writing thousands of repositories to disk would dominate.
func WithMemoryStore() Option { return func(o *worldOptions) { o.memoryStore = true } }

// Product returns product i of a world: the example product (0), the
// Toaster 4000 (1), then made-up Toaster models with their own SKU and
// baseboard.
func Product(t TB, i int) *product.Product {
	t.Helper()
	var (
		p   *product.Product
		err error
	)
	switch i {
	case 0:
		p, err = product.Load(context.Background(), Repo(t, ExampleProduct))
	case 1:
		p, err = product.Parse("toaster-4000.yaml", []byte(`name: toaster-4000
smbios:
  manufacturer: Contoso
  family: Kitchen Appliances
  product_name: Toaster 4000
  sku: TST-4000-US
  baseboard_manufacturer: Contoso
  baseboard_product: TB-02
`))
	default:
		p, err = product.Parse(fmt.Sprintf("toaster-m%d.yaml", i), fmt.Appendf(nil, `name: toaster-m%d
smbios:
  manufacturer: Contoso
  family: Kitchen Appliances
  product_name: Toaster M%d
  sku: TST-M%d
  baseboard_manufacturer: Contoso
  baseboard_product: TB-M%d
`, i, i, i, i))
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// New makes a World: rings Preview, EarlyAdopter, GeneralAvailability
// (no soak) with its products registered (two unless WithProducts),
// served on loopback (unless WithoutOrigin).
func New(t TB, opts ...Option) *World {
	t.Helper()
	o := worldOptions{products: 2}
	for _, opt := range opts {
		opt(&o)
	}
	ctx := context.Background()
	w := &World{T: t, Dir: t.TempDir(), Clock: &Clock{t: time.Now().UTC()}}
	if o.memoryStore {
		w.Store = memory.New()
	} else {
		w.StoreDir = filepath.Join(w.Dir, "store")
		s, err := local.New(w.StoreDir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		w.Store = s
	}
	s := w.Store
	var err error
	rings := flight.DefaultRings()
	names := []string{rings[0].Name, rings[1].Name, rings[2].Name}
	if w.KeysPath, err = flight.GenerateDevKeys(ctx, filepath.Join(w.Dir, "flight-keys"), names); err != nil {
		t.Fatal(err)
	}
	open := func(ctx context.Context, ref string) (flight.Key, error) {
		k, err := signer.OpenKey(ctx, ref)
		if err != nil {
			return nil, err
		}
		return k.Key, nil
	}
	if w.Keys, err = flight.LoadKeyring(ctx, w.KeysPath, open); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Keys.Close() })
	if w.Flight, err = flight.New(s, flight.WithKeys(w.Keys), flight.WithClock(w.Clock.Now)); err != nil {
		t.Fatal(err)
	}
	for i := range o.products {
		w.Products = append(w.Products, Product(t, i))
	}
	res, err := w.Flight.Init(ctx, flight.InitRequest{Rings: rings, Products: w.Products})
	if err != nil {
		t.Fatal(err)
	}
	w.RootsDir = filepath.Join(w.Dir, "device-roots")
	if err := os.MkdirAll(w.RootsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Rings {
		rr, err := w.Flight.RingRoot(ctx, r.Ring)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(w.RootsDir, r.Ring+".root.json"), rr.Root, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w.OEM, w.OEMRoots = newPKI(t, w.Dir, "oem-pki", OEMSubject)
	w.Other, w.OtherRoots = newPKI(t, w.Dir, "other-pki", OtherSubject)
	if o.noOrigin {
		return w
	}
	h, err := origin.NewHandler(s, o.originOpts...)
	if err != nil {
		t.Fatal(err)
	}
	w.Origin = httptest.NewServer(h)
	t.Cleanup(w.Origin.Close)
	w.URL = w.Origin.URL + "/"
	return w
}

func newPKI(t TB, dir, name, cn string) (*devpki.PKI, string) {
	t.Helper()
	pki, err := devpki.New(devpki.WithLeafCommonName(cn))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".root.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pki.Root.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return pki, p
}

// CHID returns the targeting CHID of product i.
func (w *World) CHID(i int) smbios.CHID {
	h, ok := w.Products[i].TargetingID()
	if !ok {
		w.T.Fatalf("product %d has no targeting CHID", i)
	}
	return h.GUID
}

// Fields returns a JSON fields file of a device of product i.
func (w *World) Fields(i int) string {
	w.T.Helper()
	f := w.Products[i].SMBIOS
	p := filepath.Join(w.Dir, fmt.Sprintf("device-%d.json", i))
	data := fmt.Sprintf(`{"manufacturer": %q, "family": %q, "product_name": %q, "sku": %q, "baseboard_manufacturer": %q, "baseboard_product": %q}`,
		f.Manufacturer, f.Family, f.ProductName, f.SKU, f.BaseboardManufacturer, f.BaseboardProduct)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		w.T.Fatal(err)
	}
	return p
}

// Cab describes a cabinet to build.
type Cab struct {
	Name    string
	Version string
	// Kind defaults to ocp.
	Kind update.Kind
	// Targets default to product 0's targeting CHID.
	Targets  []smbios.CHID
	Requires []update.Requirement
	// Files are the payload (default: one small settings file). A
	// driver gets an .inf, an app an .msix, when none is given.
	Files map[string][]byte
	// PayloadSize, when set, adds a file of that many pseudo-random
	// (incompressible) bytes, streamed, never held in memory.
	PayloadSize int64
	// SignWith defaults to the OEM's chain; Unsigned leaves it unsigned.
	SignWith *devpki.PKI
	Unsigned bool
}

// Version parses a.b.c.d or fails the test.
func (w *World) Version(s string) update.Version {
	w.T.Helper()
	v, err := update.ParseVersion(s)
	if err != nil {
		w.T.Fatal(err)
	}
	return v
}

// Cabinet builds the cabinet c with the packager and signs it with the
// signer, and returns its path.
func (w *World) Cabinet(c Cab) string {
	t := w.T
	t.Helper()
	ctx := context.Background()
	if c.Kind == "" {
		c.Kind = update.KindOCP
	}
	if c.Targets == nil {
		c.Targets = []smbios.CHID{w.CHID(0)}
	}
	files := map[string][]byte{}
	for k, v := range c.Files {
		files[k] = v
	}
	if len(files) == 0 {
		files["settings/"+c.Name+".xml"] = []byte("<settings name=\"" + c.Name + "\" version=\"" + c.Version + "\"/>\n")
	}
	u := &update.Update{Name: c.Name, Kind: c.Kind, Version: w.Version(c.Version), Targets: c.Targets, Requires: c.Requires}
	switch c.Kind {
	case update.KindDriver:
		u.INF = "driver/" + strings.ToLower(strings.ReplaceAll(c.Name, ".", "_")) + ".inf"
		if _, ok := files[u.INF]; !ok {
			files[u.INF] = []byte("[Version]\r\nSignature=\"$WINDOWS NT$\"\r\n")
		}
	case update.KindApp:
		u.Package = "app/" + c.Name + "_" + c.Version + ".msix"
		if _, ok := files[u.Package]; !ok {
			files[u.Package] = []byte("PK\x03\x04 not really an msix")
		}
	}
	var pf []packager.File
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		data := files[n]
		sum := sha256.Sum256(data)
		u.Files = append(u.Files, update.File{Path: n, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])})
		pf = append(pf, packager.File{Name: n, Size: int64(len(data)), Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }})
	}
	if c.PayloadSize > 0 {
		name := "payload/blob.bin"
		seed := uint64(len(c.Name))
		h := sha256.New()
		if _, err := io.Copy(h, noise(seed, c.PayloadSize)); err != nil {
			t.Fatal(err)
		}
		u.Files = append(u.Files, update.File{Path: name, Size: c.PayloadSize, SHA256: hex.EncodeToString(h.Sum(nil))})
		pf = append(pf, packager.File{Name: name, Size: c.PayloadSize, Open: func() (io.ReadCloser, error) { return io.NopCloser(noise(seed, c.PayloadSize)), nil }})
		sort.Slice(u.Files, func(i, j int) bool { return u.Files[i].Path < u.Files[j].Path })
	}
	doc, err := u.EncodeJSON()
	if err != nil {
		t.Fatal(err)
	}
	pf = append(pf, packager.File{Name: manifest.UpdateJSONName, Size: int64(len(doc)), Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(doc)), nil }})
	w.mu.Lock()
	w.cabs++
	dir := filepath.Join(w.Dir, fmt.Sprintf("cab-%d", w.cabs))
	w.mu.Unlock()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, u.CabinetName())
	if _, err := packager.WriteFile(ctx, out, pf); err != nil {
		t.Fatal(err)
	}
	if c.Unsigned {
		return out
	}
	pki := c.SignWith
	if pki == nil {
		pki = w.OEM
	}
	s, err := signer.New(ctx, pki.LeafKey, pki.Chain(), signer.Policy{Roots: pki.Roots()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignFile(ctx, out, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// noise is n deterministic pseudo-random bytes.
func noise(seed uint64, n int64) io.Reader {
	return io.LimitReader(&rng{r: rand.New(rand.NewPCG(seed, 1))}, n)
}

type rng struct{ r *rand.Rand }

func (g *rng) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(g.r.Uint32())
	}
	return len(p), nil
}

var who = flight.Who{Actor: "agenttest@ci", Reason: "agent test"}

// Add adds the cabinet to ring at rollout % through flight (Prepare
// verifies it against the roots of the chain that signed it, as a release
// engineer holding that chain's roots would), and returns its update.
func (w *World) Add(ring, cab string, rollout int, signedBy *devpki.PKI) *update.Update {
	w.T.Helper()
	return w.AddWith(ring, cab, flight.AddOptions{Rollout: rollout}, signedBy)
}

// AddWith is Add with flight's options (a downgrade, say).
func (w *World) AddWith(ring, cab string, o flight.AddOptions, signedBy *devpki.PKI) *update.Update {
	w.T.Helper()
	if signedBy == nil {
		signedBy = w.OEM
	}
	ctx := context.Background()
	cand, err := w.Flight.Prepare(ctx, cab, signer.Policy{Roots: signedBy.Roots()})
	if err != nil {
		w.T.Fatal(err)
	}
	if _, err := w.Flight.Add(ctx, ring, []*flight.Candidate{cand}, o, who); err != nil {
		w.T.Fatal(err)
	}
	return cand.Update
}

// Promote promotes name version to ring at rollout %.
func (w *World) Promote(name, version, to string, rollout int) {
	w.T.Helper()
	if _, err := w.Flight.Promote(context.Background(), name, w.Version(version), to, rollout, false, who); err != nil {
		w.T.Fatal(err)
	}
}

// Set changes an update's state in ring (pause, resume, halt, rollout).
func (w *World) Set(ring, name, version string, action catalog.Action, percent int) {
	w.T.Helper()
	if _, err := w.Flight.SetState(context.Background(), ring, name, w.Version(version), action, percent, who); err != nil {
		w.T.Fatal(err)
	}
}

// Read returns a stored blob.
func (w *World) Read(key string) []byte {
	w.T.Helper()
	rc, _, err := w.Store.Get(context.Background(), key, cdn.Range{})
	if err != nil {
		w.T.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		w.T.Fatal(err)
	}
	return data
}

// Overwrite replaces a stored blob, as an attacker with write access to
// the store (or a lying CDN) would; the returned function puts it back.
func (w *World) Overwrite(key string, data []byte) (restore func()) {
	w.T.Helper()
	ctx := context.Background()
	orig := w.Read(key)
	info, err := w.Store.Stat(ctx, key)
	if err != nil {
		w.T.Fatal(err)
	}
	if _, err := w.Store.Replace(ctx, key, bytes.NewReader(data), info.Props, info.ETag); err != nil {
		w.T.Fatal(err)
	}
	return func() {
		info, err := w.Store.Stat(ctx, key)
		if err != nil {
			w.T.Fatal(err)
		}
		if _, err := w.Store.Replace(ctx, key, bytes.NewReader(orig), info.Props, info.ETag); err != nil {
			w.T.Fatal(err)
		}
	}
}

// TargetKey is where the cabinet of name version is stored in ring for
// product i.
func (w *World) TargetKey(cab string) string {
	w.T.Helper()
	data, err := os.ReadFile(cab)
	if err != nil {
		w.T.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return catalog.TargetKey(hex.EncodeToString(sum[:]), path.Base(cab))
}

// Config is a device configuration for ring: this world's server, roots,
// the OEM's Authenticode policy, state in stateDir, and handlers.
func (w *World) Config(ring, stateDir string, handlers map[update.Kind]config.Handler) *config.Config {
	w.T.Helper()
	c, err := config.Parse("agenttest.json", fmt.Appendf(nil, `{"server": %q, "ring": %q, "tuf_roots": %q, "state_dir": %q,
	  "authenticode": {"roots": %q, "subjects": [%q]}, "inventory": {"Windows.IoT.Core": "10.0.17763.615"}}`,
		w.URL, ring, w.RootsDir, stateDir, w.OEMRoots, OEMSubject))
	if err != nil {
		w.T.Fatal(err)
	}
	c.SetRoots(w.OEM.Roots(), nil, nil)
	c.Handlers = handlers
	return c
}

// WriteConfig writes the configuration file a device image would ship
// (see Config) and returns its path; extra is spliced into the object.
func (w *World) WriteConfig(ring, stateDir, extra string) string {
	w.T.Helper()
	p := filepath.Join(w.Dir, fmt.Sprintf("agent-%s-%d.json", ring, time.Now().UnixNano()))
	data := fmt.Sprintf(`{"server": %q, "ring": %q, "tuf_roots": %q, "state_dir": %q,
	  "authenticode": {"roots": %q, "subjects": [%q]}, "inventory": {"Windows.IoT.Core": "10.0.17763.615"}%s}`,
		w.URL, ring, w.RootsDir, stateDir, w.OEMRoots, OEMSubject, extra)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		w.T.Fatal(err)
	}
	return p
}

// Front puts handler h in front of the origin: devices then read through
// it (a flaky network, a lying CDN). h gets the origin's URL.
func (w *World) Front(h func(origin http.Handler) http.Handler) {
	w.T.Helper()
	proxy := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(r.Context(), r.Method, w.Origin.URL+r.URL.Path, nil)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadGateway)
			return
		}
		req.Header = r.Header.Clone()
		resp, err := w.Origin.Client().Do(req)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			rw.Header()[k] = v
		}
		rw.WriteHeader(resp.StatusCode)
		io.Copy(rw, resp.Body)
	})
	srv := httptest.NewServer(h(proxy))
	w.T.Cleanup(srv.Close)
	w.URL = srv.URL + "/"
}

// CertPool returns a pool of the given chains' roots.
func CertPool(pkis ...*devpki.PKI) *x509.CertPool {
	p := x509.NewCertPool()
	for _, k := range pkis {
		p.AddCert(k.Root)
	}
	return p
}

// Program is a TB for a program (a benchmark or a simulator command): its
// temporary directories are made under Dir, and Fatal prints the message,
// runs the cleanups and exits with status 1.
type Program struct {
	// Name prefixes messages.
	Name string
	// Dir holds the temporary directories.
	Dir      string
	n        int
	cleanups []func()
}

// Helper does nothing.
func (p *Program) Helper() {}

// Fatal prints args, cleans up and exits 1.
func (p *Program) Fatal(args ...any) { p.fail(fmt.Sprint(args...)) }

// Fatalf prints the message, cleans up and exits 1.
func (p *Program) Fatalf(format string, args ...any) { p.fail(fmt.Sprintf(format, args...)) }

// Cleanup registers f, run by Close (last registered first).
func (p *Program) Cleanup(f func()) { p.cleanups = append(p.cleanups, f) }

// TempDir makes a new directory under Dir.
func (p *Program) TempDir() string {
	p.n++
	d := filepath.Join(p.Dir, fmt.Sprintf("tmp%03d", p.n))
	if err := os.MkdirAll(d, 0o755); err != nil {
		p.fail(err.Error())
	}
	return d
}

// Close runs the cleanups registered so far.
func (p *Program) Close() {
	for i := len(p.cleanups) - 1; i >= 0; i-- {
		p.cleanups[i]()
	}
	p.cleanups = nil
}

func (p *Program) fail(msg string) {
	fmt.Fprintf(os.Stderr, "%s: %s\n", p.Name, msg)
	p.Close()
	os.Exit(1)
}
