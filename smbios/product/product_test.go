package product

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/internal/testtool"
	"github.com/devupdate/devupdate/smbios"
	"github.com/google/go-cmp/cmp"
)

const example = "../../examples/contoso-toaster/product.yaml"

// place is where a problem was reported, without its wording.
type place struct {
	Line, Col int
	Field     string
}

func places(t *testing.T, err error) []place {
	t.Helper()
	if err != nil && !errors.Is(err, problem.ErrInvalid) {
		t.Fatalf("error is not a validation failure: %v", err)
	}
	var out []place
	for _, p := range problem.As(err) {
		out = append(out, place{p.Line, p.Col, p.Field})
	}
	return out
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExampleProduct(t *testing.T) {
	p, err := Load(example)
	if err != nil {
		t.Fatal(err)
	}
	// HardwareID-3 of the example, computed independently with Python's
	// hashlib over the namespace and UTF-16LE of
	// "Contoso&Kitchen Appliances&Toaster 3000&TST-3000-EU&Contoso&TB-01".
	want := []smbios.CHID{mustCHID(t, "4162eff5-3114-538e-86e0-e7617be93c9a")}
	if diff := cmp.Diff(want, p.Targets()); diff != "" {
		t.Errorf("Targets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(DefaultRings, p.Rings); diff != "" {
		t.Errorf("Rings (-want +got):\n%s", diff)
	}
	if h, _ := p.TargetingID(); h.ID != 3 {
		t.Errorf("targeted by %s, want HardwareID-3", h.Name)
	}
}

func mustCHID(t *testing.T, s string) smbios.CHID {
	t.Helper()
	c, err := smbios.ParseCHID(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const valid = `name: contoso-toaster
smbios:
  manufacturer: Contoso
  family: Kitchen Appliances
  product_name: Toaster 3000
  sku: TST-3000-EU
  baseboard_manufacturer: Contoso
  baseboard_product: TB-01
`

func TestEveryProblemInOneRun(t *testing.T) {
	src := `name: Contoso Toaster
smbios:
  manufacturer: "To be filled by O.E.M."
  family: " Kitchen"
  product_name: "Toaster\u200b3000"
  sku: ""
  baseboard_product: "` + strings.Repeat("x", 65) + `"
  bios_version: "1.0"
chids:
  - not-a-guid
  - 3faec92a-3ae3-5744-be88-495e90a7d541
  - "{3FAEC92A-3AE3-5744-BE88-495E90A7D541}"
rings: [Preview, preview, "General Availability"]
`
	_, err := Parse("p.yaml", []byte(src))
	want := []place{
		{1, 7, "name"},
		{3, 17, "smbios.manufacturer"},
		{4, 11, "smbios.family"},
		{5, 17, "smbios.product_name"},
		{6, 8, "smbios.sku"},
		{7, 22, "smbios.baseboard_product"},
		{8, 17, "smbios.bios_version"},
		{10, 5, "chids[0]"},
		{12, 5, "chids[2]"},
		{13, 18, "rings[1]"},
		{13, 27, "rings[2]"},
	}
	if diff := cmp.Diff(want, places(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s\nall:\n%v", diff, err)
	}
	for _, p := range problem.As(err) {
		if p.File != "p.yaml" {
			t.Errorf("problem names file %q", p.File)
		}
	}
}

func TestFieldRules(t *testing.T) {
	tests := []struct {
		name, value string
		ok          bool
	}{
		{"plain", "Toaster 3000", true},
		{"64 characters", strings.Repeat("x", 64), true},
		{"64 multi-byte characters", strings.Repeat("é", 64), true},
		{"65 characters", strings.Repeat("x", 65), false},
		{"leading space", " Toaster", false},
		{"trailing space", "Toaster ", false},
		{"trailing tab", "Toaster\t", false},
		{"zero width space", "Toast\u200ber", false},
		{"byte order mark", "\ufeffToaster", false},
		{"soft hyphen", "Toast\u00ader", false},
		{"no-break space", "Toaster\u00a03000", false},
		{"line separator", "Toaster\u20283000", false},
		{"NUL", "Toaster\x00", false},
		{"escape", "Toaster\x1b[0m", false},
		{"DEL", "Toaster\x7f", false},
		{"right-to-left override", "Toaster\u202e", false},
		{"invalid UTF-8", "Toaster\xff", false},
		{"inner spaces", "Toaster  3000 (EU)", true},
		{"non-Latin", "トースター", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := len(CheckValue(tt.value)) == 0; got != tt.ok {
				t.Errorf("CheckValue(%q) = %v, want ok=%v", tt.value, CheckValue(tt.value), tt.ok)
			}
		})
	}
}

func TestPlaceholdersRefused(t *testing.T) {
	if len(Placeholders) < 15 {
		t.Fatalf("only %d placeholders", len(Placeholders))
	}
	for _, p := range []string{
		"To be filled by O.E.M.", "TO BE FILLED BY O.E.M.", "Default string", "DEFAULT STRING",
		"System Product Name", "System manufacturer", "Not Applicable", "0123456789",
		"Type1ProductConfigId", "OEM", "O.E.M.", "Not Specified", "None", "Base Board Product Name",
		"System Version", "x.x", "Chassis Manufacturer", "  default string  ",
	} {
		if !IsPlaceholder(p) {
			t.Errorf("%q is not refused", p)
		}
		src := strings.Replace(valid, "sku: TST-3000-EU", fmt.Sprintf("sku: %q", p), 1)
		_, err := Parse("p.yaml", []byte(src))
		if got := places(t, err); len(got) == 0 || got[0].Field != "smbios.sku" {
			t.Errorf("sku %q: problems %v", p, got)
		}
	}
	for _, ok := range []string{"Contoso", "Toaster 3000", "OEMs United", "Nonesuch"} {
		if IsPlaceholder(ok) {
			t.Errorf("%q refused as a placeholder", ok)
		}
	}
}

func TestRequiredFields(t *testing.T) {
	_, err := Parse("p.yaml", []byte("name: x\nsmbios:\n  manufacturer: Contoso\n"))
	want := []place{
		{3, 3, "smbios.baseboard_product"},
		{3, 3, "smbios.family"},
		{3, 3, "smbios.product_name"},
		{3, 3, "smbios.sku"},
	}
	if diff := cmp.Diff(want, places(t, err)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	_, err = Parse("p.yaml", []byte("name: x\n"))
	if diff := cmp.Diff([]place{{1, 1, "smbios"}}, places(t, err)); diff != "" {
		t.Errorf("no smbios (-want +got):\n%s", diff)
	}
	// A value of the wrong type is one problem at the value, not also a
	// missing field.
	_, err = Parse("p.yaml", []byte("name: [x]\nsmbios:\n  manufacturer: {a: b}\n  family: F\n  product_name: P\n  sku: S\n  baseboard_product: [B]\n  bios_major_release: 256\nrings: 3\nchids: x\n"))
	want = []place{
		{1, 7, "name"},
		{3, 17, "smbios.manufacturer"},
		{7, 22, "smbios.baseboard_product"},
		{8, 23, "smbios.bios_major_release"},
		{9, 8, "rings"},
		{10, 8, "chids"},
	}
	if diff := cmp.Diff(want, places(t, err)); diff != "" {
		t.Errorf("wrong types (-want +got):\n%s", diff)
	}
	_, err = Parse("p.yaml", []byte("name: x\nsmbios: [1]\n"))
	if diff := cmp.Diff([]place{{2, 9, "smbios"}}, places(t, err)); diff != "" {
		t.Errorf("smbios a list (-want +got):\n%s", diff)
	}
	if _, err := Parse("p.yaml", []byte("name: x\nsmbios:\n  colour: red\n")); !errors.Is(err, problem.ErrInvalid) {
		t.Errorf("unknown key accepted: %v", err)
	}
}

// Without a baseboard manufacturer HardwareID-3 cannot be formed: the
// product is targeted by HardwareID-4 (Manufacturer, Family, ProductName, SKU).
func TestFallbackWithoutBaseboardManufacturer(t *testing.T) {
	src := strings.Replace(valid, "  baseboard_manufacturer: Contoso\n", "", 1)
	p, err := Parse("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	h, ok := p.TargetingID()
	if !ok || h.ID != 4 {
		t.Fatalf("targeting ID = %+v, %v; want HardwareID-4", h, ok)
	}
	want, _ := p.SMBIOS.HardwareID(4)
	if got := p.Targets(); len(got) != 1 || got[0] != want.GUID {
		t.Errorf("Targets = %v, want [%s]", got, want.GUID)
	}
	// Empty counts as absent too.
	src = strings.Replace(valid, "baseboard_manufacturer: Contoso", `baseboard_manufacturer: ""`, 1)
	if p, err := Parse("p.yaml", []byte(src)); err != nil {
		t.Fatal(err)
	} else if h, _ := p.TargetingID(); h.ID != 4 {
		t.Errorf("empty baseboard manufacturer: targeted by %s", h.Name)
	}
}

func TestExtraCHIDsAndRings(t *testing.T) {
	src := valid + "chids:\n  - \"{660CCBA8-1B78-5A33-80E6-9FB8354EE873}\"\n  - 4162eff5-3114-538e-86e0-e7617be93c9a\nrings: [Lab, GeneralAvailability]\n"
	p, err := Parse("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []smbios.CHID{
		mustCHID(t, "4162eff5-3114-538e-86e0-e7617be93c9a"), // targeting ID first, listed again: kept once
		mustCHID(t, "660ccba8-1b78-5a33-80e6-9fb8354ee873"),
	}
	if diff := cmp.Diff(want, p.Targets()); diff != "" {
		t.Errorf("Targets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Lab", "GeneralAvailability"}, p.Rings); diff != "" {
		t.Errorf("Rings (-want +got):\n%s", diff)
	}
	if _, err := Parse("p.yaml", []byte(valid+"rings: []\n")); !errors.Is(err, problem.ErrInvalid) {
		t.Errorf("empty ring list accepted")
	}
	if _, err := Parse("p.yaml", []byte(valid+"chids: [00000000-0000-0000-0000-000000000000]\n")); !errors.Is(err, problem.ErrInvalid) {
		t.Errorf("zero CHID accepted")
	}
}

func TestValidateFilesCollisions(t *testing.T) {
	dir := t.TempDir()
	a := write(t, dir, "a.yaml", valid)
	b := write(t, dir, "b.yaml", strings.Replace(valid, "name: contoso-toaster", "name: contoso-toaster-eu", 1))
	c := write(t, dir, "c.yaml", strings.NewReplacer("name: contoso-toaster", "name: contoso-kettle",
		"Toaster 3000", "Kettle 1").Replace(valid)+"chids: [4162eff5-3114-538e-86e0-e7617be93c9a]\n")
	d := write(t, dir, "d.yaml", strings.Replace(valid, "Toaster 3000", "Toaster 4000", 1))
	// Two products without a baseboard manufacturer collide on the HardwareID-4 fallback.
	noBB := strings.Replace(valid, "  baseboard_manufacturer: Contoso\n", "", 1)
	e := write(t, dir, "e.yaml", strings.NewReplacer("name: contoso-toaster", "name: e", "TB-01", "TB-02").Replace(noBB))
	f := write(t, dir, "f.yaml", strings.NewReplacer("name: contoso-toaster", "name: f", "TB-01", "TB-03").Replace(noBB))
	bad := write(t, dir, "g.yaml", "name: g\nsmbios: [\n")

	products, err := ValidateFiles([]string{a, b, c, d, e, f, bad})
	var got []string
	for _, p := range problem.As(err) {
		got = append(got, fmt.Sprintf("%s:%d:%d %s", filepath.Base(p.File), p.Line, p.Col, p.Field))
	}
	want := []string{
		"b.yaml:3:3 smbios",   // same HardwareID-3 as a.yaml
		"c.yaml:9:9 chids[0]", // extra CHID = a.yaml's targeting CHID
		"d.yaml:1:7 name",     // same name as a.yaml
		"f.yaml:3:3 smbios",   // same HardwareID-4 as e.yaml
		"g.yaml:2:9 smbios",   // syntax error: the [ that is not closed
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s\n%v", diff, err)
	}
	if len(products) != 6 {
		t.Errorf("%d products loaded, want the 6 parseable ones", len(products))
	}
}

func TestGoldenDump(t *testing.T) {
	dir := t.TempDir()
	golden := testtool.SharedTestdata(t, "dmi", "Lenovo-ThinkPad-T490.bin")
	t490 := write(t, dir, "t490.yaml", `name: thinkpad-t490
smbios:
  manufacturer: LENOVO
  family: ThinkPad T490
  product_name: 20N2CTO1WW
  sku: LENOVO_MT_20N2_BU_Think_FM_ThinkPad T490
  baseboard_manufacturer: LENOVO
  baseboard_product: 20N2CTO1WW
`)
	if _, err := ValidateFiles([]string{t490}, WithGoldenDump(golden)); err != nil {
		t.Fatalf("the golden device of the product does not match: %v", err)
	}
	other := write(t, dir, "other.yaml", strings.Replace(readFile(t, t490), "product_name: 20N2CTO1WW", "product_name: 20N2CTO2WW", 1))
	_, err := ValidateFiles([]string{other}, WithGoldenDump(golden))
	if diff := cmp.Diff([]place{{5, 17, "smbios.product_name"}}, places(t, err)); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	// An unreadable golden dump is reported, not ignored.
	_, err = ValidateFiles([]string{t490}, WithGoldenDump(filepath.Join(dir, "missing.bin")))
	if !errors.Is(err, problem.ErrInvalid) {
		t.Errorf("missing golden dump: %v", err)
	}
	if _, err := ValidateFiles([]string{t490}, WithGoldenDump("")); err == nil || errors.Is(err, problem.ErrInvalid) {
		t.Errorf("empty golden path is an option error, got %v", err)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FuzzProduct parses arbitrary product files: no panic, and a product that
// validates always has a targeting CHID and only clean values.
func FuzzProduct(f *testing.F) {
	f.Add([]byte(valid))
	f.Add([]byte(readFileF(example)))
	f.Add([]byte(valid + "chids: [\"{660CCBA8-1B78-5A33-80E6-9FB8354EE873}\"]\nrings: [Preview]\n"))
	f.Add([]byte("name: x\nsmbios:\n  manufacturer: \"\\u200b\"\n"))
	f.Add([]byte("name: &a x\nsmbios: *a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			if !errors.Is(err, problem.ErrInvalid) {
				t.Fatalf("non-validation error: %v", err)
			}
			return
		}
		if len(p.Targets()) == 0 {
			t.Fatalf("valid product without targets: %+v", p)
		}
		for _, k := range smbiosKeys {
			if v := k.get(&p.SMBIOS); v != "" && len(CheckValue(v)) > 0 {
				t.Fatalf("%s %q accepted: %v", k.key, v, CheckValue(v))
			}
		}
	})
}

func readFileF(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

// The Device Update Center required SMBIOS 2.4 or later (Family and SKU
// appeared in 2.4): an older golden device is refused even when it matches.
func TestGoldenDumpTooOld(t *testing.T) {
	dir := t.TempDir()
	str := func(typ uint8, handle uint16, formatted []byte, strs ...string) []byte {
		b := append([]byte{typ, byte(4 + len(formatted)), byte(handle), 0}, formatted...)
		for _, s := range strs {
			b = append(append(b, s...), 0)
		}
		return append(b, 0)
	}
	sys := make([]byte, 0x1B-4)
	sys[0], sys[1], sys[0x19-4], sys[0x1A-4] = 1, 2, 3, 4
	table := append(str(1, 1, sys, "Contoso", "Toaster 3000", "TST-3000-EU", "Kitchen Appliances"),
		str(2, 2, []byte{1, 2}, "Contoso", "TB-01")...)
	table = append(table, 127, 4, 3, 0, 0, 0)
	// A 2.3 _SM_ entry point, table at 0x20, as dmidecode --dump-bin writes it.
	ep := make([]byte, 0x20)
	copy(ep, "_SM_")
	ep[5], ep[6], ep[7] = 0x1F, 2, 3
	copy(ep[0x10:], "_DMI_")
	ep[0x16], ep[0x17] = byte(len(table)), byte(len(table)>>8)
	ep[0x18] = 0x20
	ep[0x1E] = 0x23
	var s byte
	for _, c := range ep[0x10:0x1F] {
		s += c
	}
	ep[0x15] = -s
	s = 0
	for _, c := range ep[:0x1F] {
		s += c
	}
	ep[4] = -s
	golden := write(t, dir, "old.bin", string(append(ep, table...)))
	_, err := ValidateFiles([]string{example}, WithGoldenDump(golden))
	ps := problem.As(err)
	if len(ps) != 1 || ps[0].File != golden || ps[0].Line != 0 {
		t.Errorf("problems %v, want one naming %s", err, golden)
	}
}
