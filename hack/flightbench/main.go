// Command flightbench measures flighting (issue 8, item 6): for a ring of
// N products with 5 updates each, the metadata bytes and requests one
// device downloads (counted at the HTTP layer under go-tuf's own updater)
// for a first scan, a scan with nothing new, after a change to another
// product and after a change to its own, for devupdate's layout (one TUF
// repository per ring and product) against the peer layout (one repository
// per ring with one delegated targets role per product) built in the same
// run; and the time of each kind of flight change on a store, against the
// same change in the peer layout.
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/cdn/azure"
	"github.com/devupdate/devupdate/cdn/local"
	"github.com/devupdate/devupdate/cdn/memory"
	"github.com/devupdate/devupdate/cdn/origin"
	"github.com/devupdate/devupdate/flight"
	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/internal/azurite"
	"github.com/devupdate/devupdate/manifest"
	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/smbios"
	"github.com/devupdate/devupdate/smbios/product"
)

const updatesPerProduct = 5

// onlyRows are the rows timeChanges times (all when empty).
var onlyRows []string

func timed(row string) bool {
	return len(onlyRows) == 0 || slices.ContainsFunc(onlyRows, func(r string) bool { return strings.HasPrefix(row, r) })
}

func main() {
	sizes := flag.String("sizes", "10,100,1000", "ring sizes (products) for the download figures")
	timed := flag.Int("timed", 1000, "products in the ring whose change times are measured")
	runs := flag.Int("runs", 5, "runs of each timed change (the median is printed)")
	azuriteBin := flag.String("azurite", "", "azurite-blob executable: also time the changes on Azurite")
	work := flag.String("work", os.TempDir(), "scratch directory")
	only := flag.String("only", "", "time only these rows (comma-separated: add, promote, rollout, pause, resume, halt, refresh, status, history; default all)")
	flag.Parse()
	ctx := context.Background()
	if *only != "" {
		onlyRows = strings.Split(*only, ",")
	}

	if *sizes != "" {
		fmt.Println("metadata one device downloads (go-tuf v2.4.2 updater, bytes / requests):")
		fmt.Printf("  %-8s %-22s %-18s %-18s %-18s %-18s\n", "products", "layout", "first scan", "nothing new", "other product", "own product")
	}
	for _, f := range strings.Split(*sizes, ",") {
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			log.Fatal(err)
		}
		ours := measureOurs(ctx, n)
		peer := measurePeer(ctx, n)
		for _, r := range []struct {
			name string
			m    [4]traffic
		}{{"ring+product repos", ours}, {"delegated role/product", peer}} {
			fmt.Printf("  %-8d %-22s %-18s %-18s %-18s %-18s\n", n, r.name, r.m[0], r.m[1], r.m[2], r.m[3])
		}
		fmt.Printf("  %-8d %-22s %-18s %-18s %-18s %-18s\n", n, "ratio ours/peer", ratio(ours[0], peer[0]), ratio(ours[1], peer[1]), ratio(ours[2], peer[2]), ratio(ours[3], peer[3]))
	}

	fmt.Printf("\ntime of each flight change, ring of %d products x %d updates (median and best of %d):\n", *timed, updatesPerProduct, *runs)
	dir, err := os.MkdirTemp(*work, "flightbench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ls, err := local.New(filepath.Join(dir, "store"))
	if err != nil {
		log.Fatal(err)
	}
	timeChanges(ctx, "local", ls, *timed, *runs, dir)
	if *azuriteBin != "" {
		srv, err := azurite.Start(ctx, *azuriteBin, filepath.Join(dir, "azurite"))
		if err != nil {
			log.Fatal(err)
		}
		defer srv.Stop()
		as, err := azure.Open(ctx, azurite.Account, "flightbench", azure.Credentials{AccountKey: azurite.Key},
			azure.WithEndpoint(srv.Endpoint), azure.WithCreateContainer())
		if err != nil {
			log.Fatal(err)
		}
		timeChanges(ctx, "azurite", as, *timed, *runs, dir)
	}
}

// traffic is what a device fetched for one scan.
type traffic struct{ bytes, requests int64 }

func (t traffic) String() string { return fmt.Sprintf("%s / %d", human(t.bytes), t.requests) }

func human(n int64) string {
	if n < 1000 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f KB", float64(n)/1000)
}

func ratio(a, b traffic) string {
	if b.bytes == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", float64(a.bytes)/float64(b.bytes))
}

