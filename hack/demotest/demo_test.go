// Package demotest runs the README's quick start (`make demo`) under `go
// test`, so the story it tells cannot rot unnoticed.
package demotest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemo builds both binaries and runs the demo's steps (hack/demo.d) as
// `make demo` does. Each step checks its own outcome and exits non-zero
// when the story did not happen; the test also checks that the story
// reached its end.
func TestDemo(t *testing.T) {
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin+string(filepath.Separator), "./cmd/...")
	build.Dir = repo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	demo := exec.CommandContext(t.Context(), "bash", filepath.Join(repo, "hack", "run-parts.sh"), filepath.Join(repo, "hack", "demo.d"))
	demo.Env = append(os.Environ(),
		"DEVUPDATE="+filepath.Join(bin, "devupdate"),
		"DEVUPDATE_AGENT="+filepath.Join(bin, "devupdate-agent"),
		"DEMO_DIR="+t.TempDir())
	out, err := demo.CombinedOutput()
	if err != nil {
		t.Fatalf("the demo failed: %v\n%s", err, out)
	}
	for _, want := range []string{
		"==> 50-flight",
		"(generated), the same model from a fields file: nothing in its ring yet",
		"its device installed Driver 1.0.0.2, OS 10.0.17763.615, Settings 1.0.0.1, App 1.0.0.3",
		"and was halted there; promoting it is refused (halted)",
		"the Preview device (from 1.0.0.2) and the GeneralAvailability device (from 1.0.0.1, never offered 1.0.0.2) end on it",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, out)
		}
	}
}
