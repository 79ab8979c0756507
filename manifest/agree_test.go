package manifest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/manifest/update"
)

// agreeFields are the values one fuzz input gives both an update.yaml and
// the update.json it describes.
type agreeFields struct {
	name, kind, version, description, notes string
	reqName, reqVersion, chid, osBuild      string
	inf, pkg                                string
}

// agreeFiles are the file entries of the update.yaml written by
// FuzzYAMLAndJSONAgree: the whole base payload, the OS vendor's signed
// package included (Load checks its signature is present; update.json
// cannot show that, so every input carries one).
const agreeFiles = `files:
  - {source: payload/**, dest: p/}
  - {source: drv/**, dest: d/}
  - {source: app/*.msix, dest: a/}
  - {source: os/Microsoft-OS.cab, dest: os/vendor.cab}
`

// yamlQuote writes s as a YAML double-quoted scalar that means exactly s:
// printable ASCII as is, everything else escaped, so YAML's own limits on
// the characters of a stream do not decide for the rules under test.
func yamlQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		case r <= 0xFFFF:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			fmt.Fprintf(&b, `\U%08X`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func (a agreeFields) yaml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nkind: %s\nversion: %s\ndescription: %s\nrelease_notes: %s\nchids: [%s]\n",
		yamlQuote(a.name), yamlQuote(a.kind), yamlQuote(a.version), yamlQuote(a.description), yamlQuote(a.notes), yamlQuote(a.chid))
	if a.reqName != "" || a.reqVersion != "" {
		fmt.Fprintf(&b, "requires: [{name: %s, min_version: %s}]\n", yamlQuote(a.reqName), yamlQuote(a.reqVersion))
	}
	for _, kv := range [][2]string{{"os_build", a.osBuild}, {"inf", a.inf}, {"package", a.pkg}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, "%s: %s\n", kv[0], yamlQuote(kv[1]))
		}
	}
	b.WriteString(agreeFiles)
	return b.String()
}

