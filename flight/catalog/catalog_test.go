package catalog_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/smbios"
)

var (
	chidA = smbios.NewCHID("a")
	chidB = smbios.NewCHID("b")
	t0    = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
)

func sortedCHIDs(cs ...smbios.CHID) []smbios.CHID {
	if len(cs) == 2 && cs[0].String() > cs[1].String() {
		cs[0], cs[1] = cs[1], cs[0]
	}
	return cs
}

func v(s string) catalog.Version {
	x, err := catalog.ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return x
}

func validEntry() *catalog.Entry {
	return &catalog.Entry{
		Kind: "driver", Name: "Contoso.Toaster.Driver", Version: v("1.0.0.2"),
		Targets:  sortedCHIDs(chidA, chidB),
		Requires: []catalog.Requirement{{Name: "Windows.IoT.Core", MinVersion: v("10.0.17763.615")}},
		Rollout:  catalog.Rollout{State: catalog.Active, Percent: 50},
		Since:    t0,
		Change:   catalog.Change{Action: catalog.ActionAdd, Actor: "ci@build", Time: t0, Reason: "first flight"},
	}
}

func TestEntryRoundTrip(t *testing.T) {
	e := validEntry()
	e.Extra = map[string]json.RawMessage{"future": json.RawMessage(`{"x":1}`)}
	data, err := e.Encode(e.TargetPath())
	if err != nil {
		t.Fatal(err)
	}
	got, err := catalog.ParseEntry("1.targets.json", e.TargetPath(), data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(e, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	again, err := got.Encode(got.TargetPath())
	if err != nil || string(again) != string(data) {
		t.Errorf("re-encoding differs:\n%s\n%s (%v)", data, again, err)
	}
	// Canonical: compact, keys sorted.
	want := `{"change":{"action":"add","actor":"ci@build","time":"2026-11-01T12:00:00Z","reason":"first flight"},"future":{"x":1},"kind":"driver","name":"Contoso.Toaster.Driver",`
	if !strings.HasPrefix(string(data), want) {
		t.Errorf("encoding\n%s\ndoes not start with\n%s", data, want)
	}
}

func TestEntryRules(t *testing.T) {
	tests := []struct {
		field  string
		mutate func(e *catalog.Entry)
	}{
		{"kind", func(e *catalog.Entry) { e.Kind = "firmware" }},
		{"name", func(e *catalog.Entry) { e.Name = "nodots" }},
		{"version", func(e *catalog.Entry) { e.Version = catalog.Version{} }},
		{"targets", func(e *catalog.Entry) { e.Targets = nil }},
		{"targets[0]", func(e *catalog.Entry) { e.Targets = []smbios.CHID{{}} }},
		{"targets[1]", func(e *catalog.Entry) { e.Targets = []smbios.CHID{chidA, chidA} }},
		{"requires[0].name", func(e *catalog.Entry) { e.Requires[0].Name = e.Name }},
		{"rollout.state", func(e *catalog.Entry) { e.Rollout.State = "gone" }},
		{"rollout.percent", func(e *catalog.Entry) { e.Rollout.Percent = 0 }},
		{"rollout.percent", func(e *catalog.Entry) { e.Rollout.Percent = 101 }},
		{"since", func(e *catalog.Entry) { e.Since = time.Time{} }},
		{"change.action", func(e *catalog.Entry) { e.Change.Action = "delete" }},
		{"change.actor", func(e *catalog.Entry) { e.Change.Actor = " " }},
		{"change.reason", func(e *catalog.Entry) { e.Change.Reason = "a\x1bb" }},
		{"change.from", func(e *catalog.Entry) { e.Change.Action = catalog.ActionPromote }},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			e := validEntry()
			tt.mutate(e)
			_, err := e.Encode(validEntry().TargetPath())
			var ee *catalog.EntryError
			if !errors.As(err, &ee) || !errors.Is(err, catalog.ErrInvalidEntry) {
				t.Fatalf("error = %v, want *EntryError", err)
			}
			if ee.Field != tt.field {
				t.Errorf("field = %q, want %q (%v)", ee.Field, tt.field, err)
			}
		})
	}
	e := validEntry()
	if _, err := e.Encode("Other.Name_1.0.0.2.cab"); !errors.Is(err, catalog.ErrInvalidEntry) {
		t.Errorf("entry under another target path: error = %v", err)
	}
}

