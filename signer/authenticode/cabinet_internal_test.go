package authenticode

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/manifest/update"
	"github.com/devupdate/devupdate/signer/signertest"
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

// TestReadUpdate: update.json is read through the packager reader and
// parsed strictly; a present but invalid one is an *UpdateJSONError
// wrapping the manifest's problems.
func TestReadUpdate(t *testing.T) {
	valid := signertest.UpdateJSON(t, update.KindOS, signertest.File{Name: "os.cab", Data: []byte("x")}).Data
	tests := []struct {
		name     string
		manifest string
		want     string
		err      error
	}{
		{"valid os", string(valid), "os", nil},
		{"kind only", `{"kind":"os"}`, "", problem.ErrInvalid},
		{"truncated", `{"kind":`, "", ErrInvalidUpdateJSON},
		{"duplicate key", strings.Replace(string(valid), `"kind": "os"`, `"kind": "os", "kind": "driver"`, 1), "", ErrInvalidUpdateJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := storedCab([]byte(tt.manifest))
			u, _, err := ReadUpdate(context.Background(), "t.cab", bytes.NewReader(b), int64(len(b)))
			if tt.err != nil {
				var ue *UpdateJSONError
				if !errors.Is(err, tt.err) || !errors.As(err, &ue) || ue.File != "t.cab" {
					t.Fatalf("err = %v, want an *UpdateJSONError wrapping %v", err, tt.err)
				}
				return
			}
			if err != nil || kindOf(u) != tt.want {
				t.Fatalf("kind %q, %v; want %q", kindOf(u), err, tt.want)
			}
		})
	}
}

// TestReadUpdateWithoutManifest: a cabinet without update.json is a plain
// cabinet (kind ""); a cabinet whose structure is broken is ErrMalformed.
func TestReadUpdateWithoutManifest(t *testing.T) {
	b := storedCab([]byte("hello"))
	copy(b[bytes.Index(b, []byte("update.json")):], "readme.txtxx")
	u, _, err := ReadUpdate(context.Background(), "t.cab", bytes.NewReader(b), int64(len(b)))
	if err != nil || u != nil {
		t.Fatalf("plain cabinet: %+v, %v", u, err)
	}
	b = storedCab([]byte("hello"))
	b[len(b)-len("hello")-4] ^= 0xff // CFDATA cbData: points past the cabinet
	if _, _, err := ReadUpdate(context.Background(), "t.cab", bytes.NewReader(b), int64(len(b))); !errors.Is(err, ErrMalformed) {
		t.Fatalf("broken cabinet: err = %v, want ErrMalformed", err)
	}
}

// FuzzCabinetHeader: the header and update.json readers bound everything
// and never panic on arbitrary bytes.
func FuzzCabinetHeader(f *testing.F) {
	f.Add(storedCab([]byte(`{"kind":"os"}`)))
	f.Add(storedCab([]byte(`{}`)))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ReadHeader("f.cab", bytes.NewReader(b), int64(len(b)))
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("header error %v is not ErrMalformed", err)
			}
			return
		}
		if h.CabinetSize+h.SignatureSize != int64(len(b)) || h.OffsetFiles > h.CabinetSize {
			t.Fatalf("accepted inconsistent header %+v for %d bytes", h, len(b))
		}
		if _, _, err := ReadUpdate(context.Background(), "f.cab", bytes.NewReader(b), int64(len(b))); err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrInvalidUpdateJSON) {
			t.Fatalf("update.json error %v is neither ErrMalformed nor ErrInvalidUpdateJSON", err)
		}
	})
}
