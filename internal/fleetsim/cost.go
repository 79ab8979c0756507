package fleetsim

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/devupdate/devupdate/cdn/origin"
	"github.com/devupdate/devupdate/internal/agent/agenttest"
	"github.com/devupdate/devupdate/smbios"
)

// CostConfig is a measurement of what one scan costs the device (and the
// CDN) in a ring of Products products.
type CostConfig struct {
	// Products in the ring (default 1,000); each product's repository
	// holds one update.
	Products int
	// Devices scan (default 200, of products 0, 1, 2, ... in turn),
	// Workers at once (default 16).
	Devices, Workers int
	// Rounds of scans with nothing new are measured (default 50).
	Rounds int
	// Nginx is the nginx executable, Example examples/cdn/nginx.conf.
	Nginx, Example string
}

// Cost is what one scan cost.
type Cost struct {
	Products, Devices int
	// FirstScanCPU is the process's CPU per device's first scan (the
	// repository's whole metadata fetched and verified; the origin, in
	// this process, serving the CDN's misses).
	FirstScanCPU time.Duration
	// NothingNewCPU is the process's CPU per scan with nothing new (all
	// from the CDN's cache: the devices' side), NginxCPU nginx's.
	NothingNewCPU, NginxCPU time.Duration
	// NothingNewBytes is the metadata one such scan took, on average.
	NothingNewBytes float64
	// InProcess is one device's Scan, timed by testing.Benchmark:
	// nanoseconds and allocations per scan.
	InProcessNs, InProcessAllocs, InProcessBytes int64
}

// MeasureCost measures one scan's cost in a ring of c.Products products
// (Preview; a memory store, served by the origin in this process behind
// nginx: the figures are the device's, and a scan with nothing new never
// reaches the origin).
func MeasureCost(ctx context.Context, t agenttest.TB, c CostConfig) (*Cost, error) {
	if c.Products <= 0 {
		c.Products = 1000
	}
	if c.Devices <= 0 {
		c.Devices = 200
	}
	if c.Workers <= 0 {
		c.Workers = 16
	}
	if c.Rounds <= 0 {
		c.Rounds = 50
	}
	s := &sim{cfg: Config{Devices: c.Devices, Products: c.Products, Rings: []RingShare{{"Preview", 1}}, Workers: c.Workers,
		MaxAge: time.Hour, Nginx: c.Nginx, Example: c.Example, Timeline: []Change{}},
		rng: rand.New(rand.NewPCG(1, 2))}
	s.cfg.defaults()
	s.w = agenttest.New(t, agenttest.WithProducts(c.Products), agenttest.WithMemoryStore(),
		agenttest.WithOrigin(origin.WithTimestampMaxAge(s.cfg.MaxAge), origin.WithNotFoundMaxAge(s.cfg.MaxAge)))
	if err := s.startCDN(ctx, t, s.w.Origin.Listener.Addr().String()); err != nil {
		return nil, err
	}
	// An update per 250 products (an update targets at most 256 CHIDs).
	for i := 0; i < c.Products; i += 250 {
		var targets []smbios.CHID
		for p := i; p < min(i+250, c.Products); p++ {
			targets = append(targets, s.w.CHID(p))
		}
		cab := s.w.Cabinet(agenttest.Cab{Name: SettingsName, Version: fmt.Sprintf("1.0.%d.1", i/250), Targets: targets})
		s.w.Add("Preview", cab, 100, nil)
	}
	if err := s.addDevices(ctx, t); err != nil {
		return nil, err
	}
	scan := func(d *device) {
		d.u = usage{}
		_, err := d.a.Scan(ctx)
		s.mu.Lock()
		s.runs = append(s.runs, run{u: d.u, err: err})
		s.mu.Unlock()
	}
	out := &Cost{Products: c.Products, Devices: c.Devices}
	measure := func(rounds int) (time.Duration, time.Duration, error) {
		s.runs = nil
		// What the process did before (a fleet simulated in it) is not
		// collected on this measurement's time.
		runtime.GC()
		var ru0, ru1 syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
		ng0, err := s.cdn.CPU()
		if err != nil {
			return 0, 0, err
		}
		for range rounds {
			s.each(ctx, scan)
		}
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
		ng1, err := s.cdn.CPU()
		if err != nil {
			return 0, 0, err
		}
		for _, r := range s.runs {
			if r.err != nil {
				return 0, 0, r.err
			}
		}
		n := time.Duration(len(s.runs))
		return (cpu(ru1) - cpu(ru0)) / n, (ng1 - ng0) / n, nil
	}
	var err error
	if out.FirstScanCPU, _, err = measure(1); err != nil {
		return nil, err
	}
	if out.NothingNewCPU, out.NginxCPU, err = measure(c.Rounds); err != nil {
		return nil, err
	}
	var b int64
	for _, r := range s.runs {
		b += r.u.metaBytes
	}
	out.NothingNewBytes = float64(b) / float64(len(s.runs))

	d := s.devices[0]
	var scanErr error
	res := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := d.a.Scan(ctx); err != nil {
				scanErr = err
				b.FailNow()
			}
		}
	})
	if scanErr != nil {
		return nil, scanErr
	}
	out.InProcessNs, out.InProcessAllocs, out.InProcessBytes = res.NsPerOp(), res.AllocsPerOp(), res.AllocedBytesPerOp()
	return out, nil
}

// PrintCosts writes the costs of several ring sizes, the first as the base of
// the ratios.
func PrintCosts(w io.Writer, costs []*Cost) {
	fmt.Fprintf(w, "one scan's cost by ring size (%d devices, each reading its own product's repository):\n", costs[0].Devices)
	fmt.Fprintf(w, "  %-8s %14s %16s %16s %13s %14s %12s %12s\n", "products", "first scan cpu", "nothing new cpu", "nginx cpu/scan", "bytes/scan", "in-process ns", "allocs/scan", "ratio cpu")
	for _, c := range costs {
		fmt.Fprintf(w, "  %-8d %12.0fµs %14.0fµs %14.0fµs %13.0f %14d %12d %12.2f\n", c.Products, us(c.FirstScanCPU), us(c.NothingNewCPU), us(c.NginxCPU),
			c.NothingNewBytes, c.InProcessNs, c.InProcessAllocs, float64(c.NothingNewCPU)/float64(costs[0].NothingNewCPU))
	}
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }
