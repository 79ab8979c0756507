package smbios

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/internal/testtool"
	"github.com/devupdate/devupdate/smbios/smbiostest"
	"github.com/google/go-cmp/cmp"
)

// realDumps are the shared captures (see ../shared/testdata/dmi/SOURCES.md)
// with the SMBIOS version each must report.
var realDumps = []struct {
	file    string
	version string
}{
	{"HP-Z600.bin", "2.6"},
	{"Lenovo-ThinkPad-T490.bin", "3.1"},
	{"Lenovo-ThinkPad-X280.bin", "3.0"},
	{"Lenovo-Thinkcentre-m720s.bin", "3.2"},
	{"Toshiba-Satellite-Pro-L70-A.bin", "2.7"},
}

func dumpPath(t *testing.T, name string) string {
	t.Helper()
	return testtool.SharedTestdata(t, "dmi", name)
}

// dmidecodeFields runs Debian's dmidecode on a dump and returns the fields
// it decodes, in our Fields shape, plus the version line and the raw
// chassis lock state.
func dmidecodeFields(t *testing.T, bin, path string) (Fields, string, bool) {
	t.Helper()
	s := func(keyword string) string {
		out, err := exec.Command(bin, "--from-dump", path, "-s", keyword).Output()
		if err != nil {
			t.Fatalf("dmidecode -s %s: %v", keyword, err)
		}
		v := strings.TrimSuffix(string(out), "\n")
		if v == "Not Specified" {
			return ""
		}
		return v
	}
	var f Fields
	f.BIOSVendor = s("bios-vendor")
	f.BIOSVersion = s("bios-version")
	f.Manufacturer = s("system-manufacturer")
	f.ProductName = s("system-product-name")
	f.SKU = s("system-sku-number")
	f.Family = s("system-family")
	f.BaseboardManufacturer = s("baseboard-manufacturer")
	f.BaseboardProduct = s("baseboard-product-name")
	if rev := s("bios-revision"); rev != "" {
		var a, b uint8
		if _, err := fmt.Sscanf(rev, "%d.%d", &a, &b); err != nil {
			t.Fatalf("bios-revision %q: %v", rev, err)
		}
		f.BIOSMajorRelease, f.BIOSMinorRelease = U8(a), U8(b)
	}
	full, err := exec.Command(bin, "--from-dump", path, "-t", "3").Output()
	if err != nil {
		t.Fatalf("dmidecode -t 3: %v", err)
	}
	version := regexp.MustCompile(`(?m)^SMBIOS (\d+\.\d+)(?:\.\d+)? present\.`).FindSubmatch(full)
	if version == nil {
		t.Fatalf("no version line in dmidecode output:\n%s", full)
	}
	chassis := regexp.MustCompile(`(?m)^\tType: (.*)$`).FindSubmatch(full)
	lock := regexp.MustCompile(`(?m)^\tLock: (.*)$`).FindSubmatch(full)
	if chassis == nil || lock == nil {
		t.Fatalf("no chassis type in dmidecode output:\n%s", full)
	}
	// The name is mapped back to its number through the specification table.
	for i, name := range chassisTypes {
		if name != "" && name == string(chassis[1]) {
			f.EnclosureType = U8(uint8(i))
		}
	}
	if f.EnclosureType == nil {
		t.Fatalf("dmidecode chassis type %q is not in the table", chassis[1])
	}
	return f, string(version[1]), string(lock[1]) == "Present"
}

func TestRealDumpsMatchDmidecode(t *testing.T) {
	bin := testtool.Need(t, "dmidecode")
	for _, d := range realDumps {
		t.Run(d.file, func(t *testing.T) {
			path := dumpPath(t, d.file)
			info, err := ReadDump(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			want, version, locked := dmidecodeFields(t, bin, path)
			if got := info.Version.String(); got != version || got != d.version {
				t.Errorf("version = %q, dmidecode %q, want %q", got, version, d.version)
			}
			got := info.Fields
			if got.EnclosureType == nil {
				t.Fatal("no enclosure type")
			}
			if gotLocked := *got.EnclosureType&0x80 != 0; gotLocked != locked {
				t.Errorf("chassis lock = %v, dmidecode %v", gotLocked, locked)
			}
			got.EnclosureType = U8(*got.EnclosureType & 0x7F)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("fields differ from dmidecode (-dmidecode +ours):\n%s", diff)
			}
		})
	}
}

// The CHIDs of the real dumps, checked against the hashed text written out
// by hand from the dmidecode fields (so a decoding slip and a hashing slip
// cannot cancel out).
func TestRealDumpCHIDs(t *testing.T) {
	tests := []struct {
		file string
		id   int
		text []string
	}{
		{"Lenovo-ThinkPad-T490.bin", 0, []string{"LENOVO", "ThinkPad T490", "20N2CTO1WW", "LENOVO_MT_20N2_BU_Think_FM_ThinkPad T490", "LENOVO", "N2IET92W (1.70 )", "01", "46"}},
		{"Lenovo-ThinkPad-T490.bin", 3, []string{"LENOVO", "ThinkPad T490", "20N2CTO1WW", "LENOVO_MT_20N2_BU_Think_FM_ThinkPad T490", "LENOVO", "20N2CTO1WW"}},
		{"Lenovo-ThinkPad-T490.bin", 12, []string{"LENOVO", "a"}},
		{"HP-Z600.bin", 2, []string{"Hewlett-Packard", "HP Z600 Workstation", "Hewlett-Packard", "786G4 v03.54", "03", "36"}},
		{"HP-Z600.bin", 12, []string{"Hewlett-Packard", "6"}},
		{"Lenovo-Thinkcentre-m720s.bin", 13, []string{"LENOVO", "LENOVO", "312A"}},
		{"Toshiba-Satellite-Pro-L70-A.bin", 3, []string{"TOSHIBA", "Type1Family", "SATELLITE PRO L70-A", "PSKNFE", "Type2 - Board Vendor Name1", "Type2 - Board Product Name1"}},
		{"Lenovo-ThinkPad-X280.bin", 1, []string{"LENOVO", "ThinkPad X280", "20KFCTO1WW", "LENOVO", "N20ET56W (1.41 )", "01", "29"}},
	}
	for _, tt := range tests {
		info, err := ReadDump(context.Background(), dumpPath(t, tt.file))
		if err != nil {
			t.Fatal(err)
		}
		h, ok := info.Fields.HardwareID(tt.id)
		if !ok {
			t.Errorf("%s: HardwareID-%d not generated", tt.file, tt.id)
			continue
		}
		if want := NewCHID(tt.text...); h.GUID != want {
			t.Errorf("%s: HardwareID-%d = %s, want %s", tt.file, tt.id, h.GUID, want)
		}
		if n := len(info.HardwareIDs()); n != NumHardwareIDs {
			t.Errorf("%s: %d hardware IDs, want all %d", tt.file, n, NumHardwareIDs)
		}
	}
}

