package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/devupdate/devupdate/cmd/internal/cli/clitest"
	"github.com/devupdate/devupdate/internal/testtool"
	"github.com/devupdate/devupdate/smbios"
)

// sharedDump returns the path of a shared DMI dump relative to this
// package's directory, so golden output does not depend on the checkout.
func sharedDump(t *testing.T, name string) string {
	t.Helper()
	abs := testtool.SharedTestdata(t, "dmi", name)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, abs)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

const exampleProduct = "../../examples/contoso-toaster/product.yaml"
const exampleFields = "../../examples/contoso-toaster/fields.yaml"

func TestSmbiosShowGolden(t *testing.T) {
	tests := []struct {
		golden string
		args   []string
	}{
		{"smbios/show-t490.txt", []string{"smbios", "show", "--dmi", sharedDump(t, "Lenovo-ThinkPad-T490.bin")}},
		{"smbios/show-z600.json", []string{"smbios", "show", "--dmi", sharedDump(t, "HP-Z600.bin"), "--output", "json"}},
		{"smbios/show-fields.txt", []string{"smbios", "show", "--fields", exampleFields}},
		{"smbios/show-fields.json", []string{"smbios", "show", "--fields", exampleFields, "-O", "json"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			out, stderr, code := run(t, tt.args...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			clitest.Golden(t, tt.golden, out)
		})
	}
}

func TestSmbiosShowJSONShape(t *testing.T) {
	out, _, code := run(t, "smbios", "show", "--dmi", sharedDump(t, "Lenovo-Thinkcentre-m720s.bin"), "--output", "json")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var rep struct {
		SMBIOSVersion string           `json:"smbios_version"`
		Fields        map[string]any   `json:"fields"`
		CHIDs         []map[string]any `json:"chids"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.SMBIOSVersion != "3.2" || rep.Fields["manufacturer"] != "LENOVO" || rep.Fields["enclosure_type"] != 3.0 || len(rep.CHIDs) != 15 {
		t.Errorf("report %+v", rep)
	}
	first := rep.CHIDs[0]
	if first["id"] != 0.0 || first["name"] != "HardwareID-0" || len(first["fields"].([]any)) != 8 {
		t.Errorf("first CHID %v", first)
	}
	if _, err := smbios.ParseCHID(first["guid"].(string)); err != nil {
		t.Error(err)
	}
}

func TestSmbiosShowErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.bin")
	if err := os.WriteFile(bad, []byte("_SM3_ not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	badFields := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badFields, []byte("manufacturer: x\nsize: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"two sources", []string{"smbios", "show", "--dmi", bad, "--fields", exampleFields}, exitUsage},
		{"empty path", []string{"smbios", "show", "--dmi", ""}, exitUsage},
		{"argument", []string{"smbios", "show", "x"}, exitUsage},
		{"malformed dump", []string{"smbios", "show", "--dmi", bad}, exitFailed},
		{"missing file", []string{"smbios", "show", "--dmi", filepath.Join(dir, "nope")}, exitFailed},
		{"bad fields file", []string{"smbios", "show", "--fields", badFields}, exitFailed},
		{"group alone", []string{"smbios"}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := run(t, tt.args...)
			if code != tt.want {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.want, stderr)
			}
			if stderr == "" {
				t.Errorf("nothing on stderr")
			}
		})
	}
}

func TestSmbiosShowSysfsAndDMIID(t *testing.T) {
	data, err := os.ReadFile(sharedDump(t, "Lenovo-ThinkPad-X280.bin"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "smbios_entry_point"), data[:0x18], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "DMI"), data[0x20:], 0o644); err != nil {
		t.Fatal(err)
	}
	fromSysfs, _, code := run(t, "smbios", "show", "--sysfs", dir, "-O", "json")
	fromDump, _, code2 := run(t, "smbios", "show", "--dmi", sharedDump(t, "Lenovo-ThinkPad-X280.bin"), "-O", "json")
	if a, b := decode[smbios.Report](t, fromSysfs), decode[smbios.Report](t, fromDump); code != exitOK || code2 != exitOK || !reflect.DeepEqual(a, b) {
		t.Errorf("sysfs and dump reports differ (exit %d/%d):\n%s\n%s", code, code2, fromSysfs, fromDump)
	}
	idDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(idDir, "sys_vendor"), []byte("LENOVO\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code := run(t, "smbios", "show", "--dmi-id", idDir, "-O", "json")
	var rep smbios.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitOK {
		t.Fatalf("exit %d: %v", code, err)
	}
	if len(rep.CHIDs) != 1 || rep.CHIDs[0].GUID.String() != "6de5d951-d755-576b-bd09-c5cf66b27234" || rep.SMBIOSVersion != "" {
		t.Errorf("dmi-id report %+v", rep)
	}
}

func TestProductValidate(t *testing.T) {
	tests := []struct {
		golden string
		args   []string
		want   int
	}{
		{"smbios/validate-ok.txt", []string{"product", "validate", exampleProduct}, exitOK},
		{"smbios/validate-ok.json", []string{"product", "validate", exampleProduct, "-O", "json"}, exitOK},
		{"smbios/validate-bad.txt", []string{"product", "validate", "testdata/smbios/bad-product.yaml", exampleProduct, "testdata/smbios/collides.yaml"}, exitFailed},
		{"smbios/validate-bad.json", []string{"product", "validate", "testdata/smbios/bad-product.yaml", "-O", "json"}, exitFailed},
		{"smbios/validate-golden-mismatch.txt", []string{"product", "validate", exampleProduct, "--dmi", sharedDump(t, "Lenovo-ThinkPad-T490.bin")}, exitFailed},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			out, stderr, code := run(t, tt.args...)
			if code != tt.want {
				t.Fatalf("exit %d, want %d: %s%s", code, tt.want, out, stderr)
			}
			if strings.HasSuffix(tt.golden, ".json") && stderr != "" {
				t.Errorf("stderr %q with --output json", stderr)
			}
			clitest.Golden(t, tt.golden, streams(out, stderr))
		})
	}
	for _, args := range [][]string{{"product", "validate"}, {"product", "validate", exampleProduct, "--dmi", ""}} {
		if _, _, code := run(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want usage", args, code)
		}
	}
}
