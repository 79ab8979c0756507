package update

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/devupdate/devupdate/internal/iox"
	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/smbios"
)

func TestUpdateJSONKeepsUnknownFields(t *testing.T) {
	in := `{"zeta": {"b": [1, 2.50, "x"], "a": null}, "schema": 1, "name": "Contoso.Toaster.App", "kind": "app",
	"version": "1.0.0.3", "targets": ["4162EFF5-3114-538E-86E0-E7617BE93C9A"],
	"files": [{"path": "b.msix", "size": 3, "sha256": "` + strings.Repeat("ab", 32) + `"},
	          {"path": "A/x.txt", "size": 0, "sha256": "` + strings.Repeat("00", 32) + `"}],
	"package": "b.msix", "alpha": "first"}`
	u, err := ParseJSON("update.json", []byte(in))
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

func TestParseJSONProblems(t *testing.T) {
	sha := strings.Repeat("0", 64)
	ok := `"schema": 1, "name": "A.B", "kind": "ocp", "version": "1.0.0.1", "targets": ["4162eff5-3114-538e-86e0-e7617be93c9a"]`
	files := `"files": [{"path": "a", "size": 1, "sha256": "` + sha + `"}]`
	p := func(field, rule string, err error) problem.Problem {
		return problem.Problem{File: "update.json", Field: field, Rule: rule, Err: err}
	}
	tests := []struct {
		name string
		in   string
		want problem.List
	}{
		{"not an object", `[1]`, problem.List{p("", "must be one JSON object", ErrJSONSyntax)}},
		{"syntax", "{\n\"schema\": 1,\n}", problem.List{{File: "update.json", Line: 3, Col: 1, Rule: "invalid character '}' looking for beginning of object key string", Err: ErrJSONSyntax}}},
		{"trailing data", `{` + ok + `, ` + files + `} {}`, problem.List{p("", "must be one JSON object: data after the object", ErrJSONSyntax)}},
		{"duplicate key", `{` + ok + `, ` + files + `, "kind": "os"}`, problem.List{p("", `key "kind" appears twice`, ErrJSONSyntax)}},
		{"not utf-8", "{\"name\": \"\xff\"}", problem.List{p("", "update.json is not valid UTF-8", ErrJSONSyntax)}},
		{"too large", `{"x": "` + strings.Repeat("a", MaxJSONSize) + `"}`, problem.List{p("", "update.json is larger than the 16777216-byte limit", iox.ErrTooLarge)}},
		{"schema missing", `{"name": "A.B", "kind": "ocp", "version": "1.0.0.1", "targets": ["4162eff5-3114-538e-86e0-e7617be93c9a"], ` + files + `}`,
			problem.List{p("schema", "required", ErrRequired)}},
		{"schema future", `{"schema": 2}`, problem.List{p("schema", "2 is not supported (this version reads schema 1)", ErrSchema)}},
		{"version missing", `{"schema": 1, "name": "A.B", "kind": "ocp", "targets": ["4162eff5-3114-538e-86e0-e7617be93c9a"], ` + files + `}`,
			problem.List{p("version", "required (a.b.c.d, each 0-65535)", ErrRequired)}},
		// The rules update.yaml always had, which update.json now obeys too.
		{"version zero", `{` + strings.Replace(ok, "1.0.0.1", "0.0.0.0", 1) + `, ` + files + `}`,
			problem.List{p("version", "0.0.0.0 is not a release version", ErrZeroVersion)}},
		{"all-zero target", `{` + strings.Replace(ok, "4162eff5-3114-538e-86e0-e7617be93c9a", "00000000-0000-0000-0000-000000000000", 1) + `, ` + files + `}`,
			problem.List{p("targets[0]", "the all-zero GUID targets nothing", ErrZeroTarget)}},
		{"requires itself", `{` + ok + `, ` + files + `, "requires": [{"name": "a.B", "min_version": "1.0.0.0"}]}`,
			problem.List{p("requires[0].name", "an update cannot require its own package", ErrRequiresSelf)}},
		{"control characters", `{` + ok + `, ` + files + `, "description": "a\u0007b", "release_notes": "x\u001bz"}`,
			problem.List{
				p("description", "contains control character or invalid UTF-8 U+0007", ErrControlCharacter),
				p("release_notes", "contains control character or invalid UTF-8 U+001B", ErrControlCharacter),
			}},
		{"description too long", `{` + ok + `, ` + files + `, "description": "` + strings.Repeat("x", MaxDescription+1) + `"}`,
			problem.List{p("description", "is 1025 bytes, more than the 1024-byte limit", ErrTextTooLong)}},
		{"products", `{` + ok + `, ` + files + `, "products": ["contoso-toaster", "Contoso Toaster", "contoso-toaster"]}`,
			problem.List{
				p("products[1]", `"Contoso Toaster": product name must be 1-64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit`, ErrProductName),
				p("products[2]", "contoso-toaster is listed twice", ErrDuplicate),
			}},
		{"field rules", `{"schema": 1, "name": "AB", "kind": "firmware", "version": "1.0", "targets": ["x", "4162eff5-3114-538e-86e0-e7617be93c9a", "4162EFF5-3114-538E-86E0-E7617BE93C9A"],
			"requires": [{"name": "X", "min_version": "1.0.0.0"}, {"name": "C.D", "min_version": "1"}, {"name": "C.D", "min_version": "1.0.0.0"}, {"name": "c.d", "min_version": "1.0.0.0"}],
			"files": [{"path": "../a", "size": 1, "sha256": "` + sha + `"}, {"path": "b", "sha256": "` + sha + `"}, {"path": "c", "size": -1, "sha256": "AB"},
			          {"path": "Update.JSON", "size": 1, "sha256": "` + sha + `"}, {"path": "d/", "size": 1, "sha256": "` + sha + `"},
			          {"path": "e", "size": 1, "sha256": "` + sha + `"}, {"path": "E", "size": 1, "sha256": "` + sha + `"}, {"path": "e/f", "size": 1, "sha256": "` + sha + `"}]}`,
			problem.List{
				p("name", `"AB": name must be Owner.Component or Owner.Component.SubComponent: 2 or 3 dot-separated parts, each an ASCII letter followed by letters, digits or underscores, at most 64 characters per part`, ErrName),
				p("kind", `"firmware" is not a kind: one of os, driver, app, ocp`, ErrKind),
				p("version", `"1.0": version must be four dot-separated numbers a.b.c.d, each 0-65535`, ErrVersion),
				p("targets[0]", `"x": not a CHID: want xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, smbios.ErrBadCHID),
				p("targets[2]", "4162eff5-3114-538e-86e0-e7617be93c9a is listed twice", ErrDuplicate),
				p("requires[0].name", `"X": name must be Owner.Component or Owner.Component.SubComponent: 2 or 3 dot-separated parts, each an ASCII letter followed by letters, digits or underscores, at most 64 characters per part`, ErrName),
				p("requires[1].min_version", `"1": version must be four dot-separated numbers a.b.c.d, each 0-65535`, ErrVersion),
				p("requires[2].name", "C.D is required twice", ErrDuplicate),
				p("requires[3].name", "c.d is required twice", ErrDuplicate),
				p("files[0].path", `"../a": path must not contain .. segments`, ErrPathEscape),
				p("files[1].size", "required", ErrRequired),
				p("files[2].size", "must not be negative", ErrSize),
				p("files[2].sha256", "must be 64 lower-case hexadecimal digits", ErrDigest),
				p("files[3].path", `"Update.JSON" is reserved for the update manifest`, ErrReservedPath),
				p("files[4].path", `"d/": path has an empty or . segment`, ErrPathSegment),
				p("files[6].path", `"E" is listed twice (Windows paths ignore case)`, ErrDuplicate),
				p("files", `cabinet path "e" is a file, but "e/f" needs it as a directory`, ErrPathConflict),
			}},
		{"wrong types", `{"schema": 1, "name": 5, "kind": "ocp", "version": "1.0.0.1", "targets": "x", ` + files + `}`,
			problem.List{
				p("name", "json: cannot unmarshal number into Go value of type string", ErrJSONSyntax),
				p("targets", "json: cannot unmarshal string into Go value of type []string", ErrJSONSyntax),
			}},
		{"unknown field in a file entry", `{` + ok + `, "files": [{"path": "a", "size": 1, "sha256": "` + sha + `", "mode": 493}]}`,
			problem.List{p("files", `json: unknown field "mode"`, ErrJSONSyntax)}},
		{"driver without inf", `{` + strings.Replace(ok, "ocp", "driver", 1) + `, ` + files + `}`,
			problem.List{p("inf", "a driver update must name its .inf (its path in the cabinet)", ErrKindField)}},
		{"driver inf not an .inf", `{` + strings.Replace(ok, "ocp", "driver", 1) + `, ` + files + `, "inf": "a"}`,
			problem.List{p("inf", `"a" must have one of the extensions .inf`, ErrKindField)}},
		{"driver inf not a file", `{` + strings.Replace(ok, "ocp", "driver", 1) + `, ` + files + `, "inf": "A.inf"}`,
			problem.List{p("inf", `"A.inf" is not one of the update's files`, ErrNotInPayload)}},
		{"app without package", `{` + strings.Replace(ok, "ocp", "app", 1) + `, ` + files + `}`,
			problem.List{p("package", "an app update must name its package file (.appx, .msix, .appxbundle, .msixbundle)", ErrKindField)}},
		{"os not vendor signed", `{` + strings.Replace(ok, "ocp", "os", 1) + `, ` + files + `, "os_build": "10.0.1.2"}`,
			problem.List{p("vendor_signed", "an OS update is signed by its vendor: vendor_signed must be true", ErrKindField)}},
		{"os build bad", `{` + strings.Replace(ok, "ocp", "os", 1) + `, ` + files + `, "os_build": "10", "vendor_signed": true}`,
			problem.List{p("os_build", `"10": version must be four dot-separated numbers a.b.c.d, each 0-65535`, ErrVersion)}},
		{"per-kind fields on ocp", `{` + ok + `, ` + files + `, "inf": "a", "package": "a", "os_build": "1.0.0.0", "vendor_signed": true}`,
			problem.List{
				p("inf", "is only for kind driver, not ocp", ErrOnlyForKind),
				p("package", "is only for kind app, not ocp", ErrOnlyForKind),
				p("os_build", "is only for kind os, not ocp", ErrOnlyForKind),
				p("vendor_signed", "is only for kind os, not ocp", ErrOnlyForKind),
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseJSON("update.json", []byte(tt.in))
			checkProblems(t, tt.want, err)
		})
	}
}

// checkProblems compares err's problems with want, and checks that each
// carries the typed error want names (errors.Is) and that err unwraps to it.
func checkProblems(t *testing.T, want problem.List, err error) {
	t.Helper()
	got := problem.As(err)
	if got == nil {
		t.Fatalf("err = %v, want a problem.List", err)
	}
	want = append(problem.List(nil), want...)
	want.Sort()
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(problem.Problem{}, "Err")); diff != "" {
		t.Fatalf("problems (-want +got):\n%s", diff)
	}
	for i := range want {
		if !errors.Is(got[i].Err, want[i].Err) {
			t.Errorf("%s: err = %v, want errors.Is %v", got[i], got[i].Err, want[i].Err)
		}
		if !errors.Is(err, want[i].Err) {
			t.Errorf("the list does not unwrap to %v", want[i].Err)
		}
	}
}

func TestReadUpdateJSONIsBounded(t *testing.T) {
	// An endless stream: ReadUpdateJSON must stop after the limit.
	_, err := ReadJSON("update.json", endless{})
	want := problem.List{{File: "update.json", Rule: "update.json is larger than the 16777216-byte limit", Err: iox.ErrTooLarge}}
	checkProblems(t, want, err)
}

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

func FuzzUpdateJSON(f *testing.F) {
	golden, err := filepath.Glob(filepath.Join("..", "testdata", "golden", "*.update.json"))
	if err != nil || len(golden) == 0 {
		f.Fatalf("no golden update.json seeds: %v", err)
	}
	for _, name := range golden {
		doc, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(doc)
	}
	f.Add([]byte(`{"schema":1,"x":{"y":[1,2]},"name":"A.B","kind":"os","version":"1.0.0.1","targets":["4162eff5-3114-538e-86e0-e7617be93c9a"],"files":[{"path":"a","size":1,"sha256":"` + strings.Repeat("0", 64) + `"}],"os_build":"1.0.0.0","vendor_signed":true}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := ParseJSON("update.json", data)
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
		back, err := ParseJSON("update.json", doc)
		if err != nil {
			t.Fatalf("re-parse of the canonical form: %v\n%s", err, doc)
		}
		again, err := back.EncodeJSON()
		if err != nil || !bytes.Equal(doc, again) {
			t.Fatalf("canonical form is not stable: %v\n%s\n---\n%s", err, doc, again)
		}
	})
}