// splitDump turns a dump into the sysfs pair: the entry point (its first
// 0x20 bytes) and the table.
func splitDump(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "smbios_entry_point"), data[:0x1F], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "DMI"), data[0x20:], 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestSysfsTablesEqualDump(t *testing.T) {
	for _, d := range realDumps {
		path := dumpPath(t, d.file)
		fromDump, err := ReadDump(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		dir := splitDump(t, path)
		fromSysfs, err := Read(context.Background(), Source{Kind: SysfsTables, Path: dir})
		if err != nil {
			t.Fatalf("%s: %v", d.file, err)
		}
		if diff := cmp.Diff(fromDump.Fields, fromSysfs.Fields); diff != "" || fromDump.Version != fromSysfs.Version {
			t.Errorf("%s: sysfs differs from dump: %s %v", d.file, diff, fromSysfs.Version)
		}
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDMIIDDirectory(t *testing.T) {
	dir := t.TempDir()
	// What Linux shows for the ThinkPad T490 dump (values as dmidecode prints them).
	writeFiles(t, dir, map[string]string{
		"sys_vendor":     "LENOVO\n",
		"product_family": "ThinkPad T490\n",
		"product_name":   "20N2CTO1WW\n",
		"product_sku":    "LENOVO_MT_20N2_BU_Think_FM_ThinkPad T490\n",
		"bios_vendor":    "LENOVO\n",
		"bios_version":   "N2IET92W (1.70 )\n",
		"bios_release":   "1.70\n",
		"chassis_type":   "10\n",
		"board_vendor":   "LENOVO\n",
		"board_name":     "20N2CTO1WW\n",
	})
	got, err := ReadDMIID(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ReadDump(context.Background(), dumpPath(t, "Lenovo-ThinkPad-T490.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.HardwareIDs(), got.HardwareIDs()); diff != "" {
		t.Errorf("dmi/id CHIDs differ from the dump's (-dump +dmi/id):\n%s", diff)
	}
	if got.Version != (Version{}) {
		t.Errorf("version %v from dmi/id, which does not export one", got.Version)
	}

	writeFiles(t, dir, map[string]string{"bios_release": "garbage\n"})
	if _, err := ReadDMIID(context.Background(), dir); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad bios_release: %v", err)
	}
	if _, err := ReadDMIID(context.Background(), t.TempDir()); !errors.Is(err, ErrNoSMBIOS) {
		t.Errorf("empty directory: %v", err)
	}
}

func TestRunningMachineFallsBack(t *testing.T) {
	root := t.TempDir()
	if _, err := ReadRunningMachine(context.Background(), root); !errors.Is(err, ErrNoSMBIOS) {
		t.Fatalf("nothing present: %v, want ErrNoSMBIOS", err)
	}
	writeFiles(t, filepath.Join(root, DMIIDDir), map[string]string{"sys_vendor": "Contoso\n"})
	info, err := Read(context.Background(), Source{Kind: RunningMachine, Path: root})
	if err != nil || info.Fields.Manufacturer != "Contoso" {
		t.Fatalf("dmi/id fallback: %+v, %v", info, err)
	}
	// Tables present win over dmi/id.
	data, err := os.ReadFile(dumpPath(t, "HP-Z600.bin"))
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, filepath.Join(root, SysfsTablesDir), map[string]string{
		"smbios_entry_point": string(data[:0x1F]), "DMI": string(data[0x20:]),
	})
	info, err = ReadRunningMachine(context.Background(), root)
	if err != nil || info.Fields.Manufacturer != "Hewlett-Packard" {
		t.Fatalf("tables: %+v, %v", info, err)
	}
	// Malformed tables are an error, not a silent fallback.
	writeFiles(t, filepath.Join(root, SysfsTablesDir), map[string]string{"DMI": "\x01\x02"})
	if _, err := ReadRunningMachine(context.Background(), root); !errors.Is(err, ErrMalformed) {
		t.Fatalf("malformed tables: %v", err)
	}
}

func TestFieldsFileJSON(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"f.json": `{"manufacturer": "LENOVO", "family": "ThinkPad T440s", "product_name": "20ARS19C0C",
			"sku": "LENOVO_MT_20AR_BU_Think_FM_ThinkPad T440s", "bios_vendor": "LENOVO",
			"bios_version": "GJET75WW (2.25 )", "bios_major_release": 2, "bios_minor_release": 25,
			"enclosure_type": 10, "baseboard_manufacturer": "LENOVO", "baseboard_product": "20ARS19C0C"}`,
		"f.yaml":    "manufacturer: LENOVO\n",
		"big.json":  `{"manufacturer": "x", "bios_major_release": 300}`,
		"dup.json":  `{"manufacturer": "x", "manufacturer": "y"}`,
		"key.json":  `{"colour": "red"}`,
		"two.json":  `{} {}`,
		"list.json": `[]`,
	})
	info, err := ReadFieldsFile(context.Background(), filepath.Join(dir, "f.json"))
	if err != nil {
		t.Fatal(err)
	}
	h, _ := info.Fields.HardwareID(0)
	if got := h.GUID.String(); got != "147efce9-f201-5fc8-ab0c-c859751c3440" {
		t.Errorf("HardwareID-0 from the fields file = %s", got)
	}
	// YAML is the CLI's (smbios/smbiosyaml); here it is refused, as is
	// everything a strict reader must not guess about.
	for _, name := range []string{"f.yaml", "big.json", "dup.json", "key.json", "two.json", "list.json"} {
		_, err := ReadFieldsFile(context.Background(), filepath.Join(dir, name))
		if !errors.Is(err, ErrFieldsFile) || !errors.Is(err, problem.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrFieldsFile in a problem list", name, err)
		}
	}
}

// --- synthetic tables ---

// structure and dump are the smbiostest builders in this package's terms.
var structure = smbiostest.Structure

func dump(v Version, table []byte) []byte {
	return smbiostest.Dump(v.Major, v.Minor, v.Docrev, table)
}

// Every decoding problem is a *StructureError placed at the byte of the
// input it is about (FILE:OFFSET: STRUCTURE: RULE), wrapping ErrMalformed
// and its precise sentinel. smbiostest.Dump puts the table at 0x20.
func TestDecodeErrors(t *testing.T) {
	type1 := func(manufacturerIndex byte) []byte {
		f := make([]byte, 0x1B-4) // SMBIOS 2.4 type 1: 27 bytes
		f[0] = manufacturerIndex  // offset 04h
		return structure(1, 0x0012, f, "Contoso")
	}
	end := structure(127, 0xFFFF, nil)
	bad := dump(Version{3, 2, 0}, end)
	bad[5]++
	short := dump(Version{3, 2, 0}, end)
	binary.LittleEndian.PutUint64(short[0x10:], 0x1000)
	short[5] = 0
	short[5] = -sum(short[:0x18])
	tests := []struct {
		name      string
		data      []byte
		is        error
		offset    int
		structure string
	}{
		{"string index past the set", dump(Version{3, 2, 0}, append(type1(2), end...)), ErrStringIndex, 0x24, "structure type 1 handle 0x0012 (manufacturer)"},
		{"no anchor", []byte("garbage garbage garbage garbage!"), ErrEntryPoint, 0, "SMBIOS entry point"},
		{"empty", nil, ErrEntryPoint, 0, "SMBIOS entry point"},
		{"short entry point", []byte("_SM3_"), ErrTruncated, 0, "_SM3_ entry point"},
		{"short formatted length", dump(Version{3, 2, 0}, []byte{1, 2, 0x12, 0, 0, 0}), ErrMalformed, 0x20, "structure type 1 handle 0x0012"},
		{"length past table end", dump(Version{3, 2, 0}, []byte{1, 0x40, 0x12, 0, 0, 0}), ErrTruncated, 0x20, "structure type 1 handle 0x0012"},
		{"second structure past table end", dump(Version{3, 2, 0}, append(type1(1), 2, 0x40, 0x13, 0, 0, 0)), ErrTruncated, 0x20 + len(type1(1)), "structure type 2 handle 0x0013"},
		{"unterminated strings", dump(Version{3, 2, 0}, []byte{1, 4, 0x12, 0, 'a', 'b'}), ErrTruncated, 0x20, "structure type 1 handle 0x0012"},
		{"table past the end", short, ErrTruncated, 0x10, "_SM3_ entry point"},
		{"too large", make([]byte, MaxInputSize+1), ErrTooLarge, MaxInputSize, "file"},
		{"bad checksum", bad, ErrChecksum, 5, "_SM3_ entry point"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeDump(tt.data)
			if !errors.Is(err, tt.is) || !errors.Is(err, ErrMalformed) {
				t.Errorf("err = %v, want errors.Is %v and ErrMalformed", err, tt.is)
			}
			var se *StructureError
			if !errors.As(err, &se) {
				t.Fatalf("%v is not a *StructureError", err)
			}
			if se.File != "dump" || se.Offset != tt.offset || se.Structure != tt.structure {
				t.Errorf("at %s:%#x %q, want dump:%#x %q", se.File, se.Offset, se.Structure, tt.offset, tt.structure)
			}
		})
	}
}

