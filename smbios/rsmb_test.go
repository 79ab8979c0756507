package smbios

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// rsmbFromDump builds, by hand from the dump's bytes, the RawSMBIOSData
// blob Windows' GetSystemFirmwareTable('RSMB') returns on that machine:
// the version from the entry point (_SM_: major 0x06, minor 0x07; _SM3_:
// major 0x07, minor 0x08, docrev 0x09), then the table the entry point
// places in the dump (dmidecode writes it at the offset in the table
// address field: _SM_ 0x18, length 0x16; _SM3_ 0x10, maximum length 0x0C).
func rsmbFromDump(dump []byte) ([]byte, error) {
	le := binary.LittleEndian
	var major, minor, docrev byte
	var addr, length int
	switch {
	case bytes.HasPrefix(dump, []byte("_SM3_")):
		major, minor, docrev = dump[7], dump[8], dump[9]
		addr, length = int(le.Uint64(dump[0x10:])), int(le.Uint32(dump[0x0C:]))
	case bytes.HasPrefix(dump, []byte("_SM_")):
		major, minor = dump[6], dump[7]
		addr, length = int(le.Uint32(dump[0x18:])), int(le.Uint16(dump[0x16:]))
	default:
		return nil, errors.New("not a _SM_ or _SM3_ dump")
	}
	table := dump[addr:min(addr+length, len(dump))]
	blob := []byte{1, major, minor, docrev, 0, 0, 0, 0}
	le.PutUint32(blob[4:], uint32(len(table)))
	return append(blob, table...), nil
}

// TestRSMBEqualsDump: the Windows path decodes each real machine's table to
// the same fields, version and CHIDs as its dump.
func TestRSMBEqualsDump(t *testing.T) {
	for _, d := range realDumps {
		t.Run(d.file, func(t *testing.T) {
			path := dumpPath(t, d.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ReadDump(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			blob, err := rsmbFromDump(data)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeRSMB(blob)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want.Fields, got.Fields); diff != "" {
				t.Errorf("fields (-dump +rsmb):\n%s", diff)
			}
			if got.Version.String() != d.version || got.Version.Major != want.Version.Major || got.Version.Minor != want.Version.Minor {
				t.Errorf("version %v, dump %v, want %s", got.Version, want.Version, d.version)
			}
			if diff := cmp.Diff(want.HardwareIDs(), got.HardwareIDs()); diff != "" {
				t.Errorf("CHIDs (-dump +rsmb):\n%s", diff)
			}
			if len(got.HardwareIDs()) == 0 {
				t.Error("no CHIDs")
			}
			// EncodeRSMB writes the same blob (less the calling-method byte,
			// which nothing reads).
			enc := EncodeRSMB(got.Version, blob[rsmbHeaderSize:])
			if enc[0] = blob[0]; !bytes.Equal(enc, blob) {
				t.Error("EncodeRSMB differs from the hand-built blob")
			}
		})
	}
}

func TestDecodeRSMBErrors(t *testing.T) {
	table := structure(1, 1, []byte{1, 2, 0, 0}, "Contoso", "Toaster")
	good := EncodeRSMB(Version{3, 2, 0}, table)
	if info, err := DecodeRSMB(good); err != nil || info.Fields.Manufacturer != "Contoso" || info.Version != (Version{3, 2, 0}) {
		t.Fatalf("good blob: %+v, %v", info, err)
	}
	long := bytes.Clone(good)
	binary.LittleEndian.PutUint32(long[4:], uint32(len(table)+1))
	for _, tt := range []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"header cut", good[:7], ErrTruncated},
		{"length past the data", long, ErrTruncated},
		{"too large", make([]byte, MaxInputSize+1), ErrTooLarge},
		{"bad string index", EncodeRSMB(Version{3, 2, 0}, structure(1, 1, []byte{9, 0, 0, 0}, "x")), ErrStringIndex},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRSMB(tt.data)
			if !errors.Is(err, tt.want) || !errors.Is(err, ErrMalformed) {
				t.Errorf("err = %v, want %v and ErrMalformed", err, tt.want)
			}
		})
	}
}

// TestReadFile: a device's --smbios FILE is a dump or a JSON fields file.
func TestReadFile(t *testing.T) {
	path := dumpPath(t, realDumps[0].file)
	want, err := ReadDump(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(context.Background(), path)
	if err != nil || !cmp.Equal(want, got) {
		t.Errorf("dump: %+v, %v", got, err)
	}
	fields := filepath.Join(t.TempDir(), "f.json")
	if err := os.WriteFile(fields, []byte(`{"manufacturer": "Contoso", "enclosure_type": 35}`), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err = ReadFile(context.Background(), fields)
	if err != nil || got.Fields.Manufacturer != "Contoso" || *got.Fields.EnclosureType != 35 {
		t.Errorf("fields file: %+v, %v", got, err)
	}
}

// FuzzDecodeRSMB: no panic on any blob; what decodes yields CHIDs.
func FuzzDecodeRSMB(f *testing.F) {
	for _, d := range realDumps {
		data, err := os.ReadFile(filepath.Join("..", "..", "shared", "testdata", "dmi", d.file))
		if err != nil {
			f.Fatal(err)
		}
		blob, err := rsmbFromDump(data)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(blob)
	}
	f.Add(EncodeRSMB(Version{3, 2, 0}, structure(1, 1, []byte{1, 2, 0, 0}, "Contoso", "Toaster")))
	f.Fuzz(func(t *testing.T, data []byte) {
		if info, err := DecodeRSMB(data); err == nil {
			_ = info.HardwareIDs()
		} else if !errors.Is(err, ErrMalformed) {
			t.Fatalf("error without ErrMalformed: %v", err)
		}
	})
}
