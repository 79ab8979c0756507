package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/devupdate/devupdate/cmd/internal/cli"
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
	if d := cmp.Diff(want, got); d != "" || !listing.Signature.Reserved {
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
