// Command fleetsim simulates a fleet of devices updating through nginx in
// front of `devupdate serve` while a release engineer's timeline plays
// (internal/fleetsim), and prints what it cost and whether every device
// stayed inside its ring, product and rollout; then what one scan costs
// in rings of several sizes.
//
//	fleetsim [-devices 1000[,N...]] [-products 10] [-workers 16] [-max-age 2s]
//	         [-steady 1] [-cost-products 10,1000] [-devupdate PATH] [-work DIR]
//	         [-cpuprofile FILE]
//
// It exits 1 when a device failed a run or installed what it was not
// offered. nginx comes from PATH (Debian's), the configuration from
// examples/cdn/nginx.conf; devupdate is -devupdate (make bench passes
// $DEVUPDATE), else built from the repository. Run it from the
// repository's root.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/devupdate/devupdate/internal/agent/agenttest"
	"github.com/devupdate/devupdate/internal/fleetsim"
	"github.com/devupdate/devupdate/internal/nginx"
)

func main() {
	devices := flag.String("devices", "1000", "simulated devices; a list (500,2000) runs a fleet of each size and compares them")
	products := flag.Int("products", 10, "products in each ring")
	workers := flag.Int("workers", 16, "devices scanning at once")
	maxAge := flag.Duration("max-age", 2*time.Second, "origin max-age of timestamp.json and 404s")
	steady := flag.Int("steady", 1, "rounds with nothing changing after the timeline")
	costProducts := flag.String("cost-products", "10,1000", "ring sizes whose scan cost is measured (empty: none)")
	devupdate := flag.String("devupdate", "", "the devupdate `executable` whose serve is the origin (default: go build ./cmd/devupdate)")
	work := flag.String("work", os.TempDir(), "work directory")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to `FILE` (go tool pprof)")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "fleetsim:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *devices, *products, *workers, *maxAge, *steady, *costProducts, *devupdate, *work); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "fleetsim:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, devices string, products, workers int, maxAge time.Duration, steady int, costProducts, devupdate, work string) error {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/nginx"); err != nil {
			return fmt.Errorf("nginx not found (make deps installs it): %w", err)
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	example := filepath.Join(wd, nginx.ExampleConfig)
	dir, err := os.MkdirTemp(work, "fleetsim-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	t := &agenttest.Program{Name: "fleetsim", Dir: dir}
	defer t.Close()

	sizes, err := ints(devices)
	if err != nil {
		return fmt.Errorf("-devices: %w", err)
	}
	if devupdate == "" && len(sizes) > 0 {
		if devupdate, err = fleetsim.BuildDevupdate(ctx, t); err != nil {
			return err
		}
	}
	var reps []*fleetsim.Report
	for _, n := range sizes {
		rep, err := fleetsim.Run(ctx, t, fleetsim.Config{Devices: n, Products: products, Workers: workers, MaxAge: maxAge,
			SteadyRounds: steady, Nginx: bin, Example: example, Devupdate: devupdate,
			Logf: func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }})
		if err != nil {
			return err
		}
		rep.Print(os.Stdout)
		fmt.Println()
		t.Close()
		reps = append(reps, rep)
	}
	if len(reps) > 1 {
		fleetsim.Compare(os.Stdout, reps)
		fmt.Println()
	}

	rings, err := ints(costProducts)
	if err != nil {
		return fmt.Errorf("-cost-products: %w", err)
	}
	var costs []*fleetsim.Cost
	for _, n := range rings {
		c, err := fleetsim.MeasureCost(ctx, t, fleetsim.CostConfig{Products: n, Workers: workers, Nginx: bin, Example: example})
		if err != nil {
			return err
		}
		costs = append(costs, c)
		t.Close()
	}
	if len(costs) > 0 {
		fleetsim.PrintCosts(os.Stdout, costs)
	}
	for _, rep := range reps {
		switch {
		case rep.Errors > 0:
			return fmt.Errorf("%d device runs failed; the first: %v", rep.Errors, rep.FirstError)
		case len(rep.Violations) > 0:
			return fmt.Errorf("%d installs of updates not offered to their device (violations)", len(rep.Violations))
		}
	}
	return nil
}

// ints parses a comma-separated list of positive numbers ("" is none).
func ints(list string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}
