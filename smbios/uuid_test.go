package smbios

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/devupdate/devupdate/internal/testtool"
)

// TestSystemUUIDMatchesDmidecode: the type 1 UUID of every real dump, from
// the dump and from what Windows' RSMB returns on that machine, is the one
// dmidecode prints (SMBIOS 2.6+: first three fields little-endian).
func TestSystemUUIDMatchesDmidecode(t *testing.T) {
	bin := testtool.Need(t, "dmidecode")
	re := regexp.MustCompile(`(?m)^\s*UUID: ([0-9A-Fa-f-]{36})$`)
	for _, d := range realDumps {
		t.Run(d.file, func(t *testing.T) {
			path := dumpPath(t, d.file)
			out, err := exec.Command(bin, "--from-dump", path, "-t", "1").Output()
			if err != nil {
				t.Fatalf("dmidecode -t 1: %v", err)
			}
			m := re.FindSubmatch(out)
			if m == nil {
				t.Fatalf("no UUID in dmidecode output:\n%s", out)
			}
			want, err := ParseUUID(string(m[1]))
			if err != nil {
				t.Fatal(err)
			}
			info, err := ReadDump(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			if info.SystemUUID == nil || *info.SystemUUID != want {
				t.Errorf("dump: UUID %v, dmidecode %v", info.SystemUUID, want)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			blob, err := rsmbFromDump(data)
			if err != nil {
				t.Fatal(err)
			}
			win, err := DecodeRSMB(blob)
			if err != nil {
				t.Fatal(err)
			}
			if win.SystemUUID == nil || *win.SystemUUID != want {
				t.Errorf("RSMB: UUID %v, dmidecode %v", win.SystemUUID, want)
			}
			if want.Placeholder() {
				t.Errorf("%v of a real machine taken for a placeholder", want)
			}
		})
	}
}

func TestUUIDPlaceholders(t *testing.T) {
	for s, want := range map[string]bool{
		"00000000-0000-0000-0000-000000000000": true,
		"ffffffff-ffff-ffff-ffff-ffffffffffff": true,
		"03000200-0400-0500-0006-000700080009": true,
		"00020003-0004-0005-0006-000700080009": true,
		"00010203-0405-0607-0809-0a0b0c0d0e0f": true,
		"01020304-0506-0708-090a-0b0c0d0e0f10": true,
		"0677d5cc-25b1-11b2-a85c-c66e0b64b3d5": false,
		"30d3f174-7f5d-11e1-bbda-5f0d3dbc082e": false,
	} {
		u, err := ParseUUID(s)
		if err != nil {
			t.Fatal(err)
		}
		if u.Placeholder() != want {
			t.Errorf("%s: placeholder %v, want %v", s, !want, want)
		}
		if u.String() != s {
			t.Errorf("String() = %s, want %s", u, s)
		}
	}
	for _, bad := range []string{"", "0677d5cc25b111b2a85cc66e0b64b3d5", "0677d5cc-25b1-11b2-a85c-c66e0b64b3dz", "0677d5cc-25b1-11b2-a85c-c66e0b64b3d5 "} {
		if _, err := ParseUUID(bad); err == nil {
			t.Errorf("ParseUUID(%q) accepted", bad)
		}
	}
}

// TestUUIDByteOrderBefore26: tables older than SMBIOS 2.6 store the UUID
// as printed, so it is not swapped.
func TestUUIDByteOrderBefore26(t *testing.T) {
	raw := []byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	formatted := append([]byte{1, 0x19, 0, 0, 0, 0, 0, 0}, raw...)
	formatted = append(formatted, 0)
	structs := []Structure{{Type: 1, Formatted: formatted}}
	if got := uuidFromStructures(Version{Major: 2, Minor: 5}, structs); got == nil || got.String() != "00112233-4455-6677-8899-aabbccddeeff" {
		t.Errorf("2.5: %v", got)
	}
	if got := uuidFromStructures(Version{Major: 2, Minor: 6}, structs); got == nil || got.String() != "33221100-5544-7766-8899-aabbccddeeff" {
		t.Errorf("2.6: %v", got)
	}
	if got := uuidFromStructures(Version{Major: 2, Minor: 6}, []Structure{{Type: 1, Formatted: formatted[:0x10]}}); got != nil {
		t.Errorf("a structure too short for a UUID gave %v", got)
	}
}

// TestDMIIDProductUUID: /sys/class/dmi/id/product_uuid (root-only) gives the
// UUID as the kernel prints it; unreadable, it is absent; malformed, refused.
func TestDMIIDProductUUID(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"sys_vendor": "LENOVO\n", "product_uuid": "0677d5cc-25b1-11b2-a85c-c66e0b64b3d5\n"})
	info, err := ReadDMIID(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.SystemUUID == nil || info.SystemUUID.String() != "0677d5cc-25b1-11b2-a85c-c66e0b64b3d5" {
		t.Errorf("UUID %v", info.SystemUUID)
	}
	writeFiles(t, dir, map[string]string{"product_uuid": "not a uuid\n"})
	if _, err := ReadDMIID(context.Background(), dir); !errors.Is(err, ErrMalformed) {
		t.Errorf("malformed product_uuid: %v", err)
	}
	if err := os.Remove(filepath.Join(dir, "product_uuid")); err != nil {
		t.Fatal(err)
	}
	if info, err := ReadDMIID(context.Background(), dir); err != nil || info.SystemUUID != nil {
		t.Errorf("without product_uuid: %v, %v", info, err)
	}
}
