//go:build unix

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/devupdate/devupdate/internal/agent/agenttest"
	"github.com/devupdate/devupdate/internal/failpoint"
)

// buildFailpointAgent builds devupdate-agent with -tags failpoint: the
// release build has none of it (internal/failpoint compiles to nothing).
func buildFailpointAgent(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "devupdate-agent")
	cmd := exec.Command("go", "build", "-tags", "failpoint", "-o", bin, ".")
	_, file, _, _ := runtime.Caller(0)
	cmd.Dir = filepath.Dir(file)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags failpoint: %v\n%s", err, out)
	}
	return bin
}

// TestCrashAtEveryPoint kills the agent with SIGKILL at every failpoint a
// scan-download-install cycle passes (TUF cache writes, record writes,
// download progress, verification, extraction, the handler's end, the
// report) and runs it again: the record is consistent after every kill,
// the update ends installed, and, with an is-it-installed check, the
// handler completes exactly once.
func TestCrashAtEveryPoint(t *testing.T) {
	if failpoint.Enabled {
		t.Fatal("the test binary itself must be a release build")
	}
	bin := buildFailpointAgent(t)
	w := agenttest.New(t)
	w.Add("Preview", w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Settings", Version: "1.0.0.1", PayloadSize: 1 << 20}), 100, nil)

	agentRun := func(d *device, env ...string) (*os.ProcessState, string) {
		cmd := exec.Command(bin, "install", "--config", d.cfg)
		cmd.Env = append(os.Environ(), env...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		_ = cmd.Run()
		return cmd.ProcessState, out.String()
	}

	// A run without a kill lists the points, in order.
	trace := filepath.Join(t.TempDir(), "trace")
	d := newDevice(t, w, "Preview", true, 0, "")
	if ps, out := agentRun(d, failpoint.EnvTrace+"="+trace); ps.ExitCode() != 0 {
		t.Fatalf("traced run: exit %d\n%s", ps.ExitCode(), out)
	}
	data, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	points := strings.Fields(string(data))
	if distinct := slices.Compact(slices.Sorted(slices.Values(points))); len(points) < 20 || len(distinct) != len(points) {
		t.Fatalf("%d failpoints in a cycle (%d distinct), want at least 20: %v", len(points), len(distinct), points)
	}
	for _, p := range []string{"download-progress#1", "verified#1", "extracted#1", "installing-recorded#1", "handler-done#1", "installed-recorded#1"} {
		if !slices.Contains(points, p) {
			t.Errorf("the cycle does not pass %s: %v", p, points)
		}
	}
	for _, p := range points {
		t.Run(p, func(t *testing.T) {
			t.Parallel()
			d := newDevice(t, w, "Preview", true, 0, "")
			ps, out := agentRun(d, failpoint.EnvKill+"="+p)
			ws, ok := ps.Sys().(syscall.WaitStatus)
			if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("not killed at %s (exit %d)\n%s", p, ps.ExitCode(), out)
			}
			if _, err := os.Stat(filepath.Join(d.state, "state.json")); err == nil {
				d.record(t) // consistent after the kill
			}
			if ps, out := agentRun(d); ps.ExitCode() != 0 {
				t.Fatalf("after the kill: exit %d\n%s", ps.ExitCode(), out)
			}
			rec := d.record(t)
			if in, ok := rec.Installed["Contoso.Toaster.Settings"]; !ok || in.Version.String() != "1.0.0.1" || rec.Attempt != nil {
				t.Errorf("record after the restart: %+v", rec)
			}
			if runs := d.runs(t); len(runs) != 1 {
				t.Errorf("handler completed %d times: %v", len(runs), runs)
			}
		})
	}
}
