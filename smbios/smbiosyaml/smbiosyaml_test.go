package smbiosyaml

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/smbios"
)

func TestFieldsFile(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"f.yaml": "manufacturer: LENOVO\nfamily: ThinkPad T440s\nproduct_name: 20ARS19C0C\n" +
			"sku: LENOVO_MT_20AR_BU_Think_FM_ThinkPad T440s\nbios_vendor: LENOVO\n" +
			"bios_version: \"GJET75WW (2.25 )\"\nbios_major_release: 2\nbios_minor_release: 25\n" +
			"enclosure_type: 10\nbaseboard_manufacturer: LENOVO\nbaseboard_product: 20ARS19C0C\n",
		"f.json":   `{"manufacturer": "LENOVO", "bios_major_release": 2, "enclosure_type": 10}`,
		"bad.yaml": "manufacturer: x\nbios_major_release: 300\ncolour: red\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	info, err := Read(context.Background(), smbios.Source{Kind: smbios.FieldsFile, Path: filepath.Join(dir, "f.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := info.Fields.HardwareID(0)
	if got := h.GUID.String(); got != "147efce9-f201-5fc8-ab0c-c859751c3440" {
		t.Errorf("HardwareID-0 from the fields file = %s", got)
	}
	info, err = ReadFieldsFile(context.Background(), filepath.Join(dir, "f.json"))
	if err != nil || info.Fields.Manufacturer != "LENOVO" || *info.Fields.EnclosureType != 10 {
		t.Errorf("JSON fields file: %+v, %v", info, err)
	}
	if _, err := ReadFieldsFile(context.Background(), filepath.Join(dir, "bad.yaml")); !errors.Is(err, problem.ErrInvalid) {
		t.Errorf("a release byte of 300 and an unknown key: err = %v, want a problem list", err)
	}
}

// FuzzFields parses arbitrary YAML fields files: no panic, failures are
// problem lists, and whatever parses yields hardware IDs.
func FuzzFields(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join("..", "..", "examples", "contoso-toaster", "fields.yaml")); err == nil {
		f.Add(data)
	} else {
		f.Fatal(err)
	}
	f.Add([]byte(`{"manufacturer": "LENOVO", "bios_major_release": 2, "enclosure_type": 10}`))
	f.Add([]byte("manufacturer: x\nbios_major_release: 300\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fields, err := ParseFields("fuzz.yaml", data)
		if err != nil {
			if !errors.Is(err, problem.ErrInvalid) {
				t.Fatalf("not a problem list: %v", err)
			}
			return
		}
		_ = fields.HardwareIDs()
	})
}
