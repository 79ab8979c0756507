package clitest

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ (review them by hand)")

// Golden compares got with testdata/name, or rewrites the file with
// -update.
func Golden(t testing.TB, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update and review the file)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-golden +got):\n%s", path, diff)
	}
}

// Normalize replaces what changes from run to run in a report with fixed
// markers, so that golden files hold everything else: first each old, new
// pair of replace, in the order given (a temporary directory: "$TMP"),
// then times, certificate-dependent bytes and ports.
func Normalize(s string, replace ...string) string {
	for i := 0; i+1 < len(replace); i += 2 {
		s = strings.ReplaceAll(s, replace[i], replace[i+1])
	}
	for _, r := range []struct{ re, repl string }{
		{`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`, "<time>"},
		{`"pem": "-----BEGIN CERTIFICATE REQUEST-----[^"]*"`, `"pem": "<pem>"`},
		{`127\.0\.0\.1:\d+`, "127.0.0.1:<port>"},
	} {
		s = regexp.MustCompile(r.re).ReplaceAllString(s, r.repl)
	}
	return s
}
