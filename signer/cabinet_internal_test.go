package signer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// storedCab builds a minimal uncompressed cabinet holding update.json.
func storedCab(manifest []byte) []byte {
	le := binary.LittleEndian
	name := "update.json\x00"
	hdr := 36
	coffFiles := hdr + 8
	data := coffFiles + 16 + len(name)
	total := data + 8 + len(manifest)
	b := make([]byte, 0, total)
	b = append(b, "MSCF"...)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, uint32(total))
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, uint32(coffFiles))
	b = le.AppendUint32(b, 0)
	b = append(b, 3, 1)
	b = le.AppendUint16(b, 1)
	b = le.AppendUint16(b, 1)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint32(b, uint32(data))
	b = le.AppendUint16(b, 1)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint32(b, uint32(len(manifest)))
	b = le.AppendUint32(b, 0)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint16(b, 0x20)
	b = append(b, name...)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint16(b, uint16(len(manifest)))
	b = le.AppendUint16(b, uint16(len(manifest)))
	return append(b, manifest...)
}

func TestCabKind(t *testing.T) {
	tests := []struct {
		manifest string
		want     string
		err      error
	}{
		{`{"kind":"os"}`, "os", nil},
		{`{"kind":"driver","name":"Contoso.Toaster.Driver"}`, "driver", nil},
		{`{"name":"x"}`, "", nil},
		{`{"kind":`, "", ErrMalformed},
	}
	for _, tt := range tests {
		b := storedCab([]byte(tt.manifest))
		h, err := readCabHeader("t.cab", bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("%s: header: %v", tt.manifest, err)
		}
		got, err := cabKind("t.cab", bytes.NewReader(b), h)
		if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
			t.Errorf("%s: kind %q, %v; want %q, %v", tt.manifest, got, err, tt.want, tt.err)
		}
	}
}

// FuzzCabinetHeader: the header and update.json readers bound everything
// and never panic on arbitrary bytes.
func FuzzCabinetHeader(f *testing.F) {
	f.Add(storedCab([]byte(`{"kind":"os"}`)))
	f.Add(storedCab([]byte(`{}`)))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := readCabHeader("f.cab", bytes.NewReader(b), int64(len(b)))
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("header error %v is not ErrMalformed", err)
			}
			return
		}
		if h.totalSize+h.sigSize != int64(len(b)) || h.offsetFiles > h.totalSize {
			t.Fatalf("accepted inconsistent header %+v for %d bytes", h, len(b))
		}
		_, _ = cabKind("f.cab", bytes.NewReader(b), h)
	})
}
