package manifest

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/devupdate/devupdate/internal/problem"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var examples = []string{"settings", "driver", "app"}

func loadExample(t testing.TB, name string) *Update {
	t.Helper()
	u, err := Load(context.Background(), filepath.Join("..", "examples", "contoso-toaster", "updates", name, "update.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestGoldenUpdateJSON pins the canonical update.json of the example
// updates. The golden files were reviewed by hand; refresh them only with
// -update, and review the diff.
func TestGoldenUpdateJSON(t *testing.T) {
	for _, name := range examples {
		t.Run(name, func(t *testing.T) {
			got, err := loadExample(t, name).EncodeJSON()
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "golden", name+".update.json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("update.json (-golden +got):\n%s", diff)
			}
		})
	}
}

func TestUpdateJSONRoundTrip(t *testing.T) {
	for _, name := range examples {
		t.Run(name, func(t *testing.T) {
			u := loadExample(t, name)
			doc, err := u.EncodeJSON()
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParseUpdateJSON("update.json", doc)
			if err != nil {
				t.Fatal(err)
			}
			// Everything but the host paths survives.
			for i := range u.Files {
				u.Files[i].Source = ""
			}
			if diff := cmp.Diff(u, back); diff != "" {
				t.Errorf("ParseUpdateJSON(EncodeJSON(u)) (-u +got):\n%s", diff)
			}
			again, err := back.EncodeJSON()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(doc, again) {
				t.Errorf("re-encoding changed the bytes:\n%s\n---\n%s", doc, again)
			}
			if bytes.Contains(doc, []byte("/work/")) || bytes.Contains(doc, []byte("payload/")) {
				t.Errorf("update.json holds a host path:\n%s", doc)
			}
		})
	}
}

func TestUpdateJSONKeepsUnknownFields(t *testing.T) {
	in := `{"zeta": {"b": [1, 2.50, "x"], "a": null}, "schema": 1, "name": "Contoso.Toaster.App", "kind": "app",
	"version": "1.0.0.3", "targets": ["4162EFF5-3114-538E-86E0-E7617BE93C9A"],
	"files": [{"path": "b.msix", "size": 3, "sha256": "` + strings.Repeat("ab", 32) + `"},
	          {"path": "A/x.txt", "size": 0, "sha256": "` + strings.Repeat("00", 32) + `"}],
	"package": "b.msix", "alpha": "first"}`
	u, err := ParseUpdateJSON("update.json", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	got, err := u.EncodeJSON()
	if err != nil {
		t.Fatal(err)
	}
	// Written by hand: keys sorted, unknown ones kept verbatim (only
	// re-indented), files sorted by path, CHIDs in lower case.
	want := `{
  "alpha": "first",
  "files": [
    {
      "path": "A/x.txt",
      "size": 0,
      "sha256": "` + strings.Repeat("00", 32) + `"
    },
    {
      "path": "b.msix",
      "size": 3,
      "sha256": "` + strings.Repeat("ab", 32) + `"
    }
  ],
  "kind": "app",
  "name": "Contoso.Toaster.App",
  "package": "b.msix",
  "schema": 1,
  "targets": [
    "4162eff5-3114-538e-86e0-e7617be93c9a"
  ],
  "version": "1.0.0.3",
  "zeta": {
    "b": [
      1,
      2.50,
      "x"
    ],
    "a": null
  }
}
`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("EncodeJSON (-want +got):\n%s", diff)
	}
}

func TestParseUpdateJSONProblems(t *testing.T) {
	sha := strings.Repeat("0", 64)
	ok := `"schema": 1, "name": "A.B", "kind": "ocp", "version": "1.0.0.1", "targets": ["4162eff5-3114-538e-86e0-e7617be93c9a"]`
	files := `"files": [{"path": "a", "size": 1, "sha256": "` + sha + `"}]`
	p := func(field, rule string) problem.Problem {
		return problem.Problem{File: "update.json", Field: field, Rule: rule}
	}
	tests := []struct {
		name string
		in   string
		want problem.List
	}{
		{"not an object", `[1]`, problem.List{p("", "update.json must be a JSON object")}},
		{"syntax", "{\n\"schema\": 1,\n}", problem.List{{File: "update.json", Line: 3, Col: 1, Rule: "invalid character '}' looking for beginning of object key string"}}},
		{"trailing data", `{` + ok + `, ` + files + `} {}`, problem.List{p("", "update.json has data after its object")}},
		{"duplicate key", `{` + ok + `, ` + files + `, "kind": "os"}`, problem.List{p("", `key "kind" appears twice`)}},
		{"not utf-8", "{\"name\": \"\xff\"}", problem.List{p("", "update.json is not valid UTF-8")}},
		{"too large", `{"x": "` + strings.Repeat("a", MaxUpdateJSONSize) + `"}`, problem.List{p("", "update.json is larger than the 16777216-byte limit")}},
		{"schema missing", `{"name": "A.B", "kind": "ocp", "version": "1.0.0.1", "targets": ["4162eff5-3114-538e-86e0-e7617be93c9a"], ` + files + `}`,
			problem.List{p("schema", "required")}},
		{"schema future", `{"schema": 2}`, problem.List{p("schema", "2 is not supported (this version reads schema 1)")}},
		{"field rules", `{"schema": 1, "name": "AB", "kind": "firmware", "version": "1.0", "targets": ["x", "4162eff5-3114-538e-86e0-e7617be93c9a", "4162EFF5-3114-538E-86E0-E7617BE93C9A"],
			"requires": [{"name": "X", "min_version": "1.0.0.0"}, {"name": "C.D", "min_version": "1"}, {"name": "C.D", "min_version": "1.0.0.0"}, {"name": "c.d", "min_version": "1.0.0.0"}],
			"files": [{"path": "../a", "size": 1, "sha256": "` + sha + `"}, {"path": "b", "sha256": "` + sha + `"}, {"path": "c", "size": -1, "sha256": "AB"},
			          {"path": "Update.JSON", "size": 1, "sha256": "` + sha + `"}, {"path": "d/", "size": 1, "sha256": "` + sha + `"},
			          {"path": "e", "size": 1, "sha256": "` + sha + `"}, {"path": "E", "size": 1, "sha256": "` + sha + `"}, {"path": "e/f", "size": 1, "sha256": "` + sha + `"}]}`,
			problem.List{
				p("name", `"AB": `+ErrName.Error()),
				p("kind", `"firmware" is not a kind: one of os, driver, app, ocp`),
				p("version", `"1.0": `+ErrVersion.Error()),
				p("targets[0]", parseCHIDError("x")),
				p("targets[2]", "4162eff5-3114-538e-86e0-e7617be93c9a is listed twice"),
				p("requires[0].name", `"X": `+ErrName.Error()),
				p("requires[1].min_version", `"1": `+ErrVersion.Error()),
				p("requires[3].name", "c.d is required twice"),
				p("files[0].path", `"../a": `+ErrPathEscape.Error()),
				p("files[1].size", "required, and must not be negative"),
				p("files[2].size", "required, and must not be negative"),
				p("files[2].sha256", "must be 64 lower-case hexadecimal digits"),
				p("files[3].path", `"Update.JSON" is reserved for the update manifest`),
				p("files[4].path", `"d/": `+ErrPathSegment.Error()),
				p("files[6].path", `"E" is listed twice (Windows paths ignore case)`),
				p("files", `cabinet path "e" is a file, but "e/f" needs it as a directory`),
			}},
		{"wrong types", `{"schema": 1, "name": 5, "kind": "ocp", "version": "1.0.0.1", "targets": "x", ` + files + `}`,
			problem.List{
				p("name", "json: cannot unmarshal number into Go value of type string"),
				p("name", `"": `+ErrName.Error()),
				p("targets", "json: cannot unmarshal string into Go value of type []string"),
				p("targets", "an update needs at least one target CHID"),
			}},
		{"unknown field in a file entry", `{` + ok + `, "files": [{"path": "a", "size": 1, "sha256": "` + sha + `", "mode": 493}]}`,
			problem.List{
				p("files", `json: unknown field "mode"`),
				p("files", "an update needs at least one file"),
			}},
		{"driver without inf", `{` + strings.Replace(ok, "ocp", "driver", 1) + `, ` + files + `}`, problem.List{p("inf", "a driver update must name its .inf")}},
		{"driver inf not a file", `{` + strings.Replace(ok, "ocp", "driver", 1) + `, ` + files + `, "inf": "A"}`, problem.List{p("inf", `"A" is not one of the files`)}},
		{"app without package", `{` + strings.Replace(ok, "ocp", "app", 1) + `, ` + files + `}`, problem.List{p("package", "an app update must name its package file")}},
		{"os not vendor signed", `{` + strings.Replace(ok, "ocp", "os", 1) + `, ` + files + `, "os_build": "10.0.1.2"}`,
			problem.List{p("vendor_signed", "an OS update is signed by its vendor: vendor_signed must be true")}},
		{"os build bad", `{` + strings.Replace(ok, "ocp", "os", 1) + `, ` + files + `, "os_build": "10", "vendor_signed": true}`,
			problem.List{p("os_build", `"10": `+ErrVersion.Error())}},
		{"per-kind fields on ocp", `{` + ok + `, ` + files + `, "inf": "a", "package": "a", "os_build": "1.0.0.0", "vendor_signed": true}`,
			problem.List{p("inf", "is only for kind driver"), p("package", "is only for kind app"), p("os_build", "is only for kind os"), p("vendor_signed", "is only for kind os")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseUpdateJSON("update.json", []byte(tt.in))
			var got problem.List
			if !errors.As(err, &got) {
				t.Fatalf("err = %v, want a problem.List", err)
			}
			want := append(problem.List(nil), tt.want...)
			want.Sort()
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadUpdateJSONIsBounded(t *testing.T) {
	// An endless stream: ReadUpdateJSON must stop after the limit.
	_, err := ReadUpdateJSON("update.json", endless{})
	want := problem.List{{File: "update.json", Rule: "update.json is larger than the 16777216-byte limit"}}
	if diff := cmp.Diff(want, problem.As(err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

func FuzzUpdateJSON(f *testing.F) {
	for _, name := range examples {
		doc, err := loadExample(f, name).EncodeJSON()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(doc)
	}
	f.Add([]byte(`{"schema":1,"x":{"y":[1,2]},"name":"A.B","kind":"os","version":"1.0.0.1","targets":["4162eff5-3114-538e-86e0-e7617be93c9a"],"files":[{"path":"a","size":1,"sha256":"` + strings.Repeat("0", 64) + `"}],"os_build":"1.0.0.0","vendor_signed":true}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := ParseUpdateJSON("update.json", data)
		if err != nil {
			if l := problem.As(err); len(l) == 0 {
				t.Fatalf("error is not a non-empty problem.List: %v", err)
			}
			return
		}
		// Whatever is accepted encodes canonically and reads back the same.
		doc, err := u.EncodeJSON()
		if err != nil {
			t.Fatalf("EncodeJSON of an accepted document: %v", err)
		}
		back, err := ParseUpdateJSON("update.json", doc)
		if err != nil {
			t.Fatalf("re-parse of the canonical form: %v\n%s", err, doc)
		}
		again, err := back.EncodeJSON()
		if err != nil || !bytes.Equal(doc, again) {
			t.Fatalf("canonical form is not stable: %v\n%s\n---\n%s", err, doc, again)
		}
	})
}
