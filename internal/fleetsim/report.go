package fleetsim

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
)

// Step is what happened during one change of the timeline (or the steady
// rounds after it).
type Step struct {
	Name string
	// Rounds and Scans ran during the step; Installs were made in it.
	Rounds, Scans, Installs int
	// Publish is how long the change took the flight library; Visible how
	// much later the CDN served every repository it changed; Store what
	// the change asked of the store.
	Publish, Visible time.Duration
	Store            StoreOps
	// Versions counts, after the step, the devices of each ring on each
	// version of each update name ("none": not installed).
	Versions map[string]map[string]map[string]int
	// Installed is each device's installed versions by name after the
	// step (index: the device's).
	Installed []map[string]string
}

// Spread is a mean and a maximum.
type Spread struct {
	Mean float64
	Max  int64
}

func spread(xs []int64) Spread {
	if len(xs) == 0 {
		return Spread{}
	}
	var sum, mx int64
	for _, x := range xs {
		sum += x
		mx = max(mx, x)
	}
	return Spread{Mean: float64(sum) / float64(len(xs)), Max: mx}
}

// RingOrigin is what reached the origin for one ring's repositories.
type RingOrigin struct {
	Ring         string
	Repositories int
	Devices      int
	// Requests and Bytes per max-age window.
	Requests, Bytes Spread
	// Timestamp and Root are the most timestamp.json requests and root
	// probes one repository sent in one window; Versioned the snapshots
	// and targets fetched in the whole run.
	Timestamp, Root int64
	Versioned       int64
	// NotModified are the revalidations the origin answered 304 (nginx
	// asking with If-None-Match whether an expired copy still holds).
	NotModified int64
	Total       int64
}

// RepoOrigin is what reached the origin for one repository in the run.
type RepoOrigin struct {
	Timestamp, Root, Versioned int
}

// Traffic is the metadata bodies one scan took from the CDN.
type Traffic struct {
	Scans    int
	Bytes    Spread
	Requests Spread
}

// Latency is a distribution's median and 99th percentile.
type Latency struct {
	N        int
	P50, P99 time.Duration
}

// Device is a simulated device.
type Device struct {
	ID      string
	Ring    string
	Product int
}

// Report is a simulation's outcome.
type Report struct {
	Config  Config
	Devices []Device
	Steps   []Step
	// Scans is every device run (a scan, and installs when something
	// applied); Installs the handler runs; Errors the runs that failed
	// (FirstError the first).
	Scans, Installs, Errors int
	FirstError              error
	Wall                    time.Duration
	// ProcessCPU is the simulator's process (devices and publisher);
	// OriginCPU the `devupdate serve` process's; NginxCPU the CDN's.
	ProcessCPU, OriginCPU, NginxCPU time.Duration
	// Windows is the number of max-age windows the run spanned.
	Windows int
	Origin  []RingOrigin
	// OriginRepos is per "ring/chid".
	OriginRepos map[string]RepoOrigin
	// OriginCabinets are the cabinet downloads that reached the origin.
	OriginCabinets, OriginCabinetBytes int64
	// NothingNew are the scans that fetched no new snapshot or targets;
	// AfterChange those that did.
	NothingNew, AfterChange Traffic
	// ScanLatency is of the runs that installed nothing, InstallLatency
	// of those that installed.
	ScanLatency, InstallLatency Latency
	Violations                  []Violation
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p * float64(len(sorted)-1))
	return sorted[i]
}

func latency(xs []time.Duration) Latency {
	slices.Sort(xs)
	return Latency{N: len(xs), P50: percentile(xs, 0.5), P99: percentile(xs, 0.99)}
}

