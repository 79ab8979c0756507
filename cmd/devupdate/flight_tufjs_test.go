package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/internal/testtool"
)

// serveStore starts `devupdate serve` (this test binary acting as it) on a
// free loopback port and returns its base URL; the process is interrupted
// when the test ends.
func (fx *flightFixture) serveStore() string {
	t := fx.t
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--store", fx.storeURL, "--addr", "127.0.0.1:0", "-O", "json")
	cmd.Env = append(append(os.Environ(), envRunCLI+"=1"), fx.env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	var ready struct {
		OK  bool   `json:"ok"`
		URL string `json:"url"`
	}
	if err := json.NewDecoder(stdout).Decode(&ready); err != nil || !ready.OK || ready.URL == "" {
		t.Fatalf("devupdate serve did not report its address: %v %+v\n%s", err, ready, stderr.String())
	}
	return ready.URL
}

// tufjsDevice is a device whose TUF client is tuf-js (Node), with default
// settings, keeping its trusted metadata between scans like a device.
type tufjsDevice struct {
	fx                      *flightFixture
	node, script            string
	metaDir, targetDir      string
	metadataURL, targetsURL string
}

type tufjsResult struct {
	OK      bool   `json:"ok"`
	Found   bool   `json:"found"`
	Length  int64  `json:"length"`
	SHA256  string `json:"sha256"`
	Error   string `json:"error"`
	Message string `json:"message"`
	Custom  struct {
		Rollout catalog.Rollout `json:"rollout"`
		Change  catalog.Change  `json:"change"`
	} `json:"custom"`
	out string
}

func (fx *flightFixture) tufjsDevice(node, base, ring string) *tufjsDevice {
	t := fx.t
	t.Helper()
	d := &tufjsDevice{fx: fx, node: node, script: filepath.Join("testdata", "tufjs", "client.js"),
		metaDir: t.TempDir(), targetDir: t.TempDir(),
		metadataURL: base + "/" + catalog.RingDir(ring) + "/" + fx.chid, targetsURL: base + "/" + catalog.TargetsDir}
	root, err := os.ReadFile(filepath.Join(fx.dir, "roots", ring+".root.json")) // what the device image ships
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d.metaDir, "root.json"), root, 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

// scan refreshes and downloads target; it returns what tuf-js reported.
func (d *tufjsDevice) scan(target string) tufjsResult {
	t := d.fx.t
	t.Helper()
	out := filepath.Join(d.targetDir, target)
	_ = os.Remove(out)
	req, _ := json.Marshal(map[string]string{"metadataDir": d.metaDir, "metadataBaseUrl": d.metadataURL,
		"targetDir": d.targetDir, "targetBaseUrl": d.targetsURL, "target": target, "out": out})
	cmd := exec.Command(d.node, d.script, string(req))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var res tufjsResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("tuf-js client: %v (%v)\nstdout: %s\nstderr: %s", err, runErr, stdout.String(), stderr.String())
	}
	if res.OK != (runErr == nil) {
		t.Fatalf("tuf-js client reported ok=%v but exited with %v", res.OK, runErr)
	}
	res.out = out
	return res
}

