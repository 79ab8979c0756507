package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/manifest/update"
	"github.com/devupdate/devupdate/signer/devpki"
)

const valid = `{
  // where the rings are served
  "server": "https://cdn.example.com/devupdate/", // trailing comment
  "mirrors": ["https://mirror.example.com/devupdate/"],
  "ring": "Preview",
  "tuf_roots": "roots",
  "authenticode": {"roots": "oem.pem", "subjects": ["Contoso Ltd", "CN=Contoso Ltd,O=Contoso Ltd"]},
  "handlers": {
    "driver": {"command": ["/usr/bin/install-driver", "{inf}", "--name={name}"], "installed": ["/usr/bin/has", "{name}", "{version}"], "timeout": "5m", "reboot_exit_codes": [3010]}
  },
  "scan_interval": "2h",
  "jitter": "15m",
  "inventory": {"Windows.IoT.Core": "10.0.17763.615"},
  "url_with_slashes": "http://x//y"
}`

func TestParseValid(t *testing.T) {
	data := strings.Replace(valid, `,
  "url_with_slashes": "http://x//y"`, "", 1)
	c, err := Parse("agent.json", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if c.Ring != "Preview" || c.ScanInterval != 2*time.Hour || c.Jitter != 15*time.Minute || len(c.Mirrors) != 1 {
		t.Errorf("parsed %+v", c)
	}
	h := c.Handlers[update.KindDriver]
	if h.Timeout != 5*time.Minute || len(h.Installed) != 3 || len(h.RebootExitCodes) != 1 {
		t.Errorf("driver handler %+v", h)
	}
	if v := c.Inventory["Windows.IoT.Core"]; v.String() != "10.0.17763.615" {
		t.Errorf("inventory %v", c.Inventory)
	}
	if c.StateDir != DefaultStateDir() || c.MaxAttempts != DefaultMaxAttempts || c.OSPackage != DefaultOSPackage {
		t.Errorf("defaults not applied: %+v", c)
	}
}

// TestParseProblems: each rule is reported at the value that breaks it,
// all in one run.
func TestParseProblems(t *testing.T) {
	tests := []struct {
		name, doc, field string
		line, col        int
	}{
		{"unknown key", `{"server": "https://a/", "tuf_roots": "r", "authenticode": {"roots": "r", "subjects": ["s"]}, "rnig": "x"}`, "rnig", 1, 103},
		{"bad ring", "{\"server\": \"https://a/\",\n \"ring\": \"a/b\", \"tuf_roots\": \"r\", \"authenticode\": {\"roots\": \"r\", \"subjects\": [\"s\"]}}", "ring", 2, 10},
		{"bad url", `{"server": "ftp://a/", "tuf_roots": "r", "authenticode": {"roots": "r", "subjects": ["s"]}}`, "server", 1, 12},
		{"wrong type", `{"server": "https://a/", "tuf_roots": 3, "authenticode": {"roots": "r", "subjects": ["s"]}}`, "tuf_roots", 1, 39},
		{"missing server", `{"tuf_roots": "r", "authenticode": {"roots": "r", "subjects": ["s"]}}`, "server", 0, 0},
		{"no subjects", `{"server": "https://a/", "tuf_roots": "r", "authenticode": {"roots": "r"}}`, "authenticode.subjects", 0, 0},
		{"unknown kind", `{"server": "https://a/", "tuf_roots": "r", "authenticode": {"roots": "r", "subjects": ["s"]}, "handlers": {"firmware": {"command": ["x"]}}}`, "handlers.firmware", 1, 120},
		{"unknown placeholder", `{"server": "https://a/", "tuf_roots": "r", "authenticode": {"roots": "r", "subjects": ["s"]}, "handlers": {"app": {"command": ["x", "{path}"]}}}`, "handlers.app.command[1]", 1, 133},
		{"bad duration", `{"server": "https://a/", "tuf_roots": "r", "authenticode": {"roots": "r", "subjects": ["s"]}, "scan_interval": "soon"}`, "scan_interval", 1, 112},
		{"jitter over interval", `{"server": "https://a/", "tuf_roots": "r", "authenticode": {"roots": "r", "subjects": ["s"]}, "scan_interval": "1m", "jitter": "2m"}`, "jitter", 1, 128},
		{"bad inventory version", `{"server": "https://a/", "tuf_roots": "r", "authenticode": {"roots": "r", "subjects": ["s"]}, "inventory": {"A.B": "1.2"}}`, `inventory["A.B"]`, 1, 116},
		{"duplicate key", `{"server": "https://a/", "server": "https://b/"}`, "", 0, 0},
		{"not JSON", "{\"server\": \n ]", "", 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("agent.json", []byte(tt.doc))
			if !errors.Is(err, ErrInvalid) || !errors.Is(err, problem.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			ps := problem.As(err)
			found := false
			for _, p := range ps {
				if p.File == "agent.json" && p.Field == tt.field && p.Line == tt.line && p.Col == tt.col {
					found = true
				}
			}
			if !found {
				t.Errorf("no problem at %d:%d for %q in %v", tt.line, tt.col, tt.field, ps)
			}
		})
	}
}

func TestOverride(t *testing.T) {
	c, err := Parse("a.json", []byte(`{"server": "https://a/", "tuf_roots": "r", "authenticode": {"roots": "r", "subjects": ["s"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Override(Overrides{Ring: "EarlyAdopter", Server: "http://127.0.0.1:1/", Mirrors: []string{"http://127.0.0.1:2/"}}); err != nil {
		t.Fatal(err)
	}
	if c.Ring != "EarlyAdopter" || c.BaseURLs()[1] != "http://127.0.0.1:2/" {
		t.Errorf("overrides not applied: %+v", c)
	}
	for _, tt := range []struct {
		o    Overrides
		flag string
	}{
		{Overrides{Ring: "../x"}, "--ring"},
		{Overrides{Server: "file:///x"}, "--server"},
		{Overrides{Mirrors: []string{"x"}}, "--mirror"},
		{Overrides{ProductCHID: "nope"}, "--product-chid"},
	} {
		var oe *OverrideError
		if err := c.Override(tt.o); !errors.As(err, &oe) || oe.Flag != tt.flag {
			t.Errorf("%+v: error %v, want one naming %s", tt.o, err, tt.flag)
		}
	}
}

func TestLoadResolvesAndLoadsRoots(t *testing.T) {
	dir := t.TempDir()
	pki, err := devpki.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.Write(context.Background(), filepath.Join(dir, "pki")); err != nil {
		t.Fatal(err)
	}
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("Preview.root.json", `{"signed": {}}`)
	p := write("agent.json", `{"server": "https://a/", "tuf_roots": ".", "state_dir": "state", "ring": "Preview",
	  "authenticode": {"roots": "pki/root.pem", "subjects": ["s"], "os_vendor_timestamp_roots": "pki/root.pem"}}`)
	c, err := Load(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if c.StateDir != filepath.Join(dir, "state") {
		t.Errorf("state dir %q not resolved against the file", c.StateDir)
	}
	pol, err := c.Policy()
	if err != nil || pol.Roots == nil || pol.UnsafeAllowNonEV || len(pol.RequireSubjects) != 1 || pol.OSVendorTimestampRoots == nil || pol.TimestampRoots != nil {
		t.Errorf("policy %+v, %v", pol, err)
	}
	if root, err := c.RingRoot(context.Background(), "Preview"); err != nil || len(root) == 0 {
		t.Errorf("ring root: %v", err)
	}
	if _, err := c.RingRoot(context.Background(), "GeneralAvailability"); !errors.Is(err, ErrNoRingRoot) {
		t.Errorf("missing ring root: %v", err)
	}
	// A roots file without certificates is a problem at its field.
	write("bad.pem", "nothing")
	p = write("agent2.json", `{"server": "https://a/", "tuf_roots": ".",
	  "authenticode": {"roots": "bad.pem", "subjects": ["s"]}}`)
	_, err = Load(context.Background(), p)
	ps := problem.As(err)
	if len(ps) != 1 || ps[0].Field != "authenticode.roots" || ps[0].Line != 2 || !errors.Is(err, ErrInvalid) {
		t.Errorf("bad roots file: %v", err)
	}
	// An oversized file is refused before it is parsed.
	write("big.json", strings.Repeat(" ", MaxSize+1))
	if _, err := Load(context.Background(), filepath.Join(dir, "big.json")); !errors.Is(err, ErrInvalid) {
		t.Errorf("oversized: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(valid)
	f.Add(`{"server": "https://a/", "tuf_roots": "r", "authenticode": {"roots": "r", "subjects": ["s"]}}`)
	f.Add(`{"handlers": {"os": {"command": []}}, "inventory": {"A.B": "1.0.0.1"}}`)
	f.Add("// only a comment\n{}")
	f.Fuzz(func(t *testing.T, doc string) {
		c, err := Parse("f.json", []byte(doc))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			for _, p := range problem.As(err) {
				if p.File != "f.json" || p.Rule == "" {
					t.Fatalf("problem without file or rule: %+v", p)
				}
			}
			return
		}
		if c.Server == "" || c.TUFRoots == "" || len(c.Authenticode.Subjects) == 0 || c.Ring == "" {
			t.Fatalf("accepted without a required setting: %+v", c)
		}
		if c.Jitter > c.ScanInterval || c.ScanInterval < time.Minute {
			t.Fatalf("accepted pacing %s/%s", c.ScanInterval, c.Jitter)
		}
	})
}

// TestExample: the commented example in examples/agent parses.
func TestExample(t *testing.T) {
	p := filepath.Join("..", "..", "..", "examples", "agent", "config.json")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(p, data)
	if err != nil {
		t.Fatal(err)
	}
	if c.Ring != "GeneralAvailability" || len(c.Mirrors) != 1 || c.Handlers[update.KindOCP].Timeout != 10*time.Minute || c.ReportURL == "" {
		t.Errorf("%+v", c)
	}
}
