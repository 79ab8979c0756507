// Command agentbench measures the device agent for `make bench`
// (hack/bench.d/60-agent.sh), each figure next to a peer measured in the
// same run on the same input:
//
//	agentbench scan -agent BIN [-runs N]
//	    one scan with nothing new against a served ring: requests, bytes,
//	    CPU time and peak RSS of a `devupdate-agent scan` process, against
//	    a process doing go-tuf's bare updater.Refresh of the same
//	    repository (warm cache); then the same two in process
//	    (testing.Benchmark: the agent library's Scan with its state in
//	    memory, as a fleet simulator runs it, against updater.Refresh).
//	agentbench download -agent BIN [-sizes 200,600]
//	    peak RSS, CPU and wall time of `devupdate-agent install` of one
//	    cabinet of each size (download, SHA-256, Authenticode, extraction,
//	    a handler that does nothing), against curl downloading the same
//	    file and osslsigncode verifying it.
//
// The rings, cabinets and server come from internal/agent/agenttest (the
// flight library, the packager, the signer, cdn/origin on loopback).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"

	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/internal/agent"
	"github.com/devupdate/devupdate/internal/agent/agenttest"
	"github.com/devupdate/devupdate/internal/agent/state"
	"github.com/devupdate/devupdate/internal/agent/tufrepo"
	"github.com/devupdate/devupdate/smbios"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: agentbench scan|download|peer-refresh [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	bin := fs.String("agent", "", "the devupdate-agent binary")
	work := fs.String("work", os.TempDir(), "work directory")
	runs := fs.Int("runs", 7, "measured runs (the median is printed)")
	sizes := fs.String("sizes", "200,600", "cabinet sizes in MB")
	url := fs.String("url", "", "peer-refresh: the repository's metadata URL")
	root := fs.String("root", "", "peer-refresh: the shipped root.json")
	cache := fs.String("cache", "", "peer-refresh: the updater's metadata directory")
	_ = fs.Parse(os.Args[2:])
	var err error
	switch os.Args[1] {
	case "peer-refresh":
		err = peerRefresh(*url, *root, *cache)
	case "scan":
		err = withWorld(*work, func(t *agenttest.Program) error { return benchScan(t, *bin, *runs) })
	case "download":
		err = withWorld(*work, func(t *agenttest.Program) error { return benchDownload(t, *bin, *sizes) })
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "agentbench:", err)
		os.Exit(1)
	}
}

func withWorld(work string, f func(*agenttest.Program) error) error {
	dir, err := os.MkdirTemp(work, "agentbench-")
	if err != nil {
		return err
	}
	t := &agenttest.Program{Name: "agentbench", Dir: dir}
	defer os.RemoveAll(dir)
	defer t.Close()
	return f(t)
}

// peerRefresh is go-tuf's updater, as a device would configure it: one
// Refresh from the metadata directory.
func peerRefresh(url, root, cache string) error {
	rootData, err := os.ReadFile(root)
	if err != nil {
		return err
	}
	cfg, err := config.New(url, rootData)
	if err != nil {
		return err
	}
	cfg.LocalMetadataDir = cache
	cfg.LocalTargetsDir = filepath.Join(cache, "targets")
	up, err := updater.New(cfg)
	if err != nil {
		return err
	}
	return up.Refresh()
}

// counter counts requests and response body bytes at the server.
type counter struct{ requests, bytes atomic.Int64 }

type countingWriter struct {
	http.ResponseWriter
	c *counter
}

func (w countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.c.bytes.Add(int64(n))
	return n, err
}

// measurement is one process run.
type measurement struct {
	wall, cpu       time.Duration
	rssKB           int64
	requests, bytes int64
}

// measure runs the command under GNU time, which forks it from a small
// process: the peak RSS a Go parent reads with wait4 would include its own
// (the child shares the parent's memory until exec), GNU time's does not.
func measure(c *counter, name string, args ...string) (measurement, error) {
	r0, b0 := c.requests.Load(), c.bytes.Load()
	out, err := os.CreateTemp("", "agentbench-time-*")
	if err != nil {
		return measurement{}, err
	}
	out.Close()
	defer os.Remove(out.Name())
	cmd := exec.Command("/usr/bin/time", append([]string{"-o", out.Name(), "-f", "%M", name}, args...)...)
	cmd.Stdout = io.Discard
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return measurement{}, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	wall := time.Since(start)
	data, err := os.ReadFile(out.Name())
	if err != nil {
		return measurement{}, err
	}
	var rss int64
	if _, err := fmt.Sscan(string(data), &rss); err != nil {
		return measurement{}, fmt.Errorf("GNU time's output %q: %w", data, err)
	}
	// CPU time from wait4 (microseconds; GNU time prints hundredths):
	// the command's and GNU time's own, which is the same for every
	// command measured.
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return measurement{
		wall: wall, cpu: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), rssKB: rss,
		requests: c.requests.Load() - r0, bytes: c.bytes.Load() - b0,
	}, nil
}

