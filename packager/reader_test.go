package packager

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func openBytes(t *testing.T, b []byte, opts ...ReadOption) (*Cabinet, error) {
	t.Helper()
	return Open(context.Background(), bytes.NewReader(b), int64(len(b)), append([]ReadOption{WithName("t.cab")}, opts...)...)
}

// smallCab is a two-file MSZIP cabinet with three CFDATA blocks and the
// signature reserve (the offsets tests patch are those of that layout).
func smallCab(t *testing.T) []byte {
	return writeBytes(t, []File{memFile("a.txt", textData(1, 70000)), memFile("dir/b.txt", []byte("bee"))}, WithSignatureReserve(true))
}

func TestTruncatedEverywhere(t *testing.T) {
	cab := smallCab(t)
	for n := 0; n < len(cab); n++ {
		c, err := openBytes(t, cab[:n])
		if err == nil {
			err = c.Test(context.Background())
		}
		var fe *FormatError
		if !errors.As(err, &fe) || !errors.Is(err, ErrMalformed) || fe.Cabinet != "t.cab" {
			t.Fatalf("truncated to %d bytes: err = %v, want a *FormatError naming t.cab", n, err)
		}
	}
}

func TestChecksumMismatch(t *testing.T) {
	cab := smallCab(t)
	c, _ := openBytes(t, cab)
	fo := c.Folders()[0]
	bad := bytes.Clone(cab)
	bad[fo.Offset+dataHeaderSize+100] ^= 0x40 // a data byte of the first block
	c, err := openBytes(t, bad)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Test(context.Background())
	var fe *FormatError
	if !errors.Is(err, ErrChecksum) || !errors.As(err, &fe) || fe.Offset != fo.Offset || fe.Structure != "CFDATA[0/0]" {
		t.Errorf("err = %v, want ErrChecksum at CFDATA[0/0] offset %d", err, fo.Offset)
	}
	// With the checksum zeroed (allowed: "not computed"), the corrupt
	// deflate data is still caught.
	binary.LittleEndian.PutUint32(bad[fo.Offset:], 0)
	c, _ = openBytes(t, bad)
	rc, err := c.Open("a.txt")
	if err == nil {
		_, err = io.Copy(io.Discard, rc)
	}
	if err == nil {
		t.Error("corrupt deflate data read without error")
	}
}

func TestMalformedStructures(t *testing.T) {
	cab := smallCab(t)
	le := binary.LittleEndian
	c, _ := openBytes(t, cab)
	coffFiles := int(le.Uint32(cab[16:]))
	dataOff := int(c.Folders()[0].Offset)
	tests := []struct {
		name   string
		patch  func(b []byte)
		target error
	}{
		{"bad signature", func(b []byte) { b[0] = 'X' }, ErrMalformed},
		{"cbCabinet past the end", func(b []byte) { le.PutUint32(b[8:], uint32(len(b)+1)) }, ErrMalformed},
		{"version 2", func(b []byte) { b[25] = 2 }, ErrUnsupported},
		{"cabinet set", func(b []byte) { b[30] |= 0x0002 }, ErrUnsupported}, // cfhdrNEXT_CABINET
		{"coffFiles before the folders", func(b []byte) { le.PutUint32(b[16:], 10) }, ErrMalformed},
		{"LZX folder", func(b []byte) { le.PutUint16(b[66:], 3) }, ErrUnsupported},
		{"folder offset past the end", func(b []byte) { le.PutUint32(b[60:], uint32(len(b))) }, ErrMalformed},
		{"65535 blocks claimed", func(b []byte) { le.PutUint16(b[64:], 0xFFFF) }, ErrMalformed},
		{"iFolder out of range", func(b []byte) { le.PutUint16(b[coffFiles+8:], 5) }, ErrMalformed},
		{"continued file", func(b []byte) { le.PutUint16(b[coffFiles+8:], 0xFFFD) }, ErrUnsupported},
		{"file past its folder (lying size)", func(b []byte) { le.PutUint32(b[coffFiles:], 70004) }, ErrMalformed},
		{"file offset past its folder", func(b []byte) { le.PutUint32(b[coffFiles+4:], 0x7FFF0000) }, ErrMalformed},
		{"cbUncomp 0", func(b []byte) { le.PutUint16(b[dataOff+6:], 0) }, ErrMalformed},
		{"cbUncomp over 32 KiB", func(b []byte) { le.PutUint16(b[dataOff+6:], 0x8001) }, ErrMalformed},
		{"cbData too large", func(b []byte) { le.PutUint16(b[dataOff+4:], 0xFFFF) }, ErrMalformed},
		{"name not terminated", func(b []byte) {
			for i := coffFiles + 16; i < dataOff; i++ {
				b[i] = 'n'
			}
		}, ErrMalformed},
		{"signature size past the end", func(b []byte) { le.PutUint32(b[48:], 1000) }, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bytes.Clone(cab)
			tt.patch(b)
			c, err := openBytes(t, b)
			if err == nil {
				err = c.Test(context.Background())
			}
			var fe *FormatError
			if !errors.Is(err, tt.target) || !errors.As(err, &fe) || fe.Cabinet != "t.cab" || fe.Structure == "" {
				t.Errorf("err = %v, want %v in a *FormatError", err, tt.target)
			}
		})
	}
}

