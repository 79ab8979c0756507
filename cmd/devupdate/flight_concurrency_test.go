package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/cdn/origin"
	"github.com/devupdate/devupdate/cdn/stores"
	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/internal/azurite"
	"github.com/devupdate/devupdate/manifest"
	"github.com/devupdate/devupdate/signer/devpki"
	"github.com/devupdate/devupdate/signer/signertest"
	"github.com/devupdate/devupdate/smbios"
	"github.com/devupdate/devupdate/smbios/product"
)

// flightFixture is a store with initialised rings, one product, and signed
// cabinets ready to add.
type flightFixture struct {
	t        *testing.T
	dir      string
	storeURL string
	env      []string
	roots    string
	chid     string
	store    cdn.Store
	// originURL is the in-process origin of the store (origin()).
	originURL string
	// initJSON is the JSON report of the fixture's flight init.
	initJSON string
}

const fixtureProduct = `name: toaster
smbios:
  manufacturer: Contoso
  family: Kitchen Appliances
  product_name: Toaster 3000
  sku: TST-3000-EU
  baseboard_manufacturer: Contoso
  baseboard_product: TB-01
`

// newFlightFixture initialises the rings with TEST-ONLY development keys
// (or, when env names a keys file, with those keys) and writes the device
// roots to dir/roots.
func newFlightFixture(t *testing.T, storeURL string, env ...string) *flightFixture {
	t.Helper()
	fx := &flightFixture{t: t, dir: t.TempDir(), storeURL: storeURL, env: env}
	pp := filepath.Join(fx.dir, "product.yaml")
	if err := os.WriteFile(pp, []byte(fixtureProduct), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := product.Load(t.Context(), pp)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := p.TargetingID()
	fx.chid = h.GUID.String()
	initArgs := []string{"flight", "init", pp, "--out", filepath.Join(fx.dir, "roots")}
	if !slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, EnvFlightKeys+"=") }) {
		initArgs = append(initArgs, "--dev-keys", filepath.Join(fx.dir, "keys"))
		fx.env = append(fx.env, EnvFlightKeys+"="+filepath.Join(fx.dir, "keys", "keys.json"))
	}
	fx.initJSON = fx.run(0, append(initArgs, "-O", "json")...)
	fx.env = append(fx.env, "DEVUPDATE_ACTOR=tester")
	var getenv = func(k string) string {
		for _, kv := range fx.env {
			if v, ok := strings.CutPrefix(kv, k+"="); ok {
				return v
			}
		}
		return os.Getenv(k)
	}
	s, closeStore, err := stores.Open(t.Context(), storeURL, stores.WithGetenv(getenv))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeStore() })
	fx.store = s
	pki, err := devpki.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.Write(t.Context(), filepath.Join(fx.dir, "pki")); err != nil {
		t.Fatal(err)
	}
	fx.roots = filepath.Join(fx.dir, "pki", "root.pem")
	return fx
}

// cab writes a signed cabinet of update name at version for the product.
func (fx *flightFixture) cab(name, version string) string {
	t := fx.t
	t.Helper()
	v, _ := manifest.ParseVersion(version)
	payload := signertest.File{Name: "settings/" + name + ".reg", Data: []byte("Windows Registry Editor Version 5.00\r\n; " + name + " " + version + "\r\n")}
	chid, err := smbios.ParseCHID(fx.chid)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(payload.Data)
	u := &manifest.Update{Name: name, Kind: manifest.KindOCP, Version: v, Targets: []smbios.CHID{chid},
		Files: []manifest.File{{Path: payload.Name, Size: int64(len(payload.Data)), SHA256: hex.EncodeToString(sum[:])}}}
	doc, err := u.EncodeJSON()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(fx.dir, u.CabinetName())
	signertest.StoredCabinet(t, p, true, signertest.File{Name: manifest.UpdateJSONName, Data: doc}, payload)
	pki := filepath.Join(fx.dir, "pki")
	fx.run(0, "sign", p, "--key", "file:"+filepath.Join(pki, "leaf.key"), "--cert", filepath.Join(pki, "chain.pem"), "--roots", fx.roots)
	return p
}

// start begins a devupdate process (this test binary acting as it).
func (fx *flightFixture) start(args ...string) (*exec.Cmd, *bytes.Buffer) {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), envRunCLI+"=1"), fx.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		fx.t.Fatal(err)
	}
	return cmd, &out
}

