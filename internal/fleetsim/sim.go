// Package fleetsim simulates a fleet of devices updating through a real
// CDN: N devices, each the agent library's own code (agent.New, then
// Install: scan, download, verify, install) with its state, TUF cache and
// identity in memory, scan in rounds through nginx (the example
// configuration, internal/nginx) in front of a `devupdate serve` process
// (the repository's binary, with a short timestamp and 404 max-age) on a
// directory store, while a scripted timeline adds, promotes, ramps, pauses
// and halts updates through the flight library, in this process, on the
// same directory.
//
// It reports what a fleet costs and whether it behaved: scans; the
// requests and bytes that reached the origin per ring and per max-age
// window, read from serve's access log as it is written; the metadata
// bytes one scan took from the CDN, with nothing new and after a change;
// scan latency; the devices on each version after every step; and every
// device that installed an update outside its ring, its product or the
// rollout, checked against the timeline's own account of what was offered
// (not against the agent's answer) with the rollout rule recomputed from
// the device ids. MeasureCost, one scan's cost to the device, keeps its
// store in memory and its origin in this process (see CostConfig).
//
// The world (rings, keys, cabinets) is internal/agent/agenttest's;
// hack/fleetsim is the command, and this package's test runs a small fleet.
package fleetsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/devupdate/devupdate/flight"
	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/internal/agent"
	"github.com/devupdate/devupdate/internal/agent/agenttest"
	"github.com/devupdate/devupdate/internal/agent/config"
	"github.com/devupdate/devupdate/internal/agent/handler"
	"github.com/devupdate/devupdate/internal/agent/state"
	"github.com/devupdate/devupdate/internal/agent/tufrepo"
	"github.com/devupdate/devupdate/internal/nginx"
	"github.com/devupdate/devupdate/manifest/update"
	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/smbios"
)

// RingShare is a ring and its share of the fleet (a weight).
type RingShare struct {
	Ring   string
	Weight int
}

// Config is a simulation.
type Config struct {
	// Devices is the fleet's size (default 1,000).
	Devices int
	// Products is how many products the rings hold (default 10).
	Products int
	// Rings share the devices out (default Preview 1, EarlyAdopter 3,
	// GeneralAvailability 16: 5, 15 and 80 %). Device i is of product
	// i mod Products and of the ring its turn falls in.
	Rings []RingShare
	// Workers is how many devices scan at once (default 16).
	Workers int
	// Interval spreads a round's scans over at least this long (default
	// 0: as fast as the devices go).
	Interval time.Duration
	// MaxAge is the origin's timestamp.json and 404 max-age (`devupdate
	// serve --timestamp-max-age`, `--not-found-max-age`; default 2s).
	MaxAge time.Duration
	// Timeline is the release engineer's changes (default
	// DefaultTimeline). Each change is made while a round of scans runs,
	// rounds go on until the CDN serves it, then one more round follows.
	Timeline []Change
	// SteadyRounds are rounds after the timeline, with nothing changing
	// (default 1; negative: none).
	SteadyRounds int
	// Seed orders the scans of each round (default 1).
	Seed uint64
	// Nginx is the nginx executable, Example examples/cdn/nginx.conf.
	Nginx, Example string
	// Devupdate is the devupdate executable whose serve is the origin
	// (required; BuildDevupdate makes one).
	Devupdate string
	// Logf, when set, is told each step.
	Logf func(format string, args ...any)
}