// median of runs of f, field by field.
func median(runs int, f func() (measurement, error)) (measurement, error) {
	var ms []measurement
	for range runs {
		m, err := f()
		if err != nil {
			return m, err
		}
		ms = append(ms, m)
	}
	pick := func(get func(measurement) int64) int64 {
		v := make([]int64, len(ms))
		for i, m := range ms {
			v[i] = get(m)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return measurement{
		wall:     time.Duration(pick(func(m measurement) int64 { return int64(m.wall) })),
		cpu:      time.Duration(pick(func(m measurement) int64 { return int64(m.cpu) })),
		rssKB:    pick(func(m measurement) int64 { return m.rssKB }),
		requests: pick(func(m measurement) int64 { return m.requests }),
		bytes:    pick(func(m measurement) int64 { return m.bytes }),
	}, nil
}

func (m measurement) String() string {
	return fmt.Sprintf("requests=%d bytes=%d cpu_ms=%.1f wall_ms=%.1f peak_rss_mb=%.1f",
		m.requests, m.bytes, float64(m.cpu.Microseconds())/1000, float64(m.wall.Microseconds())/1000, float64(m.rssKB)/1024)
}

func ratio(a, b float64) string { return strconv.FormatFloat(a/b, 'f', 2, 64) }

func benchScan(t *agenttest.Program, bin string, runs int) error {
	w := agenttest.New(t)
	for i, name := range []string{"Contoso.Toaster.Settings", "Contoso.Toaster.Profiles", "Contoso.Toaster.Extras"} {
		w.Add("Preview", w.Cabinet(agenttest.Cab{Name: name, Version: fmt.Sprintf("1.0.0.%d", i+1)}), 100, nil)
	}
	c := &counter{}
	w.Front(func(origin http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			c.requests.Add(1)
			origin.ServeHTTP(countingWriter{rw, c}, r)
		})
	})
	stateDir := t.TempDir()
	cfg := w.WriteConfig("Preview", stateDir, fmt.Sprintf(`, "smbios": %q, "handlers": {"ocp": {"command": ["true"]}}`, agenttest.Repo(t, agenttest.GoldenDevice)))
	scan := func() (measurement, error) { return measure(c, bin, "scan", "--config", cfg, "-O", "json") }
	first, err := scan()
	if err != nil {
		return err
	}
	ours, err := median(runs, scan)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	repoURL := w.URL + catalog.MetadataDir("Preview", w.CHID(0))
	peerCache := t.TempDir()
	peer := func() (measurement, error) {
		return measure(c, self, "peer-refresh", "-url", repoURL, "-root", filepath.Join(w.RootsDir, "Preview.root.json"), "-cache", peerCache)
	}
	peerFirst, err := peer()
	if err != nil {
		return err
	}
	theirs, err := median(runs, peer)
	if err != nil {
		return err
	}
	fmt.Printf("ring Preview, 1 product repository of 3 updates; median of %d processes each\n", runs)
	fmt.Printf("%-44s %s\n", "devupdate-agent scan, first (cold cache)", first)
	fmt.Printf("%-44s %s\n", "go-tuf updater.Refresh, first (cold cache)", peerFirst)
	fmt.Printf("%-44s %s\n", "devupdate-agent scan, nothing new", ours)
	fmt.Printf("%-44s %s\n", "go-tuf updater.Refresh, nothing new", theirs)
	fmt.Printf("%-44s cpu=%s wall=%s peak_rss=%s bytes=%s\n", "ratio agent/updater, nothing new",
		ratio(float64(ours.cpu), float64(theirs.cpu)), ratio(float64(ours.wall), float64(theirs.wall)),
		ratio(float64(ours.rssKB), float64(theirs.rssKB)), ratio(float64(ours.bytes), float64(theirs.bytes)))

	// In process: the library's Scan (state in memory, as a simulator
	// keeps a device's) against updater.Refresh (its files), same server.
	ctx := context.Background()
	acfg := w.Config("Preview", t.TempDir(), nil)
	dev := &agent.Device{ID: "bench-device", IDSource: "given", Product: w.CHID(0), CHIDs: []smbios.CHID{w.CHID(0)}}
	var store state.Memory
	var mcache tufrepo.Memory
	memo := &tufrepo.Memo{}
	a, err := agent.New(ctx, acfg, agent.WithDevice(dev), agent.WithStateStore(&store), agent.WithMetadataCache(&mcache), agent.WithMemo(memo))
	if err != nil {
		return err
	}
	if _, err := a.Scan(ctx); err != nil {
		return err
	}
	var scanErr error
	lib := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := a.Scan(ctx); err != nil {
				scanErr = err
				b.FailNow()
			}
		}
	})
	if scanErr != nil {
		return scanErr
	}
	root, err := os.ReadFile(filepath.Join(w.RootsDir, "Preview.root.json"))
	if err != nil {
		return err
	}
	upCache := t.TempDir()
	var upErr error
	up := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			cfg, err := config.New(repoURL, root)
			if err != nil {
				upErr = err
				b.FailNow()
			}
			cfg.LocalMetadataDir, cfg.LocalTargetsDir = upCache, filepath.Join(upCache, "targets")
			u, err := updater.New(cfg)
			if err == nil {
				err = u.Refresh()
			}
			if err != nil {
				upErr = err
				b.FailNow()
			}
		}
	})
	if upErr != nil {
		return upErr
	}
	fmt.Printf("%-44s %d ns/op %d allocs/op %d B/op\n", "in process: agent.Scan (memory state)", lib.NsPerOp(), lib.AllocsPerOp(), lib.AllocedBytesPerOp())
	fmt.Printf("%-44s %d ns/op %d allocs/op %d B/op\n", "in process: updater.Refresh (files)", up.NsPerOp(), up.AllocsPerOp(), up.AllocedBytesPerOp())
	fmt.Printf("%-44s time=%s allocs=%s\n", "ratio in process agent/updater", ratio(float64(lib.NsPerOp()), float64(up.NsPerOp())),
		ratio(float64(lib.AllocsPerOp()), float64(up.AllocsPerOp())))
	return nil
}

