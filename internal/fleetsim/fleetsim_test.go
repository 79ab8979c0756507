package fleetsim_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/internal/fleetsim"
	"github.com/devupdate/devupdate/internal/nginx"
	"github.com/devupdate/devupdate/internal/testtool"
	"github.com/devupdate/devupdate/manifest/update"
)

// TestFleetThroughNginx runs a few hundred devices of four products,
// scanning through the real nginx with the example configuration in front
// of the `devupdate serve` built from this repository, while the default
// timeline adds, promotes, ramps, pauses, halts and rolls forward. It
// checks what the devices did, never how fast:
// nobody installed outside its ring, product or rollout; each ramp step
// installed exactly the devices inside the percentage, only adding to the
// step before; pause and halt stopped installs that would otherwise have
// happened; every device ends on the fixed version; and what reached the
// origin, as serve's access log tells, is bounded by the max-age windows
// and the repositories (the cabinets by the cabinets), not by the scans.
func TestFleetThroughNginx(t *testing.T) {
	const devices, products = 200, 4
	timeline := fleetsim.DefaultTimeline()
	ng := testtool.Need(t, "nginx")
	bin, err := fleetsim.BuildDevupdate(t.Context(), t)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := fleetsim.Run(t.Context(), t, fleetsim.Config{
		Devices: devices, Products: products, MaxAge: time.Second, Workers: 8, Interval: 500 * time.Millisecond,
		Timeline: timeline, Nginx: ng, Devupdate: bin,
		Example: filepath.Join(testtool.RepoRoot(t), nginx.ExampleConfig), Logf: t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.Print(&out)
	t.Log("\n" + out.String())

	if rep.Errors != 0 {
		t.Errorf("%d runs failed; the first: %v", rep.Errors, rep.FirstError)
	}
	for _, v := range rep.Violations {
		t.Errorf("device %s (%s, product %d) installed %s %s: %s", v.Device, v.Ring, v.Product, v.Name, v.Version, v.Reason)
	}

	step := func(action catalog.Action, version, ring string, percent int) int {
		t.Helper()
		for i, c := range timeline {
			if c.Action == action && c.Name == fleetsim.SettingsName && c.Version == version && c.Ring == ring && (percent == 0 || c.Percent == percent) {
				return i
			}
		}
		t.Fatalf("the default timeline has no %s %s %s %d", action, version, ring, percent)
		return 0
	}
	// have returns the devices of ring that have name at version after
	// step i.
	have := func(i int, ring, name, version string) map[string]bool {
		out := map[string]bool{}
		for d, inst := range rep.Steps[i].Installed {
			if rep.Devices[d].Ring == ring && inst[name] == version {
				out[rep.Devices[d].ID] = true
			}
		}
		return out
	}
	inRollout := func(ring, version string, percent int) map[string]bool {
		out := map[string]bool{}
		for _, d := range rep.Devices {
			if d.Ring == ring && catalog.InRollout(d.ID, fleetsim.SettingsName, mustVersion(t, version), percent) {
				out[d.ID] = true
			}
		}
		return out
	}
	const ea, ga = "EarlyAdopter", "GeneralAvailability"

	// The ramps: exactly the devices inside each percentage, each step
	// adding to the one before.
	for _, ramp := range []struct {
		ring  string
		steps []int
		pcts  []int
	}{
		{ea, []int{step(catalog.ActionPromote, "1.0.0.1", ea, 10), step(catalog.ActionRollout, "1.0.0.1", ea, 50), step(catalog.ActionRollout, "1.0.0.1", ea, 100)}, []int{10, 50, 100}},
		{ga, []int{step(catalog.ActionPromote, "1.0.0.1", ga, 10), step(catalog.ActionRollout, "1.0.0.1", ga, 50)}, []int{10, 50}},
	} {
		var prev map[string]bool
		for k, i := range ramp.steps {
			got, want := have(i, ramp.ring, fleetsim.SettingsName, "1.0.0.1"), inRollout(ramp.ring, "1.0.0.1", ramp.pcts[k])
			if !sameSet(got, want) {
				t.Errorf("%s at %d %%: %d devices have 1.0.0.1, want the %d inside the rollout", ramp.ring, ramp.pcts[k], len(got), len(want))
			}
			if len(got) == 0 || len(got) == len(prev) {
				t.Errorf("%s at %d %%: %d devices installed (%d before): the ramp shows nothing", ramp.ring, ramp.pcts[k], len(got), len(prev))
			}
			for id := range prev {
				if !got[id] {
					t.Errorf("%s at %d %%: device %s installed before and is gone", ramp.ring, ramp.pcts[k], id)
				}
			}
			prev = got
		}
	}

	// Paused, then raised to 100 % while paused: nobody new until resumed.
	at50 := have(step(catalog.ActionRollout, "1.0.0.1", ga, 50), ga, fleetsim.SettingsName, "1.0.0.1")
	for _, i := range []int{step(catalog.ActionPause, "1.0.0.1", ga, 0), step(catalog.ActionRollout, "1.0.0.1", ga, 100)} {
		if got := have(i, ga, fleetsim.SettingsName, "1.0.0.1"); !sameSet(got, at50) {
			t.Errorf("after %s: %d GeneralAvailability devices have 1.0.0.1, want the %d of 50 %% (paused)", timeline[i], len(got), len(at50))
		}
	}
	if got, want := have(step(catalog.ActionResume, "1.0.0.1", ga, 0), ga, fleetsim.SettingsName, "1.0.0.1"), inRollout(ga, "1.0.0.1", 100); !sameSet(got, want) || len(got) <= len(at50) {
		t.Errorf("resumed at 100 %%: %d GeneralAvailability devices have 1.0.0.1, want all %d (more than the %d of 50 %%)", len(got), len(want), len(at50))
	}

	// Halted at 10 %: the devices that had it keep it, nobody else gets it.
	at10 := have(step(catalog.ActionPromote, "1.0.0.2", ea, 10), ea, fleetsim.SettingsName, "1.0.0.2")
	if want := inRollout(ea, "1.0.0.2", 10); !sameSet(at10, want) || len(at10) == 0 {
		t.Errorf("1.0.0.2 at 10 %% in EarlyAdopter: %d devices, want the %d inside", len(at10), len(want))
	}
	for i := step(catalog.ActionHalt, "1.0.0.2", ea, 0); i < step(catalog.ActionPromote, "1.0.0.3", ea, 0); i++ {
		if got := have(i, ea, fleetsim.SettingsName, "1.0.0.2"); !sameSet(got, at10) {
			t.Errorf("after %s: %d EarlyAdopter devices have 1.0.0.2, want the %d that had it when it was halted", timeline[i], len(got), len(at10))
		}
	}

	// Rolled forward: every device on 1.0.0.3; the driver only on product
	// 1's Preview devices, all of them.
	last := rep.Steps[len(rep.Steps)-1]
	for d, inst := range last.Installed {
		dev := rep.Devices[d]
		if inst[fleetsim.SettingsName] != "1.0.0.3" {
			t.Errorf("device %s (%s) ends on %q, want 1.0.0.3", dev.ID, dev.Ring, inst[fleetsim.SettingsName])
		}
		if want := dev.Ring == "Preview" && dev.Product == 1; (inst[fleetsim.DriverName] != "") != want {
			t.Errorf("device %s (%s, product %d) has the driver %q; want it only on product 1 in Preview", dev.ID, dev.Ring, dev.Product, inst[fleetsim.DriverName])
		}
	}

	// The publisher's work is the repositories': at most the new
	// targets, snapshot and timestamp of each product's repository in
	// the ring, and the cabinet's target and the ledger for an add.
	for i, c := range timeline {
		if w := rep.Steps[i].Store.Writes; w == 0 || w > int64(3*products+2) {
			t.Errorf("%s: %d store writes; want 1 to %d (a ring's %d repositories), whatever the fleet", c, w, 3*products+2, products)
		}
	}

	// Nothing new costs a scan at most 1 KB of metadata, in two requests.
	if rep.NothingNew.Scans == 0 || rep.NothingNew.Bytes.Max > 1024 || rep.NothingNew.Requests.Max != 2 {
		t.Errorf("scans with nothing new: %d, at most %d bytes in %d requests; want at most 1024 bytes in 2", rep.NothingNew.Scans, rep.NothingNew.Bytes.Max, rep.NothingNew.Requests.Max)
	}

	// The origin: per repository, one timestamp.json and one root probe
	// per max-age window at most (and one more for the window cut by the
	// run's end), and the new snapshot and targets once per change.
	changes := map[string]int{}
	targets := map[string][]int{}
	for _, c := range timeline {
		if c.Action == catalog.ActionAdd {
			targets[c.Name] = c.Products
		}
		for p := range products {
			if ps := targets[c.Name]; ps == nil || slices.Contains(ps, p) {
				changes[fmt.Sprint(c.Ring, p)]++
			}
		}
	}
	if len(rep.OriginRepos) != 3*products {
		t.Errorf("%d repositories reached the origin, want %d", len(rep.OriginRepos), 3*products)
	}
	var total int
	for repo, o := range rep.OriginRepos {
		if o.Timestamp > rep.Windows+1 || o.Root > rep.Windows+1 {
			t.Errorf("%s: %d timestamp.json and %d root requests reached the origin in %d windows of %s", repo, o.Timestamp, o.Root, rep.Windows, time.Second)
		}
		total += o.Timestamp + o.Root + o.Versioned
	}
	for _, o := range rep.Origin {
		if max := 2 * (changesIn(changes, o.Ring, products) + o.Repositories); o.Versioned > int64(max) {
			t.Errorf("%s: %d snapshots and targets reached the origin for %d changes to its %d repositories", o.Ring, o.Versioned, changesIn(changes, o.Ring, products), o.Repositories)
		}
	}
	if bound := 3 * products * (2*(rep.Windows+1) + 2*len(timeline) + 2); total > bound || total*10 > rep.Scans {
		t.Errorf("%d metadata requests reached the origin for %d scans; want at most %d (windows x repositories), and a tenth of the scans or less", total, rep.Scans, bound)
	}
	// Each cabinet installed reached the origin (nginx's cache began
	// empty), and the installs came from the cache.
	cabinets := 0
	for _, c := range timeline {
		if c.Action == catalog.ActionAdd {
			cabinets++
		}
	}
	if rep.OriginCabinets < int64(cabinets) || rep.OriginCabinets*10 > int64(rep.Installs) {
		t.Errorf("%d cabinet requests reached the origin for %d installs of %d cabinets; want at least one per cabinet, and a tenth of the installs or less", rep.OriginCabinets, rep.Installs, cabinets)
	}
}

func changesIn(changes map[string]int, ring string, products int) int {
	n := 0
	for p := range products {
		n += changes[fmt.Sprint(ring, p)]
	}
	return n
}

func sameSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func mustVersion(t *testing.T, s string) update.Version {
	t.Helper()
	v, err := update.ParseVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
