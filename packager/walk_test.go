package packager

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"testing"

	"github.com/devupdate/devupdate/packager/cabinet"
)

// counted returns a context whose cabinet readers add every byte they
// decompress to n.
func counted(n *atomic.Int64) context.Context {
	return cabinet.WithTrace(context.Background(), &cabinet.Trace{Decompressed: func(_, b int) { n.Add(int64(b)) }})
}

// folderBytes is the uncompressed size of every folder of c.
func folderBytes(c *Cabinet) int64 {
	var n int64
	for _, fo := range c.Folders() {
		n += fo.Size
	}
	return n
}

// TestWalkDecompressesOnce: Walk hands every file over once, with its
// content, in the order the data lies, and decompresses each folder
// exactly once (counted by the reader's trace) however many files it
// holds, whether fn reads a file whole, in part or not at all. Extract,
// which walks, decompresses once too.
func TestWalkDecompressesOnce(t *testing.T) {
	in := testInput()
	for i := range 40 {
		in[fmt.Sprintf("many/%02d.bin", i)] = randomData(uint64(10+i), 3000*i)
	}
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"mszip one folder", nil},
		{"mszip folders", []Option{withFolderLimit(250000)}},
		{"none folders", []Option{WithCompression(None), withFolderLimit(250000)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cab := writeBytes(t, filesOf(in), tc.opts...)
			c, err := openBytes(t, cab)
			if err != nil {
				t.Fatal(err)
			}
			for _, read := range []string{"whole", "part", "none"} {
				var n atomic.Int64
				seen := map[string]bool{}
				last := cabinet.Entry{Folder: -1}
				err := c.Walk(counted(&n), func(i int, e Entry, r io.Reader) error {
					if c.Files()[i].Name != e.Name || seen[e.Name] {
						return fmt.Errorf("file %d: %q, seen before: %t", i, e.Name, seen[e.Name])
					}
					seen[e.Name] = true
					if e.Folder < last.Folder || e.Folder == last.Folder && e.Offset < last.Offset {
						return fmt.Errorf("%q (folder %d, offset %d) after %q (folder %d, offset %d)", e.Name, e.Folder, e.Offset, last.Name, last.Folder, last.Offset)
					}
					last = e
					switch read {
					case "whole":
						b, err := io.ReadAll(r)
						if err != nil || !bytes.Equal(b, in[e.Name]) {
							return fmt.Errorf("%q: %d bytes, %v; want its %d bytes", e.Name, len(b), err, len(in[e.Name]))
						}
					case "part":
						b := make([]byte, min(100, e.Size))
						if _, err := io.ReadFull(r, b); err != nil || !bytes.Equal(b, in[e.Name][:len(b)]) {
							return fmt.Errorf("%q: first bytes %v", e.Name, err)
						}
					}
					return nil
				})
				if err != nil {
					t.Fatalf("read %s: %v", read, err)
				}
				if len(seen) != len(in) {
					t.Errorf("read %s: %d files walked, want %d", read, len(seen), len(in))
				}
				if got, want := n.Load(), folderBytes(c); got != want {
					t.Errorf("read %s: %d bytes decompressed, the folders hold %d", read, got, want)
				}
			}
			var n atomic.Int64
			if _, err := c.Extract(counted(&n), t.TempDir()); err != nil {
				t.Fatal(err)
			}
			if got, want := n.Load(), folderBytes(c); got != want {
				t.Errorf("Extract: %d bytes decompressed, the folders hold %d", got, want)
			}
		})
	}
}

// setFileOffset points CFFILE[i] of cab at offset off of its folder.
func setFileOffset(t *testing.T, cab []byte, i int, off uint32) {
	t.Helper()
	p := int(binary.LittleEndian.Uint32(cab[16:]))
	for range i {
		end := bytes.IndexByte(cab[p+16:], 0)
		if end < 0 {
			t.Fatal("no CFFILE name end")
		}
		p += 16 + end + 1
	}
	binary.LittleEndian.PutUint32(cab[p+4:], off)
}

// TestWalkOverlappingFiles: a hostile cabinet whose files overlap (no
// writer makes one) still gives each file its bytes, by starting the
// folder again, and that extra work counts against the decompression cap.
func TestWalkOverlappingFiles(t *testing.T) {
	a, b := randomData(1, 90000), randomData(2, 50000)
	cab := writeBytes(t, []File{memFile("a.bin", a), memFile("b.bin", b)})
	setFileOffset(t, cab, 1, 1000) // b.bin now covers a.bin's bytes 1000..51000
	c, err := openBytes(t, cab)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{"a.bin": a, "b.bin": a[1000:51000]}
	var n atomic.Int64
	err = c.Walk(counted(&n), func(_ int, e Entry, r io.Reader) error {
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, want[e.Name]) {
			return fmt.Errorf("%q: %d bytes, %v", e.Name, len(got), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n.Load() <= folderBytes(c) {
		t.Errorf("%d bytes decompressed for overlapping files in a %d-byte folder: no restart?", n.Load(), folderBytes(c))
	}
	c, err = openBytes(t, cab, WithMaxUncompressed(folderBytes(c)+1000))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Walk(context.Background(), func(int, Entry, io.Reader) error { return nil })
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("restart beyond the cap: err = %v, want ErrTooLarge", err)
	}
}

// changingReaderAt serves b, with b[at] replaced by to once changed is set.
type changingReaderAt struct {
	b       []byte
	at      int
	to      byte
	changed bool
}

func (c *changingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := bytes.NewReader(c.b).ReadAt(p, off)
	if c.changed && int64(c.at) >= off && int64(c.at) < off+int64(n) {
		p[int64(c.at)-off] = c.to
	}
	return n, err
}

// TestBlockHeaderCheckedWhenRead: a CFDATA header that changes after the
// cabinet was opened (a file rewritten under the reader) is checked again
// as it is read, and refused, never trusted from the opening.
func TestBlockHeaderCheckedWhenRead(t *testing.T) {
	cab := writeBytes(t, []File{memFile("a.bin", randomData(3, 100000))})
	c0, err := openBytes(t, cab)
	if err != nil {
		t.Fatal(err)
	}
	second := c0.Folders()[0].Offset + 8 + int64(binary.LittleEndian.Uint16(cab[c0.Folders()[0].Offset+4:]))
	r := &changingReaderAt{b: cab, at: int(second) + 7, to: 0x90} // cbUncomp 0x9000, more than a block
	c, err := Open(r, int64(len(cab)), WithName("t.cab"))
	if err != nil {
		t.Fatal(err)
	}
	r.changed = true
	var fe *FormatError
	if err := c.Test(context.Background()); !errors.As(err, &fe) || !errors.Is(err, ErrMalformed) || fe.Structure != "CFDATA[0/1]" {
		t.Errorf("Test of a changed block header: %v, want a *FormatError for CFDATA[0/1]", err)
	}
}
