package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/internal/problem"
)

func exampleUpdate(name string) string {
	return filepath.Join("..", "..", "examples", "contoso-toaster", "updates", name, "update.yaml")
}

type builtCabinet struct {
	File   string `json:"file"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	State  string `json:"state"`
}

type buildItem struct {
	File    string        `json:"file"`
	OK      bool          `json:"ok"`
	Error   *cli.Error    `json:"error"`
	Cabinet *builtCabinet `json:"cabinet"`
}

func TestBuildJSONOne(t *testing.T) {
	dir := t.TempDir()
	out, stderr, code := run(t, "build", exampleUpdate("driver"), "-o", dir, "--output", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rep := decode[batchReport[buildItem]](t, out)
	if !rep.OK || len(rep.Results) != 1 || rep.Results[0].Cabinet == nil {
		t.Fatalf("report %+v: want one result, an array even for one manifest", rep)
	}
	data, err := os.ReadFile(filepath.Join(dir, "Contoso.Toaster.Driver_1.0.0.2.cab"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	want := builtCabinet{filepath.Join(dir, "Contoso.Toaster.Driver_1.0.0.2.cab"), int64(len(data)), hex.EncodeToString(sum[:]), "written"}
	if r := rep.Results[0]; *r.Cabinet != want || r.File != exampleUpdate("driver") || !r.OK {
		t.Errorf("result = %+v %+v, want %+v", r, *r.Cabinet, want)
	}
}

func TestBuildJSONSeveral(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "cabs")
	out, stderr, code := run(t, "build", exampleUpdate("settings"), exampleUpdate("app"), "-o", dir, "-O", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rs := decode[batchReport[buildItem]](t, out).Results
	if len(rs) != 2 || filepath.Base(rs[0].Cabinet.File) != "Contoso.Toaster.Settings_1.0.0.1.cab" || filepath.Base(rs[1].Cabinet.File) != "Contoso.Toaster.App_1.0.0.3.cab" {
		t.Errorf("results = %+v", rs)
	}
}

func TestBuildReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	const bad = "testdata/manifest/bad-update.yaml"
	_, stderr, code := run(t, "build", bad, exampleUpdate("app"), "-o", dir)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d", code, exitFailed)
	}
	wantText := exampleUpdate("app") + `: not built: other manifests given with it have problems
` + bad + `:1:1: inf: a driver update must name its .inf (its path in the cabinet)
` + bad + `:3:10: version: "1.0.0.99999": version must be four dot-separated numbers a.b.c.d, each 0-65535
` + bad + `:7:11: files[0].dest: "driver" must end with / (a directory) because source "payload/**" is a pattern
devupdate: 3 problems in 1 file
`
	if diff := cmp.Diff(wantText, stderr); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("wrote %d file(s) despite the problems", len(ents))
	}

	out, _, code := run(t, "build", bad, "-o", dir, "--output", "json")
	if code != exitFailed {
		t.Fatalf("exit %d, want %d", code, exitFailed)
	}
	rep := decode[batchReport[buildItem]](t, out)
	if rep.OK || rep.Error == nil || rep.Error.Code != "invalid_input" || len(rep.Problems) != 3 || rep.Problems[1] != (problem.Problem{File: bad, Line: 3, Col: 10, Field: "version",
		Rule: `"1.0.0.99999": version must be four dot-separated numbers a.b.c.d, each 0-65535`}) {
		t.Errorf("report = %+v", rep)
	}
	if len(rep.Results) != 1 || rep.Results[0].OK || rep.Results[0].Error.Code != "invalid_input" {
		t.Errorf("results = %+v, want the bad manifest's", rep.Results)
	}
}

func TestBuildNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "Contoso.Toaster.App_1.0.0.3.cab")
	if err := os.WriteFile(target, []byte("someone else's cabinet"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := run(t, "build", exampleUpdate("app"), "-o", dir)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d (stderr %s)", code, exitFailed, stderr)
	}
	if b, _ := os.ReadFile(target); string(b) != "someone else's cabinet" {
		t.Error("existing cabinet was overwritten")
	}
	// The same bytes again are fine.
	if err := os.Remove(target); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, stderr, code := run(t, "build", exampleUpdate("app"), "-o", dir); code != exitOK {
			t.Fatalf("build %d: exit %d: %s", i, code, stderr)
		}
	}
}

func TestBuildUsage(t *testing.T) {
	for _, args := range [][]string{{"build"}, {"build", "x.yaml", "-o", ""}, {"manifest"}, {"manifest", "validate"}} {
		if _, _, code := run(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

func TestManifestValidate(t *testing.T) {
	out, stderr, code := run(t, "manifest", "validate", exampleUpdate("settings"), exampleUpdate("driver"), "--output", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	type update struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		INF     string `json:"inf"`
	}
	rep := decode[batchReport[struct {
		File   string `json:"file"`
		OK     bool   `json:"ok"`
		Update update `json:"update"`
	}]](t, out)
	if !rep.OK || len(rep.Results) != 2 || rep.Results[1].Update.Name != "Contoso.Toaster.Driver" || rep.Results[1].Update.INF != "driver/toaster.inf" || rep.Results[1].File != exampleUpdate("driver") {
		t.Errorf("report = %+v", rep)
	}
	out, _, code = run(t, "manifest", "validate", exampleUpdate("app"))
	if want := exampleUpdate("app") + ": Contoso.Toaster.App 1.0.0.3 (app): ok, 1 file(s), 1 target(s)\n"; code != exitOK || out != want {
		t.Errorf("exit %d, output %q, want %q", code, out, want)
	}
	if _, _, code := run(t, "manifest", "validate", "testdata/manifest/bad-update.yaml"); code != exitFailed {
		t.Errorf("bad manifest: exit %d, want %d", code, exitFailed)
	}
}

// TestBuildAfterSigningInPlace: the cabinet signed in place by `sign` is
// the same build plus a signature; building again leaves it and succeeds.
func TestBuildAfterSigningInPlace(t *testing.T) {
	dir := t.TempDir()
	flags := devPKI(t, filepath.Join(dir, "pki"))
	if _, stderr, code := run(t, "build", exampleUpdate("app"), "-o", dir); code != exitOK {
		t.Fatalf("build: %s", stderr)
	}
	cab := filepath.Join(dir, "Contoso.Toaster.App_1.0.0.3.cab")
	if _, stderr, code := run(t, append([]string{"sign", cab}, flags...)...); code != exitOK {
		t.Fatalf("sign: %s", stderr)
	}
	signed, err := os.ReadFile(cab)
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, code := run(t, "build", exampleUpdate("app"), "-o", dir, "-O", "json")
	if code != exitOK {
		t.Fatalf("build again after signing: exit %d: %s %s", code, out, stderr)
	}
	sum := sha256.Sum256(signed)
	r := decode[batchReport[buildItem]](t, out).Results[0]
	if r.Cabinet == nil || r.Cabinet.State != "unchanged" || r.Cabinet.SHA256 != hex.EncodeToString(sum[:]) || r.Cabinet.Size != int64(len(signed)) {
		t.Errorf("result %+v, want the signed cabinet unchanged", r.Cabinet)
	}
	if again, _ := os.ReadFile(cab); !bytes.Equal(again, signed) {
		t.Error("the signed cabinet was modified")
	}
	// A signed cabinet whose cabinet bytes differ is not this build.
	signed[len(signed)/4] ^= 1
	if err := os.WriteFile(cab, signed, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, code := run(t, "build", exampleUpdate("app"), "-o", dir); code != exitFailed {
		t.Errorf("build over an altered signed cabinet: exit %d, want %d", code, exitFailed)
	}
}