func benchDownload(t *agenttest.Program, bin, sizes string) error {
	fmt.Println("install = download (SHA-256 as it arrives) + Authenticode verification + extraction + a handler doing nothing")
	for _, s := range strings.Split(sizes, ",") {
		mb, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("size %q: %w", s, err)
		}
		w := agenttest.New(t)
		cab := w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Image", Version: "1.0.0.1", PayloadSize: int64(mb) << 20})
		w.Add("Preview", cab, 100, nil)
		st, err := os.Stat(cab)
		if err != nil {
			return err
		}
		c := &counter{}
		stateDir := t.TempDir()
		cfg := w.WriteConfig("Preview", stateDir, fmt.Sprintf(`, "smbios": %q, "handlers": {"ocp": {"command": ["true"]}}`, agenttest.Repo(t, agenttest.GoldenDevice)))
		ours, err := measure(c, bin, "install", "--config", cfg, "-O", "json")
		if err != nil {
			return err
		}
		out := filepath.Join(t.TempDir(), "peer.cab")
		curl, err := measure(c, "curl", "-sSf", "-o", out, w.URL+w.TargetKey(cab))
		if err != nil {
			return err
		}
		ossl, err := measure(c, "osslsigncode", "verify", "-in", out, "-CAfile", w.OEMRoots)
		if err != nil {
			return err
		}
		peerRSS := max(curl.rssKB, ossl.rssKB)
		fmt.Printf("cabinet %d MB (%d bytes)\n", mb, st.Size())
		fmt.Printf("  %-40s cpu_s=%.2f wall_s=%.2f peak_rss_mb=%.1f\n", "devupdate-agent install", ours.cpu.Seconds(), ours.wall.Seconds(), float64(ours.rssKB)/1024)
		fmt.Printf("  %-40s cpu_s=%.2f wall_s=%.2f peak_rss_mb=%.1f\n", "curl -o", curl.cpu.Seconds(), curl.wall.Seconds(), float64(curl.rssKB)/1024)
		fmt.Printf("  %-40s cpu_s=%.2f wall_s=%.2f peak_rss_mb=%.1f\n", "osslsigncode verify", ossl.cpu.Seconds(), ossl.wall.Seconds(), float64(ossl.rssKB)/1024)
		fmt.Printf("  %-40s peak_rss=%s wall=%s\n", "ratio agent/(curl+osslsigncode)", ratio(float64(ours.rssKB), float64(peerRSS)),
			ratio(float64(ours.wall), float64(curl.wall+ossl.wall)))
		t.Close()
	}
	return nil
}
