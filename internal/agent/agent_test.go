package agent_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/devupdate/devupdate/flight"
	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/internal/agent"
	"github.com/devupdate/devupdate/internal/agent/agenttest"
	"github.com/devupdate/devupdate/internal/agent/config"
	"github.com/devupdate/devupdate/internal/agent/fetch"
	"github.com/devupdate/devupdate/internal/agent/report"
	"github.com/devupdate/devupdate/internal/agent/state"
	"github.com/devupdate/devupdate/internal/agent/tufrepo"
	"github.com/devupdate/devupdate/manifest/update"
	"github.com/devupdate/devupdate/signer/authenticode"
	"github.com/devupdate/devupdate/signer/devpki"
	"github.com/devupdate/devupdate/smbios"
)

// testHandler is a Linux handler: it appends "NAME VERSION" to log and
// leaves a marker its installed check looks for.
type testHandler struct {
	dir string
}

func newTestHandler(t *testing.T) *testHandler { return &testHandler{dir: t.TempDir()} }

func (h *testHandler) log() string { return filepath.Join(h.dir, "ran.log") }

func (h *testHandler) config(check bool, exit int) config.Handler {
	c := config.Handler{
		Command: []string{"/bin/sh", "-c", `echo "$1 $2" >>"$3"; touch "$4/$1_$2"; test -f "$5" || { echo "no payload $5"; exit 9; }; exit ` + fmt.Sprint(exit),
			"handler", "{name}", "{version}", h.log(), h.dir, "{dir}/update.json"},
		Timeout:         time.Minute,
		RebootExitCodes: []int{194},
	}
	if check {
		c.Installed = []string{"/bin/sh", "-c", `test -f "$1/$2_$3"`, "check", h.dir, "{name}", "{version}"}
	}
	return c
}

func (h *testHandler) handlers(check bool) map[update.Kind]config.Handler {
	return map[update.Kind]config.Handler{update.KindOCP: h.config(check, 0), update.KindDriver: h.config(check, 0), update.KindApp: h.config(check, 0)}
}

// runs returns the handler's log lines.
func (h *testHandler) runs(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(h.log())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(strings.ReplaceAll(string(data), " ", "@"))
}

// newAgent is a device of product (0: the example Toaster 3000, read from
// its golden device dump; 1: a Toaster 4000) in ring, with the agent's
// file state in a temporary directory.
func newAgent(t *testing.T, w *agenttest.World, ring string, product int, h *testHandler, opts ...agent.Option) (*agent.Agent, *config.Config) {
	t.Helper()
	cfg := w.Config(ring, filepath.Join(t.TempDir(), "state"), h.handlers(true))
	if product == 0 {
		cfg.SMBIOS = agenttest.Repo(t, agenttest.GoldenDevice)
	} else {
		cfg.SMBIOS = w.Fields(product)
	}
	a, err := agent.New(context.Background(), cfg, append([]agent.Option{agent.WithFetchOptions(fetch.WithBackoff(0, 0), fetch.WithAttempts(3))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return a, cfg
}

func decision(t *testing.T, res *agent.ScanResult, name, version string) agent.Decision {
	t.Helper()
	for _, d := range res.Updates {
		if d.Name == name && d.Version.String() == version {
			return d
		}
	}
	t.Fatalf("%s %s not in the scan: %+v", name, version, res.Updates)
	return agent.Decision{}
}

func record(t *testing.T, cfg *config.Config) *state.Record {
	t.Helper()
	r, err := state.File{Dir: cfg.StateDir}.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRingsProductsStates: a Preview device gets what is in Preview; a
// GeneralAvailability device does not until it is promoted; a device of
// another product never does; a paused or halted update is not offered.
func TestRingsProductsStates(t *testing.T) {
	w := agenttest.New(t)
	ctx := context.Background()
	w.Add("Preview", w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Settings", Version: "1.0.0.1"}), 100, nil)
	h := newTestHandler(t)
	preview, pcfg := newAgent(t, w, "Preview", 0, h)
	ga, gcfg := newAgent(t, w, "GeneralAvailability", 0, newTestHandler(t))
	other, _ := newAgent(t, w, "Preview", 1, newTestHandler(t))

	if preview.Device().IDSource != "smbios" || preview.Device().ID != "e2577a1e-0030-554e-8000-c01705000042" || preview.Device().Product != w.CHID(0) {
		t.Errorf("device %+v", preview.Device())
	}
	res, err := preview.Install(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Installations) != 1 || res.Installations[0].Outcome != report.Installed {
		t.Fatalf("Preview device: %+v", res.Installations)
	}
	if got := h.runs(t); len(got) != 1 || got[0] != "Contoso.Toaster.Settings@1.0.0.1" {
		t.Errorf("handler runs %v", got)
	}
	if in := record(t, pcfg).Installed["Contoso.Toaster.Settings"]; in.Version.String() != "1.0.0.1" || in.Ring != "Preview" {
		t.Errorf("record: %+v", in)
	}
	// Installed: not offered again.
	res, err = preview.Install(ctx)
	if err != nil || len(res.Installations) != 0 || decision(t, res.Scan, "Contoso.Toaster.Settings", "1.0.0.1").Reason != agent.ReasonNotHigher {
		t.Errorf("second run: %v, %+v", err, res)
	}

	scan, err := ga.Scan(ctx)
	if err != nil || len(scan.Updates) != 0 {
		t.Errorf("GeneralAvailability before promotion: %v, %+v", err, scan)
	}
	w.Promote("Contoso.Toaster.Settings", "1.0.0.1", "EarlyAdopter", 100)
	w.Promote("Contoso.Toaster.Settings", "1.0.0.1", "GeneralAvailability", 100)
	res, err = ga.Install(ctx)
	if err != nil || len(res.Installations) != 1 || res.Installations[0].Outcome != report.Installed {
		t.Fatalf("GeneralAvailability after promotion: %v, %+v", err, res)
	}
	if record(t, gcfg).LastScan.Offered != 1 {
		t.Errorf("last scan %+v", record(t, gcfg).LastScan)
	}

	scan, err = other.Scan(ctx)
	if err != nil || len(scan.Applicable()) != 0 {
		t.Errorf("other product: %v, %+v", err, scan)
	}

	w.Add("Preview", w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Settings", Version: "1.0.0.2"}), 100, nil)
	w.Set("Preview", "Contoso.Toaster.Settings", "1.0.0.2", catalog.ActionPause, 0)
	scan, err = preview.Scan(ctx)
	if d := decision(t, scan, "Contoso.Toaster.Settings", "1.0.0.2"); err != nil || d.Applies || d.Reason != agent.ReasonPaused {
		t.Errorf("paused: %v %+v", err, d)
	}
	w.Set("Preview", "Contoso.Toaster.Settings", "1.0.0.2", catalog.ActionHalt, 0)
	scan, err = preview.Scan(ctx)
	if d := decision(t, scan, "Contoso.Toaster.Settings", "1.0.0.2"); err != nil || d.Applies || d.Reason != agent.ReasonHalted {
		t.Errorf("halted: %v %+v", err, d)
	}
	if got := h.runs(t); len(got) != 1 {
		t.Errorf("Preview device's handler runs %v, want the one install", got)
	}
}

// TestRolloutStatistics: of 1,000 device ids at 30 %, 25-35 % are in;
// raised to 60 %, every one of them stays in. Each device is a real scan
// of the served ring, with its state in memory and one shared memo, as a
// fleet simulator keeps them.
func TestRolloutStatistics(t *testing.T) {
	w := agenttest.New(t)
	ctx := context.Background()
	w.Add("Preview", w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Settings", Version: "1.0.0.1"}), 30, nil)
	cfg := w.Config("Preview", t.TempDir(), newTestHandler(t).handlers(false))
	memo, pool := &tufrepo.Memo{}, &tufrepo.Pool{}
	type dev struct {
		store state.Memory
		cache tufrepo.Memory
	}
	devs := make([]*dev, 1000)
	scan := func(i int) bool {
		d := devs[i]
		a, err := agent.New(ctx, cfg, agent.WithDevice(&agent.Device{ID: fmt.Sprintf("sim-%04d", i), IDSource: "given", Product: w.CHID(0), CHIDs: []smbios.CHID{w.CHID(0)}}),
			agent.WithStateStore(&d.store), agent.WithMetadataCache(&d.cache), agent.WithMemo(memo))
		if err != nil {
			t.Fatal(err)
		}
		res, err := a.Scan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		dd := decision(t, res, "Contoso.Toaster.Settings", "1.0.0.1")
		if !dd.Applies && dd.Reason != agent.ReasonRollout {
			t.Fatalf("device %d: %+v", i, dd)
		}
		return dd.Applies
	}
	in30 := map[int]bool{}
	for i := range devs {
		devs[i] = &dev{cache: tufrepo.Memory{Pool: pool}}
		if scan(i) {
			in30[i] = true
		}
	}
	if n := len(in30); n < 250 || n > 350 {
		t.Errorf("at 30 %%: %d of 1000 devices in", n)
	}
	w.Set("Preview", "Contoso.Toaster.Settings", "1.0.0.1", catalog.ActionRollout, 60)
	in60 := 0
	for i := range devs {
		ok := scan(i)
		if in30[i] && !ok {
			t.Errorf("device %d left the rollout when it rose to 60 %%", i)
		}
		if ok {
			in60++
		}
	}
	if in60 < 550 || in60 > 650 {
		t.Errorf("at 60 %%: %d of 1000 devices in", in60)
	}
}

// TestDependencyOrder: an app requiring a driver offered in the same scan
// installs after it; an OS requirement is met by the base inventory.
func TestDependencyOrder(t *testing.T) {
	w := agenttest.New(t)
	ctx := context.Background()
	req := func(name, v string) update.Requirement {
		return update.Requirement{Name: name, MinVersion: w.Version(v)}
	}
	w.Add("Preview", w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.App", Version: "1.0.0.3", Kind: update.KindApp,
		Requires: []update.Requirement{req("Contoso.Toaster.Driver", "1.0.0.2"), req("Windows.IoT.Core", "10.0.17763.615")}}), 100, nil)
	w.Add("Preview", w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Driver", Version: "1.0.0.2", Kind: update.KindDriver,
		Requires: []update.Requirement{req("Windows.IoT.Core", "10.0.17763.615")}}), 100, nil)
	w.Add("Preview", w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Firmware", Version: "2.0.0.0",
		Requires: []update.Requirement{req("Windows.IoT.Core", "10.0.19041.1")}}), 100, nil)
	h := newTestHandler(t)
	a, _ := newAgent(t, w, "Preview", 0, h)
	res, err := a.Install(ctx)
	if err != nil {
		t.Fatal(err)
	}
	app := decision(t, res.Scan, "Contoso.Toaster.App", "1.0.0.3")
	if !app.Applies || len(app.After) != 1 || app.After[0] != "Contoso.Toaster.Driver" {
		t.Errorf("app: %+v", app)
	}
	if fw := decision(t, res.Scan, "Contoso.Toaster.Firmware", "2.0.0.0"); fw.Applies || fw.Reason != agent.ReasonRequirement {
		t.Errorf("firmware needing a newer OS: %+v", fw)
	}
	if got := strings.Join(h.runs(t), " "); got != "Contoso.Toaster.Driver@1.0.0.2 Contoso.Toaster.App@1.0.0.3" {
		t.Errorf("install order %q", got)
	}
}

// TestNeverDowngrade: a lower version is not installed, unless it is
// marked as a downgrade.
func TestNeverDowngrade(t *testing.T) {
	w := agenttest.New(t)
	ctx := context.Background()
	w.Add("Preview", w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Settings", Version: "2.0.0.0"}), 100, nil)
	h := newTestHandler(t)
	a, cfg := newAgent(t, w, "Preview", 0, h)
	if _, err := a.Install(ctx); err != nil {
		t.Fatal(err)
	}
	w.Set("Preview", "Contoso.Toaster.Settings", "2.0.0.0", catalog.ActionHalt, 0)
	w.AddWith("Preview", w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Settings", Version: "1.5.0.0"}), flight.AddOptions{Rollout: 100, AllowDowngrade: true}, nil)
	res, err := a.Install(ctx)
	if err != nil || len(res.Installations) != 1 || res.Installations[0].Version.String() != "1.5.0.0" {
		t.Fatalf("downgrade: %v %+v", err, res)
	}
	if v := record(t, cfg).Installed["Contoso.Toaster.Settings"].Version.String(); v != "1.5.0.0" {
		t.Errorf("installed %s", v)
	}
	// A lower version not marked as a downgrade is not offered.
	b, _ := newAgent(t, w, "Preview", 0, newTestHandler(t))
	w.Add("Preview", w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Extra", Version: "1.0.0.1"}), 100, nil)
	recB := state.New()
	recB.Installed["Contoso.Toaster.Extra"] = state.Installed{Version: w.Version("3.0.0.0"), Kind: update.KindOCP, SHA256: strings.Repeat("a", 64), InstalledAt: time.Now()}
	if err := (state.File{Dir: b.Config().StateDir}).Save(ctx, recB); err != nil {
		t.Fatal(err)
	}
	scan, err := b.Scan(ctx)
	if d := decision(t, scan, "Contoso.Toaster.Extra", "1.0.0.1"); err != nil || d.Applies || d.Reason != agent.ReasonNotHigher {
		t.Errorf("lower version: %v %+v", err, d)
	}
}

// TestRefusals: each attack is refused with its own error and nothing is
// installed.
func TestRefusals(t *testing.T) {
	w := agenttest.New(t)
	ctx := context.Background()
	dir := catalog.MetadataDir("Preview", w.CHID(0))
	w.Add("Preview", w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Settings", Version: "1.0.0.1"}), 100, nil)
	oldTS := w.Read(dir + "/timestamp.json")
	good := w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Driver", Version: "1.0.0.2", Kind: update.KindDriver, PayloadSize: 300 << 10})
	w.Add("Preview", good, 100, nil)
	w.Set("Preview", "Contoso.Toaster.Settings", "1.0.0.1", catalog.ActionHalt, 0)
	cabKey := w.TargetKey(good)
	cabData := w.Read(cabKey)

	type attack struct {
		name  string
		setup func(t *testing.T) (restore func())
		clock time.Duration
		want  func(error) bool
	}
	isType := func(target error) func(error) bool { return func(err error) bool { return errors.Is(err, target) } }
	attacks := []attack{
		{"replayed older metadata", func(t *testing.T) func() { return w.Overwrite(dir+"/timestamp.json", oldTS) }, 0, isType(&metadata.ErrBadVersionNumber{})},
		{"expired metadata", nil, 48 * time.Hour, isType(&metadata.ErrExpiredMetadata{})},
		{"metadata of another ring", func(t *testing.T) func() {
			return w.Overwrite(dir+"/timestamp.json", w.Read(catalog.MetadataDir("EarlyAdopter", w.CHID(0))+"/timestamp.json"))
		}, 0, isType(&metadata.ErrUnsignedMetadata{})},
		{"cabinet swapped on the server", func(t *testing.T) func() {
			b := bytes.Clone(cabData)
			b[len(b)/2] ^= 0xff
			return w.Overwrite(cabKey, b)
		}, 0, isType(fetch.ErrDigestMismatch)},
		{"truncated body", func(t *testing.T) func() { return w.Overwrite(cabKey, cabData[:len(cabData)/2]) }, 0, isType(fetch.ErrTruncated)},
		{"too long body", func(t *testing.T) func() { return w.Overwrite(cabKey, append(bytes.Clone(cabData), 0)) }, 0, isType(fetch.ErrTooLong)},
	}
	for _, at := range attacks {
		t.Run(at.name, func(t *testing.T) {
			h := newTestHandler(t)
			clock := time.Now()
			a, cfg := newAgent(t, w, "Preview", 0, h, agent.WithClock(func() time.Time { return clock }))
			if at.name != "expired metadata" && at.name != "cabinet swapped on the server" && at.name != "truncated body" && at.name != "too long body" {
				// The device trusted the current state first.
				if _, err := a.Scan(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if at.setup != nil {
				defer at.setup(t)()
			}
			clock = clock.Add(at.clock)
			res, err := a.Install(ctx)
			var got error = err
			if err == nil {
				if len(res.Installations) != 1 || res.Installations[0].Outcome != report.Failed {
					t.Fatalf("not refused: %+v", res.Installations)
				}
				got = res.Installations[0].Err
			}
			if !at.want(got) {
				t.Errorf("error %v", got)
			}
			if runs := h.runs(t); len(runs) != 0 {
				t.Errorf("handler ran: %v", runs)
			}
			if rec := record(t, cfg); len(rec.Installed) != 0 || rec.Attempt != nil {
				t.Errorf("record after a refusal: %+v", rec)
			}
			if ents, _ := os.ReadDir(filepath.Join(cfg.StateDir, "downloads")); len(ents) != 0 {
				t.Errorf("refused bytes kept: %v", ents)
			}
		})
	}
	// A valid EV signature that is not the OEM's, added through flight
	// (so its TUF hashes are right: a stolen targets key).
	evil := w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Evil", Version: "6.6.6.6", SignWith: w.Other})
	w.Add("Preview", evil, 100, w.Other)
	for _, tt := range []struct {
		name  string
		roots []*x509PKI
		want  error
	}{
		{"chain to another root", nil, authenticode.ErrUntrustedChain},
		{"trusted root, another subject", []*x509PKI{w.Other}, authenticode.ErrSubjectMismatch},
	} {
		t.Run("signed by another EV certificate: "+tt.name, func(t *testing.T) {
			h := newTestHandler(t)
			cfg := w.Config("Preview", filepath.Join(t.TempDir(), "state"), h.handlers(true))
			cfg.SMBIOS = agenttest.Repo(t, agenttest.GoldenDevice)
			cfg.SetRoots(agenttest.CertPool(append([]*x509PKI{w.OEM}, tt.roots...)...), nil, nil)
			a, err := agent.New(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			res, err := a.Install(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var evilErr error
			for _, i := range res.Installations {
				if i.Name == "Contoso.Toaster.Evil" {
					evilErr = i.Err
				}
			}
			if !errors.Is(evilErr, tt.want) {
				t.Errorf("error %v, want %v", evilErr, tt.want)
			}
			for _, r := range h.runs(t) {
				if strings.HasPrefix(r, "Contoso.Toaster.Evil") {
					t.Errorf("handler ran for %s", r)
				}
			}
			if _, ok := record(t, cfg).Installed["Contoso.Toaster.Evil"]; ok {
				t.Error("recorded as installed")
			}
		})
	}
}

type x509PKI = devpki.PKI

// TestFlakyServer: 500s, timeouts and a connection dropped mid-body: the
// agent retries, resumes with Range, and installs once.
func TestFlakyServer(t *testing.T) {
	w := agenttest.New(t)
	ctx := context.Background()
	cab := w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Driver", Version: "1.0.0.2", Kind: update.KindDriver, PayloadSize: 2 << 20})
	w.Add("Preview", cab, 100, nil)
	var n, ranges atomic.Int32
	w.Front(func(origin http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			i := n.Add(1)
			if r.Header.Get("Range") != "" {
				ranges.Add(1)
			}
			switch {
			case i%3 == 1:
				http.Error(rw, "overloaded", http.StatusInternalServerError)
			case i == 2:
				<-r.Context().Done() // a timeout
			case strings.HasSuffix(r.URL.Path, ".cab") && ranges.Load() < 2:
				// Half the body, then the connection drops.
				rec := &halfWriter{ResponseWriter: rw}
				origin.ServeHTTP(rec, r)
			default:
				origin.ServeHTTP(rw, r)
			}
		})
	})
	h := newTestHandler(t)
	a, cfg := newAgent(t, w, "Preview", 0, h, agent.WithFetchOptions(fetch.WithAttempts(6), fetch.WithRequestTimeout(time.Second), fetch.WithStallTimeout(time.Second)))
	res, err := a.Install(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Installations) != 1 || res.Installations[0].Outcome != report.Installed {
		t.Fatalf("%+v", res.Installations)
	}
	if got := h.runs(t); len(got) != 1 {
		t.Errorf("handler runs %v, want one", got)
	}
	if ranges.Load() == 0 {
		t.Error("the download was never resumed with a Range request")
	}
	if rec := record(t, cfg); rec.Installed["Contoso.Toaster.Driver"].Version.String() != "1.0.0.2" {
		t.Errorf("record %+v", rec)
	}
}

// halfWriter passes half of the body on, then cuts the connection.
type halfWriter struct {
	http.ResponseWriter
	limit, n int
}

func (h *halfWriter) WriteHeader(code int) {
	if cl := h.Header().Get("Content-Length"); cl != "" {
		fmt.Sscan(cl, &h.limit)
		h.limit /= 2
	}
	h.ResponseWriter.WriteHeader(code)
}

func (h *halfWriter) Write(p []byte) (int, error) {
	if h.n+len(p) > h.limit {
		h.ResponseWriter.Write(p[:h.limit-h.n])
		h.ResponseWriter.(http.Flusher).Flush()
		conn, _, err := h.ResponseWriter.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return 0, errors.New("connection cut")
	}
	h.n += len(p)
	return h.ResponseWriter.Write(p)
}

func (h *halfWriter) Flush() { h.ResponseWriter.(http.Flusher).Flush() }

// TestPendingRebootAndReports: a reboot exit code is recorded and
// reported as pending a reboot; reports reach the report URL after the
// install, and a server that fails does not fail the install.
func TestPendingRebootAndReports(t *testing.T) {
	w := agenttest.New(t)
	ctx := context.Background()
	w.Add("Preview", w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Driver", Version: "1.0.0.2", Kind: update.KindDriver}), 100, nil)
	var posted atomic.Int32
	var body atomic.Value
	srv := httptestServer(t, func(rw http.ResponseWriter, r *http.Request) {
		b := new(bytes.Buffer)
		b.ReadFrom(r.Body)
		body.Store(b.String())
		posted.Add(1)
	})
	h := newTestHandler(t)
	cfg := w.Config("Preview", filepath.Join(t.TempDir(), "state"), map[update.Kind]config.Handler{update.KindDriver: h.config(false, 194)})
	cfg.SMBIOS = agenttest.Repo(t, agenttest.GoldenDevice)
	cfg.ReportURL = srv
	a, err := agent.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.Install(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Installations) != 1 || res.Installations[0].Outcome != report.PendingReboot || res.ReportsSent != 1 || res.ReportsPending != 0 {
		t.Fatalf("%+v", res)
	}
	if in := record(t, cfg).Installed["Contoso.Toaster.Driver"]; !in.PendingReboot {
		t.Errorf("record %+v", in)
	}
	r, err := report.Parse("posted", []byte(body.Load().(string)))
	if err != nil || r.Outcome != report.PendingReboot || r.DeviceID != a.Device().ID || r.Handler == nil || r.Handler.ExitCode != 194 {
		t.Errorf("posted report %+v, %v", r, err)
	}
	st, err := a.Status(ctx)
	if err != nil || st.LastReport == nil || st.LastReport.Outcome != report.PendingReboot || st.ReportsPending != 0 {
		t.Errorf("status %+v, %v", st, err)
	}
}

func httptestServer(t *testing.T, h http.HandlerFunc) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/reports"
}

// TestInterruptedInstall: an install a crash left in the installing phase
// is finished on the next run when its update is still offered, and
// reported abandoned when it is not.
func TestInterruptedInstall(t *testing.T) {
	w := agenttest.New(t)
	ctx := context.Background()
	cab := w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Settings", Version: "1.0.0.1"})
	w.Add("Preview", cab, 100, nil)
	h := newTestHandler(t)
	a, cfg := newAgent(t, w, "Preview", 0, h)
	scan, err := a.Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := scan.Applicable()[0]
	interrupted := func() {
		rec := record(t, cfg)
		rec.Attempt = &state.Attempt{Name: d.Name, Version: d.Version, Kind: d.Kind, SHA256: d.SHA256, Length: d.Length, Ring: "Preview", Phase: state.Installing, Started: time.Now()}
		if err := (state.File{Dir: cfg.StateDir}).Save(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	interrupted()
	w.Set("Preview", d.Name, d.Version.String(), catalog.ActionHalt, 0)
	res, err := a.Install(ctx)
	if err != nil || len(res.Installations) != 1 || res.Installations[0].Outcome != report.Abandoned || res.Installations[0].Error == nil {
		t.Fatalf("%v %+v", err, res)
	}
	if rec := record(t, cfg); rec.Attempt != nil || len(rec.Installed) != 0 {
		t.Errorf("record %+v", rec)
	}
	if runs := h.runs(t); len(runs) != 0 {
		t.Errorf("handler ran: %v", runs)
	}
}

// TestCorruptTUFCacheThroughTheAgent: a damaged metadata cache in the
// state directory is rebuilt by the next scan.
func TestCorruptTUFCacheThroughTheAgent(t *testing.T) {
	w := agenttest.New(t)
	ctx := context.Background()
	w.Add("Preview", w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Settings", Version: "1.0.0.1"}), 100, nil)
	a, cfg := newAgent(t, w, "Preview", 0, newTestHandler(t))
	if _, err := a.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cfg.StateDir, "tuf", "Preview", w.CHID(0).String())
	for _, role := range []string{"root", "timestamp", "snapshot", "targets"} {
		if err := os.WriteFile(filepath.Join(dir, role+".json"), []byte("\x00garbage"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := agent.New(ctx, cfg)
	res, err := b.Scan(ctx)
	if err != nil || !res.Rebuilt || len(res.Applicable()) != 1 {
		t.Errorf("after the damage: %v %+v", err, res)
	}
}

// TestAnotherProductsRepositoryRefused: the repository of another product
// of the same ring, served in place of the device's own, is signed by the
// ring's keys and has higher versions, so TUF's workflow alone takes it;
// the device refuses it (wrong_repository), installs nothing, and keeps
// its own state: once the CDN serves its repository again it goes on.
func TestAnotherProductsRepositoryRefused(t *testing.T) {
	w := agenttest.New(t)
	ctx := context.Background()
	w.Add("Preview", w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Settings", Version: "1.0.0.1"}), 100, nil)
	for i := range 3 {
		cab := w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Extras", Version: fmt.Sprintf("2.0.0.%d", i+1), Targets: []smbios.CHID{w.CHID(1)}})
		w.Add("Preview", cab, 100, nil)
	}
	own, other := catalog.MetadataDir("Preview", w.CHID(0)), catalog.MetadataDir("Preview", w.CHID(1))
	var swap atomic.Bool
	w.Front(func(origin http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if swap.Load() {
				r.URL.Path = strings.Replace(r.URL.Path, "/"+own+"/", "/"+other+"/", 1)
			}
			origin.ServeHTTP(rw, r)
		})
	})
	h := newTestHandler(t)
	a, cfg := newAgent(t, w, "Preview", 0, h)
	if _, err := a.Scan(ctx); err != nil {
		t.Fatal(err)
	}

	swap.Store(true)
	// TUF's workflow alone, from the shipped root, takes the other
	// product's metadata.
	root, err := os.ReadFile(filepath.Join(w.RootsDir, "Preview.root.json"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := fetch.New([]string{w.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&tufrepo.Repo{Root: root, Dir: own, Fetcher: f, Cache: &tufrepo.Memory{}}).Refresh(ctx); err != nil {
		t.Fatalf("TUF alone refuses the other product's repository (%v): the test shows nothing", err)
	}
	for _, run := range []func() error{
		func() error { _, err := a.Scan(ctx); return err },
		func() error { _, err := a.Install(ctx); return err },
	} {
		err := run()
		var re *catalog.RepositoryError
		if !errors.Is(err, catalog.ErrWrongRepository) || !errors.As(err, &re) || re.Got.Product != w.CHID(1) || agent.CodeOf(err) != "wrong_repository" {
			t.Errorf("another product's repository: %v (code %s), want ErrWrongRepository naming product %s", err, agent.CodeOf(err), w.CHID(1))
		}
	}
	if runs := h.runs(t); len(runs) != 0 {
		t.Errorf("installed from another product's repository: %v", runs)
	}

	swap.Store(false)
	res, err := a.Install(ctx)
	if err != nil || len(res.Installations) != 1 || res.Installations[0].Name != "Contoso.Toaster.Settings" {
		t.Fatalf("its own repository again: %v %+v", err, res)
	}
	if rec := record(t, cfg); rec.Installed["Contoso.Toaster.Settings"].Version.String() != "1.0.0.1" {
		t.Errorf("installed %+v", rec.Installed)
	}
}

// TestCodes: every code is snake_case, and each error of the table gets
// its own entry's code (no entry is shadowed by an earlier, wider one).
func TestCodes(t *testing.T) {
	for i, c := range agent.Codes {
		if !regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`).MatchString(c.Code) {
			t.Errorf("code %q is not snake_case", c.Code)
		}
		if got := agent.CodeOf(fmt.Errorf("wrapped: %w", c.Err)); got != c.Code {
			// An earlier entry matches: fine only when it names the same code.
			t.Errorf("entry %d (%v): code %q, want %q", i, c.Err, got, c.Code)
		}
	}
	if agent.CodeOf(errors.New("other")) != "failed" {
		t.Error("an unknown error is not failed")
	}
}

// TestStopMidInstall: a run stopped during the download keeps the attempt
// and its partial download (no failure counted) and the next run finishes.
func TestStopMidInstall(t *testing.T) {
	w := agenttest.New(t)
	cab := w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Settings", Version: "1.0.0.1", PayloadSize: 4 << 20})
	w.Add("Preview", cab, 100, nil)
	ctx, cancel := context.WithCancel(context.Background())
	w.Front(func(origin http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, ".cab") && r.Header.Get("Range") == "" {
				// Half the cabinet, then the device is told to stop.
				hw := &halfWriter{ResponseWriter: rw}
				origin.ServeHTTP(hw, r)
				cancel()
				return
			}
			origin.ServeHTTP(rw, r)
		})
	})
	h := newTestHandler(t)
	a, cfg := newAgent(t, w, "Preview", 0, h)
	if _, err := a.Install(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("stopped run: %v", err)
	}
	rec := record(t, cfg)
	if rec.Attempt == nil || rec.Attempt.Phase != state.Downloading || len(rec.Failures) != 0 {
		t.Errorf("record after the stop: %+v", rec)
	}
	res, err := a.Install(context.Background())
	if err != nil || len(res.Installations) != 1 || res.Installations[0].Outcome != report.Installed {
		t.Fatalf("next run: %v %+v", err, res)
	}
	if runs := h.runs(t); len(runs) != 1 {
		t.Errorf("handler runs %v", runs)
	}
}
