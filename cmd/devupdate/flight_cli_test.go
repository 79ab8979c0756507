package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestFlightUsage: every mistake in how a flight command is invoked exits
// 2, names the flag, and changes nothing.
func TestFlightUsage(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	tests := []struct {
		name, flag string
		args       []string
	}{
		{"no store", "--store", []string{"flight", "status"}},
		{"no reason", "--reason", []string{"flight", "pause", "A.B", "1.0.0.1", "--ring", "Preview", "--store", store, "--keys", "k.json"}},
		{"no ring", "--ring", []string{"flight", "halt", "A.B", "1.0.0.1", "--store", store, "--reason", "x"}},
		{"percent out of range", "--percent", []string{"flight", "rollout", "A.B", "1.0.0.1", "--ring", "Preview", "--percent", "101", "--store", store, "--reason", "x"}},
		{"rollout out of range", "--rollout", []string{"flight", "promote", "A.B", "1.0.0.1", "--to", "EarlyAdopter", "--rollout", "101", "--store", store, "--reason", "x"}},
		{"bad version", "VERSION", []string{"flight", "pause", "A.B", "1.0.1", "--ring", "Preview", "--store", store, "--reason", "x"}},
		{"no keys", "--keys", []string{"flight", "pause", "A.B", "1.0.0.1", "--ring", "Preview", "--store", store, "--reason", "x"}},
		{"no roots", "--roots", []string{"flight", "add", "a.cab", "--ring", "Preview", "--store", store, "--reason", "x"}},
		{"dev keys and keys", "--dev-keys", []string{"flight", "init", "--store", store, "--dev-keys", "d", "--keys", "k"}},
		{"bad soak", "--soak", []string{"flight", "init", "--store", store, "--dev-keys", t.TempDir() + "/k", "--soak", "Preview"}},
		{"ring setting missing", "--soak", []string{"flight", "rings", "set", "Preview", "--store", store, "--reason", "x"}},
		{"ring soak not a duration", "--soak", []string{"flight", "rings", "set", "Preview", "--soak", "soon", "--store", store, "--reason", "x"}},
		{"ring expiry of no role", "--expiry", []string{"flight", "rings", "set", "Preview", "--expiry", "snapshots=1h", "--store", store, "--reason", "x"}},
		{"warning window of no role", "--warn-within", []string{"flight", "status", "--store", store, "--warn-within", "snapshots=1h"}},
		{"warning window not a duration", "--warn-within", []string{"flight", "status", "--store", store, "--warn-within", "timestamp=soon"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvFlightKeys, "")
			stdout, stderr, code := run(t, tt.args...)
			if code != exitUsage || stdout != "" || !strings.Contains(stderr, tt.flag) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2, nothing, a message naming %s", code, stdout, stderr, tt.flag)
			}
		})
	}
}