// patchName writes a cabinet with placeholder names and overwrites them
// with hostile ones of the same length (CFFILE is not checksummed).
func patchName(t *testing.T, placeholder, hostile string) []byte {
	t.Helper()
	if len(placeholder) != len(hostile) {
		t.Fatalf("lengths differ: %q %q", placeholder, hostile)
	}
	cab := writeBytes(t, []File{memFile(placeholder, []byte("pwned\n"))})
	i := bytes.Index(cab, []byte(strings.ReplaceAll(placeholder, "/", `\`)+"\x00"))
	copy(cab[i:], hostile)
	return cab
}

func TestExtractRefusesUnsafeNames(t *testing.T) {
	for _, tc := range []struct{ placeholder, hostile string }{
		{"aa/evil", "../evil"},
		{"xy/ab/evil", `..\..\evil`},
		{"ab/cd/evil", `ab\..\..\e`},
		{"etc/passwd", "/etc/passw"},
		{"xevil", `\evil`},
		{"Cx/evil", `C:\evil`},
		{"ab/evil", "a\x01/evil"},
		{"abevil", "ab\xffvil"},
		{"ab/c/evil", "ab//c/evi"},
		{"ab/evil", "./a/evi"},
	} {
		t.Run(tc.hostile, func(t *testing.T) {
			cab := patchName(t, tc.placeholder, tc.hostile)
			c, err := openBytes(t, cab)
			if err != nil {
				t.Fatal(err)
			}
			parent := t.TempDir()
			dir := filepath.Join(parent, "out")
			_, err = c.Extract(context.Background(), dir)
			if !errors.Is(err, ErrInvalidName) {
				t.Fatalf("err = %v, want ErrInvalidName", err)
			}
			// Nothing written, inside or outside the target.
			ents, _ := os.ReadDir(parent)
			if len(ents) != 0 {
				t.Errorf("extraction wrote %v", ents)
			}
		})
	}
}

func TestExtractThroughSymlinkRefused(t *testing.T) {
	cab := writeBytes(t, []File{memFile("link/evil", []byte("x"))})
	c, _ := openBytes(t, cab)
	dir, outside := t.TempDir(), t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Extract(context.Background(), dir); err == nil {
		t.Error("extraction followed a symbolic link out of the directory")
	}
	assertEmptyDir(t, outside)
}

func TestExtractNeverOverwrites(t *testing.T) {
	cab := smallCab(t)
	c, _ := openBytes(t, cab)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Extract(context.Background(), dir); !errors.Is(err, ErrExists) {
		t.Errorf("err = %v, want ErrExists", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.txt")); string(b) != "mine" {
		t.Error("existing file overwritten")
	}
}

func TestDecompressionCap(t *testing.T) {
	// 10 MB of zeros compress to a few kilobytes.
	cab := writeBytes(t, []File{memFile("bomb.bin", make([]byte, 10<<20))})
	if len(cab) > 100<<10 {
		t.Fatalf("premise: %d-byte cabinet", len(cab))
	}
	c, err := openBytes(t, cab, WithMaxUncompressed(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	var le *LimitError
	if err := c.Test(context.Background()); !errors.Is(err, ErrTooLarge) || !errors.As(err, &le) || le.Max != 1<<20 {
		t.Errorf("Test: err = %v, want ErrTooLarge", err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	if _, err := c.Extract(context.Background(), dir); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Extract: err = %v, want ErrTooLarge", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Error("Extract created the directory before refusing")
	}
	if _, err := c.Open("bomb.bin"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Open: err = %v, want ErrTooLarge", err)
	}
	// Within the default cap the same cabinet reads fine.
	c, _ = openBytes(t, cab)
	if err := c.Test(context.Background()); err != nil {
		t.Errorf("default cap: %v", err)
	}
}

func TestOpenNotFound(t *testing.T) {
	c, _ := openBytes(t, smallCab(t))
	if _, err := c.Open("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
	rc, err := c.Open(`dir\b.txt`)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(rc); string(b) != "bee" {
		t.Errorf("got %q", b)
	}
}

func TestSafePath(t *testing.T) {
	for in, want := range map[string]string{
		"a.txt":      "a.txt",
		`dir\sub\x`:  "dir/sub/x",
		"dir/sub/x":  "dir/sub/x",
		"ünï/名前.txt": "ünï/名前.txt",
	} {
		if got, err := SafePath(in); err != nil || got != want {
			t.Errorf("SafePath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// fuzzSeeds are small cabinets of every shape the writer makes (MSZIP and
// stored, with and without the signature reserve, several blocks, several
// folders): small, so the fuzzer spends its time mutating, not minimising.
func fuzzSeeds(f *testing.F) [][]byte {
	var seeds [][]byte
	for _, opts := range [][]Option{nil, {WithCompression(None)}, {WithSignatureReserve(true)}, {withFolderLimit(2500)}} {
		var b bytes.Buffer
		if _, err := Write(context.Background(), &b, []File{
			memFile("a.txt", textData(1, 2000)), memFile("z/zeros", make([]byte, 1000)), memFile("e", nil),
		}, opts...); err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b.Bytes())
	}
	var b bytes.Buffer // two CFDATA blocks, compressed to a few hundred bytes
	if _, err := Write(context.Background(), &b, []File{memFile("zeros", make([]byte, blockSize+1000))}); err != nil {
		f.Fatal(err)
	}
	return append(seeds, b.Bytes())
}

// FuzzReader opens arbitrary bytes as a cabinet and reads everything in
// it: any outcome but a panic, a hang or unbounded memory is fine, and a
// cabinet Test accepts passes CheckStructure too.
func FuzzReader(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Open(context.Background(), bytes.NewReader(data), int64(len(data)), WithMaxUncompressed(1<<20))
		if err != nil {
			return
		}
		if c.Test(context.Background()) == nil {
			if err := c.CheckStructure(context.Background()); err != nil {
				t.Fatalf("Test accepts what CheckStructure refuses: %v", err)
			}
		}
		for _, e := range c.Files() {
			_, _ = SafePath(e.Name)
			rc, err := c.Open(e.Name)
			if err != nil {
				continue
			}
			_, _ = io.Copy(io.Discard, rc)
		}
	})
}

// FuzzExtract extracts arbitrary cabinets: no panic; a successful
// extraction wrote every file inside the directory, at its size; a failed
// one left nothing behind.
func FuzzExtract(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	base := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Open(context.Background(), bytes.NewReader(data), int64(len(data)), WithMaxUncompressed(1<<20))
		if err != nil {
			return
		}
		dir := filepath.Join(base, "out")
		defer os.RemoveAll(dir)
		entries, err := c.Extract(context.Background(), dir)
		if err != nil {
			if _, serr := os.Lstat(dir); !errors.Is(serr, fs.ErrNotExist) {
				t.Fatalf("a failed extraction (%v) left %s", err, dir)
			}
			return
		}
		for _, e := range entries {
			p, err := SafePath(e.Name)
			if err != nil {
				t.Fatalf("extracted %q, which SafePath refuses: %v", e.Name, err)
			}
			st, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(p)))
			if err != nil || !st.Mode().IsRegular() || st.Size() != e.Size {
				t.Fatalf("%q: %v, %v; want a regular file of %d bytes", e.Name, st, err, e.Size)
			}
		}
	})
}

// TestChecksumWriter: the checksums of a cabinet written to a
// ChecksumWriter in pieces of any size are checked as a whole pass checks
// them; a changed data byte is ErrChecksum, a cabinet cut short is
// ErrMalformed at Close.
func TestChecksumWriter(t *testing.T) {
	cab := writeBytes(t, []File{memFile("a.txt", textData(1, 70000)), memFile("b.bin", randomData(2, 40000))}, withFolderLimit(80000))
	c, err := openBytes(t, cab)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Folders()) < 2 {
		t.Fatal("premise: two folders")
	}
	feed := func(data []byte, piece int) error {
		w := c.ChecksumWriter()
		for len(data) > 0 {
			k := min(piece, len(data))
			if _, err := w.Write(data[:k]); err != nil {
				return err
			}
			data = data[k:]
		}
		return w.Close()
	}
	bad := append([]byte(nil), cab...)
	bad[c.Folders()[1].Offset+20] ^= 1 // a data byte of the second folder's first block
	for _, piece := range []int{1, 3, 4, 7, 4096, len(cab)} {
		if err := feed(cab, piece); err != nil {
			t.Errorf("pieces of %d: %v", piece, err)
		}
		if err := feed(bad, piece); !errors.Is(err, ErrChecksum) {
			t.Errorf("pieces of %d, a byte changed: %v, want ErrChecksum", piece, err)
		}
		if err := feed(cab[:len(cab)-10], piece); !errors.Is(err, ErrMalformed) {
			t.Errorf("pieces of %d, cut short: %v, want ErrMalformed", piece, err)
		}
	}
}
