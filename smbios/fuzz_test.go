package smbios

import (
	"errors"

	"github.com/devupdate/devupdate/internal/problem"
	"os"
	"path/filepath"
	"testing"
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