func (c *Config) defaults() {
	if c.Devices <= 0 {
		c.Devices = 1000
	}
	if c.Products <= 0 {
		c.Products = 10
	}
	c.Products = max(c.Products, 2)
	if c.Rings == nil {
		c.Rings = []RingShare{{"Preview", 1}, {"EarlyAdopter", 3}, {"GeneralAvailability", 16}}
	}
	if c.Workers <= 0 {
		c.Workers = 16
	}
	if c.MaxAge <= 0 {
		c.MaxAge = 2 * time.Second
	}
	if c.Timeline == nil {
		c.Timeline = DefaultTimeline()
	}
	if c.SteadyRounds < 0 {
		c.SteadyRounds = 0
	} else if c.SteadyRounds == 0 {
		c.SteadyRounds = 1
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
}

// device is one simulated device: the agent and what the simulation saw
// it do.
type device struct {
	id      string
	ring    string
	product int
	a       *agent.Agent
	// u counts the current run's responses; runStart is when it began.
	u        usage
	runStart time.Time
	// installed is what the installer ran, by name; pending the current
	// run's installs.
	installed map[string]string
	pending   []install
}

// recorder is a device's installer: it records the job, as a test
// handler on Linux records what it installed.
type recorder struct{ d *device }

func (r recorder) Installed(context.Context, handler.Job) (bool, bool, error) {
	return false, false, nil
}

func (r recorder) Install(_ context.Context, j handler.Job) (*handler.Result, error) {
	r.d.pending = append(r.d.pending, install{dev: r.d, name: j.Name, version: j.Version, had: r.d.installed[j.Name], start: r.d.runStart})
	r.d.installed[j.Name] = j.Version
	return &handler.Result{}, nil
}

// run is one device's scan (and install) as the simulation measured it.
type run struct {
	latency  time.Duration
	u        usage
	installs int
	err      error
}

type sim struct {
	cfg     Config
	w       *agenttest.World
	cdn     *nginx.Server
	origin  *originServer
	model   *model
	devices []*device
	cands   map[string]*flight.Candidate
	// publisher is the flight library over a store that counts its work.
	publisher *flight.Flight
	store     *storeCounter
	// names are the timeline's update names, in order.
	names []string
	rng   *rand.Rand
	start time.Time

	mu       sync.Mutex
	runs     []run
	installs []install
}

// Run runs the simulation cfg describes in a world built under t (a test,
// or agenttest.Program for a command) and returns its report. The origin
// is stopped before the report is made, nginx by t's cleanups.
func Run(ctx context.Context, t agenttest.TB, cfg Config) (*Report, error) {
	cfg.defaults()
	if cfg.Devupdate == "" {
		return nil, errors.New("no devupdate executable to serve the store (Config.Devupdate)")
	}
	s := &sim{cfg: cfg, cands: map[string]*flight.Candidate{}, rng: rand.New(rand.NewPCG(cfg.Seed, 2))}
	if err := s.setup(ctx, t); err != nil {
		return nil, err
	}
	rep := &Report{Config: cfg}
	var ru0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	ng0, _ := s.cdn.CPU()
	or0, _ := s.origin.p.CPU()
	s.start = time.Now()
	s.model = newModel(s.ringNames(), cfg.Products, s.start)
	for i, c := range cfg.Timeline {
		st, err := s.step(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("step %d, %s: %w", i+1, c, err)
		}
		rep.Steps = append(rep.Steps, *st)
		cfg.Logf("step %d/%d %s: %d scans, %d installs, published in %s, served by the CDN %s later",
			i+1, len(cfg.Timeline), c, st.Scans, st.Installs, st.Publish.Round(time.Millisecond), st.Visible.Round(time.Millisecond))
	}
	if cfg.SteadyRounds > 0 {
		st := &Step{Name: "nothing changes"}
		before := s.counts()
		for range cfg.SteadyRounds {
			s.round(ctx)
			st.Rounds++
		}
		s.finishStep(st, before)
		rep.Steps = append(rep.Steps, *st)
		cfg.Logf("%d rounds with nothing changing: %d scans", st.Rounds, st.Scans)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	end := time.Now()
	var ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	ng1, _ := s.cdn.CPU()
	or1, _ := s.origin.p.CPU()
	s.origin.stop()
	rep.Wall = end.Sub(s.start)
	rep.ProcessCPU = cpu(ru1) - cpu(ru0)
	rep.NginxCPU, rep.OriginCPU = ng1-ng0, or1-or0
	s.report(rep, end)
	return rep, nil
}

func cpu(ru syscall.Rusage) time.Duration {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (s *sim) ringNames() []string {
	var out []string
	for _, r := range s.cfg.Rings {
		out = append(out, r.Ring)
	}
	return out
}

// setup builds the world on a directory store, serves it with
// `devupdate serve` behind nginx, and makes the timeline's cabinets and
// the devices.
func (s *sim) setup(ctx context.Context, t agenttest.TB) error {
	cfg := s.cfg
	s.w = agenttest.New(t, agenttest.WithProducts(cfg.Products), agenttest.WithoutOrigin())
	o, err := startOrigin(ctx, cfg.Devupdate, s.w.StoreDir, cfg.MaxAge)
	if err != nil {
		return err
	}
	t.Cleanup(o.stop)
	s.origin = o
	if err := s.startCDN(ctx, t, o.addr); err != nil {
		return err
	}
	s.store = &storeCounter{Store: s.w.Store}
	if s.publisher, err = flight.New(s.store, flight.WithKeys(s.w.Keys), flight.WithClock(s.w.Clock.Now)); err != nil {
		return err
	}
	for _, c := range cfg.Timeline {
		if c.Action != catalog.ActionAdd {
			continue
		}
		if !slices.Contains(s.names, c.Name) {
			s.names = append(s.names, c.Name)
		}
		var targets []smbios.CHID
		for p := range cfg.Products {
			if c.Products == nil || slices.Contains(c.Products, p) {
				targets = append(targets, s.w.CHID(p))
			}
		}
		cab := s.w.Cabinet(agenttest.Cab{Name: c.Name, Version: c.Version, Targets: targets})
		cand, err := s.publisher.Prepare(ctx, cab, signer.Policy{Roots: s.w.OEM.Roots()})
		if err != nil {
			return err
		}
		s.cands[nv(c.Name, c.Version)] = cand
	}
	return s.addDevices(ctx, t)
}

// startCDN starts nginx in front of the origin at addr (host:port); the
// devices read through it.
func (s *sim) startCDN(ctx context.Context, t agenttest.TB, addr string) error {
	ng, err := nginx.Start(ctx, nginx.Options{Bin: s.cfg.Nginx, Example: s.cfg.Example, Origin: addr, Dir: t.TempDir()})
	if err != nil {
		return err
	}
	t.Cleanup(ng.Stop)
	s.cdn = ng
	s.w.URL = ng.URL + "/"
	return nil
}

// addDevices makes the fleet: device i is of product i mod Products, in
// the ring its turn falls in, with its state, TUF cache and identity in
// memory.
func (s *sim) addDevices(ctx context.Context, t agenttest.TB) error {
	cfg := s.cfg
	// One HTTP transport for the fleet: simulated devices share its
	// connections to the CDN (a real device opens its own, so nginx's
	// CPU per scan here leaves out a connection's setup); each device
	// counts its own responses.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = cfg.Workers * 2
	pool, memo := &tufrepo.Pool{}, &tufrepo.Memo{}
	bases := map[string]*config.Config{}
	total := 0
	for _, r := range cfg.Rings {
		total += r.Weight
	}
	devDir := t.TempDir()
	for i := range cfg.Devices {
		d := &device{id: deviceID(cfg.Seed, i), product: i % cfg.Products, installed: map[string]string{}}
		turn := (i / cfg.Products) % total
		for _, r := range cfg.Rings {
			if turn < r.Weight {
				d.ring = r.Ring
				break
			}
			turn -= r.Weight
		}
		base, ok := bases[d.ring]
		if !ok {
			base = s.w.Config(d.ring, devDir, nil)
			bases[d.ring] = base
		}
		c := *base
		c.StateDir = filepath.Join(devDir, fmt.Sprint(i))
		chids := s.w.Products[d.product].SMBIOS.HardwareIDs()
		dev := &agent.Device{ID: d.id, IDSource: "given", Product: s.w.CHID(d.product)}
		for _, h := range chids {
			dev.CHIDs = append(dev.CHIDs, h.GUID)
		}
		var err error
		d.a, err = agent.New(ctx, &c, agent.WithDevice(dev), agent.WithStateStore(&state.Memory{}),
			agent.WithMetadataCache(&tufrepo.Memory{Pool: pool}), agent.WithMemo(memo),
			agent.WithHTTPClient(&http.Client{Transport: &countingTransport{base: tr, u: &d.u}}),
			agent.WithInstaller(update.KindOCP, recorder{d}))
		if err != nil {
			return err
		}
		s.devices = append(s.devices, d)
	}
	return nil
}

// deviceID is device i's identity: a UUID made from the seed and i.
func deviceID(seed uint64, i int) string {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	a, b := r.Uint64(), r.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xfff, (b>>48)&0x3fff|0x8000, b&0xffffffffffff)
}

// step makes change c while the fleet scans: rounds go on until the CDN
// serves the change, then one more round runs.
func (s *sim) step(ctx context.Context, c Change) (*Step, error) {
	st := &Step{Name: c.String()}
	before := s.counts()
	type outcome struct {
		publish, visible time.Duration
		ops              StoreOps
		err              error
	}
	done := make(chan outcome, 1)
	go func() {
		p, v, ops, err := s.publish(ctx, c)
		done <- outcome{p, v, ops, err}
	}()
	var out outcome
	for finished := false; !finished; {
		s.round(ctx)
		st.Rounds++
		select {
		case out = <-done:
			finished = true
		default:
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	if out.err != nil {
		return nil, out.err
	}
	st.Publish, st.Visible, st.Store = out.publish, out.visible, out.ops
	s.round(ctx)
	st.Rounds++
	s.finishStep(st, before)
	return st, nil
}

var who = flight.Who{Actor: "fleetsim@release", Reason: "fleet simulation"}

// publish makes change c through the flight library and waits until the
// CDN serves every repository it changed; it returns how long the change
// took, how much later the CDN served it, and what it asked of the store.
func (s *sim) publish(ctx context.Context, c Change) (took, served time.Duration, ops StoreOps, err error) {
	t0 := time.Now()
	repos, err := s.model.apply(c, t0)
	if err != nil {
		return 0, 0, ops, err
	}
	v, err := update.ParseVersion(c.Version)
	if err != nil {
		return 0, 0, ops, err
	}
	f := s.publisher
	s.store.take()
	switch c.Action {
	case catalog.ActionAdd:
		_, err = f.Add(ctx, c.Ring, []*flight.Candidate{s.cands[nv(c.Name, c.Version)]}, flight.AddOptions{Rollout: c.Percent}, who)
	case catalog.ActionPromote:
		_, err = f.Promote(ctx, c.Name, v, c.Ring, c.Percent, false, who)
	default:
		_, err = f.SetState(ctx, c.Ring, c.Name, v, c.Action, c.Percent, who)
	}
	if err != nil {
		return 0, 0, ops, err
	}
	took, ops = time.Since(t0), s.store.take()
	t1 := time.Now()
	for _, rk := range repos {
		if err := s.waitServed(ctx, rk); err != nil {
			return 0, 0, ops, err
		}
	}
	return took, time.Since(t1), ops, nil
}

// waitServed polls the CDN until it serves, from its cache, the
// repository's timestamp.json as the store now holds it (or newer), and
// records in the model when it did: a scan that starts later reads this
// state or a newer one.
func (s *sim) waitServed(ctx context.Context, rk repoKey) error {
	key := catalog.MetadataDir(rk.ring, s.w.CHID(rk.product)) + "/timestamp.json"
	want := tsVersion(s.w.Read(key))
	client := &http.Client{Timeout: 10 * time.Second}
	for {
		resp, err := client.Get(s.w.URL + key)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, tufrepo.MaxTimestamp))
		resp.Body.Close()
		if err != nil {
			return err
		}
		// A HIT is the cache's copy: every later request gets it or a
		// newer one.
		if resp.StatusCode == http.StatusOK && resp.Header.Get("X-Cache-Status") == "HIT" && tsVersion(body) >= want {
			s.model.visible(rk, time.Now())
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func tsVersion(data []byte) int64 {
	var ts struct {
		Signed struct {
			Version int64 `json:"version"`
		} `json:"signed"`
	}
	if json.Unmarshal(data, &ts) != nil {
		return -1
	}
	return ts.Signed.Version
}

// round has every device scan (and install) once.
func (s *sim) round(ctx context.Context) {
	s.each(ctx, func(d *device) { s.run(ctx, d) })
}

// each runs f for every device, in a shuffled order, Workers at once,
// spread over the configured Interval.
func (s *sim) each(ctx context.Context, f func(*device)) {
	order := s.rng.Perm(len(s.devices))
	jobs := make(chan *device)
	var wg sync.WaitGroup
	for range s.cfg.Workers {
		wg.Go(func() {
			for d := range jobs {
				f(d)
			}
		})
	}
	start := time.Now()
	for k, i := range order {
		if ctx.Err() != nil {
			break
		}
		if s.cfg.Interval > 0 {
			if wait := time.Until(start.Add(time.Duration(k) * s.cfg.Interval / time.Duration(len(order)))); wait > 0 {
				time.Sleep(wait)
			}
		}
		jobs <- s.devices[i]
	}
	close(jobs)
	wg.Wait()
}

// run is one device's Install: scan, then download, verify and install
// what applies.
func (s *sim) run(ctx context.Context, d *device) {
	d.u = usage{}
	d.runStart = time.Now()
	res, err := d.a.Install(ctx)
	end := time.Now()
	if err == nil && res.Failed() {
		for _, in := range res.Installations {
			if in.Err != nil {
				err = in.Err
				break
			}
		}
	}
	r := run{latency: end.Sub(d.runStart), u: d.u, installs: len(d.pending), err: err}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, in := range d.pending {
		in.end = end
		s.installs = append(s.installs, in)
	}
	d.pending = nil
	s.runs = append(s.runs, r)
}

type counts struct{ runs, installs int }

func (s *sim) counts() counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return counts{len(s.runs), len(s.installs)}
}

// finishStep fills in the step's scans, installs and the devices on each
// version.
func (s *sim) finishStep(st *Step, before counts) {
	now := s.counts()
	st.Scans, st.Installs = now.runs-before.runs, now.installs-before.installs
	st.Versions = map[string]map[string]map[string]int{}
	st.Installed = make([]map[string]string, len(s.devices))
	for i, d := range s.devices {
		st.Installed[i] = map[string]string{}
		for n, v := range d.installed {
			st.Installed[i][n] = v
		}
		byName := st.Versions[d.ring]
		if byName == nil {
			byName = map[string]map[string]int{}
			st.Versions[d.ring] = byName
		}
		for _, name := range s.names {
			v := d.installed[name]
			if v == "" {
				v = "none"
			}
			if byName[name] == nil {
				byName[name] = map[string]int{}
			}
			byName[name][v]++
		}
	}
}