// report fills in rep from what the simulation recorded.
func (s *sim) report(rep *Report, end time.Time) {
	for _, d := range s.devices {
		rep.Devices = append(rep.Devices, Device{ID: d.id, Ring: d.ring, Product: d.product})
	}
	var scanLat, instLat []time.Duration
	var nnBytes, nnReqs, chBytes, chReqs []int64
	for _, r := range s.runs {
		rep.Scans++
		if r.err != nil {
			rep.Errors++
			if rep.FirstError == nil {
				rep.FirstError = r.err
			}
		}
		if r.installs > 0 {
			instLat = append(instLat, r.latency)
		} else {
			scanLat = append(scanLat, r.latency)
		}
		if r.u.versioned > 0 {
			chBytes, chReqs = append(chBytes, r.u.metaBytes), append(chReqs, r.u.metaRequests)
		} else {
			nnBytes, nnReqs = append(nnBytes, r.u.metaBytes), append(nnReqs, r.u.metaRequests)
		}
	}
	rep.ScanLatency, rep.InstallLatency = latency(scanLat), latency(instLat)
	rep.NothingNew = Traffic{Scans: len(nnBytes), Bytes: spread(nnBytes), Requests: spread(nnReqs)}
	rep.AfterChange = Traffic{Scans: len(chBytes), Bytes: spread(chBytes), Requests: spread(chReqs)}
	rep.Installs = len(s.installs)
	for _, in := range s.installs {
		if why := s.model.check(in); why != "" {
			rep.Violations = append(rep.Violations, Violation{Device: in.dev.id, Ring: in.dev.ring, Product: in.dev.product,
				Name: in.name, Version: in.version, Reason: why, Start: in.start, End: in.end})
		}
	}

	window := s.cfg.MaxAge
	rep.Windows = int((end.Sub(s.start) + window - 1) / window)
	devices := map[string]int{}
	for _, d := range s.devices {
		devices[d.ring]++
	}
	type perWindow struct{ reqs, bytes int64 }
	rings := map[string][]perWindow{}
	type repoWindow struct {
		repo string
		w    int
	}
	ts, root := map[repoWindow]int64{}, map[repoWindow]int64{}
	rep.OriginRepos = map[string]RepoOrigin{}
	ro := map[string]*RingOrigin{}
	for _, r := range s.cfg.Rings {
		rings[r.Ring] = make([]perWindow, rep.Windows)
		ro[r.Ring] = &RingOrigin{Ring: r.Ring, Repositories: s.cfg.Products, Devices: devices[r.Ring]}
	}
	for _, q := range s.origin.log.requests() {
		if q.kind == kindCabinet {
			rep.OriginCabinets++
			rep.OriginCabinetBytes += q.bytes
			continue
		}
		pw, ok := rings[q.ring]
		if !ok || q.at.Before(s.start) {
			continue // the setup's requests
		}
		w := min(int(q.at.Sub(s.start)/window), rep.Windows-1)
		pw[w].reqs++
		pw[w].bytes += q.bytes
		repo := q.ring + "/" + q.chid
		o := rep.OriginRepos[repo]
		switch q.kind {
		case kindTimestamp:
			o.Timestamp++
			ts[repoWindow{repo, w}]++
		case kindRoot:
			o.Root++
			root[repoWindow{repo, w}]++
		case kindVersioned:
			o.Versioned++
			ro[q.ring].Versioned++
		}
		rep.OriginRepos[repo] = o
		ro[q.ring].Total++
		if q.status == http.StatusNotModified {
			ro[q.ring].NotModified++
		}
	}
	for rw, n := range ts {
		r := ro[strings.SplitN(rw.repo, "/", 2)[0]]
		r.Timestamp = max(r.Timestamp, n)
	}
	for rw, n := range root {
		r := ro[strings.SplitN(rw.repo, "/", 2)[0]]
		r.Root = max(r.Root, n)
	}
	for _, r := range s.cfg.Rings {
		var reqs, bytes []int64
		for _, pw := range rings[r.Ring] {
			reqs, bytes = append(reqs, pw.reqs), append(bytes, pw.bytes)
		}
		o := ro[r.Ring]
		o.Requests, o.Bytes = spread(reqs), spread(bytes)
		rep.Origin = append(rep.Origin, *o)
	}
}

