package flight_test

import (
	"encoding/json"
	"errors"
	"io"
	"maps"
	"testing"
	"time"

	"github.com/devupdate/devupdate/cdn/memory"
	"github.com/devupdate/devupdate/flight"
	"github.com/devupdate/devupdate/flight/catalog"
)

func ver(s string) catalog.Version {
	v, err := catalog.ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

// TestLifecycle walks one update through every transition and has a real
// go-tuf client read every state the library produces.
func TestLifecycle(t *testing.T) {
	e := newEnv(t, memory.New())
	ctx := t.Context()
	p1, p2 := chidOf(e.products[0]), chidOf(e.products[1])
	const path = "Contoso.Toaster.Driver_1.0.0.2.cab"

	preview1 := e.device("Preview", p1, nil)
	preview2 := e.device("Preview", p2, nil)
	ea1 := e.device("EarlyAdopter", p1, nil)
	if got := e.entries(preview1); len(got) != 0 {
		t.Fatalf("a new ring offers %d entries", len(got))
	}

	if _, err := e.f.Add(ctx, "Preview", []*flight.Candidate{e.cand("Contoso.Toaster.Driver", "1.0.0.2", p1)}, flight.AddOptions{Rollout: 50}, who); err != nil {
		t.Fatal(err)
	}
	got := e.entries(preview1)
	if en := got[path]; en == nil || en.Rollout != (catalog.Rollout{State: catalog.Active, Percent: 50}) || en.Change.Action != catalog.ActionAdd || en.Change.Actor != "test@ci" {
		t.Fatalf("Preview device sees %+v", got)
	}
	if got := e.entries(preview2); len(got) != 0 {
		t.Errorf("a device of another product sees %v", got)
	}
	if got := e.entries(ea1); len(got) != 0 {
		t.Errorf("an EarlyAdopter device sees %v before promotion", got)
	}

	// Promotion waits for Preview's one-hour soak.
	_, err := e.f.Promote(ctx, "Contoso.Toaster.Driver", ver("1.0.0.2"), "EarlyAdopter", 50, false, who)
	if !errors.Is(err, flight.ErrSoak) {
		t.Fatalf("promote before soak: error = %v, want ErrSoak", err)
	}
	e.clock.add(61 * time.Minute)
	if _, err := e.f.Promote(ctx, "Contoso.Toaster.Driver", ver("1.0.0.2"), "EarlyAdopter", 50, false, who); err != nil {
		t.Fatal(err)
	}
	eaEntry := e.entries(ea1)[path]
	pvEntry := e.entries(preview1)[path]
	if eaEntry == nil || eaEntry.Change.From != "Preview" || eaEntry.Rollout.Percent != 50 {
		t.Fatalf("EarlyAdopter device sees %+v", eaEntry)
	}
	// The same blob, the same sha256.
	tfEA, _ := ea1.up.GetTargetInfo(path)
	tfPV, _ := preview1.up.GetTargetInfo(path)
	if !tfEA.Equal(*tfPV) || pvEntry == nil {
		t.Errorf("promotion changed the target: %+v vs %+v", tfEA, tfPV)
	}

	steps := []struct {
		action  catalog.Action
		percent int
		want    catalog.Rollout
	}{
		{catalog.ActionRollout, 100, catalog.Rollout{State: catalog.Active, Percent: 100}},
		{catalog.ActionPause, 0, catalog.Rollout{State: catalog.Paused, Percent: 100}},
		{catalog.ActionRollout, 80, catalog.Rollout{State: catalog.Paused, Percent: 80}},
		{catalog.ActionResume, 0, catalog.Rollout{State: catalog.Active, Percent: 80}},
		{catalog.ActionHalt, 0, catalog.Rollout{State: catalog.Halted, Percent: 80}},
	}
	for _, s := range steps {
		res, err := e.f.SetState(ctx, "EarlyAdopter", "Contoso.Toaster.Driver", ver("1.0.0.2"), s.action, s.percent, who)
		if err != nil {
			t.Fatalf("%s: %v", s.action, err)
		}
		if len(res.Changed) != 1 {
			t.Errorf("%s changed %v", s.action, res.Changed)
		}
		if en := e.entries(ea1)[path]; en == nil || en.Rollout != s.want || en.Change.Action != s.action {
			t.Fatalf("after %s the device sees %+v, want %+v", s.action, en, s.want)
		}
	}
	// The same change again is a no-op; a halted update stays halted.
	if res, err := e.f.SetState(ctx, "EarlyAdopter", "Contoso.Toaster.Driver", ver("1.0.0.2"), catalog.ActionHalt, 0, who); err != nil || len(res.Changed) != 0 {
		t.Errorf("halting again: %+v, %v", res, err)
	}
	for _, a := range []catalog.Action{catalog.ActionResume, catalog.ActionPause, catalog.ActionRollout} {
		if _, err := e.f.SetState(ctx, "EarlyAdopter", "Contoso.Toaster.Driver", ver("1.0.0.2"), a, 10, who); !errors.Is(err, flight.ErrHalted) {
			t.Errorf("%s of a halted update: error = %v, want ErrHalted", a, err)
		}
	}
	if _, err := e.f.Promote(ctx, "Contoso.Toaster.Driver", ver("1.0.0.2"), "GeneralAvailability", 100, false, who); !errors.Is(err, flight.ErrHalted) {
		t.Errorf("promoting a halted update: error = %v, want ErrHalted", err)
	}

	// The audit trail, oldest first.
	events, err := e.f.History(ctx, "", "Contoso.Toaster.Driver")
	if err != nil {
		t.Fatal(err)
	}
	var actions []catalog.Action
	for _, ev := range events {
		actions = append(actions, ev.Change.Action)
	}
	want := []catalog.Action{"add", "promote", "rollout", "pause", "rollout", "resume", "halt"}
	if len(actions) != len(want) {
		t.Fatalf("history %v, want %v", actions, want)
	}
	for i := range want {
		if actions[i] != want[i] {
			t.Fatalf("history %v, want %v", actions, want)
		}
	}
	if events[0].Ring != "Preview" || events[1].Ring != "EarlyAdopter" || events[6].TargetsVersion <= events[1].TargetsVersion {
		t.Errorf("history rings/versions wrong: %+v", events)
	}

	st, err := e.f.Status(ctx, "EarlyAdopter", flight.WarnWithin{"timestamp": 48 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || len(st[0].Updates) != 1 || st[0].Updates[0].State != catalog.Halted || st[0].MetadataBase != "rings/EarlyAdopter/{chid}" || st[0].TargetsBase != "targets" {
		t.Errorf("status %+v", st)
	}
	// The sha256 status reports is the target's, as a device checks it.
	if len(st) == 1 && len(st[0].Updates) == 1 {
		if got, want := st[0].Updates[0].SHA256, tfEA.Hashes["sha256"].String(); got != want {
			t.Errorf("status sha256 %q, want the target's %q", got, want)
		}
	}
	for _, x := range st[0].Expires {
		if x.Role == "timestamp" && !x.Warning {
			t.Errorf("timestamp expiring within a day is not flagged within 48h: %+v", x)
		}
		if x.Role == "root" && x.Warning {
			t.Errorf("root flagged: %+v", x)
		}
	}
}

// TestRefusals covers every refused transition, each with its own error.
func TestRefusals(t *testing.T) {
	e := newEnv(t, memory.New())
	ctx := t.Context()
	p1 := chidOf(e.products[0])
	add := func(name, v string, o flight.AddOptions) error {
		_, err := e.f.Add(ctx, "Preview", []*flight.Candidate{e.cand(name, v, p1)}, o, who)
		return err
	}
	if err := add("A.B", "1.0.0.5", flight.AddOptions{}); err != nil {
		t.Fatal(err)
	}
	first := e.cand("A.C", "2.0.0.0", p1)
	if _, err := e.f.Add(ctx, "Preview", []*flight.Candidate{first}, flight.AddOptions{}, who); err != nil {
		t.Fatal(err)
	}
	// Re-adding the same cabinet changes nothing.
	if res, err := e.f.Add(ctx, "Preview", []*flight.Candidate{first}, flight.AddOptions{}, who); err != nil || len(res[0].Changed) != 0 {
		t.Errorf("re-adding the same cabinet: %+v %v", res, err)
	}
	tests := []struct {
		name string
		err  error
		do   func() error
	}{
		{"lower version", flight.ErrVersionNotHigher, func() error { return add("A.B", "1.0.0.4", flight.AddOptions{}) }},
		{"same version, other bytes", flight.ErrDuplicateVersion, func() error { return add("A.B", "1.0.0.5", flight.AddOptions{}) }},
		{"rollout 0", flight.ErrTransition, func() error {
			_, err := e.f.SetState(ctx, "Preview", "A.B", ver("1.0.0.5"), catalog.ActionRollout, 0, who)
			return err
		}},
		{"rollout 101", flight.ErrTransition, func() error { return add("A.B", "1.0.0.6", flight.AddOptions{Rollout: 101}) }},
		{"promote before soak", flight.ErrSoak, func() error {
			_, err := e.f.Promote(ctx, "A.B", ver("1.0.0.5"), "EarlyAdopter", 0, false, who)
			return err
		}},
		{"promote what is not in the previous ring", flight.ErrNotInRing, func() error {
			_, err := e.f.Promote(ctx, "A.B", ver("1.0.0.5"), "GeneralAvailability", 0, true, who)
			return err
		}},
		{"promote into the first ring", flight.ErrTransition, func() error {
			_, err := e.f.Promote(ctx, "A.B", ver("1.0.0.5"), "Preview", 0, true, who)
			return err
		}},
		{"add to a later ring", flight.ErrTransition, func() error {
			_, err := e.f.Add(ctx, "EarlyAdopter", []*flight.Candidate{e.cand("A.D", "1.0.0.0", p1)}, flight.AddOptions{}, who)
			return err
		}},
		{"unknown ring", flight.ErrUnknownRing, func() error {
			_, err := e.f.Add(ctx, "Beta", []*flight.Candidate{e.cand("A.D", "1.0.0.0", p1)}, flight.AddOptions{}, who)
			return err
		}},
		{"unregistered product", flight.ErrUnknownProduct, func() error {
			_, err := e.f.Add(ctx, "Preview", []*flight.Candidate{e.cand("A.E", "1.0.0.0", chidOf(testProduct(t, 9)))}, flight.AddOptions{}, who)
			return err
		}},
		{"no reason", flight.ErrNoReason, func() error {
			_, err := e.f.Add(ctx, "Preview", []*flight.Candidate{e.cand("A.F", "1.0.0.0", p1)}, flight.AddOptions{}, flight.Who{Actor: "x"})
			return err
		}},
		{"state of an update never added", flight.ErrNotInRing, func() error {
			_, err := e.f.SetState(ctx, "Preview", "A.Z", ver("1.0.0.1"), catalog.ActionPause, 0, who)
			return err
		}},
		{"not published", flight.ErrNotPublished, func() error {
			c := e.cand("A.G", "1.0.0.0", p1)
			c.SHA256 = "00000000000000000000000000000000000000000000000000000000000000aa"
			_, err := e.f.Add(ctx, "Preview", []*flight.Candidate{c}, flight.AddOptions{}, who)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); !errors.Is(err, tt.err) {
				t.Errorf("error = %v, want %v", err, tt.err)
			}
		})
	}
	// A downgrade is accepted only when asked for, and marked.
	if err := add("A.B", "1.0.0.3", flight.AddOptions{AllowDowngrade: true}); err != nil {
		t.Fatalf("explicit downgrade: %v", err)
	}
	got := e.entries(e.device("Preview", p1, nil))
	if en := got["A.B_1.0.0.3.cab"]; en == nil || !en.Downgrade {
		t.Errorf("downgrade entry %+v", en)
	}
	// Promotion of a paused update is refused until it is resumed.
	e.clock.add(2 * time.Hour)
	if _, err := e.f.SetState(ctx, "Preview", "A.B", ver("1.0.0.5"), catalog.ActionPause, 0, who); err != nil {
		t.Fatal(err)
	}
	if _, err := e.f.Promote(ctx, "A.B", ver("1.0.0.5"), "EarlyAdopter", 0, false, who); !errors.Is(err, flight.ErrTransition) {
		t.Errorf("promoting a paused update: %v", err)
	}
}

// TestErrorChainsKept: a keys file that is not JSON and metadata that is
// not TUF keep their cause beside the flight sentinel.
func TestErrorChainsKept(t *testing.T) {
	_, err := flight.ParseKeysFile("keys.json", []byte(`{"rings": `))
	if !errors.Is(err, flight.ErrKey) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated keys file: %v, want ErrKey and io.ErrUnexpectedEOF", err)
	}
	_, err = flight.ParseKeysFile("keys.json", []byte(`{"rings": {"Preview": {"root": {"keys": 7}}}}`))
	var typ *json.UnmarshalTypeError
	if !errors.Is(err, flight.ErrKey) || !errors.As(err, &typ) {
		t.Errorf("wrong type in keys file: %v, want ErrKey and *json.UnmarshalTypeError", err)
	}
}

// TestStatusWarnings: a ring whose refresh job runs shows no expiry
// warning, however long it runs; one whose job stopped warns about its
// timestamp before devices refuse it; windows are configurable per role.
func TestStatusWarnings(t *testing.T) {
	e := newEnv(t, memory.New())
	ctx := t.Context()
	flagged := func(warn flight.WarnWithin) map[string]bool {
		t.Helper()
		st, err := e.f.Status(ctx, "", warn)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, r := range st {
			for _, x := range r.Expires {
				if x.Warning {
					out[r.Ring+"/"+x.Role] = true
				}
			}
		}
		return out
	}
	if got := flagged(nil); len(got) != 0 {
		t.Fatalf("a new ring warns: %v", got)
	}
	// Refreshed every hour for eight days (the snapshot is re-signed too):
	// never a warning.
	for h := range 8 * 24 {
		e.clock.add(time.Hour)
		if _, err := e.f.Refresh(ctx, flight.RefreshOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := flagged(nil); len(got) != 0 {
			t.Fatalf("after %d hours refreshed hourly, status warns: %v", h+1, got)
		}
	}
	// The job stops: the timestamps are flagged a quarter of their lifetime
	// (6h) before they expire, and not before.
	st, err := e.f.Status(ctx, "Preview", nil)
	if err != nil {
		t.Fatal(err)
	}
	var ts flight.RoleExpiry
	for _, x := range st[0].Expires {
		if x.Role == "timestamp" {
			ts = x
		}
	}
	if time.Duration(ts.WarnWithin) != 6*time.Hour {
		t.Errorf("timestamp window %v, want 6h", time.Duration(ts.WarnWithin))
	}
	e.clock.set(ts.Expires.Add(-6*time.Hour - time.Second))
	if got := flagged(nil); len(got) != 0 {
		t.Errorf("6h and a second before the timestamp expires, status warns: %v", got)
	}
	e.clock.add(2 * time.Second)
	want := map[string]bool{"Preview/timestamp": true, "EarlyAdopter/timestamp": true, "GeneralAvailability/timestamp": true}
	if got := flagged(nil); !maps.Equal(got, want) {
		t.Errorf("with the refresh job stopped, status flags %v, want %v", got, want)
	}
	// One role's window, or every role's, set explicitly.
	if got := flagged(flight.WarnWithin{"timestamp": time.Hour}); len(got) != 0 {
		t.Errorf("timestamp window 1h flags %v", got)
	}
	if got := flagged(flight.WarnWithin{"targets": 100 * 24 * time.Hour, "timestamp": 0}); len(got) != 3 || !got["Preview/targets"] {
		t.Errorf("targets window 100 days flags %v, want the three rings' targets", got)
	}
	if _, err := e.f.Status(ctx, "", flight.WarnWithin{"snapshots": time.Hour}); !errors.Is(err, flight.ErrConfig) {
		t.Errorf("a window for an unknown role: error = %v, want ErrConfig", err)
	}
}

// TestRingSettings: init never changes an existing ring (other settings are
// refused, the same ones are a no-op); SetRing changes soak and expiry,
// records who and why, and the change takes effect.
func TestRingSettings(t *testing.T) {
	e := newEnv(t, memory.New())
	ctx := t.Context()
	hour, twoHours := flight.Duration(time.Hour), flight.Duration(2*time.Hour)
	soakOf := func(ring string) (flight.Duration, *flight.SettingsChange) {
		t.Helper()
		st, err := e.f.Status(ctx, ring, nil)
		if err != nil || len(st) != 1 {
			t.Fatalf("status %s: %v", ring, err)
		}
		return st[0].Soak, st[0].SettingsChanged
	}

	same := map[string]flight.RingSettings{"Preview": {Soak: &hour}}
	if _, err := e.f.Init(ctx, flight.InitRequest{Settings: same}); err != nil {
		t.Errorf("init with the ring's own settings: %v", err)
	}
	for name, settings := range map[string]map[string]flight.RingSettings{
		"other soak":   {"Preview": {Soak: &twoHours}},
		"other expiry": {"EarlyAdopter": {Expiry: map[string]flight.Duration{"timestamp": hour}}},
		"no such ring": {"Beta": {Soak: &hour}},
	} {
		if _, err := e.f.Init(ctx, flight.InitRequest{Settings: settings}); !errors.Is(err, flight.ErrConfig) {
			t.Errorf("init with %s: error = %v, want ErrConfig", name, err)
		}
	}
	if soak, changed := soakOf("Preview"); soak != hour || changed != nil {
		t.Errorf("after refused inits Preview soaks %v (changed %+v), want 1h, never changed", time.Duration(soak), changed)
	}

	zero := flight.Duration(0)
	if _, err := e.f.SetRing(ctx, "Preview", flight.RingSettings{Soak: &zero}, flight.Who{Actor: "a"}); !errors.Is(err, flight.ErrNoReason) {
		t.Errorf("a change without a reason: %v, want ErrNoReason", err)
	}
	if _, err := e.f.SetRing(ctx, "Beta", flight.RingSettings{Soak: &zero}, who); !errors.Is(err, flight.ErrUnknownRing) {
		t.Errorf("an unknown ring: %v, want ErrUnknownRing", err)
	}
	if _, err := e.f.SetRing(ctx, "Preview", flight.RingSettings{Expiry: map[string]flight.Duration{"timestamp": flight.Duration(30 * 24 * time.Hour)}}, who); !errors.Is(err, flight.ErrConfig) {
		t.Errorf("a timestamp outliving the snapshot: %v, want ErrConfig", err)
	}
	cfg, err := e.f.SetRing(ctx, "Preview", flight.RingSettings{Soak: &zero, Expiry: map[string]flight.Duration{"timestamp": twoHours}}, who)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Soak != 0 || cfg.Expiry.Timestamp != twoHours || cfg.Expiry.Snapshot != flight.DefaultExpiry.Snapshot {
		t.Errorf("Preview after the change: %+v", cfg)
	}
	if soak, changed := soakOf("Preview"); soak != 0 || changed == nil || changed.Actor != who.Actor || changed.Reason != who.Reason || !changed.Time.Equal(e.clock.now().Truncate(time.Second)) {
		t.Errorf("status shows soak %v, change %+v", time.Duration(soak), changed)
	}

	// The new soak: promotion straight away. The new expiry: the next
	// timestamp Preview signs lives two hours.
	p1 := chidOf(e.products[0])
	if _, err := e.f.Add(ctx, "Preview", []*flight.Candidate{e.cand("Contoso.Toaster.Soak", "1.0.0.1", p1)}, flight.AddOptions{}, who); err != nil {
		t.Fatal(err)
	}
	if _, err := e.f.Promote(ctx, "Contoso.Toaster.Soak", ver("1.0.0.1"), "EarlyAdopter", 100, false, who); err != nil {
		t.Errorf("promote with no soak left: %v", err)
	}
	dev := e.device("Preview", p1, nil)
	if got := e.entries(dev); got["Contoso.Toaster.Soak_1.0.0.1.cab"] == nil {
		t.Errorf("the Preview device sees %v", got)
	}
	if got, want := dev.up.GetTrustedMetadataSet().Timestamp.Signed.Expires, e.clock.now().Truncate(time.Second).Add(2*time.Hour); !got.Equal(want) {
		t.Errorf("Preview's timestamp expires %v, want %v", got, want)
	}
}
