// Package archtest holds the test that keeps devupdate's dependency direction
// one-way: domain packages stay free of the CLI, cloud SDKs and cgo HSM code,
// and only cmd/ knows about cobra.
package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/devupdate/devupdate"

type pkg struct {
	ImportPath string
	Deps       []string
	Imports    []string
}

// throughOnly are third-party packages whose own imports are not held
// against us, each with the reason. relic's lib/x509tools (imported by
// every relic lib/ package signer uses) declares cobra flag helpers for
// relic's own CLI; signer calls none of them, and relic v8.2.0 is pinned.
var throughOnly = map[string]string{
	"github.com/sassoftware/relic/v8/lib/x509tools": "declares cobra flags for relic's CLI; signer never calls them",
}

// reachable returns the packages p imports, transitively, without
// descending into the throughOnly packages.
func reachable(p pkg, all map[string]pkg) []string {
	seen := map[string]bool{}
	stack := append([]string(nil), p.Imports...)
	var out []string
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, n)
		if _, skip := throughOnly[n]; skip {
			continue
		}
		stack = append(stack, all[n].Imports...)
	}
	return out
}

// listAll returns every package in the build of the module, third-party
// and standard library included, by import path.
func listAll(t *testing.T) map[string]pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	all := map[string]pkg{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		all[p.ImportPath] = p
	}
	return all
}

// modulePackages returns the module's own packages out of all, sorted by
// import path.
func modulePackages(all map[string]pkg) []pkg {
	var pkgs []pkg
	for path, p := range all {
		if path == module || strings.HasPrefix(path, module+"/") {
			pkgs = append(pkgs, p)
		}
	}
	slices.SortFunc(pkgs, func(a, b pkg) int { return strings.Compare(a.ImportPath, b.ImportPath) })
	return pkgs
}

var (
	cli    = []string{"github.com/spf13/cobra", "github.com/spf13/pflag"}
	cloud  = []string{"github.com/Azure/azure-sdk-for-go"}
	hsmCgo = []string{"github.com/sassoftware/relic/v8/token", "github.com/miekg/pkcs11"}
)

// rules: packages under a prefix must not depend on packages under any of the
// forbidden prefixes.
var rules = []struct {
	under     string
	forbidden [][]string
}{
	{"smbios", [][]string{cli, cloud, hsmCgo}},
	{"manifest", [][]string{cli, cloud, hsmCgo}},
	{"flight", [][]string{cli, cloud, hsmCgo}},
	{"packager", [][]string{cli, cloud, hsmCgo}},
	{"signer", [][]string{cli, cloud}},
	{"cdn", [][]string{cli, hsmCgo}},
	{"internal", [][]string{cli}},
}

func TestDependencyDirection(t *testing.T) {
	checked := 0
	all := listAll(t)
	for _, p := range modulePackages(all) {
		p.Deps = reachable(p, all)
		rel := strings.TrimPrefix(p.ImportPath, module+"/")
		for _, r := range rules {
			if rel != r.under && !strings.HasPrefix(rel, r.under+"/") {
				continue
			}
			checked++
			for _, group := range r.forbidden {
				for _, bad := range group {
					for _, d := range p.Deps {
						if d == bad || strings.HasPrefix(d, bad+"/") {
							t.Errorf("%s depends on %s; %s must stay free of it", p.ImportPath, d, r.under)
						}
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no package matched any rule: the module path or layout changed")
	}
}
