package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/devupdate/devupdate/internal/testtool"
)

// TestMakeBuildStampsVersion builds the binary as `make build` does, with
// -buildvcs=false as some CI sets, and checks that `version` and --version
// report the git-describe version, never "(devel)".
func TestMakeBuildStampsVersion(t *testing.T) {
	root := testtool.RepoRoot(t)
	want, err := exec.Command(filepath.Join(root, "hack", "version.sh")).Output()
	if err != nil {
		t.Fatalf("hack/version.sh: %v", err)
	}
	v := strings.TrimSpace(string(want))
	if !regexp.MustCompile(`^(v\d|devel)`).MatchString(v) {
		t.Fatalf("hack/version.sh printed %q", v)
	}
	bin := filepath.Join(t.TempDir(), "devupdate")
	build := exec.Command("go", "build", "-buildvcs=false", "-ldflags", "-X main.buildVersion="+v, "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := exec.Command(bin, args...).Output()
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if got := string(out); !strings.HasPrefix(got, "devupdate "+v) || strings.Contains(got, "(devel)") {
			t.Errorf("devupdate %v = %q, want devupdate %s", args, got, v)
		}
	}
}
