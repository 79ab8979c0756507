package manifest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/packager"
	"github.com/devupdate/devupdate/smbios"
)

// productYAML is the example product; its HardwareID-3 was computed
// independently (Python uuid + hashlib over the UTF-16LE field string
// "Contoso&Kitchen Appliances&Toaster 3000&TST-3000-EU&Contoso&TB-01").
const productYAML = `name: contoso-toaster
smbios:
  manufacturer: Contoso
  family: Kitchen Appliances
  product_name: Toaster 3000
  sku: TST-3000-EU
  baseboard_manufacturer: Contoso
  baseboard_product: TB-01
`

const productCHID = "4162eff5-3114-538e-86e0-e7617be93c9a"

const goodINF = `[Version]
Signature = "$WINDOWS NT$"
CatalogFile = toaster.cat
[SourceDisksNames]
1 = %Disk%,,,""
[SourceDisksFiles]
toaster.sys = 1
[Install.NT]
CopyFiles = @toaster.sys
[Strings]
Disk = "Toaster disk"
`

// fixture writes files (slash paths relative to a fresh directory) and
// returns the directory.
func fixture(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// utf16le encodes s as a UTF-16LE file with its byte-order mark, as
// Windows tools write INF files.
func utf16le(s string) string {
	b := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return string(b)
}

// cabError is the packager's own message for data that is not a cabinet.
func cabError(data string) string {
	_, err := packager.Open(strings.NewReader(data), int64(len(data)))
	return err.Error()
}

// parseCHIDError is the smbios package's own message for s, which the
// problem carries unchanged.
func parseCHIDError(s string) string {
	_, err := smbios.ParseCHID(s)
	return err.Error()
}

func basePayload() map[string]string {
	return map[string]string{
		"product.yaml":           productYAML,
		"payload/a.xml":          "<a/>\n",
		"payload/sub/b.xml":      "<b/>\n",
		"drv/toaster.inf":        goodINF,
		"drv/toaster.sys":        "MZ sys",
		"drv/toaster.cat":        "0 cat",
		"app/Contoso.Toast.msix": "PK msix",
		"os/update.bin":          "os bits",
		"os/Microsoft-OS.cab":    vendorCab(true),
		"os/unsigned.cab":        vendorCab(false),
	}
}

// vendorCab returns a small cabinet written by the packager, with an
// Authenticode signature appended (its bytes only: the manifest checks that
// a signature is there, the signer verifies it) when signed is true.
func vendorCab(signed bool) string {
	var b bytes.Buffer
	files := []packager.File{{Name: "Microsoft-OS.mum", Size: 2, Open: func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("os")), nil
	}}}
	if _, err := packager.Write(context.Background(), &b, files); err != nil {
		panic(err)
	}
	cab := b.Bytes()
	if signed {
		// CFHEADER reserve (MS-CAB 2.1 with the Authenticode layout): the
		// signature size is the uint32 at offset 48; its offset (44) already
		// points at the end of the cabinet.
		sig := bytes.Repeat([]byte{0x30}, 64)
		binary.LittleEndian.PutUint32(cab[48:], uint32(len(sig)))
		cab = append(cab, sig...)
	}
	return string(cab)
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestLoadResolvesFiles(t *testing.T) {
	files := basePayload()
	files["update.yaml"] = `name: Contoso.Toaster.Settings
kind: ocp
version: 1.0.0.10
products: [product.yaml]
chids: ["{AAAAAAAA-0000-5000-8000-000000000001}", ` + productCHID + `]
requires:
  - {name: Windows.IoT.Core, min_version: 10.0.17763.615}
  - {name: Contoso.Base, min_version: 1.0.0.0}
files:
  - source: payload/**
    dest: settings/
  - source: payload/a.xml
    dest: top.xml
  - source: payload/a.xml
  - source: drv/*.sys
`
	dir := fixture(t, files)
	u, err := Load(context.Background(), filepath.Join(dir, "update.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	extra, _ := smbios.ParseCHID("aaaaaaaa-0000-5000-8000-000000000001")
	prod, _ := smbios.ParseCHID(productCHID)
	want := &Update{
		Name: "Contoso.Toaster.Settings", Kind: KindOCP, Version: Version{1, 0, 0, 10},
		Products: []string{"contoso-toaster"},
		Targets:  []smbios.CHID{prod, extra},
		Requires: []Requirement{{Name: "Contoso.Base", MinVersion: Version{1, 0, 0, 0}}, {Name: "Windows.IoT.Core", MinVersion: Version{10, 0, 17763, 615}}},
		Files: []File{
			{Path: "a.xml", Size: 5, SHA256: sum("<a/>\n"), Source: filepath.Join(dir, "payload/a.xml")},
			{Path: "settings/a.xml", Size: 5, SHA256: sum("<a/>\n"), Source: filepath.Join(dir, "payload/a.xml")},
			{Path: "settings/sub/b.xml", Size: 5, SHA256: sum("<b/>\n"), Source: filepath.Join(dir, "payload/sub/b.xml")},
			{Path: "toaster.sys", Size: 6, SHA256: sum("MZ sys"), Source: filepath.Join(dir, "drv/toaster.sys")},
			{Path: "top.xml", Size: 5, SHA256: sum("<a/>\n"), Source: filepath.Join(dir, "payload/a.xml")},
		},
	}
	if diff := cmp.Diff(want, u); diff != "" {
		t.Errorf("Load (-want +got):\n%s", diff)
	}
}

func TestLoadKinds(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want func(*Update) bool
	}{
		{"driver", "kind: driver\nfiles: [{source: drv/**, dest: driver/}]\ninf: driver/TOASTER.inf\n",
			func(u *Update) bool { return u.INF == "driver/toaster.inf" && len(u.Files) == 3 && !u.VendorSigned }},
		{"app", "kind: app\nfiles: [{source: app/*.msix, dest: app/}]\npackage: app/Contoso.Toast.msix\n",
			func(u *Update) bool { return u.Package == "app/Contoso.Toast.msix" && !u.VendorSigned }},
		{"os", "kind: os\nfiles: [{source: os/update.bin}, {source: os/Microsoft-OS.cab}]\nos_build: 10.0.17763.1000\n",
			func(u *Update) bool { return u.VendorSigned && u.OSBuild == Version{10, 0, 17763, 1000} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := basePayload()
			files["update.yaml"] = "name: Contoso.Toaster.X\nversion: 1.2.3.4\nproducts: [product.yaml]\n" + tt.yaml
			dir := fixture(t, files)
			u, err := Load(context.Background(), filepath.Join(dir, "update.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.want(u) {
				t.Errorf("unexpected update: %+v", u)
			}
		})
	}
}

// TestLoadProblems checks every rule: each case is a manifest (and extra
// payload files) and exactly the problems it must produce.
func TestLoadProblems(t *testing.T) {
	const head = "name: Contoso.Toaster.X\nkind: ocp\nversion: 1.0.0.1\nproducts: [product.yaml]\n"
	const files = "files: [{source: payload/**, dest: s/}]\n"
	p := func(line, col int, field, rule string) problem.Problem {
		return problem.Problem{File: "update.yaml", Line: line, Col: col, Field: field, Rule: rule}
	}
	tests := []problemCase{
		{"unknown key", head + files + "colour: red\n", nil, problem.List{p(6, 1, "colour",
			`unknown key "colour" (known: chids, description, files, inf, kind, name, os_build, package, products, release_notes, requires, version)`)}},
		// A typo no longer hides the other problems: every one in one run.
		{"typos and other problems", "name: Contoso\n" + head[len("name: Contoso.Toaster.X\n"):] + files + "descripton: x\nrelease_note: y\n", nil,
			problem.List{
				p(1, 7, "name", `"Contoso": `+ErrName.Error()),
				p(6, 1, "descripton", `unknown key "descripton": did you mean description?`),
				p(7, 1, "release_note", `unknown key "release_note": did you mean release_notes?`),
			}},
		{"syntax error", head + files + "description: a: b\n", nil, problem.List{p(6, 14, "description", "yaml: mapping value is not allowed in this context")}},
		// A value of the wrong type is one problem at the value: not also
		// "required", "no files" or "no targets".
		{"wrong types", "name: Contoso.Toaster.X\nkind: [ocp]\nversion: [1]\nproducts: product.yaml\nfiles: 3\nrequires: [{name: A.B, min_version: {x: 1}}]\n", nil, problem.List{
			p(2, 7, "kind", "want a string, not a list"),
			p(3, 10, "version", "want a string, not a list"),
			p(4, 11, "products", `want a list, not "product.yaml"`),
			p(5, 8, "files", `want a list, not "3"`),
			p(6, 37, "requires[0].min_version", "want a string, not a mapping"),
		}},
		{"empty file", "", nil, problem.List{p(0, 0, "", "file is empty")}},
		{"name missing", "kind: ocp\nversion: 1.0.0.1\nproducts: [product.yaml]\n" + files, nil,
			problem.List{p(1, 1, "name", "required")}},
		{"name bad", "name: Contoso\n" + head[len("name: Contoso.Toaster.X\n"):] + files, nil,
			problem.List{p(1, 7, "name", `"Contoso": `+ErrName.Error())}},
		{"kind missing", "name: Contoso.Toaster.X\nversion: 1.0.0.1\nproducts: [product.yaml]\n" + files, nil,
			problem.List{p(1, 1, "kind", "required (one of os, driver, app, ocp)")}},
		{"kind bad", "name: Contoso.Toaster.X\nkind: firmware\nversion: 1.0.0.1\nproducts: [product.yaml]\n" + files, nil,
			problem.List{p(2, 7, "kind", `"firmware" is not a kind: one of os, driver, app, ocp`)}},
		{"version missing", "name: Contoso.Toaster.X\nkind: ocp\nproducts: [product.yaml]\n" + files, nil,
			problem.List{p(1, 1, "version", "required (a.b.c.d, each 0-65535)")}},
		{"version bad", "name: Contoso.Toaster.X\nkind: ocp\nversion: 1.0.0.65536\nproducts: [product.yaml]\n" + files, nil,
			problem.List{p(3, 10, "version", `"1.0.0.65536": `+ErrVersion.Error())}},
		{"version zero", "name: Contoso.Toaster.X\nkind: ocp\nversion: 0.0.0.0\nproducts: [product.yaml]\n" + files, nil,
			problem.List{p(3, 10, "version", "0.0.0.0 is not a release version")}},
		{"description too long", head + files + "description: " + strings.Repeat("x", MaxDescription+1) + "\n", nil,
			problem.List{p(6, 14, "description", "is 1025 bytes, more than the 1024-byte limit")}},
		{"release notes control", head + files + "release_notes: \"a\\u0007b\"\n", nil,
			problem.List{p(6, 16, "release_notes", "contains control character or invalid UTF-8 U+0007")}},
		{"no targets", "name: Contoso.Toaster.X\nkind: ocp\nversion: 1.0.0.1\n" + files, nil,
			problem.List{p(1, 1, "products", "an update needs targets: list at least one product (or chids)")}},
		{"product absolute", head[:len(head)-len("products: [product.yaml]\n")] + "products: [/etc/product.yaml]\n" + files, nil,
			problem.List{p(4, 12, "products[0]", `"/etc/product.yaml": product paths are relative to the manifest, with / separators`)}},
		{"product missing", head[:len(head)-len("products: [product.yaml]\n")] + "products: [nope.yaml]\n" + files, nil,
			problem.List{p(4, 12, "products[0]", "product file nope.yaml does not exist")}},
		{"product twice", head[:len(head)-len("products: [product.yaml]\n")] + "products: [product.yaml, ./product.yaml]\n" + files, nil,
			problem.List{p(4, 26, "products[1]", `"./product.yaml" is listed twice`)}},
		{"product same name", head[:len(head)-len("products: [product.yaml]\n")] + "products: [product.yaml, p2.yaml]\n" + files,
			map[string]string{"p2.yaml": strings.Replace(productYAML, "TST-3000-EU", "TST-3000-US", 1)},
			problem.List{p(4, 26, "products[1]", `product "contoso-toaster" is also loaded from product.yaml`)}},
		{"chid bad", head + "chids: [nope, 00000000-0000-0000-0000-000000000000, " + productCHID + ", " + strings.ToUpper(productCHID) + "]\n" + files, nil,
			problem.List{
				p(5, 9, "chids[0]", parseCHIDError("nope")),
				p(5, 15, "chids[1]", "the all-zero GUID targets nothing"),
				p(5, 91, "chids[3]", productCHID+" is listed twice"),
			}},
		{"requires", head + files + `requires:
  - {min_version: 1.0.0.0}
  - {name: Contoso, min_version: 1.0.0.0}
  - {name: contoso.toaster.x, min_version: 1.0.0.0}
  - {name: A.B, min_version: 1.0.0.0}
  - {name: a.b, min_version: 1.0.0.0}
  - {name: C.D}
  - {name: E.F, min_version: "1.0"}
`, nil, problem.List{
			p(7, 5, "requires[0].name", "required"),
			p(8, 12, "requires[1].name", `"Contoso": `+ErrName.Error()),
			p(9, 12, "requires[2].name", "an update cannot require its own package"),
			p(11, 12, "requires[4].name", "a.b is required twice"),
			p(12, 5, "requires[5].min_version", "required (a.b.c.d)"),
			p(13, 30, "requires[6].min_version", `"1.0": `+ErrVersion.Error()),
		}},
		{"no files", head, nil, problem.List{p(1, 1, "files", "an update needs at least one file")}},
		{"source rules", head + `files:
  - {dest: x/}
  - {source: /etc/passwd}
  - {source: ../secret}
  - {source: 'payload\a.xml'}
  - {source: 'payload/a**'}
  - {source: 'payload/[ab'}
  - {source: payload//a.xml}
  - {source: payload/*.txt, dest: s/}
  - {source: payload}
  - {source: payload/*.xml, dest: one.xml}
`, nil, problem.List{
			p(6, 5, "files[0].source", "required"),
			p(7, 14, "files[1].source", `"/etc/passwd": `+ErrPathAbsolute.Error()),
			p(8, 14, "files[2].source", `"../secret": `+ErrPathEscape.Error()),
			p(9, 14, "files[3].source", `"payload\\a.xml": `+ErrPathBackslash.Error()),
			p(10, 14, "files[4].source", `"payload/a**": `+ErrPattern.Error()),
			p(11, 14, "files[5].source", `"payload/[ab": `+ErrPattern.Error()),
			p(12, 14, "files[6].source", `"payload//a.xml": `+ErrPathSegment.Error()),
			p(13, 14, "files[7].source", `"payload/*.txt" matches no files`),
			p(14, 14, "files[8].source", `"payload": `+errSourceDir.Error()),
			p(15, 35, "files[9].dest", `"one.xml" must end with / (a directory) because source "payload/*.xml" is a pattern`),
		}},
		{"dest rules", head + `files:
  - {source: payload/a.xml, dest: /a.xml}
  - {source: payload/a.xml, dest: x/../a.xml}
  - {source: payload/a.xml, dest: 'x\a.xml'}
  - {source: payload/a.xml, dest: con.xml}
  - {source: payload/a.xml, dest: 'a?.xml'}
  - {source: payload/a.xml, dest: 'dir./a.xml'}
  - {source: payload/a.xml, dest: ` + strings.Repeat("d", 256) + `}
  - {source: payload/a.xml, dest: UPDATE.json}
`, nil, problem.List{
			p(6, 35, "files[0].dest", `"/a.xml": `+ErrPathAbsolute.Error()),
			p(7, 35, "files[1].dest", `"x/../a.xml": `+ErrPathEscape.Error()),
			p(8, 35, "files[2].dest", `"x\\a.xml": `+ErrPathBackslash.Error()),
			p(9, 35, "files[3].dest", `"con.xml": `+ErrPathName.Error()),
			p(10, 35, "files[4].dest", `"a?.xml": `+ErrPathName.Error()),
			p(11, 35, "files[5].dest", `"dir./a.xml": `+ErrPathName.Error()),
			p(12, 35, "files[6].dest", `"`+strings.Repeat("d", 256)+`": `+ErrPathLong.Error()),
			p(13, 35, "files[7].dest", `"UPDATE.json" is reserved for the update manifest the builder embeds`),
		}},
		{"source file name not valid in a cabinet", head + "files: [{source: 'odd/*'}]\n", map[string]string{"odd/x|y": "x", "odd/a:b": "x"},
			problem.List{
				p(5, 18, "files[0].source", `file odd/a:b would be "a:b" in the cabinet: `+ErrPathAbsolute.Error()),
				p(5, 18, "files[0].source", `file odd/x|y would be "x|y" in the cabinet: `+ErrPathName.Error()),
			}},
		{"collisions", head + `files:
  - {source: payload/a.xml, dest: x/A.xml}
  - {source: payload/sub/b.xml, dest: X/a.XML}
  - {source: payload/a.xml, dest: x/a.xml}
  - {source: payload/a.xml, dest: f}
  - {source: payload/sub/b.xml, dest: F/b.xml}
`, nil, problem.List{
			p(7, 39, "files[1].dest", `cabinet path "X/a.XML" (from payload/sub/b.xml) is also written by files[0] (from payload/a.xml); Windows paths ignore case`),
			p(9, 35, "files[3].dest", `cabinet path "f" is a file, but "F/b.xml" needs it as a directory`),
		}},
		{"per-kind fields on ocp", head + files + "inf: s/a.inf\npackage: s/a.msix\nos_build: 10.0.0.1\n", nil, problem.List{
			p(6, 6, "inf", "is only for kind driver, not ocp"),
			p(7, 10, "package", "is only for kind app, not ocp"),
			p(8, 11, "os_build", "is only for kind os, not ocp"),
		}},
	}
	runProblemCases(t, tests)
}

// loadProblems loads yaml as update.yaml beside the base payload (plus
// extra files) from inside the fixture directory, so problems name
// "update.yaml", and returns the problems.
// problemCase is one manifest (plus extra payload files) and every problem
// Load must report for it.
type problemCase struct {
	name  string
	yaml  string
	extra map[string]string
	want  problem.List
}

func runProblemCases(t *testing.T, tests []problemCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := loadProblems(t, tt.yaml, tt.extra)
			want := append(problem.List(nil), tt.want...)
			want.Sort()
			// The rule text is compared here; the typed errors are
			// update's (tested there).
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(problem.Problem{}, "Err")); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func loadProblems(t *testing.T, yaml string, extra map[string]string) problem.List {
	t.Helper()
	files := basePayload()
	for k, v := range extra {
		files[k] = v
	}
	files["update.yaml"] = yaml
	dir := fixture(t, files)
	t.Chdir(dir)
	_, err := Load(context.Background(), "update.yaml")
	if !errors.Is(err, problem.ErrInvalid) {
		t.Fatalf("err = %v, want problem.ErrInvalid", err)
	}
	var got problem.List
	if !errors.As(err, &got) {
		t.Fatalf("err %T is not a problem.List", err)
	}
	return got
}

func TestLoadKindProblems(t *testing.T) {
	const head = "name: Contoso.Toaster.X\nversion: 1.0.0.1\nproducts: [product.yaml]\n"
	p := func(file string, line, col int, field, rule string) problem.Problem {
		return problem.Problem{File: file, Line: line, Col: col, Field: field, Rule: rule}
	}
	const drvFiles = "files: [{source: drv/**, dest: d/}]\n"
	tests := []problemCase{
		{"driver without inf", head + "kind: driver\n" + drvFiles, nil,
			problem.List{p("update.yaml", 1, 1, "inf", "a driver update must name its .inf (its path in the cabinet)")}},
		{"driver inf extension", head + "kind: driver\n" + drvFiles + "inf: d/toaster.sys\n", nil,
			problem.List{p("update.yaml", 6, 6, "inf", `"d/toaster.sys" must have one of the extensions .inf`)}},
		{"driver inf not in payload", head + "kind: driver\n" + drvFiles + "inf: d/other.inf\n", nil,
			problem.List{p("update.yaml", 6, 6, "inf", `"d/other.inf" is not one of the update's files`)}},
		{"driver inf path escape", head + "kind: driver\n" + drvFiles + "inf: ../toaster.inf\n", nil,
			problem.List{p("update.yaml", 6, 6, "inf", `"../toaster.inf": `+ErrPathEscape.Error())}},
		{"driver missing sys and cat", head + "kind: driver\nfiles: [{source: drv/toaster.inf, dest: d/}]\ninf: d/toaster.inf\n", nil,
			problem.List{
				p("drv/toaster.inf", 3, 15, "[Version] CatalogFile", "names toaster.cat, which is not in the payload (expected at cabinet path d/toaster.cat)"),
				p("drv/toaster.inf", 7, 1, "[SourceDisksFiles]", "names toaster.sys, which is not in the payload (expected at cabinet path d/toaster.sys)"),
			}},
		{"driver sys in another directory", head + "kind: driver\nfiles: [{source: drv/toaster.inf, dest: d/}, {source: drv/toaster.cat, dest: d/}, {source: drv/toaster.sys, dest: e/}]\ninf: d/toaster.inf\n", nil,
			problem.List{p("drv/toaster.inf", 7, 1, "[SourceDisksFiles]", "names toaster.sys, which is not in the payload (expected at cabinet path d/toaster.sys)")}},
		{"driver inf syntax", head + "kind: driver\n" + drvFiles + "inf: d/toaster.inf\n",
			map[string]string{"drv/toaster.inf": "[Version]\nSignature=$Chicago$\nCatalogFile=toaster.cat\n[Strings\n"},
			problem.List{p("drv/toaster.inf", 4, 1, "", `section header "[Strings" has no closing ]`)}},
		{"driver inf too large", head + "kind: driver\n" + drvFiles + "inf: d/toaster.inf\n",
			map[string]string{"drv/toaster.inf": strings.Repeat(";", 8<<20+1)},
			problem.List{p("drv/toaster.inf", 0, 0, "", "INF file is larger than the 8388608-byte limit")}},
		{"driver utf-16le inf", head + "kind: driver\n" + drvFiles + "inf: d/toaster.inf\n",
			map[string]string{"drv/toaster.inf": utf16le("[Version]\r\nSignature=\"$Windows NT$\"\r\nCatalogFile.NTarm64=toaster_arm64.cat\r\n")},
			problem.List{p("drv/toaster.inf", 3, 21, "[Version] CatalogFile.NTarm64", "names toaster_arm64.cat, which is not in the payload (expected at cabinet path d/toaster_arm64.cat)")}},
		{"app without package", head + "kind: app\nfiles: [{source: app/**}]\n", nil,
			problem.List{p("update.yaml", 1, 1, "package", "an app update must name its package file (.appx, .msix, .appxbundle, .msixbundle)")}},
		{"app package extension", head + "kind: app\nfiles: [{source: app/**}, {source: payload/a.xml}]\npackage: a.xml\n", nil,
			problem.List{p("update.yaml", 6, 10, "package", `"a.xml" must have one of the extensions .appx, .msix, .appxbundle, .msixbundle`)}},
		{"app package missing", head + "kind: app\nfiles: [{source: payload/a.xml}]\npackage: x.msixbundle\n", nil,
			problem.List{p("update.yaml", 6, 10, "package", `"x.msixbundle" is not one of the update's files`)}},
		{"os without build", head + "kind: os\nfiles: [{source: os/Microsoft-OS.cab}]\n", nil,
			problem.List{p("update.yaml", 1, 1, "os_build", "an OS update must name the OS build it brings (a.b.c.d)")}},
		{"os build bad", head + "kind: os\nfiles: [{source: os/Microsoft-OS.cab}]\nos_build: 17763\n", nil,
			problem.List{p("update.yaml", 6, 11, "os_build", `"17763": `+ErrVersion.Error())}},
		{"os without a cabinet", head + "kind: os\nfiles: [{source: os/update.bin}]\nos_build: 10.0.1.2\n", nil,
			problem.List{p("update.yaml", 5, 8, "files", "an OS update carries its vendor's signed packages (.cab files): the payload has none")}},
		{"os with unsigned or broken cabinets", head + "kind: os\nfiles: [{source: 'os/*.cab'}, {source: os/update.bin, dest: bad.CAB}]\nos_build: 10.0.1.2\n", nil,
			problem.List{
				p("os/unsigned.cab", 0, 0, "", "cabinet has no Authenticode signature: an OS update carries its vendor's signed packages, which are never signed again"),
				p("os/update.bin", 0, 0, "", "not a readable cabinet: "+cabError("os bits")),
			}},
		{"inf on app", head + "kind: app\nfiles: [{source: app/**}]\npackage: Contoso.Toast.msix\ninf: x.inf\n", nil,
			problem.List{p("update.yaml", 7, 6, "inf", "is only for kind driver, not app")}},
	}
	runProblemCases(t, tests)
}

func TestLoadInvalidProductReportsItsProblems(t *testing.T) {
	yaml := "name: Contoso.Toaster.X\nkind: ocp\nversion: 1.0.0.1\nproducts: [bad.yaml]\nfiles: [{source: payload/**}]\n"
	got := loadProblems(t, yaml, map[string]string{"bad.yaml": strings.Replace(productYAML, "TST-3000-EU", "Default string", 1)})
	var fromProduct, pointer bool
	for _, p := range got {
		if p.File == "bad.yaml" && p.Line > 0 {
			fromProduct = true
		}
		var r *problem.Refers
		if p.File == "update.yaml" && p.Line == 4 && p.Col == 12 && p.Field == "products[0]" &&
			p.Rule == "product bad.yaml is invalid: 1 problem in bad.yaml" && errors.As(p.Err, &r) && *r == (problem.Refers{File: "bad.yaml", Count: 1}) {
			pointer = true
		}
	}
	if !fromProduct || !pointer {
		t.Errorf("want the product's own problems and a pointer from products[0] that refers to them; got\n%v", got)
	}
	// The manifest's problems, as a command reports them per manifest,
	// count the product's and name it.
	of := got.Of("update.yaml")
	if ps := problem.As(of); len(ps) != 2 {
		t.Errorf("Of(update.yaml) = %v, want its problem and the product's", of)
	}
	var fp *problem.FileProblems
	if !errors.As(of, &fp) || fp.Summary() != "1 problem in update.yaml and 1 in bad.yaml, which it refers to" {
		t.Errorf("Of(update.yaml) = %#v", of)
	}
}

// Two manifests listing the same invalid product report its problems once.
func TestLoadAllReportsASharedProductOnce(t *testing.T) {
	files := basePayload()
	files["bad.yaml"] = strings.Replace(productYAML, "TST-3000-EU", "Default string", 1)
	files["a.yaml"] = "name: Contoso.Toaster.A\nkind: ocp\nversion: 1.0.0.1\nproducts: [bad.yaml]\nfiles: [{source: payload/**}]\n"
	files["b.yaml"] = strings.Replace(files["a.yaml"], "Toaster.A", "Toaster.B", 1)
	t.Chdir(fixture(t, files))
	_, err := LoadAll(context.Background(), []string{"a.yaml", "b.yaml"})
	n := 0
	for _, p := range problem.As(err) {
		if p.File == "bad.yaml" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("bad.yaml's problem reported %d times, want once:\n%v", n, err)
	}
}

func TestLoadRefusesSymlinkLeavingTheManifestDir(t *testing.T) {
	files := basePayload()
	files["update.yaml"] = "name: Contoso.Toaster.X\nkind: ocp\nversion: 1.0.0.1\nproducts: [product.yaml]\nfiles: [{source: payload/**}]\n"
	dir := fixture(t, files)
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "payload", "link")); err != nil {
		t.Fatal(err)
	}
	_, err := Load(context.Background(), filepath.Join(dir, "update.yaml"))
	l := problem.As(err)
	if len(l) != 1 || l[0].Field != "files[0].source" || !strings.Contains(l[0].Rule, "payload/link") {
		t.Fatalf("want one problem on files[0].source naming payload/link, got %v", err)
	}
	// A link that stays inside is followed.
	if err := os.Remove(filepath.Join(dir, "payload", "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a.xml", filepath.Join(dir, "payload", "link")); err != nil {
		t.Fatal(err)
	}
	u, err := Load(context.Background(), filepath.Join(dir, "update.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Files[1]; got.Path != "link" || got.SHA256 != sum("<a/>\n") {
		t.Errorf("link resolved to %+v", got)
	}
}

func TestLoadAllRefusesDuplicateNameVersion(t *testing.T) {
	files := basePayload()
	m := "name: Contoso.Toaster.X\nkind: ocp\nversion: 1.0.0.1\nproducts: [product.yaml]\nfiles: [{source: payload/**}]\n"
	files["a/update.yaml"] = strings.ReplaceAll(m, "product.yaml", "../product.yaml")
	files["a/payload/x"] = "x"
	files["b/update.yaml"] = strings.ReplaceAll(strings.Replace(m, "Contoso.Toaster.X", "contoso.toaster.x", 1), "product.yaml", "../product.yaml")
	files["b/payload/x"] = "x"
	dir := fixture(t, files)
	t.Chdir(dir)
	_, err := LoadAll(context.Background(), []string{"a/update.yaml", "b/update.yaml"})
	want := problem.List{{File: "b/update.yaml", Rule: "update contoso.toaster.x 1.0.0.1 is also described by a/update.yaml"}}
	if diff := cmp.Diff(want, problem.As(err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestLoadHonoursCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Load(ctx, "update.yaml"); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(context.Background(), filepath.Join(t.TempDir(), "update.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want fs.ErrNotExist", err)
	}
}
