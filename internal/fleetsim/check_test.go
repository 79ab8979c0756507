package fleetsim

import (
	"testing"
	"time"

	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/manifest/update"
)

// TestInRolloutIsCatalogsRule: the checker's own rollout rule, written
// from SPEC.md, and flight/catalog's agree on every device id tried, at
// every percentage.
func TestInRolloutIsCatalogsRule(t *testing.T) {
	v, _ := update.ParseVersion("1.2.3.4")
	for i := range 2000 {
		id := deviceID(7, i)
		for _, pct := range []int{1, 10, 33, 50, 99, 100} {
			if got, want := inRollout(id, "Contoso.A", "1.2.3.4", pct), catalog.InRollout(id, "Contoso.A", v, pct); got != want {
				t.Fatalf("device %s at %d %%: checker says %v, catalog %v", id, pct, got, want)
			}
		}
	}
}

// TestCheckNamesEveryWayOutside: each install the timeline never offered
// is reported with its reason, and an offered one is not.
func TestCheckNamesEveryWayOutside(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	m := newModel([]string{"Preview", "GeneralAvailability"}, 3, t0)
	apply := func(s int, c Change) {
		t.Helper()
		rks, err := m.apply(c, at(s))
		if err != nil {
			t.Fatal(err)
		}
		for _, rk := range rks {
			m.visible(rk, at(s+1))
		}
	}
	apply(10, Change{Action: catalog.ActionAdd, Name: "Contoso.A", Version: "1.0.0.1", Ring: "Preview", Percent: 100, Products: []int{0, 1}})
	apply(20, Change{Action: catalog.ActionPromote, Name: "Contoso.A", Version: "1.0.0.1", Ring: "GeneralAvailability", Percent: 30})
	apply(30, Change{Action: catalog.ActionPause, Name: "Contoso.A", Version: "1.0.0.1", Ring: "GeneralAvailability"})
	apply(40, Change{Action: catalog.ActionResume, Name: "Contoso.A", Version: "1.0.0.1", Ring: "GeneralAvailability"})
	apply(50, Change{Action: catalog.ActionHalt, Name: "Contoso.A", Version: "1.0.0.1", Ring: "GeneralAvailability"})

	// Devices of GeneralAvailability inside and outside 30 %.
	var in, out *device
	for i := 0; in == nil || out == nil; i++ {
		d := &device{id: deviceID(3, i), ring: "GeneralAvailability", product: 0}
		if inRollout(d.id, "Contoso.A", "1.0.0.1", 30) {
			in = d
		} else {
			out = d
		}
	}
	pv := &device{id: "preview-0", ring: "Preview", product: 0}
	other := &device{id: "preview-2", ring: "Preview", product: 2}
	for _, tc := range []struct {
		dev        *device
		had        string
		start, end int
		want       string
	}{
		{pv, "", 12, 13, ""},
		{pv, "", 5, 9, "ring"}, // before it was added
		{pv, "", 10, 11, ""},   // published at 10, a scan then may read it
		{pv, "1.0.0.1", 12, 13, "downgrade"},
		{pv, "1.0.0.2", 12, 13, "downgrade"},
		{other, "", 12, 13, "product"},
		{in, "", 15, 16, "ring"},     // not yet promoted
		{in, "", 25, 26, ""},         // inside 30 %
		{out, "", 25, 26, "rollout"}, // outside 30 %
		{in, "", 35, 36, "paused"},
		{in, "", 30, 31, ""}, // the pause was not served yet when the scan began
		{in, "", 45, 46, ""}, // resumed
		{in, "", 55, 56, "halted"},
		{in, "", 49, 56, ""}, // began before the halt was published
	} {
		got := m.check(install{dev: tc.dev, name: "Contoso.A", version: "1.0.0.1", had: tc.had, start: at(tc.start), end: at(tc.end)})
		if got != tc.want {
			t.Errorf("%s (%s, product %d) installing in [%d, %d] having %q: %q, want %q", tc.dev.id, tc.dev.ring, tc.dev.product, tc.start, tc.end, tc.had, got, tc.want)
		}
	}
	if _, err := m.apply(Change{Action: catalog.ActionRollout, Name: "Contoso.B", Version: "1.0.0.1", Ring: "Preview", Percent: 5}, at(60)); err == nil {
		t.Error("a rollout of an update never added was accepted by the model")
	}
}
