package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/devupdate/devupdate/internal/testtool"
	"github.com/devupdate/devupdate/smbios"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Execute(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestStatusFromDump: status reports the fields and CHIDs of a real
// machine's dump, the ones the smbios package computes from it.
func TestStatusFromDump(t *testing.T) {
	dump := testtool.SharedTestdata(t, "dmi", "Lenovo-ThinkPad-T490.bin")
	want, err := smbios.ReadDump(context.Background(), dump)
	if err != nil {
		t.Fatal(err)
	}
	code, out, stderr := run(t, "status", "--smbios", dump, "--output", "json")
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	var got struct {
		OK            bool                `json:"ok"`
		Source        string              `json:"source"`
		SMBIOSVersion string              `json:"smbios_version"`
		Fields        smbios.Fields       `json:"fields"`
		CHIDs         []smbios.HardwareID `json:"chids"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !got.OK || got.Source != dump || got.SMBIOSVersion != "3.1" {
		t.Errorf("ok %t, source %q, version %q", got.OK, got.Source, got.SMBIOSVersion)
	}
	if diff := cmp.Diff(want.Fields, got.Fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.HardwareIDs(), got.CHIDs); diff != "" || len(got.CHIDs) != smbios.NumHardwareIDs {
		t.Errorf("CHIDs (-want +got):\n%s", diff)
	}
	// the text form names every CHID too
	code, text, _ := run(t, "status", "--smbios", dump)
	if code != exitOK || !strings.Contains(text, want.HardwareIDs()[3].GUID.String()) {
		t.Errorf("text status (exit %d):\n%s", code, text)
	}
}

// TestStatusFromFieldsFile: a JSON fields file; the SPEC's T440s vector.
func TestStatusFromFieldsFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "fields.json")
	if err := os.WriteFile(f, []byte(`{"manufacturer": "LENOVO", "family": "ThinkPad T440s", "product_name": "20ARS19C0C",
		"sku": "LENOVO_MT_20AR_BU_Think_FM_ThinkPad T440s", "baseboard_manufacturer": "LENOVO", "baseboard_product": "20ARS19C0C"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := run(t, "status", "--smbios", f, "-O", "json")
	if code != exitOK || !strings.Contains(out, "3faec92a-3ae3-5744-be88-495e90a7d541") {
		t.Errorf("exit %d, want HardwareID-3 of the T440s in:\n%s", code, out)
	}
}

func TestExitStatuses(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"colour": "red"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want int
	}{
		{[]string{"version"}, exitOK},
		{[]string{"version", "-O", "json"}, exitOK},
		{[]string{}, exitUsage},
		{[]string{"nope"}, exitUsage},
		{[]string{"status", "--smbios"}, exitUsage},
		{[]string{"status", "-O", "xml"}, exitUsage},
		{[]string{"status", "--smbios", bad}, exitFailed},
		{[]string{"status", "--smbios", bad, "-O", "json"}, exitFailed},
	} {
		code, out, stderr := run(t, tt.args...)
		if code != tt.want {
			t.Errorf("%v: exit %d, want %d\n%s%s", tt.args, code, tt.want, out, stderr)
		}
		if tt.want == exitFailed && slices.Contains(tt.args, "json") && !json.Valid([]byte(out)) {
			t.Errorf("%v: not one JSON document on stdout: %q", tt.args, out)
		}
	}
}
