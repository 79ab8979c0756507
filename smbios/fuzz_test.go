package smbios

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devupdate/devupdate/internal/problem"
)

// FuzzDecode feeds arbitrary bytes to the dump decoder and, split at 0x20,
// to the sysfs pair decoder. Neither may panic; whatever decodes must yield
// hardware IDs without panicking either. Seeds: the real dumps and small
// synthetic tables.
func FuzzDecode(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("..", "..", "shared", "testdata", "dmi", "*.bin"))
	paths = append(paths, filepath.Join("..", "examples", "contoso-toaster", "golden-device.bin"))
	for _, p := range paths {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	t1 := structure(1, 1, []byte{1, 2, 0, 0}, "Contoso", "Toaster")
	f.Add(dump(Version{3, 2, 0}, append(t1, structure(127, 2, nil)...)))
	f.Add(dump(Version{3, 2, 0}, []byte{1, 4, 0x12, 0, 'a', 'b'}))
	f.Fuzz(func(t *testing.T, data []byte) {
		if info, err := DecodeDump(data); err == nil {
			_ = info.HardwareIDs()
		}
		if len(data) >= 0x20 {
			if info, err := DecodeTable(data[:0x20], data[0x20:]); err == nil {
				_ = info.HardwareIDs()
			}
		}
		if structs, err := ParseTable(data); err == nil {
			if f, err := FieldsFromStructures(structs); err == nil {
				_ = f.HardwareIDs()
			}
		}
	})
}

// FuzzFields parses arbitrary JSON fields files: no panic, failures are problem
// lists, and whatever parses yields hardware IDs.
func FuzzFields(f *testing.F) {
	f.Add([]byte(`{"manufacturer": "LENOVO", "bios_major_release": 2, "enclosure_type": 10}`))
	f.Add([]byte(`{"manufacturer": "x", "bios_major_release": 300}`))
	f.Add([]byte(`{"sku": "a", "sku": "b"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fields, err := ParseFields("fuzz.json", data)
		if err != nil {
			if !errors.Is(err, problem.ErrInvalid) {
				t.Fatalf("not a problem list: %v", err)
			}
			return
		}
		_ = fields.HardwareIDs()
	})
}

// FuzzParseCHID: ParseCHID accepts exactly the GUIDs it prints back: any
// accepted input, lower-cased and braces removed, is the CHID's String.
func FuzzParseCHID(f *testing.F) {
	f.Add("147efce9-f201-5fc8-ab0c-c859751c3440")
	f.Add("{3FAEC92A-3AE3-5744-BE88-495E90A7D541}")
	f.Add("147efce9f2015fc8ab0cc859751c3440")
	f.Add("147efce9-f201-5fc8-ab0c-c859751c344")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCHID(s)
		if err != nil {
			return
		}
		again, err := ParseCHID(c.String())
		if err != nil || again != c {
			t.Fatalf("%q parsed to %s, which parses to %s, %v", s, c, again, err)
		}
		if want := strings.ToLower(strings.Trim(s, "{}")); c.String() != want {
			t.Fatalf("%q parsed to %s", s, c)
		}
	})
}

// FuzzReadDMIID gives the reader of a /sys/class/dmi/id-like directory
// arbitrary file contents: it never panics, refuses only with ErrMalformed
// (a release or chassis type that is not a number) or ErrNoSMBIOS (no
// file), and what it reads is what the files say, less the line feed.
func FuzzReadDMIID(f *testing.F) {
	f.Add("LENOVO\n", "ThinkPad T440s\n", "20ARS19C0C\n", "GJET75WW (2.25 )\n", "2.25\n", "10\n")
	f.Add("", "", "", "", "", "")
	f.Add("x", "y", "z", "v", "2.300", "300")
	f.Add("\xff\x00", "a\nb\n", "", "", "1.", "-1")
	f.Fuzz(func(t *testing.T, vendor, family, product, biosVersion, release, chassis string) {
		files := map[string]string{"sys_vendor": vendor, "product_family": family, "product_name": product, "bios_version": biosVersion, "bios_release": release, "chassis_type": chassis}
		info, err := dmiID("dmi/id", func(name string) (string, bool, error) {
			v := files[name]
			return v, v != "", nil // an empty input stands for an absent file
		})
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNoSMBIOS) {
				t.Fatalf("error %v is neither ErrMalformed nor ErrNoSMBIOS", err)
			}
			return
		}
		for got, want := range map[string]string{info.Fields.Manufacturer: vendor, info.Fields.Family: family, info.Fields.ProductName: product, info.Fields.BIOSVersion: biosVersion} {
			if got != strings.TrimSuffix(want, "\n") {
				t.Fatalf("read %q from a file holding %q", got, want)
			}
		}
		_ = info.HardwareIDs()
	})
}
