package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// run executes the CLI in-process and returns stdout, stderr and the status.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Execute(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestExitStatusUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"no subcommand", nil, exitUsage},
		{"unknown subcommand", []string{"frobnicate"}, exitUsage},
		{"unknown flag", []string{"version", "--nope"}, exitUsage},
		{"bad output format", []string{"version", "--output", "xml"}, exitUsage},
		{"extra argument", []string{"version", "x"}, exitUsage},
		{"ok", []string{"version"}, exitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, got := run(t, tt.args...)
			if got != tt.want {
				t.Errorf("exit status = %d, want %d (stderr %q)", got, tt.want, stderr)
			}
		})
	}
}

func TestVersionJSON(t *testing.T) {
	out, _, code := run(t, "version", "--output", "json")
	if code != exitOK {
		t.Fatalf("exit status %d", code)
	}
	var v map[string]string
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if !strings.HasPrefix(v["version"], "(devel)") && !strings.HasPrefix(v["version"], "v") {
		t.Errorf("version = %q", v["version"])
	}
}