// Print writes the report for people.
func (r *Report) Print(w io.Writer) {
	c := r.Config
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("fleet: %d devices (distinct ids), %d products, rings %s; %d scanning at once; origin max-age %s (timestamp.json and 404s)",
		len(r.Devices), c.Products, ringShares(c.Rings), c.Workers, c.MaxAge)
	p("scans: %d in %s (%.0f scans/s), %d installs, %d failed runs", r.Scans, r.Wall.Round(time.Millisecond),
		float64(r.Scans)/r.Wall.Seconds(), r.Installs, r.Errors)
	if r.FirstError != nil {
		p("  first failure: %v", r.FirstError)
	}
	p("cpu: simulator process %.1f s (%.0f µs per scan: devices, publisher), devupdate serve %.1f s (%.0f µs per scan), nginx %.1f s (%.0f µs per scan)",
		r.ProcessCPU.Seconds(), perScan(r.ProcessCPU, r.Scans), r.OriginCPU.Seconds(), perScan(r.OriginCPU, r.Scans),
		r.NginxCPU.Seconds(), perScan(r.NginxCPU, r.Scans))
	var maxPub time.Duration
	for _, st := range r.Steps {
		maxPub = max(maxPub, st.Publish)
	}
	ops := r.PublishOps()
	p("publisher: %d flight changes, mean %s, max %s each; per change %.1f store reads, %.1f writes, %.0f bytes written (no work per device)",
		len(c.Timeline), r.PublishMean().Round(time.Millisecond), maxPub.Round(time.Millisecond), ops[0], ops[1], ops[2])
	p("scan latency (runs installing nothing, %d): p50 %s p99 %s; runs that installed (%d): p50 %s p99 %s",
		r.ScanLatency.N, r.ScanLatency.P50.Round(time.Microsecond), r.ScanLatency.P99.Round(time.Microsecond),
		r.InstallLatency.N, r.InstallLatency.P50.Round(time.Microsecond), r.InstallLatency.P99.Round(time.Microsecond))
	p("metadata bodies per scan at the CDN: nothing new %d scans, mean %.0f B max %d B in %.1f requests (max %d); after a change %d scans, mean %.0f B max %d B in %.1f requests (max %d)",
		r.NothingNew.Scans, r.NothingNew.Bytes.Mean, r.NothingNew.Bytes.Max, r.NothingNew.Requests.Mean, r.NothingNew.Requests.Max,
		r.AfterChange.Scans, r.AfterChange.Bytes.Mean, r.AfterChange.Bytes.Max, r.AfterChange.Requests.Mean, r.AfterChange.Requests.Max)
	p("origin, per ring and per max-age window (%d windows of %s):", r.Windows, c.MaxAge)
	p("  %-20s %5s %7s %9s %9s %11s %11s %10s %10s %9s %8s", "ring", "repos", "devices", "req mean", "req max", "bytes mean", "bytes max", "ts/repo/w", "404/repo/w", "versioned", "304s")
	for _, o := range r.Origin {
		p("  %-20s %5d %7d %9.1f %9d %11.0f %11d %10d %10d %9d %8d", o.Ring, o.Repositories, o.Devices, o.Requests.Mean, o.Requests.Max,
			o.Bytes.Mean, o.Bytes.Max, o.Timestamp, o.Root, o.Versioned, o.NotModified)
	}
	p("  cabinets (shared targets/): %d requests, %d bytes reached the origin", r.OriginCabinets, r.OriginCabinetBytes)
	p("timeline (publish: the flight change; served: until the CDN served it), devices on each version after each step:")
	for i, st := range r.Steps {
		p("  %2d %-58s rounds %2d scans %6d installs %5d publish %6s served +%s", i+1, st.Name, st.Rounds, st.Scans, st.Installs,
			st.Publish.Round(time.Millisecond), st.Visible.Round(100*time.Millisecond))
		for _, ring := range c.Rings {
			byName := st.Versions[ring.Ring]
			var parts []string
			names := make([]string, 0, len(byName))
			for n := range byName {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				vs := make([]string, 0, len(byName[n]))
				for v, k := range byName[n] {
					vs = append(vs, fmt.Sprintf("%s=%d", v, k))
				}
				sort.Strings(vs)
				parts = append(parts, shortName(n)+" "+strings.Join(vs, " "))
			}
			p("       %-20s %s", ring.Ring, strings.Join(parts, "; "))
		}
	}
	p("violations (an update installed outside the device's ring, product or rollout, or a downgrade): %d", len(r.Violations))
	for i, v := range r.Violations {
		if i == 10 {
			p("  ...")
			break
		}
		p("  device %s (%s, product %d) installed %s %s: %s", v.Device, v.Ring, v.Product, v.Name, v.Version, v.Reason)
	}
}

func perScan(d time.Duration, scans int) float64 {
	if scans == 0 {
		return 0
	}
	return float64(d.Microseconds()) / float64(scans)
}

func ringShares(rs []RingShare) string {
	total := 0
	for _, r := range rs {
		total += r.Weight
	}
	var parts []string
	for _, r := range rs {
		parts = append(parts, fmt.Sprintf("%s %d %%", r.Ring, r.Weight*100/total))
	}
	return strings.Join(parts, ", ")
}

// shortName is the last part of a package name.
func shortName(n string) string { return n[strings.LastIndexByte(n, '.')+1:] }

// Compare writes the figures of fleets of several sizes side by side:
// what reaches the origin and what the publisher does should not grow with
// the fleet.
func Compare(w io.Writer, reps []*Report) {
	fmt.Fprintln(w, "the same timeline for fleets of several sizes:")
	fmt.Fprintf(w, "  %8s %8s %9s %9s %16s %13s %13s %22s %12s %10s\n", "devices", "scans", "wall", "scans/s", "origin req/win", "ts/repo/win", "404/repo/win", "store ops/change r+w", "nothing new", "violations")
	for _, r := range reps {
		var reqs float64
		var ts, nf int64
		for _, o := range r.Origin {
			reqs += o.Requests.Mean
			ts, nf = max(ts, o.Timestamp), max(nf, o.Root)
		}
		ops := r.PublishOps()
		fmt.Fprintf(w, "  %8d %8d %9s %9.0f %16.1f %13d %13d %22s %10.0f B %10d\n", len(r.Devices), r.Scans, r.Wall.Round(time.Second),
			float64(r.Scans)/r.Wall.Seconds(), reqs, ts, nf, fmt.Sprintf("%.1f+%.1f", ops[0], ops[1]), r.NothingNew.Bytes.Mean, len(r.Violations))
	}
}

// PublishMean is the mean time of the timeline's flight changes.
func (r *Report) PublishMean() time.Duration {
	var sum time.Duration
	n := 0
	for _, st := range r.Steps {
		if st.Publish > 0 {
			sum += st.Publish
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / time.Duration(n)
}

// PublishOps is the mean store reads, writes and bytes written of the
// timeline's flight changes.
func (r *Report) PublishOps() [3]float64 {
	var sum [3]float64
	n := 0
	for _, st := range r.Steps {
		if st.Publish > 0 {
			sum[0] += float64(st.Store.Reads)
			sum[1] += float64(st.Store.Writes)
			sum[2] += float64(st.Store.Written)
			n++
		}
	}
	if n > 0 {
		for i := range sum {
			sum[i] /= float64(n)
		}
	}
	return sum
}