// The Read functions name the file a problem is in: the dump, or which of
// the two sysfs files; RawSMBIOSData offsets count its 8-byte header.
func TestBinaryProblemsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	table := append(structure(1, 0x0012, []byte{9, 0, 0, 0}, "x"), structure(127, 0xFFFF, nil)...)
	d := dump(Version{3, 2, 0}, table)
	path := filepath.Join(dir, "bad.bin")
	if err := os.WriteFile(path, d, 0o644); err != nil {
		t.Fatal(err)
	}
	sysfs := filepath.Join(dir, "tables")
	if err := os.MkdirAll(sysfs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sysfs, "smbios_entry_point"), d[:0x18], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sysfs, "DMI"), table, 0o644); err != nil {
		t.Fatal(err)
	}
	badEntry := filepath.Join(dir, "badentry")
	if err := os.MkdirAll(badEntry, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(badEntry, "smbios_entry_point"), []byte("_SM_"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(badEntry, "DMI"), table, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	read := func(f func() (*Info, error)) error { _, err := f(); return err }
	for _, tt := range []struct {
		name   string
		err    error
		file   string
		offset int
	}{
		{"dump", read(func() (*Info, error) { return ReadDump(ctx, path) }), path, 0x24},
		{"device file", read(func() (*Info, error) { return ReadFile(ctx, path) }), path, 0x24},
		{"sysfs table", read(func() (*Info, error) { return ReadSysfsTables(ctx, sysfs) }), filepath.Join(sysfs, "DMI"), 0x04},
		{"sysfs entry point", read(func() (*Info, error) { return ReadSysfsTables(ctx, badEntry) }), filepath.Join(badEntry, "smbios_entry_point"), 0},
		{"RawSMBIOSData", read(func() (*Info, error) { return DecodeRSMB(EncodeRSMB(Version{3, 2, 0}, table)) }), "RawSMBIOSData", 8 + 0x04},
	} {
		var se *StructureError
		if !errors.As(tt.err, &se) {
			t.Errorf("%s: %v is not a *StructureError", tt.name, tt.err)
			continue
		}
		if se.File != tt.file || se.Offset != tt.offset {
			t.Errorf("%s: at %s:%#x, want %s:%#x", tt.name, se.File, se.Offset, tt.file, tt.offset)
		}
	}
}

func TestDecodeShortStructuresAndAbsentStrings(t *testing.T) {
	// An SMBIOS 2.0-sized type 1 (8 bytes) has no SKU or family; type 0 of 18
	// bytes has no release bytes; string index 0 is absent.
	t0 := structure(0, 0, make([]byte, 18-4), "Vendor")
	t0[4], t0[5] = 1, 0 // vendor = string 1, version = absent
	t1 := structure(1, 1, []byte{1, 2, 0, 0}, "Contoso", "Toaster")
	table := append(append(t0, t1...), structure(127, 2, nil)...)
	info, err := DecodeDump(dump(Version{2, 0, 0}, table))
	if err != nil {
		t.Fatal(err)
	}
	want := Fields{BIOSVendor: "Vendor", Manufacturer: "Contoso", ProductName: "Toaster"}
	if diff := cmp.Diff(want, info.Fields); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Only the first structure of a type counts; the end-of-table structure stops decoding.
	second := structure(1, 3, []byte{1, 0, 0, 0}, "Other Vendor")
	after := append(append(append([]byte{}, table[:len(table)-len(structure(127, 2, nil))]...), second...), structure(127, 2, nil)...)
	after = append(after, 0xFF, 0xFF, 0xFF, 0xFF) // junk after end-of-table is ignored
	info, err = DecodeDump(dump(Version{2, 0, 0}, after))
	if err != nil || info.Fields.Manufacturer != "Contoso" {
		t.Errorf("first type 1 wins: %+v, %v", info, err)
	}
}

func TestEntryPoint32(t *testing.T) {
	data, err := os.ReadFile(dumpPath(t, "HP-Z600.bin"))
	if err != nil {
		t.Fatal(err)
	}
	ep, err := ParseEntryPoint(data)
	if err != nil {
		t.Fatal(err)
	}
	if ep.Is64Bit || ep.TableAddress != 0x20 || int(ep.TableLength) != len(data)-0x20 {
		t.Errorf("entry point %+v for a %d-byte dump", ep, len(data))
	}
	// The 2.x entry point states the exact table length: a cut dump is an error.
	if _, err := DecodeDump(data[:len(data)-10]); !errors.Is(err, ErrTruncated) {
		t.Errorf("cut 2.x dump: %v", err)
	}
}

// chidPy is an independent CHID implementation (Python's hashlib and uuid)
// used to cross-check ours: each input line is a JSON list of field values,
// each output line the CHID.
const chidPy = `
import hashlib, json, sys, uuid
ns = uuid.UUID("70ffd812-4c7f-4c7d-0000-000000000000").bytes
for line in sys.stdin:
    values = json.loads(line)
    digest = hashlib.sha1(ns + "&".join(values).encode("utf-16-le")).digest()
    print(uuid.UUID(bytes=digest[:16], version=5))
`

// TestRealDumpCHIDsMatchPython computes all 15 CHIDs of every shared dump
// twice: ours from our decoder, Python's from the fields dmidecode decodes
// (formatted here: strings trimmed, releases "%02x", enclosure "%x").
func TestRealDumpCHIDsMatchPython(t *testing.T) {
	dmidecode := testtool.Need(t, "dmidecode")
	python := testtool.Need(t, "python3")
	for _, d := range realDumps {
		t.Run(d.file, func(t *testing.T) {
			path := dumpPath(t, d.file)
			theirs, _, locked := dmidecodeFields(t, dmidecode, path)
			enclosure := *theirs.EnclosureType
			if locked {
				enclosure |= 0x80
			}
			value := map[string]string{
				FieldManufacturer: strings.TrimSpace(theirs.Manufacturer), FieldFamily: strings.TrimSpace(theirs.Family),
				FieldProductName: strings.TrimSpace(theirs.ProductName), FieldSKU: strings.TrimSpace(theirs.SKU),
				FieldBIOSVendor: strings.TrimSpace(theirs.BIOSVendor), FieldBIOSVersion: strings.TrimSpace(theirs.BIOSVersion),
				FieldBIOSMajorRelease: fmt.Sprintf("%02x", *theirs.BIOSMajorRelease), FieldBIOSMinorRelease: fmt.Sprintf("%02x", *theirs.BIOSMinorRelease),
				FieldEnclosureType:         fmt.Sprintf("%x", enclosure),
				FieldBaseboardManufacturer: strings.TrimSpace(theirs.BaseboardManufacturer), FieldBaseboardProduct: strings.TrimSpace(theirs.BaseboardProduct),
			}
			var in strings.Builder
			for id := range NumHardwareIDs {
				var vals []string
				for _, n := range HardwareIDFields(id) {
					vals = append(vals, value[n])
				}
				b, _ := json.Marshal(vals)
				in.Write(append(b, '\n'))
			}
			cmd := exec.Command(python, "-c", chidPy)
			cmd.Stdin = strings.NewReader(in.String())
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("python: %v", err)
			}
			want := strings.Fields(string(out))
			info, err := ReadDump(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, h := range info.HardwareIDs() {
				got = append(got, h.GUID.String())
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("CHIDs (-python over dmidecode +ours):\n%s", diff)
			}
		})
	}
}

// The chassis-lock bit (bit 7 of the type-3 byte at 05h) stays in the value
// hashed for HardwareID-12, as fwupd hashes the raw byte.
func TestEnclosureLockBitKept(t *testing.T) {
	t1 := structure(1, 1, []byte{1, 0, 0, 0}, "Contoso")
	t3 := structure(3, 2, []byte{0, 0x89, 0, 0, 0}) // Laptop, lock present
	info, err := DecodeDump(dump(Version{3, 2, 0}, append(append(t1, t3...), structure(127, 3, nil)...)))
	if err != nil {
		t.Fatal(err)
	}
	if info.Fields.EnclosureType == nil || *info.Fields.EnclosureType != 0x89 {
		t.Fatalf("enclosure type %v", info.Fields.EnclosureType)
	}
	h, ok := info.Fields.HardwareID(12)
	if !ok || h.GUID != NewCHID("Contoso", "89") {
		t.Errorf("HardwareID-12 = %v, want CHID of Contoso&89", h.GUID)
	}
	if got := ChassisTypeName(0x89); got != "Laptop" {
		t.Errorf("ChassisTypeName(0x89) = %q", got)
	}
}

func TestLegacyDMIEntryPoint(t *testing.T) {
	table := append(structure(1, 1, []byte{1, 0, 0, 0}, "Contoso"), structure(127, 2, nil)...)
	ep := make([]byte, 0x10)
	copy(ep, "_DMI_")
	binary.LittleEndian.PutUint16(ep[6:], uint16(len(table)))
	binary.LittleEndian.PutUint32(ep[8:], 0x10)
	binary.LittleEndian.PutUint16(ep[0x0C:], 2)
	ep[0x0E] = 0x21 // BCD 2.1
	ep[5] = -sum(ep[:0x0F])
	info, err := DecodeDump(append(ep, table...))
	if err != nil {
		t.Fatal(err)
	}
	if info.Version.String() != "2.1" || info.Fields.Manufacturer != "Contoso" {
		t.Errorf("got %v %+v", info.Version, info.Fields)
	}
	if _, err := DecodeTable(ep, make([]byte, MaxInputSize)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized sysfs table: %v", err)
	}
}
