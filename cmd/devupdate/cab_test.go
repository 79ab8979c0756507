package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/signer/signertest"
)

func TestCabCommands(t *testing.T) {
	src, dir := t.TempDir(), t.TempDir()
	files := map[string]string{"update.json": `{"name":"Contoso.Toaster.Settings"}`, "settings/a.txt": "hello\n", "settings/empty": ""}
	for name, data := range files {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cab := filepath.Join(dir, "x.cab")
	out, stderr, code := run(t, "cab", "create", cab, src, "-O", "json")
	if code != exitOK {
		t.Fatalf("create: exit %d: %s", code, stderr)
	}
	var created struct {
		OK        bool   `json:"ok"`
		File      string `json:"file"`
		Size      int64  `json:"size"`
		SHA256    string `json:"sha256"`
		FileCount int    `json:"file_count"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || !created.OK || created.File != cab || created.FileCount != 3 || len(created.SHA256) != 64 {
		t.Fatalf("create output %q (%v)", out, err)
	}
	if st, err := os.Stat(cab); err != nil || st.Size() != created.Size {
		t.Fatalf("cabinet %v, reported size %d", err, created.Size)
	}

	out, _, code = run(t, "cab", "list", cab, "--output", "json")
	var listing struct {
		Files []struct {
			Name string `json:"name"`
			Size int64  `json:"size"`
		} `json:"files"`
		Signature struct {
			Reserved bool `json:"reserved"`
		} `json:"signature"`
	}
	if code != exitOK || json.Unmarshal([]byte(out), &listing) != nil {
		t.Fatalf("list: exit %d, %q", code, out)
	}
	got := map[string]int64{}
	for _, f := range listing.Files {
		got[f.Name] = f.Size
	}
	want := map[string]int64{"update.json": 35, "settings/a.txt": 6, "settings/empty": 0}
	if d := cmp.Diff(want, got); d != "" || listing.Signature.Reserved {
		t.Errorf("list (-want +got):\n%s reserved=%v", d, listing.Signature.Reserved)
	}

	if out, _, code = run(t, "cab", "test", cab, "-O", "json"); code != exitOK {
		t.Errorf("test: exit %d, %s", code, out)
	}
	outDir := filepath.Join(dir, "out")
	if _, stderr, code = run(t, "cab", "extract", cab, "-C", outDir); code != exitOK {
		t.Fatalf("extract: exit %d, %s", code, stderr)
	}
	for name, data := range files {
		b, err := os.ReadFile(filepath.Join(outDir, filepath.FromSlash(name)))
		if err != nil || string(b) != data {
			t.Errorf("extracted %s = %q, %v; want %q", name, b, err, data)
		}
	}
	// A second extraction refuses to overwrite: exit 1.
	if _, _, code = run(t, "cab", "extract", cab, "-C", outDir); code != exitFailed {
		t.Errorf("extract over existing files: exit %d, want %d", code, exitFailed)
	}

	// A corrupt cabinet fails the test with a JSON report and exit 1.
	raw, _ := os.ReadFile(cab)
	raw[len(raw)-10] ^= 0xFF
	bad := filepath.Join(dir, "bad.cab")
	if err := os.WriteFile(bad, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code = run(t, "cab", "test", bad, "-O", "json")
	var rep struct {
		OK    bool       `json:"ok"`
		Error *cli.Error `json:"error"`
	}
	if code != exitFailed || json.Unmarshal([]byte(out), &rep) != nil || rep.OK || rep.Error == nil || rep.Error.Code != "checksum_mismatch" || stderr != "" {
		t.Errorf("test of a corrupt cabinet: exit %d, out %q, stderr %q", code, out, stderr)
	}
}

func TestCabUsage(t *testing.T) {
	for _, args := range [][]string{
		{"cab"}, {"cab", "list"}, {"cab", "test", "a", "b"}, {"cab", "create", "x.cab"},
		{"cab", "create", "x.cab", ".", "--compression", "lzx"},
	} {
		if _, _, code := run(t, args...); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
	}
}

// TestNamesReachNoTerminal: file names in a cabinet are attacker's text;
// `cab list` (and every command) prints them with what a terminal would
// act on escaped: escape sequences (clear the screen, set the title), C1
// controls, bidirectional overrides, line breaks that forge a line, bytes
// that are not UTF-8. JSON keeps the names (by JSON's escapes).
func TestNamesReachNoTerminal(t *testing.T) {
	names := []string{
		"\x1b]0;owned\x07\x1b[2Jscreen.txt",
		"invoice\u202etxt.exe",
		"c1\u009bcontrol",
		"line\n           0  2025-01-01 00:00:00  forged.sys",
		"bad\xffutf8",
	}
	var files []signertest.File
	for _, n := range names {
		files = append(files, signertest.File{Name: n, Data: []byte("x")})
	}
	cab := signertest.StoredCabinet(t, filepath.Join(t.TempDir(), "hostile.cab"), false, files...)
	stdout, stderr, code := run(t, "cab", "list", cab)
	if code != exitOK {
		t.Fatalf("cab list: exit %d: %s", code, stderr)
	}
	for _, c := range stdout {
		if c != '\n' && (unicode.IsControl(c) || !unicode.IsPrint(c)) || c == utf8.RuneError {
			t.Errorf("cab list printed %U:\n%q", c, stdout)
		}
	}
	if lines := strings.Count(stdout, "\n"); lines != len(names)+1 {
		t.Errorf("cab list printed %d lines, want %d (a name forged a line):\n%s", lines, len(names)+1, stdout)
	}
	for _, want := range []string{`\x1b]0;owned\a\x1b[2Jscreen.txt`, `invoice\u202etxt.exe`, `c1\u009bcontrol`, `line\n`, `bad\xffutf8`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("cab list does not show %s:\n%s", want, stdout)
		}
	}

	stdout, _, code = run(t, "cab", "list", cab, "-O", "json")
	var listing struct {
		Files []struct {
			Name string `json:"name"`
		} `json:"files"`
	}
	if code != exitOK || json.Unmarshal([]byte(stdout), &listing) != nil || len(listing.Files) != len(names) {
		t.Fatalf("cab list -O json: exit %d, %q", code, stdout)
	}
	for i, f := range listing.Files {
		if want := strings.ToValidUTF8(names[i], "\uFFFD"); f.Name != want {
			t.Errorf("JSON name %q, want %q", f.Name, want)
		}
	}
}

// TestCabCreateRefusesWhatBuildRefuses: cab create stores a directory's
// files under the same path rules as build: a device name, a trailing dot
// and names that differ only in case are refused, and nothing is written.
func TestCabCreateRefusesWhatBuildRefuses(t *testing.T) {
	for _, names := range [][]string{{"CON"}, {"a."}, {"dir/aux.txt"}, {"a.txt", "A.TXT"}} {
		src := t.TempDir()
		for _, n := range names {
			p := filepath.Join(src, filepath.FromSlash(n))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		cab := filepath.Join(t.TempDir(), "x.cab")
		out, _, code := run(t, "cab", "create", cab, src, "-O", "json")
		var rep struct {
			Error *cli.Error `json:"error"`
		}
		if code != exitFailed || json.Unmarshal([]byte(out), &rep) != nil || rep.Error == nil || rep.Error.Code != "invalid_name" {
			t.Errorf("cab create of %q: exit %d, %s; want invalid_name", names, code, out)
		}
		if _, err := os.Stat(cab); err == nil {
			t.Errorf("cab create of %q wrote %s", names, cab)
		}
	}
}
