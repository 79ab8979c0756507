package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/cmd/internal/cli/clitest"
	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/internal/agent/agenttest"
	"github.com/devupdate/devupdate/internal/agent/state"
)

// device is a device of the example product (its golden device dump) in a
// ring of w: its configuration file, state directory and test handler.
type device struct {
	w       *agenttest.World
	cfg     string
	state   string
	handler string // the handler's directory: ran.log and markers
}

// handlers is the configuration of a Linux test handler that appends
// "NAME VERSION" to ran.log once it has done its work (a marker file its
// installed check looks for) and exits with exit.
func handlers(dir string, check bool, exit int) string {
	cmd := fmt.Sprintf(`["/bin/sh", "-c", "touch \"$3/$1_$2\" && echo \"$1 $2\" >>\"$3/ran.log\"; exit %d", "handler", "{name}", "{version}", %q]`, exit, dir)
	h := `{"command": ` + cmd
	if check {
		h += fmt.Sprintf(`, "installed": ["/bin/sh", "-c", "test -f \"$3/$1_$2\"", "check", "{name}", "{version}", %q]`, dir)
	}
	h += `, "timeout": "1m"}`
	return fmt.Sprintf(`, "handlers": {"ocp": %s, "driver": %s, "app": %s}, "smbios": %q`, h, h, h, "GOLDEN")
}

func newDevice(t *testing.T, w *agenttest.World, ring string, check bool, exit int, extra string) *device {
	t.Helper()
	d := &device{w: w, state: filepath.Join(t.TempDir(), "state"), handler: t.TempDir()}
	h := strings.Replace(handlers(d.handler, check, exit), "GOLDEN", agenttest.Repo(t, agenttest.GoldenDevice), 1)
	d.cfg = w.WriteConfig(ring, d.state, h+extra)
	return d
}

