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
