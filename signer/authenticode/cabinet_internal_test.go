package authenticode

import (
	"bytes"
	"context"
	"crypto"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sassoftware/relic/v8/lib/cabfile"

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

// TestReadUpdate: update.json is read through the cabinet reader and
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
			u, _, err := readContents(context.Background(), "t.cab", bytes.NewReader(b), int64(len(b)), nil)
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
	u, _, err := readContents(context.Background(), "t.cab", bytes.NewReader(b), int64(len(b)), nil)
	if err != nil || u != nil {
		t.Fatalf("plain cabinet: %+v, %v", u, err)
	}
	b = storedCab([]byte("hello"))
	b[len(b)-len("hello")-4] ^= 0xff // CFDATA cbData: points past the cabinet
	if _, _, err := readContents(context.Background(), "t.cab", bytes.NewReader(b), int64(len(b)), nil); !errors.Is(err, ErrMalformed) {
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
		if _, _, err := readContents(context.Background(), "f.cab", bytes.NewReader(b), int64(len(b)), nil); err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrInvalidUpdateJSON) {
			t.Fatalf("update.json error %v is neither ErrMalformed nor ErrInvalidUpdateJSON", err)
		}
	})
}

// FuzzImprinter: the streaming Authenticode digest of a vendor package
// does not depend on how its bytes are split, agrees with the ReaderAt
// path (ReadHeader, ReadSignature) and with relic's cabfile.Digest on
// whatever it accepts, and refuses everything else with ErrMalformed or
// ErrNotSigned.
func FuzzImprinter(f *testing.F) {
	o := signertest.NewOSUpdate(f, filepath.Join(f.TempDir(), "os.cab"), 2, 3000)
	for _, p := range o.Packages {
		f.Add(p.Data, uint16(1))
		f.Add(p.Data, uint16(4095))
	}
	f.Add(storedCab([]byte(`{}`)), uint16(7))
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		whole := newImprinter("f.cab", int64(len(data)))
		_, _ = whole.Write(data)
		d1, s1, err1 := whole.Sum()
		parts := newImprinter("f.cab", int64(len(data)))
		for rest, k := data, int(split%4096)+1; len(rest) > 0; rest = rest[min(k, len(rest)):] {
			if _, err := parts.Write(rest[:min(k, len(rest))]); err != nil {
				break
			}
		}
		d2, s2, err2 := parts.Sum()
		if (err1 == nil) != (err2 == nil) || !bytes.Equal(d1, d2) || !bytes.Equal(s1, s2) {
			t.Fatalf("in one write: %x, %v; in writes of %d: %x, %v", d1, err1, split%4096+1, d2, err2)
		}
		if err1 != nil {
			if !errors.Is(err1, ErrMalformed) && !errors.Is(err1, ErrNotSigned) {
				t.Fatalf("refusal %v is neither ErrMalformed nor ErrNotSigned", err1)
			}
			return
		}
		h, err := ReadHeader("f.cab", bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("imprinter accepted what ReadHeader refuses: %v", err)
		}
		if sig, err := ReadSignature("f.cab", bytes.NewReader(data), h); err != nil || !bytes.Equal(sig, s1) {
			t.Fatalf("signature %x, ReadSignature %x, %v", s1, sig, err)
		}
		relic, err := relicDigest(data)
		if err != nil || !bytes.Equal(relic, d1) {
			t.Fatalf("digest %x, relic's %x, %v", d1, relic, err)
		}
	})
}

// relicDigest is relic's cabinet imprint, an independent computation.
func relicDigest(data []byte) (_ []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("relic panicked: %v", r)
		}
	}()
	d, err := cabfile.Digest(bytes.NewReader(data), crypto.SHA256)
	if err != nil {
		return nil, err
	}
	return d.Imprint, nil
}
