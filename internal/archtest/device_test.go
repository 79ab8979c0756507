package archtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// deviceSide are the packages a device links: the agent and the libraries
// it is built from. None may link the publishing side.
var deviceSide = []string{
	"cmd/devupdate-agent",
	"internal/agent",
	"internal/agent/config",
	"internal/agent/fetch",
	"internal/agent/handler",
	"internal/agent/jsondoc",
	"internal/agent/report",
	"internal/agent/service",
	"internal/agent/state",
	"internal/agent/tufrepo",
	"internal/failpoint",
	"flight/catalog",
	"signer/authenticode",
	"manifest/update",
	"packager/cabinet",
	"smbios",
	"internal/strictjson",
	"internal/problem",
	"internal/iox",
}

// publishingSide is what a device must not link, each with why; a
// trailing "/..." also forbids the packages below.
var publishingSide = []struct{ pkg, why string }{
	{"github.com/Azure/azure-sdk-for-go/...", "cloud storage SDK (azblob)"},
	{"github.com/miekg/pkcs11/...", "PKCS #11"},
	{module + "/signer/pkcs11/...", "PKCS #11 key source"},
	{"github.com/sassoftware/relic/...", "relic (lib/passprompt does not build for windows/arm64)"},
	{"gopkg.in/yaml.v3/...", "YAML"},
	{"github.com/goccy/go-yaml/...", "YAML"},
	{module + "/internal/problem/yamlpos", "YAML"},
	{module + "/smbios/smbiosyaml", "YAML fields files"},
	{module + "/manifest", "update.yaml loading"},
	{module + "/manifest/inf", ".inf reader"},
	{module + "/manifest/build", "cabinet building"},
	{module + "/smbios/product", "product files"},
	{module + "/packager", "cabinet writer"},
	{"github.com/klauspost/compress/...", "the writer's deflate encoder"},
	{module + "/signer", "signing"},
	{module + "/cdn/...", "publishing"},
	{module + "/flight", "flighting's publishing side (devices read rings through flight/catalog)"},
	{module + "/internal/agent/agenttest", "the agent's test world (flight, signer, packager)"},
}

// TestAgentPackagesAreDeviceSide: every package of the agent is on the
// device-side list (but its test world), so a new one cannot slip past
// TestDeviceSideLinksNoPublishing.
func TestAgentPackagesAreDeviceSide(t *testing.T) {
	for _, p := range modulePackages(listAll(t)) {
		rel := strings.TrimPrefix(p.ImportPath, module+"/")
		if rel != "internal/agent" && !strings.HasPrefix(rel, "internal/agent/") || rel == "internal/agent/agenttest" {
			continue
		}
		if !slices.Contains(deviceSide, rel) {
			t.Errorf("%s is not on the device-side list", rel)
		}
	}
}

func forbidden(dep string) (string, bool) {
	for _, f := range publishingSide {
		if base, sub := strings.CutSuffix(f.pkg, "/..."); sub {
			if dep == base || strings.HasPrefix(dep, base+"/") {
				return f.why, true
			}
		} else if dep == f.pkg {
			return f.why, true
		}
	}
	return "", false
}

// TestDeviceSideLinksNoPublishing: the agent and the device-side
// libraries link none of the publishing side (STYLE.md, "Two sides, one
// direction"). The agent may use cobra; the libraries may not (see
// TestDependencyDirection).
func TestDeviceSideLinksNoPublishing(t *testing.T) {
	all := listAll(t)
	for _, rel := range deviceSide {
		p, ok := all[module+"/"+rel]
		if !ok {
			t.Errorf("device-side package %s is not in the build", rel)
			continue
		}
		for _, d := range reachable(p, all) {
			if why, bad := forbidden(d); bad {
				t.Errorf("%s links %s (%s): the device side must not", rel, d, why)
			}
		}
	}
	// the rule itself catches what it is meant to
	for _, bad := range []string{"gopkg.in/yaml.v3", module + "/manifest", module + "/packager", "github.com/sassoftware/relic/v8/lib/authenticode", module + "/flight"} {
		if _, ok := forbidden(bad); !ok {
			t.Errorf("forbidden(%s) = false", bad)
		}
	}
	for _, fine := range []string{module + "/manifest/update", module + "/packager/cabinet", module + "/signer/authenticode", "golang.org/x/crypto/cryptobyte", module + "/flight/catalog"} {
		if _, ok := forbidden(fine); ok {
			t.Errorf("forbidden(%s) = true", fine)
		}
	}
}

// TestCrossBuilds builds the binaries for the platforms they ship on, with
// CGO_ENABLED=0 (signer/pkcs11 has a stub without cgo): the agent for
// Windows IoT (amd64, arm64) and Linux (amd64, arm64), devupdate for
// windows/amd64, linux/amd64 and linux/arm64.
func TestCrossBuilds(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	for _, tt := range []struct {
		goos, goarch string
		pkgs         []string
	}{
		{"windows", "amd64", []string{"./cmd/devupdate-agent", "./cmd/devupdate"}},
		{"windows", "arm64", []string{"./cmd/devupdate-agent"}},
		{"linux", "amd64", []string{"./cmd/devupdate-agent", "./cmd/devupdate"}},
		{"linux", "arm64", []string{"./cmd/devupdate-agent", "./cmd/devupdate"}},
	} {
		t.Run(tt.goos+"/"+tt.goarch, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command("go", append([]string{"build", "-o", os.DevNull}, tt.pkgs...)...)
			if len(tt.pkgs) > 1 {
				// go build writes nothing for several packages.
				cmd = exec.Command("go", append([]string{"build"}, tt.pkgs...)...)
			}
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+tt.goos, "GOARCH="+tt.goarch)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("GOOS=%s GOARCH=%s go build %v: %v\n%s", tt.goos, tt.goarch, tt.pkgs, err, out)
			}
		})
	}
}
