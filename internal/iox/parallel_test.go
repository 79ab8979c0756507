package iox

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

// failAfter accepts n bytes, then fails every write.
type failAfter struct {
	n   int
	got bytes.Buffer
}

var errFull = errors.New("full")

func (f *failAfter) Write(p []byte) (int, error) {
	if f.got.Len()+len(p) > f.n {
		return 0, errFull
	}
	return f.got.Write(p)
}

// TestParallelWriter: every writer gets exactly the bytes written, in
// order, through Write and ReadFrom, with several writers sharing a few
// small buffers; a failing writer is reported by Close while the others
// get everything; a reader's error is ReadFrom's.
func TestParallelWriter(t *testing.T) {
	data := make([]byte, 1<<20+123)
	rand.NewChaCha8([32]byte{7}).Read(data)
	want := sha256.Sum256(data)
	bufs := NewBuffers(3, 4096)
	for _, how := range []string{"write", "readfrom", "one byte reads"} {
		t.Run(how, func(t *testing.T) {
			a, b := sha256.New(), sha256.New()
			var c bytes.Buffer
			bad := &failAfter{n: 10000}
			p := bufs.Writer(a, b, &c, bad)
			switch how {
			case "write":
				for rest := data; len(rest) > 0; {
					k := min(len(rest), 7777)
					if n, err := p.Write(rest[:k]); n != k || err != nil {
						t.Fatalf("Write = %d, %v", n, err)
					}
					rest = rest[k:]
				}
			case "readfrom":
				if n, err := p.ReadFrom(bytes.NewReader(data)); n != int64(len(data)) || err != nil {
					t.Fatalf("ReadFrom = %d, %v", n, err)
				}
			case "one byte reads":
				if n, err := p.ReadFrom(iotest.OneByteReader(bytes.NewReader(data[:50000]))); n != 50000 || err != nil {
					t.Fatalf("ReadFrom = %d, %v", n, err)
				}
				if _, err := p.Write(data[50000:]); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.Close(); !errors.Is(err, errFull) {
				t.Errorf("Close = %v, want the failing writer's error", err)
			}
			if [32]byte(a.Sum(nil)) != want || [32]byte(b.Sum(nil)) != want || !bytes.Equal(c.Bytes(), data) {
				t.Error("a writer did not get every byte in order")
			}
			if !bytes.Equal(bad.got.Bytes(), data[:bad.got.Len()]) || bad.got.Len() > bad.n {
				t.Errorf("the failing writer got %d bytes, not a prefix within its %d", bad.got.Len(), bad.n)
			}
		})
	}
	p := bufs.Writer(sha256.New())
	if _, err := p.ReadFrom(iotest.ErrReader(io.ErrClosedPipe)); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("ReadFrom of a failing reader = %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if len(bufs.free) != cap(bufs.free) {
		t.Errorf("%d of %d buffers came back", len(bufs.free), cap(bufs.free))
	}
}
