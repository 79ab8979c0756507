package nginx

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devupdate/devupdate/internal/testtool"
)

// TestConfigChangesOnlyListenUpstreamAndWorkers: the generated configuration
// is the example's, line for line, except the three lines replaced; an
// example that lost one of them is refused rather than run unchanged.
func TestConfigChangesOnlyListenUpstreamAndWorkers(t *testing.T) {
	example, err := os.ReadFile(filepath.Join(testtool.RepoRoot(t), ExampleConfig))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Config(string(example), 4242, "127.0.0.1:9999", 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"listen 127.0.0.1:4242;", "server 127.0.0.1:9999;", "worker_processes 3;\nuser "} {
		if !strings.Contains(got, want) {
			t.Errorf("generated configuration lacks %q", want)
		}
	}
	var changed int
	gotLines := map[string]bool{}
	for _, l := range strings.Split(got, "\n") {
		gotLines[l] = true
	}
	for _, l := range strings.Split(string(example), "\n") {
		if !gotLines[l] {
			changed++
		}
	}
	if changed != 3 {
		t.Errorf("%d lines of the example changed, want 3", changed)
	}
	for _, line := range []string{"listen 127.0.0.1:8080;", "server 127.0.0.1:8000;", "worker_processes auto;"} {
		_, err := Config(strings.Replace(string(example), line, "", 1), 1, "o:1", 1)
		if !errors.Is(err, errConfigChanged) {
			t.Errorf("example without %q: %v, want errConfigChanged", line, err)
		}
	}
}