// TestFlightTUFJS: a TUF client other than go-tuf — tuf-js, with its default
// settings — reads a ring made by the flight commands and served by
// devupdate serve: it walks from the shipped root, finds the target with
// its signed entry, downloads the published cabinet's bytes, sees a later
// rollout and promotion, and refuses a replayed older timestamp and another
// ring's metadata.
func TestFlightTUFJS(t *testing.T) {
	node := testtool.Need(t, "node")
	if _, err := os.Stat(filepath.Join(testtool.RepoRoot(t), "node_modules", "tuf-js", "package.json")); err != nil {
		testtool.Missing(t, "tuf-js (npm, package.json)")
	}
	fx := newFlightFixture(t, filepath.Join(t.TempDir(), "store"))
	cab := fx.cab("Contoso.Toaster.Js", "1.0.0.1")
	const target = "Contoso.Toaster.Js_1.0.0.1.cab"
	fx.run(0, "flight", "add", cab, "--ring", "Preview", "--roots", fx.roots, "--rollout", "50", "--reason", "first flight")
	base := fx.serveStore()

	// The published blob: what every device must end up with.
	sum := sha256sum(t, cab)
	rc, _, err := fx.store.Get(t.Context(), cdn.BlobKey(sum), cdn.Range{})
	if err != nil {
		t.Fatal(err)
	}
	var blob bytes.Buffer
	_, err = blob.ReadFrom(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	preview := fx.tufjsDevice(node, base, "Preview")
	check := func(what string, res tufjsResult, state catalog.State, percent int, action catalog.Action) {
		t.Helper()
		if !res.OK || !res.Found {
			t.Fatalf("%s: tuf-js: %+v", what, res)
		}
		got, err := os.ReadFile(res.out)
		if err != nil || !bytes.Equal(got, blob.Bytes()) || res.SHA256 != sum || res.Length != int64(blob.Len()) {
			t.Errorf("%s: downloaded %d bytes (%v), sha256 %s length %d; want the published blob %s, %d bytes", what, len(got), err, res.SHA256, res.Length, sum, blob.Len())
		}
		if res.Custom.Rollout != (catalog.Rollout{State: state, Percent: percent}) || res.Custom.Change.Action != action {
			t.Errorf("%s: entry %+v, want %s %d%% after %s", what, res.Custom, state, percent, action)
		}
	}
	check("first scan", preview.scan(target), catalog.Active, 50, catalog.ActionAdd)
	tsKey := catalog.RingDir("Preview") + "/" + fx.chid + "/timestamp.json"
	oldTS := readKey(t, fx.store, tsKey)

	fx.run(0, "flight", "rollout", "Contoso.Toaster.Js", "1.0.0.1", "--ring", "Preview", "--percent", "100", "--reason", "no regressions")
	check("after rollout", preview.scan(target), catalog.Active, 100, catalog.ActionRollout)
	fx.run(0, "flight", "promote", "Contoso.Toaster.Js", "1.0.0.1", "--to", "EarlyAdopter", "--rollout", "20", "--reason", "soaked")
	ea := fx.tufjsDevice(node, base, "EarlyAdopter")
	check("promoted", ea.scan(target), catalog.Active, 20, catalog.ActionPromote)
	if res := fx.tufjsDevice(node, base, "GeneralAvailability").scan(target); !res.OK || res.Found {
		t.Errorf("a GeneralAvailability device: %+v, want the target absent", res)
	}

	curTS := readKey(t, fx.store, tsKey)
	replace := func(data []byte) {
		t.Helper()
		info, err := fx.store.Stat(t.Context(), tsKey)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fx.store.Replace(t.Context(), tsKey, bytes.NewReader(data), info.Props, info.ETag); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("replayed older timestamp", func(t *testing.T) {
		replace(oldTS)
		defer replace(curTS)
		if res := preview.scan(target); res.OK || res.Error != "BadVersionError" {
			t.Errorf("tuf-js: %+v, want BadVersionError", res)
		}
	})
	t.Run("another ring's metadata", func(t *testing.T) {
		replace(readKey(t, fx.store, catalog.RingDir("EarlyAdopter")+"/"+fx.chid+"/timestamp.json"))
		defer replace(curTS)
		if res := preview.scan(target); res.OK || res.Error != "UnsignedMetadataError" {
			t.Errorf("tuf-js: %+v, want UnsignedMetadataError", res)
		}
		fresh := fx.tufjsDevice(node, base, "Preview")
		if res := fresh.scan(target); res.OK || res.Error != "UnsignedMetadataError" {
			t.Errorf("tuf-js from the shipped root: %+v, want UnsignedMetadataError", res)
		}
	})
	// Restored, the device reads on.
	check("restored", preview.scan(target), catalog.Active, 100, catalog.ActionRollout)
}

func readKey(t *testing.T, s cdn.Store, key string) []byte {
	t.Helper()
	rc, _, err := s.Get(t.Context(), key, cdn.Range{})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(rc); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
