package packager

import (
	"bytes"
	"compress/flate"
	"io"
	"testing"

	kflate "github.com/klauspost/compress/flate"
)

// TestIncompleteTreesDetected proves the premise of deflatecheck.go: the
// deflate library gives a block of one repeated byte an incomplete
// distance tree, and strictDecodable says so.
func TestIncompleteTreesDetected(t *testing.T) {
	var b bytes.Buffer
	w, _ := kflate.NewWriter(&b, mszipLevel)
	_, _ = w.Write(bytes.Repeat([]byte("x"), blockSize))
	_ = w.Close()
	if strictDecodable(b.Bytes()) {
		t.Error("a one-distance-code block passed as strictly decodable")
	}
	b.Reset()
	w.Reset(&b)
	_, _ = w.Write(textData(7, blockSize))
	_ = w.Close()
	if !strictDecodable(b.Bytes()) {
		t.Error("an ordinary text block failed the check")
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

// TestRepairTrees: a block of one repeated pattern gets a repaired header
// (not the fixed-Huffman fallback) that decodes to the same data.
func TestRepairTrees(t *testing.T) {
	for _, tc := range []struct {
		name       string
		dict, data []byte
	}{
		{"zeros", nil, make([]byte, blockSize)},
		{"xs after text", textData(1, blockSize), bytes.Repeat([]byte("x"), blockSize)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			w, _ := kflate.NewWriterDict(&b, mszipLevel, tc.dict)
			_, _ = w.Write(tc.data)
			_ = w.Close()
			if strictDecodable(b.Bytes()) {
				t.Fatal("premise: the library's block should have a single distance code")
			}
			out, ok := repairTrees(nil, b.Bytes())
			if !ok || !strictDecodable(out) {
				t.Fatalf("repairTrees ok=%v, strict=%v", ok, strictDecodable(out))
			}
			got, err := io.ReadAll(flate.NewReaderDict(bytes.NewReader(out), tc.dict))
			if err != nil || !bytes.Equal(got, tc.data) {
				t.Fatalf("repaired block decodes to %d bytes (%v), want the %d input bytes", len(got), err, len(tc.data))
			}
			if len(out) > b.Len()+8 {
				t.Errorf("repaired block %d bytes, library's %d", len(out), b.Len())
			}
		})
	}
}
