package clitest

import (
	"crypto/sha256"
	"flag"
	"fmt"
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
// pair of replace, in the order given (a temporary directory: "$TMP"; a
// digest: see Digests), then times, durations in milliseconds,
// certificate-dependent bytes and ports.
func Normalize(s string, replace ...string) string {
	for i := 0; i+1 < len(replace); i += 2 {
		s = strings.ReplaceAll(s, replace[i], replace[i+1])
	}
	for _, r := range []struct{ re, repl string }{
		{`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`, "<time>"},
		{`\d{8}T\d{6}\.\d{9}Z`, "<time>"}, // in a report's file name
		{`"(\w+)_ms": \d+`, `"${1}_ms": <ms>`},
		{`"pem": "-----BEGIN CERTIFICATE REQUEST-----[^"]*"`, `"pem": "<pem>"`},
		{`127\.0\.0\.1:\d+`, "127.0.0.1:<port>"},
		// The signed length of a target whose digest Digests marked.
		{`("sha256": "<sha256 of ([^>]+)>",\s+"length": )\d+`, "${1}<length of ${2}>"},
	} {
		s = regexp.MustCompile(r.re).ReplaceAllString(s, r.repl)
	}
	return s
}

// Digests returns Normalize's replacements for files whose bytes change
// from run to run (a cabinet signed by the test, its signature made with a
// new key): each one's SHA-256 (hex) becomes "<sha256 of NAME>", NAME its
// base name, so a golden file still says whose digest it is; a "length"
// right after such a digest (a ring's target) becomes <length of NAME>.
func Digests(t testing.TB, paths ...string) []string {
	t.Helper()
	var out []string
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%x", sha256.Sum256(data)), "<sha256 of "+filepath.Base(p)+">")
	}
	return out
}
