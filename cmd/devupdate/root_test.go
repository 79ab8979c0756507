package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/internal/problem"
)

const (
	exitOK     = cli.ExitOK
	exitFailed = cli.ExitFailed
	exitUsage  = cli.ExitUsage
)

// batchReport is the JSON report of a command over several inputs.
type batchReport[R any] struct {
	OK       bool         `json:"ok"`
	Error    *cli.Error   `json:"error"`
	Problems problem.List `json:"problems"`
	Results  []R          `json:"results"`
}

// decode parses a command's JSON report into a T.
func decode[T any](t *testing.T, out string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("not the JSON report expected: %v\n%s", err, out)
	}
	return v
}

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
	v := decode[struct {
		OK      bool   `json:"ok"`
		Version string `json:"version"`
		Go      string `json:"go"`
	}](t, out)
	if !v.OK || v.Version == "" || v.Version == "(devel)" || !strings.HasPrefix(v.Go, "go") {
		t.Errorf("version report %+v", v)
	}
}