// json is the update.json the same fields describe, with files the
// payload's resolved files. A per-kind field names a file by its cabinet
// path, and Windows paths ignore case: the manifest's spelling resolves to
// the payload's, as Load does.
func (a agreeFields) json(files []File) []byte {
	spelled := func(p string) string {
		for _, f := range files {
			if update.FoldPath(f.Path) == update.FoldPath(p) {
				return f.Path
			}
		}
		return p
	}
	doc := map[string]any{
		"schema": Schema, "name": a.name, "kind": a.kind, "version": a.version,
		"description": a.description, "release_notes": a.notes,
		"targets": []string{a.chid}, "files": files,
	}
	if a.reqName != "" || a.reqVersion != "" {
		doc["requires"] = []map[string]string{{"name": a.reqName, "min_version": a.reqVersion}}
	}
	if a.osBuild != "" {
		doc["os_build"] = a.osBuild
	}
	if a.inf != "" {
		doc["inf"] = spelled(a.inf)
	}
	if a.pkg != "" {
		doc["package"] = spelled(a.pkg)
	}
	if a.kind == string(KindOS) {
		doc["vendor_signed"] = true
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// FuzzYAMLAndJSONAgree feeds the same field values to both readers of an
// update, update.yaml (Load) and update.json (ParseUpdateJSON): one
// accepts exactly when the other does, and what both accept is the same
// update, byte for byte in its canonical encoding.
func FuzzYAMLAndJSONAgree(f *testing.F) {
	const chid = productCHID
	seeds := []agreeFields{
		{name: "Contoso.Toaster.Settings", kind: "ocp", version: "1.0.0.1", description: "d", notes: "n", chid: chid},
		{name: "Contoso.Toaster.Driver", kind: "driver", version: "1.0.0.2", chid: chid, inf: "d/toaster.inf", reqName: "Windows.IoT.Core", reqVersion: "10.0.17763.615"},
		{name: "Contoso.Toaster.App", kind: "app", version: "1.0.0.3", chid: "{" + strings.ToUpper(chid) + "}", pkg: "A/Contoso.Toast.MSIX"},
		{name: "Contoso.OS", kind: "os", version: "10.0.17763.1000", chid: chid, osBuild: "10.0.17763.1000"},
		// Each of these was accepted from update.json and refused from
		// update.yaml before the two shared one set of rules.
		{name: "A.B", kind: "ocp", version: "0.0.0.0", chid: chid},
		{name: "A.B", kind: "ocp", version: "1.0.0.1", chid: "00000000-0000-0000-0000-000000000000"},
		{name: "A.B", kind: "ocp", version: "1.0.0.1", chid: chid, reqName: "a.b", reqVersion: "1.0.0.0"},
		{name: "A.B", kind: "ocp", version: "1.0.0.1", chid: chid, description: "bell\a", notes: "esc\x1b"},
		{name: "A.B", kind: "driver", version: "1.0.0.1", chid: chid, inf: "p/a.xml"},
		{name: "A.B", kind: "ocp", version: "1.0.0.1", chid: chid, osBuild: "1.0.0.0", inf: "x"},
	}
	for _, s := range seeds {
		f.Add(s.name, s.kind, s.version, s.description, s.notes, s.reqName, s.reqVersion, s.chid, s.osBuild, s.inf, s.pkg)
	}
	dir := f.TempDir()
	for name, content := range basePayload() {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	manifestPath := filepath.Join(dir, "update.yaml")
	// The payload's files as every input resolves them.
	if err := os.WriteFile(manifestPath, []byte(seeds[0].yaml()), 0o644); err != nil {
		f.Fatal(err)
	}
	base, err := Load(context.Background(), manifestPath)
	if err != nil {
		f.Fatal(err)
	}
	var files []File
	for _, fl := range base.Files {
		files = append(files, File{Path: fl.Path, Size: fl.Size, SHA256: fl.SHA256})
	}

	// The seeds reach both branches: the first four are valid updates of
	// each kind, the others each break one rule.
	for i, s := range seeds {
		if err := os.WriteFile(manifestPath, []byte(s.yaml()), 0o644); err != nil {
			f.Fatal(err)
		}
		_, yerr := Load(context.Background(), manifestPath)
		_, jerr := ParseUpdateJSON("update.json", s.json(files))
		if valid := i < 4; (yerr == nil) != valid || (jerr == nil) != valid {
			f.Fatalf("seed %d: valid = %t, yaml: %v, json: %v", i, valid, yerr, jerr)
		}
	}

	f.Fuzz(func(t *testing.T, name, kind, version, description, notes, reqName, reqVersion, chid, osBuild, inf, pkg string) {
		a := agreeFields{name, kind, version, description, notes, reqName, reqVersion, chid, osBuild, inf, pkg}
		// Both encoders turn invalid UTF-8 into U+FFFD; give both the same text.
		for _, s := range []*string{&a.name, &a.kind, &a.version, &a.description, &a.notes, &a.reqName, &a.reqVersion, &a.chid, &a.osBuild, &a.inf, &a.pkg} {
			*s = strings.ToValidUTF8(*s, string(utf8.RuneError))
		}
		if err := os.WriteFile(manifestPath, []byte(a.yaml()), 0o644); err != nil {
			t.Fatal(err)
		}
		fromYAML, yerr := Load(context.Background(), manifestPath)
		doc := a.json(files)
		fromJSON, jerr := ParseUpdateJSON("update.json", doc)
		for _, err := range []error{yerr, jerr} {
			if err != nil && problem.As(err) == nil {
				t.Fatalf("error is not a problem list: %v", err)
			}
		}
		switch {
		case (yerr == nil) != (jerr == nil):
			t.Fatalf("update.yaml and update.json disagree:\nyaml: %v\n%s\njson: %v\n%s", yerr, a.yaml(), jerr, doc)
		case yerr != nil:
			return
		}
		y, err := fromYAML.EncodeJSON()
		if err != nil {
			t.Fatal(err)
		}
		j, err := fromJSON.EncodeJSON()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(y, j) {
			t.Fatalf("both accepted, different updates:\nyaml: %s\njson: %s", y, j)
		}
	})
}
