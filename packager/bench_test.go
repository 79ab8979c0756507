package packager

import (
	"bytes"
	"compress/flate"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// benchInput is the benchmarks' input: the files of the benchmark corpus
// (DEVUPDATE_BENCH_CORPUS, as written by hack/benchcorpus) when set,
// capped at 64 MB; else a generated 16 MB mix of text, random data and
// this test binary.
func benchInput(b *testing.B) []byte {
	b.Helper()
	var buf bytes.Buffer
	if dir := os.Getenv("DEVUPDATE_BENCH_CORPUS"); dir != "" {
		var paths []string
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				paths = append(paths, p)
			}
			return nil
		})
		slices.Sort(paths)
		// Every k-th file, for a sample of the whole corpus' mix.
		for i := 0; i < len(paths) && buf.Len() < 64<<20; i += 3 {
			data, err := os.ReadFile(paths[i])
			if err != nil {
				b.Fatal(err)
			}
			buf.Write(data)
		}
		return buf.Bytes()
	}
	exe, _ := os.Executable()
	bin, _ := os.ReadFile(exe)
	buf.Write(bin[:min(len(bin), 6<<20)])
	buf.Write(textData(1, 6<<20))
	buf.Write(randomData(2, 4<<20))
	return buf.Bytes()
}

// BenchmarkWrite packages the input as one MSZIP cabinet with every core.
func BenchmarkWrite(b *testing.B) {
	in := benchInput(b)
	files := []File{memFile("input.bin", in)}
	b.SetBytes(int64(len(in)))
	var size int64
	for b.Loop() {
		res, err := Write(context.Background(), io.Discard, files, WithTempDir(b.TempDir()))
		if err != nil {
			b.Fatal(err)
		}
		size = res.Size
	}
	b.ReportMetric(float64(size)/float64(len(in)), "out/in")
}

// BenchmarkDeflate compresses the input block by block on one core, as
// MSZIP does (32 KiB blocks, the previous block as dictionary), with the
// deflate implementations and levels we chose between. The standard
// library cannot change a Writer's dictionary, so it allocates a new
// compressor per block.
func BenchmarkDeflate(b *testing.B) {
	in := benchInput(b)
	blocks := func(fn func(dict, data []byte) int) int {
		total := 0
		for i := 0; i < len(in); i += blockSize {
			total += fn(in[max(0, i-blockSize):i], in[i:min(i+blockSize, len(in))])
		}
		return total
	}
	run := func(b *testing.B, fn func(dict, data []byte) int) {
		b.SetBytes(int64(len(in)))
		var out int
		for b.Loop() {
			out = blocks(fn)
		}
		b.ReportMetric(float64(out)/float64(len(in)), "out/in")
	}
	for _, level := range []int{1, 2, 3, 4, 5, 6} {
		b.Run("klauspost-"+string(rune('0'+level)), func(b *testing.B) {
			e := newBlockEncoder(MSZIP, level)
			blk := &block{buf: make([]byte, 2*blockSize), out: make([]byte, 0, blockSize+64)}
			run(b, func(dict, data []byte) int {
				blk.dict = copy(blk.buf, dict)
				blk.n = copy(blk.buf[blk.dict:], data)
				e.encode(blk)
				return len(blk.out)
			})
		})
	}
	var sink bytes.Buffer
	for _, level := range []int{1, 6} {
		b.Run("stdlib-"+string(rune('0'+level)), func(b *testing.B) {
			run(b, func(dict, data []byte) int {
				sink.Reset()
				w, _ := flate.NewWriterDict(&sink, level, dict)
				_, _ = w.Write(data)
				_ = w.Close()
				return sink.Len() + 2
			})
		})
	}
}

// BenchmarkTest reads back (checksums and inflate) a cabinet of the input.
func BenchmarkTest(b *testing.B) {
	in := benchInput(b)
	var cab bytes.Buffer
	if _, err := Write(context.Background(), &cab, []File{memFile("input.bin", in)}, WithTempDir(b.TempDir())); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		c, err := Open(context.Background(), bytes.NewReader(cab.Bytes()), int64(cab.Len()))
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Test(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
