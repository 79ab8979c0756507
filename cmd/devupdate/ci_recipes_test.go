package main

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/devupdate/devupdate/flight"
	"github.com/devupdate/devupdate/internal/testtool"
	"github.com/devupdate/devupdate/signer/devpki"
	"github.com/devupdate/devupdate/signer/pkcs11/softhsmtest"
)

// ciStep is one shell step of a CI recipe and the environment it declares
// (the workflow's, the job's and its own, in that order of precedence).
type ciStep struct {
	name, script string
	env          map[string]string
}

// githubJobs reads a GitHub Actions workflow: its jobs' run: steps (uses:
// steps, such as checkout, are the runner's business).
func githubJobs(t *testing.T, data []byte) map[string][]ciStep {
	t.Helper()
	var wf struct {
		Env  map[string]string `yaml:"env"`
		Jobs map[string]struct {
			Env   map[string]string `yaml:"env"`
			Steps []struct {
				Name string            `yaml:"name"`
				Uses string            `yaml:"uses"`
				Run  string            `yaml:"run"`
				Env  map[string]string `yaml:"env"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatal(err)
	}
	out := map[string][]ciStep{}
	for name, job := range wf.Jobs {
		for _, st := range job.Steps {
			if st.Run == "" {
				continue
			}
			out[name] = append(out[name], ciStep{name: st.Name, script: st.Run, env: merge(wf.Env, job.Env, st.Env)})
		}
	}
	return out
}

// azureJobs reads an Azure Pipelines file: its jobs' script: steps, with
// the pipeline's and the job's variables (which Pipelines puts in the
// environment) and each step's env: mapping.
func azureJobs(t *testing.T, data []byte) map[string][]ciStep {
	t.Helper()
	var p struct {
		Variables []struct {
			Group string `yaml:"group"`
			Name  string `yaml:"name"`
			Value string `yaml:"value"`
		} `yaml:"variables"`
		Stages []struct {
			Jobs []struct {
				Job       string            `yaml:"job"`
				Variables map[string]string `yaml:"variables"`
				Steps     []struct {
					Script      string            `yaml:"script"`
					DisplayName string            `yaml:"displayName"`
					Env         map[string]string `yaml:"env"`
				} `yaml:"steps"`
			} `yaml:"jobs"`
		} `yaml:"stages"`
	}
	if err := yaml.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	top := map[string]string{}
	for _, v := range p.Variables {
		if v.Name != "" {
			top[v.Name] = v.Value
		}
	}
	out := map[string][]ciStep{}
	for _, st := range p.Stages {
		for _, job := range st.Jobs {
			for _, s := range job.Steps {
				if s.Script == "" {
					continue
				}
				out[job.Job] = append(out[job.Job], ciStep{name: s.DisplayName, script: s.Script, env: merge(top, job.Variables, s.Env)})
			}
		}
	}
	return out
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// A secret or variable reference in a command line: a GitHub expression, or
// an Azure Pipelines macro $(Name).
var ciReference = regexp.MustCompile(`\$\{\{|\$\([A-Za-z_][A-Za-z0-9_.]*\)`)

// pubOnly is a public key standing for a key that never leaves its token.
type pubOnly struct{ pub crypto.PublicKey }

func (k pubOnly) Public() crypto.PublicKey { return k.pub }
func (k pubOnly) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("the key is on the token")
}

// TestCIRecipes runs the command lines of examples/ci/github-actions.yml
// and examples/ci/azure-pipelines.yml, so that the recipes cannot rot: the
// release job's steps (validate, build, sign with the EV key through
// PKCS#11, publish, add to Preview), then the scheduled refresh, in a copy
// of the example product's repository, with the store a local directory
// and SoftHSM2 as the HSM. Each step gets the environment its recipe
// declares; the values that stand for the OEM's infrastructure or its
// secrets (the store, the PKCS#11 library, the PIN, the keys file) are the
// test's, and a recipe that passes a secret on a command line, or refers to
// one the test does not provide, fails.
func TestCIRecipes(t *testing.T) {
	root := testtool.RepoRoot(t)
	dir := t.TempDir()
	testtool.Need(t, "bash")

	// devupdate on PATH: this test binary acting as the CLI.
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	wrapper := "#!/bin/sh\nexec env " + envRunCLI + "=1 '" + os.Args[0] + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "devupdate"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	base := []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + os.TempDir()}
	cli := func(extra []string, args ...string) string {
		t.Helper()
		cmd := exec.Command(filepath.Join(bin, "devupdate"), args...)
		cmd.Env = append(append([]string{}, base...), extra...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("devupdate %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
		}
		return out.String()
	}

	// The HSM: the EV key generated on the token, never extractable; the
	// OEM's certificate request signed inside it; a TEST-ONLY EV chain
	// issued for that key (what the CA returns).
	const pin = "314159"
	tok := softhsmtest.New(t, filepath.Join(dir, "hsm"), "oem-hsm", pin, "ev-signing")
	hsmEnv := []string{"SOFTHSM2_CONF=" + tok.Conf, "DEVUPDATE_PKCS11_MODULE=" + tok.Module, "DEVUPDATE_PKCS11_PIN=" + pin}
	csrPath := filepath.Join(dir, "ev.csr")
	cli(hsmEnv, "keys", "csr", "--key", "pkcs11:token=oem-hsm;object=ev-signing", "-o", csrPath,
		"--subject", "CN=Contoso Ltd,O=Contoso Ltd,L=Redmond,ST=Washington,C=US,businessCategory=Private Organization,jurisdictionC=US,serialNumber=600413485")
	csrPEM, err := os.ReadFile(csrPath)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(csrPEM)
	if blk == nil {
		t.Fatal("keys csr wrote no PEM")
	}
	csr, err := x509.ParseCertificateRequest(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pki, err := devpki.New(devpki.WithLeafKey(pubOnly{csr.PublicKey}), devpki.WithLeafCommonName("Contoso Ltd TEST-ONLY EV Code Signing"))
	if err != nil {
		t.Fatal(err)
	}
	certPEM := func(cs ...*x509.Certificate) []byte {
		var b []byte
		for _, c := range cs {
			b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
		}
		return b
	}

	// The keys file of the recipes names key references only.
	data, err := os.ReadFile(filepath.Join(root, "examples", "ci", "flight-keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	kf, err := flight.ParseKeysFile("examples/ci/flight-keys.json", data)
	if err != nil {
		t.Fatal(err)
	}
	for _, ring := range flight.DefaultRings() {
		for _, role := range flight.Roles {
			rk := kf.Rings[ring.Name][role]
			if rk == nil || len(rk.Keys) == 0 {
				t.Errorf("examples/ci/flight-keys.json: no %s key for %s", role, ring.Name)
				continue
			}
			for _, ref := range rk.Keys {
				if !strings.HasPrefix(ref, "pkcs11:") && !strings.HasPrefix(ref, "file:") {
					t.Errorf("examples/ci/flight-keys.json: %s %s: %q is not a key reference", ring.Name, role, ref)
				}
			}
		}
	}

	for _, recipe := range []struct {
		file  string
		jobs  func(*testing.T, []byte) map[string][]ciStep
		ci    []string // the variables the CI sets itself
		actor string
	}{
		{"github-actions.yml", githubJobs,
			[]string{"GITHUB_ACTIONS=true", "GITHUB_ACTOR=release-bot", "GITHUB_REPOSITORY=contoso/toaster", "GITHUB_RUN_ID=4242", "GITHUB_REF_NAME=v1.0.0", "GITHUB_SHA=0a1b2c3d"},
			"release-bot (GitHub Actions contoso/toaster run 4242)"},
		{"azure-pipelines.yml", azureJobs,
			[]string{"TF_BUILD=True", "BUILD_REQUESTEDFOREMAIL=release@contoso.example", "BUILD_BUILDID=4242", "BUILD_SOURCEBRANCHNAME=v1.0.0", "BUILD_SOURCEVERSION=0a1b2c3d"},
			"release@contoso.example (Azure Pipelines build 4242)"},
	} {
		t.Run(recipe.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(root, "examples", "ci", recipe.file))
			if err != nil {
				t.Fatal(err)
			}
			jobs := recipe.jobs(t, data)
			var names []string
			for n := range jobs {
				names = append(names, n)
			}
			sort.Strings(names)
			if len(jobs) != 2 {
				t.Fatalf("jobs with shell steps: %v, want the release job and the refresh job", names)
			}

			// The OEM's repository (the example product, its updates, the
			// EV chain), and what the release engineer set up once: the
			// rings on the store, the keys file.
			work := t.TempDir()
			repo := filepath.Join(work, "repo")
			if out, err := exec.Command("cp", "-r", filepath.Join(root, "examples", "contoso-toaster"), repo).CombinedOutput(); err != nil {
				t.Fatalf("cp: %v %s", err, out)
			}
			if err := os.MkdirAll(filepath.Join(repo, "ci"), 0o755); err != nil {
				t.Fatal(err)
			}
			for name, data := range map[string][]byte{"ev-chain.pem": certPEM(pki.Leaf, pki.Intermediate), "oem-roots.pem": certPEM(pki.Root)} {
				if err := os.WriteFile(filepath.Join(repo, "ci", name), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			store := filepath.Join(work, "store")
			cli(nil, "flight", "init", filepath.Join(repo, "product.yaml"), "--store", store, "--dev-keys", filepath.Join(work, "keys"))
			provided := map[string]string{
				"DEVUPDATE_STORE":         store,
				"DEVUPDATE_PKCS11_MODULE": tok.Module,
				"DEVUPDATE_PKCS11_PIN":    pin,
				"DEVUPDATE_FLIGHT_KEYS":   filepath.Join(work, "keys", "keys.json"),
				"AZURE_STORAGE_KEY":       "",
			}
			runJob := func(job string) {
				t.Helper()
				for _, st := range jobs[job] {
					if ciReference.MatchString(st.script) {
						t.Fatalf("%s, %q: a secret or variable reference on a command line:\n%s", job, st.name, st.script)
					}
					env := append(append(append([]string{}, base...), "SOFTHSM2_CONF="+tok.Conf), recipe.ci...)
					keys := make([]string, 0, len(st.env))
					for k := range st.env {
						keys = append(keys, k)
					}
					sort.Strings(keys)
					for _, k := range keys {
						v, ok := provided[k]
						if !ok {
							if v = st.env[k]; ciReference.MatchString(v) {
								t.Fatalf("%s, %q: %s refers to %q, which this test does not provide", job, st.name, k, v)
							}
						}
						env = append(env, k+"="+v)
					}
					cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", st.script)
					cmd.Dir, cmd.Env = repo, env
					if out, err := cmd.CombinedOutput(); err != nil {
						t.Fatalf("%s, %q: %v\n%s\n%s", job, st.name, err, st.script, out)
					}
				}
			}
			release, refresh := names[0], names[1]
			if len(jobs[release]) < len(jobs[refresh]) {
				release, refresh = refresh, release
			}
			runJob(release)

			var status struct {
				Rings []struct {
					Updates []struct {
						Name, Version, State string
						LastChange           struct{ Action, Actor, Reason string } `json:"last_change"`
					}
				}
			}
			if err := json.Unmarshal([]byte(cli(nil, "flight", "status", "--ring", "Preview", "--store", store, "-O", "json")), &status); err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, u := range status.Rings[0].Updates {
				got[u.Name+" "+u.Version] = true
				if u.State != "active" || u.LastChange.Action != "add" || u.LastChange.Actor != recipe.actor || u.LastChange.Reason != "release v1.0.0 (0a1b2c3d)" {
					t.Errorf("Preview: %s %s %s, last change %+v; want active, added by %q for release v1.0.0 (0a1b2c3d)", u.Name, u.Version, u.State, u.LastChange, recipe.actor)
				}
			}
			for _, want := range []string{"Contoso.Toaster.App 1.0.0.3", "Contoso.Toaster.Driver 1.0.0.2", "Contoso.Toaster.Settings 1.0.0.1"} {
				if !got[want] {
					t.Errorf("Preview lacks %s after the release job: %v", want, got)
				}
			}
			// The cabinets carry the HSM key's EV signature.
			out := cli(nil, "verify", filepath.Join(repo, "cabs", "Contoso.Toaster.Driver_1.0.0.2.cab"), "--roots", filepath.Join(repo, "ci", "oem-roots.pem"), "--require-ev", "-O", "json")
			if !strings.Contains(out, `"subject_cn": "Contoso Ltd TEST-ONLY EV Code Signing"`) {
				t.Errorf("the signed cabinet is not the HSM key's: %s", out)
			}

			runJob(refresh)
		})
	}
}