func TestParseEntryRefuses(t *testing.T) {
	good, err := validEntry().Encode(validEntry().TargetPath())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(good, &m)
	without := func(k string) []byte {
		c := map[string]any{}
		for kk, vv := range m {
			if kk != k {
				c[kk] = vv
			}
		}
		b, _ := json.Marshal(c)
		return b
	}
	with := func(k string, val any) []byte {
		c := map[string]any{}
		for kk, vv := range m {
			c[kk] = vv
		}
		c[k] = val
		b, _ := json.Marshal(c)
		return b
	}
	tests := []struct {
		name, field string
		data        []byte
	}{
		{"not JSON", "custom", []byte("{")},
		{"array", "custom", []byte("[]")},
		{"missing rollout", "rollout", without("rollout")},
		{"leading zero", "version", with("version", "1.0.0.02")},
		{"bad CHID", "targets[0]", with("targets", []string{"not-a-guid"})},
		{"bad min_version", "requires[0].min_version", with("requires", []map[string]string{{"name": "A.B", "min_version": "1"}})},
		{"too big", "custom", []byte(`{"x":"` + strings.Repeat("a", catalog.MaxEntrySize) + `"}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := catalog.ParseEntry("3.targets.json", validEntry().TargetPath(), tt.data)
			var ee *catalog.EntryError
			if !errors.As(err, &ee) {
				t.Fatalf("error = %v, want *EntryError", err)
			}
			if ee.Field != tt.field || ee.File != "3.targets.json" {
				t.Errorf("error names %q in %q, want %q in 3.targets.json (%v)", ee.Field, ee.File, tt.field, err)
			}
		})
	}
}

func FuzzParseEntry(f *testing.F) {
	good, _ := validEntry().Encode(validEntry().TargetPath())
	f.Add(string(good))
	f.Add(`{"kind":"app"}`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, data string) {
		target := validEntry().TargetPath()
		e, err := catalog.ParseEntry("f.json", target, []byte(data))
		if err != nil {
			if !errors.Is(err, catalog.ErrInvalidEntry) {
				t.Fatalf("error %v does not wrap ErrInvalidEntry", err)
			}
			return
		}
		// What parses re-encodes, and re-parses to the same entry.
		enc, err := e.Encode(target)
		if err != nil {
			t.Fatalf("accepted entry does not encode: %v", err)
		}
		e2, err := catalog.ParseEntry("f.json", target, enc)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if diff := cmp.Diff(e, e2, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
			t.Fatalf("round trip changed the entry:\n%s", diff)
		}
	})
}

func TestRolloutBucketsStableAndMonotone(t *testing.T) {
	const n = 4000
	ver := v("1.0.0.2")
	in := map[int]int{}
	prev := map[string]bool{}
	for _, p := range []int{1, 10, 30, 60, 100} {
		count := 0
		for i := range n {
			id := fmt.Sprintf("device-%d", i)
			ok := catalog.InRollout(id, "Contoso.Toaster.Driver", ver, p)
			if ok != catalog.InRollout(id, "Contoso.Toaster.Driver", ver, p) {
				t.Fatalf("%s flaps at %d%%", id, p)
			}
			if prev[id] && !ok {
				t.Fatalf("%s left the rollout when it rose to %d%%", id, p)
			}
			prev[id] = ok
			if ok {
				count++
			}
		}
		in[p] = count
	}
	if in[100] != n {
		t.Errorf("at 100%% %d of %d devices are in", in[100], n)
	}
	for _, p := range []int{10, 30, 60} {
		got := float64(in[p]) / n * 100
		if got < float64(p)-3 || got > float64(p)+3 {
			t.Errorf("at %d%% %.1f%% of devices are in", p, got)
		}
	}
	// Another update spreads the same devices differently.
	same := 0
	for i := range 1000 {
		id := fmt.Sprintf("device-%d", i)
		if catalog.Bucket(id, "A.B", ver) == catalog.Bucket(id, "A.C", ver) {
			same++
		}
	}
	if same > 10 {
		t.Errorf("%d of 1000 devices share buckets across updates", same)
	}
}

func TestDecide(t *testing.T) {
	// A device id inside a 50% rollout and one outside, found by search.
	var inID, outID string
	for i := 0; inID == "" || outID == ""; i++ {
		id := fmt.Sprint("dev", i)
		if catalog.InRollout(id, "Contoso.Toaster.Driver", v("1.0.0.2"), 50) {
			inID = id
		} else {
			outID = id
		}
	}
	base := catalog.Device{ID: inID, CHIDs: []smbios.CHID{chidB}, Installed: map[string]catalog.Version{"Windows.IoT.Core": v("10.0.17763.615")}}
	tests := []struct {
		name   string
		entry  func(*catalog.Entry)
		device func(*catalog.Device)
		want   catalog.Reason
	}{
		{"offered", nil, nil, catalog.Offered},
		{"halted", func(e *catalog.Entry) { e.Rollout.State = catalog.Halted }, nil, catalog.ReasonHalted},
		{"paused", func(e *catalog.Entry) { e.Rollout.State = catalog.Paused }, nil, catalog.ReasonPaused},
		{"other device", nil, func(d *catalog.Device) { d.CHIDs = []smbios.CHID{smbios.NewCHID("c")} }, catalog.ReasonNoCHID},
		{"same installed", nil, func(d *catalog.Device) { d.Installed["Contoso.Toaster.Driver"] = v("1.0.0.2") }, catalog.ReasonInstalled},
		{"higher installed", nil, func(d *catalog.Device) { d.Installed["Contoso.Toaster.Driver"] = v("1.0.0.3") }, catalog.ReasonInstalled},
		{"downgrade", func(e *catalog.Entry) { e.Downgrade = true }, func(d *catalog.Device) { d.Installed["Contoso.Toaster.Driver"] = v("1.0.0.3") }, catalog.Offered},
		{"lower installed", nil, func(d *catalog.Device) { d.Installed["Contoso.Toaster.Driver"] = v("1.0.0.1") }, catalog.Offered},
		{"os too old", nil, func(d *catalog.Device) { d.Installed["Windows.IoT.Core"] = v("10.0.17763.614") }, catalog.ReasonRequirement},
		{"os missing", nil, func(d *catalog.Device) { delete(d.Installed, "Windows.IoT.Core") }, catalog.ReasonRequirement},
		{"outside rollout", nil, func(d *catalog.Device) { d.ID = outID }, catalog.ReasonRollout},
		{"outside rollout at 100%", func(e *catalog.Entry) { e.Rollout.Percent = 100 }, func(d *catalog.Device) { d.ID = outID }, catalog.Offered},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := validEntry()
			d := base
			d.Installed = map[string]catalog.Version{}
			for k, x := range base.Installed {
				d.Installed[k] = x
			}
			if tt.entry != nil {
				tt.entry(e)
			}
			if tt.device != nil {
				tt.device(&d)
			}
			got := catalog.Decide(e, d)
			if got.Reason != tt.want || got.Offered != (tt.want == catalog.Offered) {
				t.Errorf("Decide = %+v, want reason %q", got, tt.want)
			}
		})
	}
}

func TestLayout(t *testing.T) {
	chid := smbios.NewCHID("x")
	if got, want := catalog.MetadataDir("Preview", chid), "rings/Preview/"+chid.String(); got != want {
		t.Errorf("MetadataDir = %q, want %q", got, want)
	}
	if got, want := catalog.TargetKey("ab12", "A.B_1.0.0.1.cab"), "targets/ab12.A.B_1.0.0.1.cab"; got != want {
		t.Errorf("TargetKey = %q, want %q", got, want)
	}
	for ring, ok := range map[string]bool{"Preview": true, "GA2": true, "": false, "2nd": false, "a/b": false, "..": false} {
		if catalog.ValidRing(ring) != ok {
			t.Errorf("ValidRing(%q) = %v", ring, !ok)
		}
	}
}
