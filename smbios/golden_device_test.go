package smbios

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/devupdate/devupdate/internal/problem/yamlpos"
	"github.com/devupdate/devupdate/internal/testtool"
	"github.com/devupdate/devupdate/smbios/smbiostest"
)

var update = flag.Bool("update", false, "rewrite the example golden device dump from its fields file")

// goldenDevice is the example Contoso Toaster 3000 as its firmware reports
// it: the values of examples/contoso-toaster/fields.yaml plus the ones hardware
// IDs do not use.
func goldenDevice(t *testing.T, f Fields) smbiostest.Machine {
	t.Helper()
	if f.BIOSMajorRelease == nil || f.BIOSMinorRelease == nil || f.EnclosureType == nil {
		t.Fatal("the example fields file must give the release bytes and enclosure type")
	}
	return smbiostest.Machine{
		BIOSVendor: f.BIOSVendor, BIOSVersion: f.BIOSVersion, BIOSDate: "03/14/2026",
		BIOSMajorRelease: *f.BIOSMajorRelease, BIOSMinorRelease: *f.BIOSMinorRelease,
		Manufacturer: f.Manufacturer, ProductName: f.ProductName, Version: "Rev B",
		Serial: "TST3000EU-000042", SKU: f.SKU, Family: f.Family,
		UUID:                  [16]byte{0x1e, 0x7a, 0x57, 0xe2, 0x30, 0x00, 0x4e, 0x55, 0x80, 0x00, 0xc0, 0x17, 0x05, 0x00, 0x00, 0x42},
		BaseboardManufacturer: f.BaseboardManufacturer, BaseboardProduct: f.BaseboardProduct, BaseboardVersion: "B",
		ChassisManufacturer: f.Manufacturer, EnclosureType: *f.EnclosureType,
	}
}

// TestGoldenDeviceDump keeps examples/contoso-toaster/golden-device.bin (the
// dump `make demo` checks the example product against) equal to what
// smbiostest builds from the example fields file, and proves both our decoder
// and Debian's dmidecode read those fields back from it.
func TestGoldenDeviceDump(t *testing.T) {
	dir := filepath.Join("..", "examples", "contoso-toaster")
	// The example fields file is YAML, the CLI's format (smbiosyaml, which
	// imports this package, so the test decodes it directly).
	data, err := os.ReadFile(filepath.Join(dir, "fields.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var want Fields
	if _, err := yamlpos.Decode("fields.yaml", data, &want); err != nil {
		t.Fatal(err)
	}
	built := smbiostest.Dump(3, 2, 0, smbiostest.Table(goldenDevice(t, want)))
	path := filepath.Join(dir, "golden-device.bin")
	if *update {
		if err := os.WriteFile(path, built, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	onDisk, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onDisk, built) {
		t.Fatalf("%s is stale: run go test ./smbios -run TestGoldenDeviceDump -update", path)
	}

	got, err := DecodeDump(onDisk)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version.String() != "3.2" {
		t.Errorf("version = %s, want 3.2", got.Version)
	}
	if diff := cmp.Diff(want, got.Fields); diff != "" {
		t.Errorf("our decoder (-fields file +decoded):\n%s", diff)
	}
	fromDmidecode, _, _ := dmidecodeFields(t, testtool.Need(t, "dmidecode"), path)
	if diff := cmp.Diff(want, fromDmidecode); diff != "" {
		t.Errorf("dmidecode (-fields file +decoded):\n%s", diff)
	}
}
