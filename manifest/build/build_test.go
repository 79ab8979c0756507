package build

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/internal/testtool"
	"github.com/devupdate/devupdate/manifest"
	"github.com/devupdate/devupdate/packager"
)

var examples = []string{"settings", "driver", "app"}

func examplePath(t testing.TB, name string) string {
	return filepath.Join(testtool.RepoRoot(t), "examples", "contoso-toaster", "updates", name, "update.yaml")
}

func load(t testing.TB, path string) *manifest.Update {
	t.Helper()
	u, err := manifest.Load(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestExamplesExtractWithCabextract builds each example update and has the
// independent cabextract test and extract the cabinet: it must hold exactly
// the payload files, byte for byte, plus the update.json that EncodeJSON
// gives, which ParseUpdateJSON reads back.
func TestExamplesExtractWithCabextract(t *testing.T) {
	cabextract := testtool.Need(t, "cabextract")
	for _, name := range examples {
		t.Run(name, func(t *testing.T) {
			u := load(t, examplePath(t, name))
			res, err := Cabinet(context.Background(), u, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Base(res.Path) != u.Name+"_"+u.Version.String()+".cab" {
				t.Errorf("cabinet name %s", res.Path)
			}
			if out, err := exec.Command(cabextract, "-t", res.Path).CombinedOutput(); err != nil {
				t.Fatalf("cabextract -t: %v\n%s", err, out)
			}
			dir := t.TempDir()
			if out, err := exec.Command(cabextract, "-q", "-d", dir, res.Path).CombinedOutput(); err != nil {
				t.Fatalf("cabextract -d: %v\n%s", err, out)
			}
			want := map[string][]byte{}
			for _, f := range u.Files {
				b, err := os.ReadFile(f.Source)
				if err != nil {
					t.Fatal(err)
				}
				want[f.Path] = b
			}
			doc, err := u.EncodeJSON()
			if err != nil {
				t.Fatal(err)
			}
			want[manifest.UpdateJSONName] = doc
			got := readTree(t, dir)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("extracted files (-want +got):\n%s", diff)
			}
			back, err := manifest.ParseUpdateJSON("update.json", got[manifest.UpdateJSONName])
			if err != nil {
				t.Fatal(err)
			}
			if back.Name != u.Name || back.Version != u.Version || len(back.Files) != len(u.Files) {
				t.Errorf("update.json read back as %+v", back)
			}
		})
	}
}

func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	got := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		got[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestBuildIsDeterministic builds every example twice, from two separate
// loads into two directories and with different concurrency: the bytes
// must be identical. SOURCE_DATE_EPOCH decides the file times.
func TestBuildIsDeterministic(t *testing.T) {
	const epoch = 1700000000 // 2023-11-14T22:13:20Z, an even second (MS-DOS times have 2-second steps)
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	for _, name := range examples {
		t.Run(name, func(t *testing.T) {
			a, err := Cabinet(context.Background(), load(t, examplePath(t, name)), t.TempDir(), WithConcurrency(1))
			if err != nil {
				t.Fatal(err)
			}
			b, err := Cabinet(context.Background(), load(t, examplePath(t, name)), t.TempDir(), WithConcurrency(4))
			if err != nil {
				t.Fatal(err)
			}
			ab, bb := readFile(t, a.Path), readFile(t, b.Path)
			if !bytes.Equal(ab, bb) || a.SHA256 != b.SHA256 {
				t.Fatalf("two builds differ: %s vs %s", a.SHA256, b.SHA256)
			}
			// The same sources in another directory give the same bytes:
			// nothing of the build host ends up in the cabinet.
			c, err := Cabinet(context.Background(), load(t, copyExample(t, name)), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if c.SHA256 != a.SHA256 {
				t.Fatalf("a copy of the example elsewhere builds to %s, not %s", c.SHA256, a.SHA256)
			}
			cab, err := packager.OpenFile(a.Path)
			if err != nil {
				t.Fatal(err)
			}
			defer cab.Close()
			for _, e := range cab.Files() {
				if !e.Modified.Equal(time.Unix(epoch, 0)) {
					t.Errorf("%s modified %v, want SOURCE_DATE_EPOCH %v", e.Name, e.Modified, time.Unix(epoch, 0).UTC())
				}
			}
		})
	}
	// Another epoch gives other bytes: the time really comes from it.
	t.Setenv("SOURCE_DATE_EPOCH", "1600000000")
	c, err := Cabinet(context.Background(), load(t, examplePath(t, "driver")), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	d, err := Cabinet(context.Background(), load(t, examplePath(t, "driver")), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if c.SHA256 == d.SHA256 {
		t.Error("SOURCE_DATE_EPOCH did not change the cabinet")
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBuildNeverOverwritesADifferentCabinet(t *testing.T) {
	dir := t.TempDir()
	u := load(t, examplePath(t, "settings"))
	first, err := Cabinet(context.Background(), u, dir)
	if err != nil {
		t.Fatal(err)
	}
	if first.Existed {
		t.Error("first build reports Existed")
	}
	before := readFile(t, first.Path)

	again, err := Cabinet(context.Background(), u, dir)
	if err != nil {
		t.Fatalf("rebuilding the same bytes: %v", err)
	}
	if !again.Existed || again.SHA256 != first.SHA256 || again.Size != first.Size {
		t.Errorf("rebuild = %+v, want Existed with the same digest", again)
	}

	u.Description = "changed without a version bump"
	_, err = Cabinet(context.Background(), u, dir)
	var ee *ExistsError
	if !errors.As(err, &ee) || !errors.Is(err, ErrExists) || ee.Path != first.Path {
		t.Fatalf("err = %v, want *ExistsError for %s", err, first.Path)
	}
	if !bytes.Equal(before, readFile(t, first.Path)) {
		t.Error("the existing cabinet was modified")
	}
	assertOnly(t, dir, filepath.Base(first.Path))
}

// assertOnly checks that dir holds exactly the names given: no temporary
// file is left behind.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	slices.Sort(names)
	if diff := cmp.Diff(names, got); diff != "" {
		t.Errorf("directory entries (-want +got):\n%s", diff)
	}
}

// copyExample copies an example update and the product it uses into a
// fresh directory, so a test can change the payload.
func copyExample(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join(testtool.RepoRoot(t), "examples", "contoso-toaster")
	dst := t.TempDir()
	for _, rel := range []string{"product.yaml", filepath.Join("updates", name)} {
		err := filepath.WalkDir(filepath.Join(src, rel), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			r, _ := filepath.Rel(src, p)
			if d.IsDir() {
				return os.MkdirAll(filepath.Join(dst, r), 0o755)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dst, r), b, 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dst, "updates", name, "update.yaml")
}

func TestBuildRefusesAPayloadChangedAfterLoad(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    error
	}{
		{"same size, other bytes", "MZ" + string(bytes.Repeat([]byte{'x'}, 108)), ErrPayloadChanged},
		{"shorter", "MZ", ErrPayloadChanged},
		{"longer", string(bytes.Repeat([]byte{'x'}, 111)), packager.ErrSizeMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := copyExample(t, "driver")
			u := load(t, m)
			sys := filepath.Join(filepath.Dir(m), "payload", "toaster.sys")
			if len(readFile(t, sys)) != 110 {
				t.Fatal("example toaster.sys is no longer 110 bytes; adjust the test")
			}
			if err := os.WriteFile(sys, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			_, err := Cabinet(context.Background(), u, out)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			assertOnly(t, out)
		})
	}
}

func TestManifestsWritesNothingWhenAManifestIsInvalid(t *testing.T) {
	good := copyExample(t, "settings")
	bad := filepath.Join(t.TempDir(), "update.yaml")
	if err := os.WriteFile(bad, []byte("name: Contoso\nkind: ocp\nversion: 1.0.0.1\nchids: ["+
		"4162eff5-3114-538e-86e0-e7617be93c9a]\nfiles: [{source: nothing/**}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "cabs")
	res, err := Manifests(context.Background(), []string{good, bad}, out)
	if len(res) != 2 || !errors.Is(res[0].Err, ErrNotBuilt) || problem.As(res[1].Err) == nil || res[1].Manifest != bad {
		t.Errorf("results = %+v, want the good manifest not built and the bad one with its problems", res)
	}
	want := problem.List{
		{File: bad, Line: 1, Col: 7, Field: "name", Rule: `"Contoso": ` + manifest.ErrName.Error(), Err: manifest.ErrName},
		{File: bad, Line: 5, Col: 18, Field: "files[0].source", Rule: `"nothing/**" matches no files`},
	}
	if diff := cmp.Diff(want, problem.As(err), cmpopts.IgnoreFields(problem.Problem{}, "Err")); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if !errors.Is(err, manifest.ErrName) {
		t.Errorf("err does not unwrap to ErrName: %v", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("output directory was created: %v", err)
	}
}

func TestManifestsBuildsEach(t *testing.T) {
	var paths []string
	for _, name := range examples {
		paths = append(paths, examplePath(t, name))
	}
	out := t.TempDir()
	res, err := Manifests(context.Background(), paths, out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range res {
		names = append(names, filepath.Base(r.Path))
	}
	want := []string{"Contoso.Toaster.Settings_1.0.0.1.cab", "Contoso.Toaster.Driver_1.0.0.2.cab", "Contoso.Toaster.App_1.0.0.3.cab"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("cabinets (-want +got):\n%s", diff)
	}
	assertOnly(t, out, want...)
}
