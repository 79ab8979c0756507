package packager

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	kflate "github.com/klauspost/compress/flate"

	"github.com/devupdate/devupdate/internal/testtool"
)

// mszipCab assembles a one-file, one-folder MSZIP cabinet whose CFDATA
// blocks hold the given deflate streams (each decoding to its size in
// sizes, the last of which may be short), whatever wrote them: the
// oracle tests hand cabextract streams our writer would not make.
func mszipCab(t *testing.T, streams [][]byte, sizes []int) string {
	t.Helper()
	le := binary.LittleEndian
	const name = "f.bin"
	total := 0
	for _, n := range sizes {
		total += n
	}
	var b bytes.Buffer
	w := func(v any) { _ = binary.Write(&b, le, v) }
	dataStart := headerSize + folderEntrySize + fileEntrySize + len(name) + 1
	size := dataStart
	for _, s := range streams {
		size += dataHeaderSize + 2 + len(s)
	}
	b.WriteString("MSCF")
	w([]uint32{0, uint32(size), 0, uint32(headerSize + folderEntrySize), 0})
	w([]byte{3, 1})
	w([]uint16{1, 1, 0, 0, 0})                       // folders, files, flags, set id, iCabinet
	w(uint32(dataStart))                             // CFFOLDER
	w([]uint16{uint16(len(streams)), uint16(MSZIP)}) //
	w([]uint32{uint32(total), 0})                    // CFFILE: size, offset
	w([]uint16{0, 0x5a21, 0, attrArchive})           // folder, date, time, attributes
	b.WriteString(name + "\x00")                     //
	for i, s := range streams {
		ck := append([]byte("CK"), s...)
		w(dataChecksum(uint16(len(ck)), uint16(sizes[i]), ck))
		w([]uint16{uint16(len(ck)), uint16(sizes[i])})
		b.Write(ck)
	}
	p := filepath.Join(t.TempDir(), "t.cab")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// cabextractTest runs cabextract -t on cab: the oracle, libmspack, refuses
// what Microsoft's MSZIP decoders refuse.
func cabextractTest(t *testing.T, cab string) error {
	t.Helper()
	out, err := exec.Command(testtool.Need(t, "cabextract"), "-t", cab).CombinedOutput()
	if err != nil {
		t.Logf("cabextract -t: %s", out)
	}
	return err
}

// TestEveryBlockChecked: a chunk's deflate stream may hold several
// blocks; one whose trees are incomplete after a sound first block is
// refused by cabextract and by strictDecodable (which checked only the
// first block before).
func TestEveryBlockChecked(t *testing.T) {
	var b bytes.Buffer
	w, _ := kflate.NewWriter(&b, mszipLevel)
	first, second := textData(1, 16384), make([]byte, 16384)
	_, _ = w.Write(first)
	_ = w.Flush() // a block boundary: the zeros get a block of their own
	_, _ = w.Write(second)
	_ = w.Close()
	stream := b.Bytes()
	if got, err := io.ReadAll(flate.NewReader(bytes.NewReader(stream))); err != nil || !bytes.Equal(got, append(first, second...)) {
		t.Fatalf("premise: the two-block stream does not inflate (zlib's view): %v", err)
	}
	if err := cabextractTest(t, mszipCab(t, [][]byte{stream}, []int{blockSize})); err == nil {
		t.Fatal("premise: cabextract reads a block whose distance tree is incomplete")
	}
	if strictDecodable(stream) {
		t.Error("strictDecodable accepts a stream whose second block cabextract refuses")
	}
}

// TestFallbacksReadByCabextract writes, through the packager, chunks that
// take each path of the MSZIP encoder: the library's block as it is, the
// fixed-Huffman fallback for a block the library left with an incomplete
// tree (zeros, one repeated pattern, random bytes then zeros), and a
// stored block where deflate would not shrink the data. Every chunk's
// path is checked, and cabextract must test and extract the cabinet to
// the same bytes.
func TestFallbacksReadByCabextract(t *testing.T) {
	const (
		stored  = 0
		fixed   = 1
		dynamic = 2
	)
	chunks := []struct {
		name string
		data []byte
		path int
	}{
		{"text", textData(3, blockSize), dynamic},
		{"zeros", make([]byte, blockSize), fixed},
		{"one pattern", bytes.Repeat([]byte("MSZIP golden cabinet\n"), blockSize/21+1)[:blockSize], fixed},
		{"random then zeros", append(randomData(4, 20000), make([]byte, blockSize-20000)...), fixed},
		{"random", randomData(5, blockSize), stored},
		{"short tail", textData(6, 3000), dynamic},
	}
	var all []byte
	for _, c := range chunks {
		all = append(all, c.data...)
	}
	e := newBlockEncoder(MSZIP, mszipLevel)
	for i, c := range chunks {
		// The window is the previous chunk, as the writer gives it.
		var dict []byte
		if i > 0 {
			dict = chunks[i-1].data
		}
		b := &block{buf: append(append([]byte(nil), dict...), c.data...), dict: len(dict), n: len(c.data)}
		e.encode(b)
		if got := int(b.out[2]>>1) & 3; got != c.path {
			t.Errorf("%s: block type %d, want %d", c.name, got, c.path)
		}
		if !strictDecodable(b.out[2:]) {
			t.Errorf("%s: the encoder's block is not strictly decodable", c.name)
		}
	}
	var cab bytes.Buffer
	if _, err := Write(t.Context(), &cab, []File{memFile("all.bin", all)}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "t.cab")
	if err := os.WriteFile(p, cab.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cabextractTest(t, p); err != nil {
		t.Fatalf("cabextract refuses the cabinet: %v", err)
	}
	runTool(t, dir, testtool.Need(t, "cabextract"), "-q", "-d", filepath.Join(dir, "out"), p)
	if got, err := os.ReadFile(filepath.Join(dir, "out", "all.bin")); err != nil || !bytes.Equal(got, all) {
		t.Errorf("cabextract extracted %d bytes (%v), want the %d written", len(got), err, len(all))
	}
}

// TestFixedBlock decodes fixedBlock's output with the standard library
// and checks it is strictly decodable.
func TestFixedBlock(t *testing.T) {
	for _, tc := range []struct {
		name       string
		dict, data []byte
	}{
		{"zeros", nil, make([]byte, blockSize)},
		{"text with dictionary", textData(1, blockSize), textData(2, blockSize)},
		{"random", randomData(3, 1000), randomData(4, 5000)},
		{"one byte", nil, []byte{7}},
		{"repeat of dictionary", bytes.Repeat([]byte("0123456789"), 3277), bytes.Repeat([]byte("0123456789"), 3000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf := append(append([]byte(nil), tc.dict...), tc.data...)
			out := fixedBlock(nil, buf, len(tc.dict))
			if !strictDecodable(out) {
				t.Error("fixed block not strictly decodable")
			}
			got, err := io.ReadAll(flate.NewReaderDict(bytes.NewReader(out), tc.dict))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.data) {
				t.Errorf("decoded %d bytes, differs from the %d input bytes", len(got), len(tc.data))
			}
		})
	}
}