// counter counts the response bytes and requests of a device.
type counter struct {
	mu       sync.Mutex
	bytes, n int64
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	resp.Body = &countingBody{ReadCloser: resp.Body, c: c}
	return resp, nil
}

type countingBody struct {
	io.ReadCloser
	c *counter
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.c.mu.Lock()
	b.c.bytes += int64(n)
	b.c.mu.Unlock()
	return n, err
}

func (c *counter) take() traffic {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := traffic{c.bytes, c.n}
	c.bytes, c.n = 0, 0
	return t
}

// device is a go-tuf client with its own cache, counted.
type device struct {
	cfg  *config.UpdaterConfig
	c    *counter
	path string // a target of its product the scan looks up ("" for ours: the top-level targets are its product's)
}

func newDevice(srvURL, metaDir string, root []byte, path string) *device {
	cfg, err := config.New(srvURL+"/"+metaDir, root)
	if err != nil {
		log.Fatal(err)
	}
	d := &device{cfg: cfg, c: &counter{}, path: path}
	cfg.RemoteTargetsURL = srvURL + "/" + catalog.TargetsDir
	tmp, err := os.MkdirTemp("", "flightbench-device-")
	if err != nil {
		log.Fatal(err)
	}
	cfg.LocalMetadataDir = tmp
	cfg.LocalTargetsDir = filepath.Join(tmp, "targets")
	if err := cfg.SetDefaultFetcherTransport(d.c); err != nil {
		log.Fatal(err)
	}
	return d
}

func (d *device) scan() traffic {
	up, err := updater.New(d.cfg)
	if err != nil {
		log.Fatal(err)
	}
	if err := up.Refresh(); err != nil {
		log.Fatal(err)
	}
	if d.path != "" {
		if _, err := up.GetTargetInfo(d.path); err != nil {
			log.Fatal(err)
		}
	}
	return d.c.take()
}