// run runs a devupdate command with --store and wants exit status want.
func (fx *flightFixture) run(want int, args ...string) string {
	fx.t.Helper()
	if args[0] == "flight" {
		args = append(args, "--store", fx.storeURL)
	}
	cmd, out := fx.start(args...)
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != want {
		fx.t.Fatalf("devupdate %s: exit %d (%v), want %d\n%s", strings.Join(args, " "), code, err, want, out)
	}
	return out.String()
}

type flightJSON struct {
	OK    bool `json:"ok"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Results []struct {
		OK      bool     `json:"ok"`
		Changed []string `json:"changed"`
	} `json:"results"`
	Changed []string `json:"changed"`
	Events  []struct {
		Name   string `json:"name"`
		Ring   string `json:"ring"`
		Change struct {
			Action string `json:"action"`
			Reason string `json:"reason"`
		} `json:"change"`
	} `json:"events"`
}

// watcher is a device refreshing the ring's repository in a loop; every
// refresh must succeed whatever the writers are doing.
type watcher struct {
	stop chan struct{}
	done chan error
	n    atomic.Int64
}

// origin serves the fixture's store over HTTP in this process (one server
// per fixture, closed when the test ends).
func (fx *flightFixture) origin() string {
	if fx.originURL == "" {
		h, err := origin.NewHandler(fx.store)
		if err != nil {
			fx.t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		fx.t.Cleanup(srv.Close)
		fx.originURL = srv.URL
	}
	return fx.originURL
}

// shippedRoot is the root init wrote for ring: what a device image ships.
func (fx *flightFixture) shippedRoot(ring string) []byte {
	root, err := os.ReadFile(filepath.Join(fx.dir, "roots", ring+".root.json"))
	if err != nil {
		fx.t.Fatal(err)
	}
	return root
}

// device is go-tuf's configuration of a device of the fixture's product in
// ring that trusts root, with default settings and a state of its own.
func (fx *flightFixture) device(ring string, root []byte) *config.UpdaterConfig {
	cfg, err := config.New(fx.origin()+"/"+catalog.RingDir(ring)+"/"+fx.chid, root)
	if err != nil {
		fx.t.Fatal(err)
	}
	cfg.RemoteTargetsURL = fx.origin() + "/" + catalog.TargetsDir
	cfg.LocalMetadataDir = filepath.Join(fx.t.TempDir(), "md")
	cfg.LocalTargetsDir = filepath.Join(fx.t.TempDir(), "targets")
	return cfg
}

func (fx *flightFixture) watch(ring string) *watcher {
	cfg := fx.device(ring, fx.shippedRoot(ring))
	w := &watcher{stop: make(chan struct{}), done: make(chan error, 1)}
	go func() {
		for {
			select {
			case <-w.stop:
				w.done <- nil
				return
			default:
			}
			up, err := updater.New(cfg)
			if err == nil {
				err = up.Refresh()
			}
			if err != nil {
				w.done <- err
				return
			}
			w.n.Add(1)
		}
	}()
	return w
}

// finish stops the device after at least one more successful refresh and
// reports any failure.
func (w *watcher) finish(t *testing.T) {
	t.Helper()
	for start := w.n.Load(); w.n.Load() <= start; {
		select {
		case err := <-w.done:
			t.Errorf("a device refreshing during the changes failed: %v", err)
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	close(w.stop)
	if err := <-w.done; err != nil {
		t.Errorf("a device refreshing during the changes failed: %v", err)
	}
}

// runConcurrent starts every command at once and returns each one's exit
// status and JSON report.
func (fx *flightFixture) runConcurrent(cmds [][]string) ([]int, []flightJSON) {
	codes := make([]int, len(cmds))
	reports := make([]flightJSON, len(cmds))
	var wg sync.WaitGroup
	for i, args := range cmds {
		args = append(args, "--store", fx.storeURL, "-O", "json")
		cmd, out := fx.start(args...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = cmd.Wait()
			codes[i] = cmd.ProcessState.ExitCode()
			if err := json.Unmarshal(out.Bytes(), &reports[i]); err != nil {
				fx.t.Errorf("devupdate %v: not one JSON document: %v\n%s", args, err, out)
			}
		}()
	}
	wg.Wait()
	return codes, reports
}

func (fx *flightFixture) history(name string) flightJSON {
	var h flightJSON
	out := fx.run(0, "flight", "history", name, "-O", "json")
	if err := json.Unmarshal([]byte(out), &h); err != nil {
		fx.t.Fatalf("history: %v\n%s", err, out)
	}
	return h
}

// testConcurrentFlight is the concurrency and crash test of issue 8, item 4,
// against the store at storeURL.
func testConcurrentFlight(t *testing.T, storeURL string, env ...string) {
	fx := newFlightFixture(t, storeURL, env...)
	const n = 8
	cabs := make([]string, n)
	for i := range cabs {
		cabs[i] = fx.cab(fmt.Sprintf("Contoso.Toaster.Conc%d", i), "1.0.0.1")
	}
	w := fx.watch("Preview")

	// 8 processes add 8 different updates to one ring at once: every one
	// is applied, one after the other.
	var adds [][]string
	for i, c := range cabs {
		adds = append(adds, []string{"flight", "add", c, "--ring", "Preview", "--roots", fx.roots, "--reason", fmt.Sprint("add ", i)})
	}
	codes, reps := fx.runConcurrent(adds)
	for i := range codes {
		if codes[i] != 0 || !reps[i].OK || len(reps[i].Results) != 1 || !reps[i].Results[0].OK || len(reps[i].Results[0].Changed) != 1 {
			t.Errorf("add %d: exit %d %+v", i, codes[i], reps[i])
		}
	}
	added := 0
	for _, ev := range fx.history("").Events {
		if ev.Ring == "Preview" && ev.Change.Action == "add" {
			added++
		}
	}
	if added != n {
		t.Errorf("history holds %d adds, want %d", added, n)
	}

	// 8 processes change one update at once; a change no longer valid when
	// its turn comes (after the halt) fails with exit 1 and says why.
	name := "Contoso.Toaster.Conc0"
	ops := [][]string{
		{"rollout", "--percent", "30"}, {"pause"}, {"rollout", "--percent", "60"}, {"resume"},
		{"halt"}, {"rollout", "--percent", "90"}, {"pause"}, {"resume"},
	}
	var cmds [][]string
	for i, op := range ops {
		cmds = append(cmds, append([]string{"flight", op[0], name, "1.0.0.1", "--ring", "Preview", "--reason", fmt.Sprint("op ", i)}, op[1:]...))
	}
	codes, reps = fx.runConcurrent(cmds)
	changed := 0
	for i, r := range reps {
		switch {
		case codes[i] == 0 && r.OK:
			if len(r.Changed) == 1 {
				changed++
			}
		case codes[i] == 1 && r.Error != nil && r.Error.Code == "halted":
		default:
			t.Errorf("%v: exit %d, report %+v", ops[i], codes[i], r)
		}
	}
	if codes[4] != 0 {
		t.Errorf("the halt failed: %+v", reps[4].Error)
	}
	var events int
	for _, ev := range fx.history(name).Events {
		if ev.Ring == "Preview" && ev.Change.Action != "add" {
			events++
		}
	}
	if events != changed {
		t.Errorf("history holds %d changes of %s, the processes reported %d", events, name, changed)
	}
	// Promoting the halted update is refused, with its code.
	out := fx.run(1, "flight", "promote", name, "1.0.0.1", "--to", "EarlyAdopter", "--reason", "late", "-O", "json")
	var pr flightJSON
	if err := json.Unmarshal([]byte(out), &pr); err != nil || pr.Error == nil || pr.Error.Code != "halted" {
		t.Errorf("promoting a halted update: %s", out)
	}

	// Processes killed at any point leave the ring readable, and the next
	// command carries on.
	for i := range 10 {
		cmd, _ := fx.start("flight", "rollout", "Contoso.Toaster.Conc1", "1.0.0.1", "--ring", "Preview", "--percent", fmt.Sprint(10+i), "--reason", "killed", "--store", fx.storeURL)
		time.Sleep(time.Duration(rand.N(40)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}
	fx.run(0, "flight", "rollout", "Contoso.Toaster.Conc1", "1.0.0.1", "--ring", "Preview", "--percent", "77", "--reason", "after the kills")
	w.finish(t)
	out = fx.run(0, "flight", "status", "--ring", "Preview")
	if !strings.Contains(out, "Contoso.Toaster.Conc1 1.0.0.1 active 77%") {
		t.Errorf("status after the kills:\n%s", out)
	}
}

func TestFlightConcurrentLocal(t *testing.T) {
	testConcurrentFlight(t, filepath.Join(t.TempDir(), "store"))
}

func TestFlightConcurrentAzurite(t *testing.T) {
	srv := azurite.StartT(t)
	testConcurrentFlight(t, "azblob://"+azurite.Account+"/flight?create-container=true&endpoint="+srv.Endpoint, "AZURE_STORAGE_KEY="+azurite.Key)
}