// TestFlightNotInitialised: a store without rings answers with its code.
func TestFlightNotInitialised(t *testing.T) {
	stdout, _, code := run(t, "flight", "status", "--store", t.TempDir(), "-O", "json")
	var rep struct {
		OK    bool                  `json:"ok"`
		Error struct{ Code string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || code != exitFailed || rep.OK || rep.Error.Code != "not_initialised" {
		t.Errorf("exit %d, %s (%v); want 1 and not_initialised", code, stdout, err)
	}
}

// TestFlightStatusWarnings: a ring just initialised (its timestamps fresh)
// shows no expiry warning in text or JSON; a window set with --warn-within
// flags the role and says which window.
func TestFlightStatusWarnings(t *testing.T) {
	fx := newFlightFixture(t, filepath.Join(t.TempDir(), "store"))
	type report struct {
		OK    bool `json:"ok"`
		Rings []struct {
			Ring    string `json:"ring"`
			Expires []struct {
				Role       string `json:"role"`
				WarnWithin string `json:"warn_within"`
				Warning    bool   `json:"warning"`
			} `json:"expires"`
		} `json:"rings"`
	}
	status := func(args ...string) (warned map[string]string, windows map[string]string) {
		t.Helper()
		var rep report
		out := fx.run(0, append([]string{"flight", "status", "-O", "json"}, args...)...)
		if err := json.Unmarshal([]byte(out), &rep); err != nil || !rep.OK || len(rep.Rings) == 0 {
			t.Fatalf("status: %v\n%s", err, out)
		}
		warned, windows = map[string]string{}, map[string]string{}
		for _, r := range rep.Rings {
			for _, x := range r.Expires {
				windows[r.Ring+"/"+x.Role] = x.WarnWithin
				if x.Warning {
					warned[r.Ring+"/"+x.Role] = x.WarnWithin
				}
			}
		}
		return warned, windows
	}
	warned, windows := status()
	if len(warned) != 0 {
		t.Errorf("a healthy ring warns: %v", warned)
	}
	for role, want := range map[string]string{"root": "2190h0m0s", "targets": "540h0m0s", "snapshot": "42h0m0s", "timestamp": "6h0m0s"} {
		if got := windows["Preview/"+role]; got != want {
			t.Errorf("%s window %q, want %q (a quarter of its lifetime)", role, got, want)
		}
	}
	if out := fx.run(0, "flight", "status"); strings.Contains(out, "WARNING") {
		t.Errorf("text status of a healthy ring warns:\n%s", out)
	}
	warned, _ = status("--warn-within", "timestamp=25h", "--ring", "Preview")
	if len(warned) != 1 || warned["Preview/timestamp"] != "25h0m0s" {
		t.Errorf("--ring Preview --warn-within timestamp=25h: warnings %v, want Preview's timestamp", warned)
	}
	warned, _ = status("--warn-within", "2h", "--warn-within", "timestamp=25h")
	if len(warned) != 3 || warned["Preview/timestamp"] != "25h0m0s" {
		t.Errorf("timestamp window 25h: warnings %v, want the three rings' timestamps", warned)
	}
	if out := fx.run(0, "flight", "status", "--ring", "Preview", "--warn-within", "timestamp=25h"); !strings.Contains(out, "timestamp expires ") || !strings.Contains(out, "WARNING: expires within 25h0m0s") {
		t.Errorf("text status does not flag the timestamp:\n%s", out)
	}
}

// TestFlightReportsJSON: the reports of changes and status keep the JSON
// contract: lists are [] rather than null, the failure of a change still
// names the change, and status's sha256 is the cabinet's.
func TestFlightReportsJSON(t *testing.T) {
	fx := newFlightFixture(t, filepath.Join(t.TempDir(), "store"))
	cab := fx.cab("Contoso.Toaster.Report", "1.0.0.1")
	fx.run(0, "flight", "add", cab, "--ring", "Preview", "--roots", fx.roots, "--reason", "first")
	decode := func(out string) map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return m
	}
	pause := []string{"flight", "pause", "Contoso.Toaster.Report", "1.0.0.1", "--ring", "Preview", "--reason", "hold", "-O", "json"}
	first := decode(fx.run(0, pause...))
	again := decode(fx.run(0, pause...))
	for _, tt := range []struct {
		rep                map[string]any
		changed, unchanged int
	}{{first, 1, 0}, {again, 0, 1}} {
		c, ok1 := tt.rep["changed"].([]any)
		u, ok2 := tt.rep["unchanged"].([]any)
		if !ok1 || !ok2 || len(c) != tt.changed || len(u) != tt.unchanged {
			t.Errorf("report %v: want changed %d and unchanged %d, both lists", tt.rep, tt.changed, tt.unchanged)
		}
	}
	failed := decode(fx.run(1, "flight", "pause", "Contoso.Toaster.Report", "1.0.0.1", "--ring", "Beta", "--reason", "hold", "-O", "json"))
	if e, _ := failed["error"].(map[string]any); failed["ok"] != false || e["code"] != "unknown_ring" || failed["ring"] != "Beta" ||
		failed["name"] != "Contoso.Toaster.Report" || failed["version"] != "1.0.0.1" || failed["action"] != "pause" {
		t.Errorf("a refused change reports %v", failed)
	}
	st := decode(fx.run(0, "flight", "status", "-O", "json"))
	rings, _ := st["rings"].([]any)
	if len(rings) != 3 {
		t.Fatalf("status: %v", st)
	}
	for _, r := range rings {
		r := r.(map[string]any)
		for _, k := range []string{"expires", "updates", "products"} {
			if _, ok := r[k].([]any); !ok {
				t.Errorf("ring %v: %s is %v, not a list", r["ring"], k, r[k])
			}
		}
	}
	updates := rings[0].(map[string]any)["updates"].([]any)
	if len(updates) != 1 || updates[0].(map[string]any)["sha256"] != sha256sum(t, cab) {
		t.Errorf("Preview's updates %v, want one with sha256 %s", updates, sha256sum(t, cab))
	}
}

// TestFlightRingsSet: re-running init with other ring settings is refused
// and names the command that changes them; flight rings set changes them
// and reports them as status names them, status shows who did it and why,
// and promotion honours the new soak.
func TestFlightRingsSet(t *testing.T) {
	fx := newFlightFixture(t, filepath.Join(t.TempDir(), "store"))
	out := fx.run(1, "flight", "init", "--soak", "Preview=24h")
	if !strings.Contains(out, "ring Preview exists with soak 0s (asked 24h0m0s)") || !strings.Contains(out, "flight rings set") {
		t.Errorf("init with another soak says %q", out)
	}
	fx.run(0, "flight", "init")
	// The report names the ring and its settings as status does.
	var set struct {
		Ring            string `json:"ring"`
		Soak            string `json:"soak"`
		SettingsChanged struct {
			Actor, Reason string
		} `json:"settings_changed"`
	}
	out = fx.run(0, "flight", "rings", "set", "Preview", "--soak", "24h", "--reason", "a day in Preview", "-O", "json")
	if err := json.Unmarshal([]byte(out), &set); err != nil || set.Ring != "Preview" || set.Soak != "24h0m0s" || set.SettingsChanged.Actor != "tester" || set.SettingsChanged.Reason != "a day in Preview" {
		t.Errorf("rings set reports (%v):\n%s", err, out)
	}
	fx.run(0, "flight", "init", "--soak", "Preview=24h")
	st := fx.run(0, "flight", "status", "--ring", "Preview")
	if !strings.Contains(st, "soak 24h0m0s") || !strings.Contains(st, "by tester: a day in Preview") {
		t.Errorf("status after rings set:\n%s", st)
	}
	cab := fx.cab("Contoso.Toaster.Soaked", "1.0.0.1")
	fx.run(0, "flight", "add", cab, "--ring", "Preview", "--roots", fx.roots, "--reason", "first")
	out = fx.run(1, "flight", "promote", "Contoso.Toaster.Soaked", "1.0.0.1", "--to", "EarlyAdopter", "--reason", "early")
	if !strings.Contains(out, "soak time in the previous ring not over") {
		t.Errorf("promote before the new soak says %q", out)
	}
}