func products(n int) []*product.Product {
	var out []*product.Product
	for i := range n {
		p, err := product.Parse(fmt.Sprintf("p%d.yaml", i), fmt.Appendf(nil, "name: p%d\nsmbios:\n  manufacturer: Contoso\n  family: Bench\n  product_name: Model %d\n  sku: SKU-%d\n  baseboard_manufacturer: Contoso\n  baseboard_product: BB\nrings: [Preview, EarlyAdopter]\n", i, i, i))
		if err != nil {
			log.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func chidOf(p *product.Product) smbios.CHID { h, _ := p.TargetingID(); return h.GUID }

// ring builds devupdate's layout: one ring, n products, 5 updates each.
type ring struct {
	f      *flight.Flight
	keys   *flight.Keyring
	prods  []*product.Product
	blob   string
	length int64
}

var who = flight.Who{Actor: "bench", Reason: "benchmark"}

func openKey(ctx context.Context, ref string) (flight.Key, error) {
	k, err := signer.OpenKey(ctx, ref)
	if err != nil {
		return nil, err
	}
	return k.Key, nil
}

func buildOurs(ctx context.Context, s cdn.Store, n int, dir string) *ring {
	keysPath, err := flight.GenerateDevKeys(filepath.Join(dir, fmt.Sprintf("keys-%d-%d", n, time.Now().UnixNano())), []string{"Preview", "EarlyAdopter"})
	if err != nil {
		log.Fatal(err)
	}
	kr, err := flight.LoadKeyring(ctx, keysPath, openKey)
	if err != nil {
		log.Fatal(err)
	}
	f, err := flight.New(s, flight.WithKeys(kr))
	if err != nil {
		log.Fatal(err)
	}
	r := &ring{f: f, keys: kr, prods: products(n)}
	rings := []flight.RingConfig{{Name: "Preview", Expiry: flight.DefaultExpiry}, {Name: "EarlyAdopter", Expiry: flight.DefaultExpiry}}
	if _, err := f.Init(ctx, flight.InitRequest{Rings: rings, Products: r.prods}); err != nil {
		log.Fatal(err)
	}
	// One published blob serves every update: what differs is metadata.
	blobFile := filepath.Join(dir, "bench.cab")
	if err := os.WriteFile(blobFile, bytes.Repeat([]byte("cabinet "), 4096), 0o644); err != nil {
		log.Fatal(err)
	}
	pub, err := cdn.Publish(ctx, s, blobFile)
	if err != nil {
		log.Fatal(err)
	}
	r.blob, r.length = pub.SHA256, pub.Size
	for i, p := range r.prods {
		var cands []*flight.Candidate
		for u := range updatesPerProduct {
			cands = append(cands, r.cand(fmt.Sprintf("Contoso.P%d.U%d", i, u), manifest.Version{1, 0, 0, 1}, chidOf(p)))
		}
		if _, err := f.Add(ctx, "Preview", cands, flight.AddOptions{Rollout: 50}, who); err != nil {
			log.Fatal(err)
		}
	}
	return r
}

func (r *ring) cand(name string, v manifest.Version, chid smbios.CHID) *flight.Candidate {
	return &flight.Candidate{File: name + ".cab", SHA256: r.blob, Length: r.length, Update: &manifest.Update{
		Name: name, Kind: manifest.KindDriver, Version: v, Targets: []smbios.CHID{chid},
		Requires: []manifest.Requirement{{Name: "Windows.IoT.Core", MinVersion: manifest.Version{10, 0, 17763, 615}}},
	}}
}

func serve(s cdn.Store) *httptest.Server {
	h, err := origin.NewHandler(s)
	if err != nil {
		log.Fatal(err)
	}
	return httptest.NewServer(h)
}

func measureOurs(ctx context.Context, n int) [4]traffic {
	s := memory.New()
	dir, _ := os.MkdirTemp("", "flightbench-")
	defer os.RemoveAll(dir)
	r := buildOurs(ctx, s, n, dir)
	defer r.keys.Close()
	srv := serve(s)
	defer srv.Close()
	rr, err := r.f.RingRoot(ctx, "Preview")
	if err != nil {
		log.Fatal(err)
	}
	d := newDevice(srv.URL, catalog.MetadataDir("Preview", chidOf(r.prods[0])), rr.Root, "")
	var out [4]traffic
	out[0] = d.scan()
	out[1] = d.scan()
	if _, err := r.f.SetState(ctx, "Preview", "Contoso.P1.U0", catalog.Version{1, 0, 0, 1}, catalog.ActionRollout, 60, who); err != nil {
		log.Fatal(err)
	}
	out[2] = d.scan()
	if _, err := r.f.SetState(ctx, "Preview", "Contoso.P0.U0", catalog.Version{1, 0, 0, 1}, catalog.ActionRollout, 60, who); err != nil {
		log.Fatal(err)
	}
	out[3] = d.scan()
	return out
}

// peer is one repository for the ring with one delegated targets role per
// product, built with go-tuf's metadata API.
type peer struct {
	s         cdn.Store
	dir       string
	signers   map[string]signature.Signer
	root      []byte
	targets   *metadata.Metadata[metadata.TargetsType]
	snapshot  *metadata.Metadata[metadata.SnapshotType]
	roles     []*metadata.Metadata[metadata.TargetsType]
	names     []string
	tsVersion int64
	expires   time.Time
}

func newPeerSigner() signature.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	s, err := flight.NewSigner(k)
	if err != nil {
		log.Fatal(err)
	}
	return s
}

func keyOf(s signature.Signer) *metadata.Key {
	pub, _ := s.PublicKey()
	k, err := metadata.KeyFromPublicKey(pub)
	if err != nil {
		log.Fatal(err)
	}
	return k
}

func (p *peer) put(ctx context.Context, name string, data []byte) {
	key := p.dir + "/" + name
	if name == "timestamp.json" {
		info, err := p.s.Stat(ctx, key)
		etag := ""
		if err == nil {
			etag = info.ETag
		}
		if _, err := cdn.PutPointer(ctx, p.s, key, data, etag); err != nil {
			log.Fatal(err)
		}
		return
	}
	if _, err := p.s.Create(ctx, key, bytes.NewReader(data), cdn.Props{ContentType: "application/json", CacheControl: cdn.ImmutableCacheControl}); err != nil {
		log.Fatal(err)
	}
}

func signBytes[T metadata.Roles](md *metadata.Metadata[T], s signature.Signer) []byte {
	md.ClearSignatures()
	if _, err := md.Sign(s); err != nil {
		log.Fatal(err)
	}
	b, err := md.ToBytes(false)
	if err != nil {
		log.Fatal(err)
	}
	return b
}

func buildPeer(ctx context.Context, s cdn.Store, prods []*product.Product, blob string, length int64) *peer {
	p := &peer{s: s, dir: "peer/Preview", signers: map[string]signature.Signer{}, expires: time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)}
	for _, r := range []string{"root", "targets", "snapshot", "timestamp", "products"} {
		p.signers[r] = newPeerSigner()
	}
	root := metadata.Root(time.Now().Add(365 * 24 * time.Hour).UTC().Truncate(time.Second))
	for _, r := range []string{"root", "targets", "snapshot", "timestamp"} {
		if err := root.Signed.AddKey(keyOf(p.signers[r]), r); err != nil {
			log.Fatal(err)
		}
	}
	p.root = signBytes(root, p.signers["root"])
	p.put(ctx, "1.root.json", p.root)
	p.targets = metadata.Targets(p.expires)
	p.targets.Signed.Delegations = &metadata.Delegations{Keys: map[string]*metadata.Key{}}
	pk := keyOf(p.signers["products"])
	kid, _ := pk.ID()
	p.targets.Signed.Delegations.Keys[kid] = pk
	sum, _ := hex.DecodeString(blob)
	p.snapshot = metadata.Snapshot(p.expires)
	for i, pr := range prods {
		chid := chidOf(pr).String()
		name := "product-" + chid
		p.names = append(p.names, name)
		p.targets.Signed.Delegations.Roles = append(p.targets.Signed.Delegations.Roles, metadata.DelegatedRole{
			Name: name, KeyIDs: []string{kid}, Threshold: 1, Terminating: true, Paths: []string{chid + "/*"},
		})
		role := metadata.Targets(p.expires)
		for u := range updatesPerProduct {
			e := &catalog.Entry{Kind: "driver", Name: fmt.Sprintf("Contoso.P%d.U%d", i, u), Version: catalog.Version{1, 0, 0, 1},
				Targets: []smbios.CHID{chidOf(pr)}, Requires: []catalog.Requirement{{Name: "Windows.IoT.Core", MinVersion: catalog.Version{10, 0, 17763, 615}}},
				Rollout: catalog.Rollout{State: catalog.Active, Percent: 50}, Since: p.expires, Change: catalog.Change{Action: catalog.ActionAdd, Actor: "bench", Time: p.expires, Reason: "benchmark"}}
			custom, err := e.Encode(e.TargetPath())
			if err != nil {
				log.Fatal(err)
			}
			raw := json.RawMessage(custom)
			role.Signed.Targets[chid+"/"+e.TargetPath()] = &metadata.TargetFiles{Length: length, Hashes: metadata.Hashes{"sha256": sum}, Custom: &raw}
		}
		p.roles = append(p.roles, role)
		p.put(ctx, "1."+name+".json", signBytes(role, p.signers["products"]))
		p.snapshot.Signed.Meta[name+".json"] = metadata.MetaFile(1)
	}
	p.put(ctx, "1.targets.json", signBytes(p.targets, p.signers["targets"]))
	p.put(ctx, "1.snapshot.json", signBytes(p.snapshot, p.signers["snapshot"]))
	p.tsVersion = 1
	ts := metadata.Timestamp(p.expires)
	p.put(ctx, "timestamp.json", signBytes(ts, p.signers["timestamp"]))
	return p
}

// change re-signs product i's role with one entry changed, then the
// snapshot (every role listed) and the timestamp: a rollout in the peer
// layout.
func (p *peer) change(ctx context.Context, i int) {
	role := p.roles[i]
	role.Signed.Version++
	for path, tf := range role.Signed.Targets {
		e, err := catalog.ParseEntry("", path[strings.IndexByte(path, '/')+1:], *tf.Custom)
		if err != nil {
			log.Fatal(err)
		}
		e.Rollout.Percent = 60 + int(role.Signed.Version%40)
		custom, err := e.Encode(e.TargetPath())
		if err != nil {
			log.Fatal(err)
		}
		raw := json.RawMessage(custom)
		tf.Custom = &raw
		break
	}
	p.put(ctx, fmt.Sprintf("%d.%s.json", role.Signed.Version, p.names[i]), signBytes(role, p.signers["products"]))
	p.snapshot.Signed.Version++
	p.snapshot.Signed.Meta[p.names[i]+".json"] = metadata.MetaFile(role.Signed.Version)
	p.put(ctx, fmt.Sprintf("%d.snapshot.json", p.snapshot.Signed.Version), signBytes(p.snapshot, p.signers["snapshot"]))
	p.tsVersion++
	ts := metadata.Timestamp(p.expires)
	ts.Signed.Version = p.tsVersion
	ts.Signed.Meta["snapshot.json"] = metadata.MetaFile(p.snapshot.Signed.Version)
	p.put(ctx, "timestamp.json", signBytes(ts, p.signers["timestamp"]))
}

func measurePeer(ctx context.Context, n int) [4]traffic {
	s := memory.New()
	prods := products(n)
	p := buildPeer(ctx, s, prods, strings.Repeat("ab", 32), 32768)
	srv := serve(s)
	defer srv.Close()
	var own string
	for path := range p.roles[0].Signed.Targets {
		own = path
		break
	}
	d := newDevice(srv.URL, p.dir, p.root, own)
	var out [4]traffic
	out[0] = d.scan()
	out[1] = d.scan()
	p.change(ctx, 1)
	out[2] = d.scan()
	p.change(ctx, 0)
	out[3] = d.scan()
	return out
}

// timeChanges builds a ring of n products on s and times each kind of
// change, and the same change in the peer layout on the same store.
func timeChanges(ctx context.Context, name string, s cdn.Store, n, runs int, dir string) {
	start := time.Now()
	r := buildOurs(ctx, s, n, dir)
	defer r.keys.Close()
	fmt.Printf("  %s: rings built in %v (init of 2 rings x %d products + %d adds of %d cabinets)\n", name, time.Since(start).Round(time.Millisecond), n, n, updatesPerProduct)
	v := catalog.Version{1, 0, 0, 1}
	next := 2
	// stats runs f runs times: the median and the best time.
	stats := func(f func(i int)) [2]time.Duration {
		var ds []time.Duration
		for i := range runs {
			t := time.Now()
			f(i)
			ds = append(ds, time.Since(t))
		}
		slices.Sort(ds)
		return [2]time.Duration{ds[len(ds)/2], ds[0]}
	}
	must := func(_ any, err error) {
		if err != nil {
			log.Fatal(err)
		}
	}
	state := func(a catalog.Action, pct int) func(int) {
		return func(i int) {
			must(r.f.SetState(ctx, "Preview", fmt.Sprintf("Contoso.P%d.U1", i), v, a, pct, who))
		}
	}
	// Refresh with every timestamp due: each run 13 hours after the one
	// before (past half of the timestamps' day).
	t0 := time.Now()
	refreshDue := func(i int) {
		at := t0.Add(time.Duration(i+1) * 13 * time.Hour)
		f, err := flight.New(s, flight.WithKeys(r.keys), flight.WithClock(func() time.Time { return at }))
		if err != nil {
			log.Fatal(err)
		}
		res, err := f.Refresh(ctx, flight.RefreshOptions{})
		if err != nil || len(res.Resigned) != 2*n {
			log.Fatalf("refresh with every timestamp due re-signed %d of %d: %v", len(res.Resigned), 2*n, err)
		}
	}
	rows := []struct {
		what string
		f    func(int)
	}{
		{"add (1 cabinet)", func(i int) {
			next++
			must(r.f.Add(ctx, "Preview", []*flight.Candidate{r.cand(fmt.Sprintf("Contoso.P%d.U0", i), manifest.Version{1, 0, 0, uint16(next)}, chidOf(r.prods[i]))}, flight.AddOptions{}, who))
		}},
		{"promote", func(i int) {
			must(r.f.Promote(ctx, fmt.Sprintf("Contoso.P%d.U2", i), v, "EarlyAdopter", 50, false, who))
		}},
		{"rollout", state(catalog.ActionRollout, 80)},
		{"pause", state(catalog.ActionPause, 0)},
		{"resume", state(catalog.ActionResume, 0)},
		{"halt", state(catalog.ActionHalt, 0)},
		{"refresh (nothing due)", func(int) { must(r.f.Refresh(ctx, flight.RefreshOptions{})) }},
		{"refresh (all due)", refreshDue},
		{"status (whole ring)", func(int) { must(r.f.Status(ctx, "Preview", nil)) }},
		{"history (one update)", func(i int) { must(r.f.History(ctx, "Preview", fmt.Sprintf("Contoso.P%d.U1", i))) }},
	}
	var peerChange *[2]time.Duration
	for _, row := range rows {
		if !timed(row.what) {
			continue
		}
		d := stats(row.f)
		line := fmt.Sprintf("  %s: %-22s %9.2f ms (best %9.2f)", name, row.what, ms(d[0]), ms(d[1]))
		if row.what != "add (1 cabinet)" && !strings.Contains(row.what, "(") {
			if peerChange == nil {
				p := buildPeer(ctx, s, r.prods, r.blob, r.length)
				pc := stats(func(i int) { p.change(ctx, i) })
				peerChange = &pc
			}
			line += fmt.Sprintf("   peer (delegated role + %d-entry snapshot) %8.2f ms, ratio ours/peer %.2f", n, ms(peerChange[0]), float64(d[0])/float64(peerChange[0]))
		}
		fmt.Println(line)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