func (d *device) runs(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(d.handler, "ran.log"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

func (d *device) record(t *testing.T) *state.Record {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(d.state, state.RecordFile))
	if err != nil {
		t.Fatal(err)
	}
	r, err := state.Parse("state.json", data)
	if err != nil {
		t.Fatalf("the record is not consistent: %v", err)
	}
	return r
}

type jsonReport struct {
	OK    bool `json:"ok"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Device *struct {
		ID       string `json:"id"`
		IDSource string `json:"id_source"`
	} `json:"device"`
	Ring    string `json:"ring"`
	Updates []struct {
		Name    string   `json:"name"`
		Version string   `json:"version"`
		Applies bool     `json:"applies"`
		Reason  string   `json:"reason"`
		After   []string `json:"after"`
	} `json:"updates"`
	Installations []struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Outcome string `json:"outcome"`
		Error   *struct {
			Code string `json:"code"`
		} `json:"error"`
	} `json:"installations"`
	Installed []struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Source  string `json:"source"`
	} `json:"installed"`
	LastScan *struct {
		OK bool `json:"ok"`
	} `json:"last_scan"`
	Problems []json.RawMessage `json:"problems"`
}

func runJSON(t *testing.T, want int, args ...string) jsonReport {
	t.Helper()
	code, out, stderr := run(t, append(args, "-O", "json")...)
	if code != want || stderr != "" {
		t.Fatalf("%v: exit %d (want %d), stderr %q\n%s", args, code, want, stderr, out)
	}
	var r jsonReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: not one JSON document: %v\n%s", args, err, out)
	}
	if r.OK != (code == exitOK) {
		t.Errorf("%v: ok %v with exit %d", args, r.OK, code)
	}
	return r
}

// TestScanInstallStatus: the three commands on a served ring, in JSON and
// text.
func TestScanInstallStatus(t *testing.T) {
	w := agenttest.New(t)
	w.Add("Preview", w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Settings", Version: "1.0.0.1"}), 100, nil)
	d := newDevice(t, w, "Preview", true, 0, "")

	scan := runJSON(t, exitOK, "scan", "--config", d.cfg)
	if len(scan.Updates) != 1 || !scan.Updates[0].Applies || scan.Ring != "Preview" || scan.Device.IDSource != "smbios" {
		t.Errorf("scan: %+v", scan)
	}
	inst := runJSON(t, exitOK, "install", "--config", d.cfg)
	if len(inst.Installations) != 1 || inst.Installations[0].Outcome != "installed" {
		t.Errorf("install: %+v", inst)
	}
	st := runJSON(t, exitOK, "status", "--config", d.cfg)
	found := false
	for _, p := range st.Installed {
		found = found || p.Name == "Contoso.Toaster.Settings" && p.Version == "1.0.0.1" && p.Source == "agent"
	}
	if !found || st.LastScan == nil || !st.LastScan.OK || st.Device.ID != "e2577a1e-0030-554e-8000-c01705000042" {
		t.Errorf("status: %+v", st)
	}
	// Text: one line per update; nothing on stderr.
	code, out, stderr := run(t, "scan", "--config", d.cfg)
	if code != exitOK || stderr != "" || !strings.Contains(out, "no       Contoso.Toaster.Settings 1.0.0.1 (ocp): version not higher than the installed one") {
		t.Errorf("scan text (exit %d, stderr %q):\n%s", code, stderr, out)
	}
	code, out, _ = run(t, "status", "--config", d.cfg)
	if code != exitOK || !strings.Contains(out, "Contoso.Toaster.Settings 1.0.0.1 (agent, Preview") {
		t.Errorf("status text (exit %d):\n%s", code, out)
	}
	// The ring flag overrides the file.
	ga := runJSON(t, exitOK, "scan", "--config", d.cfg, "--ring", "GeneralAvailability")
	if ga.Ring != "GeneralAvailability" || len(ga.Updates) != 0 {
		t.Errorf("--ring: %+v", ga)
	}
	// Nothing for the device: the lists are [], not null.
	for _, tt := range []struct{ cmd, list string }{{"scan", `"updates": []`}, {"install", `"installations": []`}} {
		if code, out, _ := run(t, tt.cmd, "--config", d.cfg, "--ring", "GeneralAvailability", "-O", "json"); code != exitOK || !strings.Contains(out, tt.list) {
			t.Errorf("%s of an empty ring (exit %d), want %s:\n%s", tt.cmd, code, tt.list, out)
		}
	}
}

// TestAgentJSONGolden holds the JSON report of every agent command (scan,
// install, status, version) and of two failures, a handler's and a
// configuration's: one golden file per command under testdata/json, each
// reviewed by hand.
func TestAgentJSONGolden(t *testing.T) {
	w := agenttest.New(t)
	settings := w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Settings", Version: "1.0.0.1"})
	firmware := w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Firmware", Version: "2.0.0.0"})
	w.Add("Preview", settings, 100, nil)
	w.Add("Preview", firmware, 100, nil)
	w.Set("Preview", "Contoso.Toaster.Firmware", "2.0.0.0", catalog.ActionPause, 0)
	d := newDevice(t, w, "Preview", true, 0, "")
	failing := newDevice(t, w, "Preview", false, 3, "")
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte("{\n  \"server\": \"https://a/\",\n  \"rign\": \"Preview\"\n}"), 0o644); err != nil {
		t.Fatal(err)
	}
	marks := append(clitest.Digests(t, settings, firmware),
		filepath.Dir(d.state), "$DEVICE", filepath.Dir(failing.state), "$FAILING", filepath.Dir(bad), "$TMP", agenttest.Repo(t, ""), "$REPO",
		`"version": "`+cli.Version(buildVersion)+`"`, `"version": "<version>"`, runtime.GOOS+"/"+runtime.GOARCH, "<os>/<arch>")
	for _, tt := range []struct {
		golden string
		args   []string
		code   int
	}{
		// Settings applies; Firmware is paused.
		{"scan", []string{"scan", "--config", d.cfg}, exitOK},
		{"install", []string{"install", "--config", d.cfg}, exitOK},
		{"status", []string{"status", "--config", d.cfg}, exitOK},
		{"version", []string{"version"}, exitOK},
		{"install-handler-failed", []string{"install", "--config", failing.cfg}, exitFailed},
		{"scan-invalid-config", []string{"scan", "--config", bad}, exitFailed},
	} {
		t.Run(tt.golden, func(t *testing.T) {
			code, out, stderr := run(t, append(tt.args, "-O", "json")...)
			if code != tt.code || stderr != "" {
				t.Errorf("exit %d (want %d), stderr %q", code, tt.code, stderr)
			}
			clitest.Golden(t, "json/"+tt.golden+".json", clitest.Normalize(out, marks...))
		})
	}
}

// TestInstallFails: a failing handler is exit 1, its code in JSON, its line
// and the summary on stderr in text.
func TestInstallFails(t *testing.T) {
	w := agenttest.New(t)
	w.Add("Preview", w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Settings", Version: "1.0.0.1"}), 100, nil)
	d := newDevice(t, w, "Preview", false, 3, "")
	r := runJSON(t, exitFailed, "install", "--config", d.cfg)
	if r.Error == nil || r.Error.Code != "handler_failed" || len(r.Installations) != 1 || r.Installations[0].Error.Code != "handler_failed" {
		t.Errorf("%+v", r)
	}
	d2 := newDevice(t, w, "Preview", false, 3, "")
	code, out, stderr := run(t, "install", "--config", d2.cfg)
	if code != exitFailed || out != "" || !strings.HasPrefix(stderr, "Contoso.Toaster.Settings 1.0.0.1: ") ||
		!strings.HasSuffix(stderr, "devupdate-agent: 1 of 1 updates failed; first: "+strings.TrimPrefix(strings.SplitN(stderr, "\n", 2)[0], "Contoso.Toaster.Settings 1.0.0.1: ")+"\n") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}

func TestAgentUsageAndConfigErrors(t *testing.T) {
	w := agenttest.New(t)
	d := newDevice(t, w, "Preview", false, 0, "")
	for _, tt := range []struct {
		args []string
		flag string
	}{
		{[]string{"scan", "--config", d.cfg, "--ring", "a/b"}, "--ring"},
		{[]string{"scan", "--config", ""}, "--config"},
		{[]string{"install", "--config", d.cfg, "--mirror", "ftp://x"}, "--mirror"},
		{[]string{"install", "--config", d.cfg, "--server", "nope"}, "--server"},
		{[]string{"scan", "--config", d.cfg, "--product-chid", "x"}, "--product-chid"},
		{[]string{"run", "--config", d.cfg, "--smbios", ""}, "--smbios"},
		{[]string{"scan", "extra"}, "extra"},
	} {
		code, out, stderr := run(t, tt.args...)
		if code != exitUsage || out != "" || !strings.Contains(stderr, tt.flag) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", tt.args, code, out, stderr)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte("{\n  \"server\": \"https://a/\",\n  \"rign\": \"Preview\"\n}"), 0o644)
	r := runJSON(t, exitFailed, "scan", "--config", bad)
	if r.Error == nil || r.Error.Code != "invalid_config" || len(r.Problems) == 0 {
		t.Errorf("bad config: %+v", r)
	}
	code, _, stderr := run(t, "scan", "--config", bad)
	if code != exitFailed || !strings.Contains(stderr, bad+":3:11: rign: unknown key") {
		t.Errorf("bad config, text: exit %d, %q", code, stderr)
	}
	r = runJSON(t, exitFailed, "scan", "--config", filepath.Join(t.TempDir(), "missing.json"))
	if r.Error == nil || r.Error.Code != "not_found" || !strings.Contains(r.Error.Message, EnvConfig) {
		t.Errorf("missing config: %+v", r)
	}
	// A corrupt state record is refused, named, and left as it was.
	if err := os.MkdirAll(d.state, 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(d.state, state.RecordFile), []byte(`{"schema": 1, "installed": {"A.B": 7}}`), 0o600)
	r = runJSON(t, exitFailed, "install", "--config", d.cfg)
	if r.Error == nil || r.Error.Code != "corrupt_state" {
		t.Errorf("corrupt state: %+v", r)
	}
	if data, _ := os.ReadFile(filepath.Join(d.state, state.RecordFile)); string(data) != `{"schema": 1, "installed": {"A.B": 7}}` {
		t.Errorf("corrupt record changed: %s", data)
	}
}

// agentProcess starts this test binary as devupdate-agent.
func agentProcess(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), envRunCLI+"=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &out, &errb
}

// TestRunStopsOnSIGTERM: the service loop installs, then stops cleanly on
// SIGTERM with exit 0 and one JSON document.
func TestRunStopsOnSIGTERM(t *testing.T) {
	w := agenttest.New(t)
	w.Add("Preview", w.Cabinet(agenttest.Cab{Name: "Contoso.Toaster.Settings", Version: "1.0.0.1"}), 100, nil)
	d := newDevice(t, w, "Preview", true, 0, "")
	cmd, out, errb := agentProcess(t, "run", "--config", d.cfg, "-O", "json")
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if data, err := os.ReadFile(filepath.Join(d.state, state.RecordFile)); err == nil {
			if r, err := state.Parse("state.json", data); err == nil && len(r.Installed) == 1 {
				break
			}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("nothing installed\n%s%s", out, errb)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var r jsonReport
	if err != nil || json.Unmarshal(out.Bytes(), &r) != nil || !r.OK || errb.Len() != 0 {
		t.Errorf("after SIGTERM: %v, stdout %q, stderr %q", err, out, errb)
	}
	if got := d.runs(t); len(got) != 1 {
		t.Errorf("handler runs %v", got)
	}
}
