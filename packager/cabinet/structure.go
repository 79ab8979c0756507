package cabinet

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"github.com/devupdate/devupdate/internal/iox"
)

// CheckStructure checks, without decompressing anything, what a cabinet
// must be before it is signed or trusted: CheckLayout, and every CFDATA
// block whose checksum is set matches it (ErrChecksum). Whether the
// compressed data inflates is for Test and for extraction. The cabinet is
// read once, in order, through one buffer: memory stays flat whatever the
// size. A caller that reads the whole cabinet anyway (to hash it) checks
// the checksums on that pass with a ChecksumWriter instead.
func (c *Cabinet) CheckStructure(ctx context.Context) error {
	if err := c.CheckLayout(); err != nil {
		return err
	}
	w := c.ChecksumWriter()
	if _, err := io.CopyBuffer(w, iox.ContextReader(ctx, io.NewSectionReader(c.ra, 0, c.cbCab)), make([]byte, 256<<10)); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		return err
	}
	return w.Close()
}

// CheckLayout checks what the structures say, reading no data: every
// name follows the path rules and none collides with another (see
// CheckPath, CheckPaths); every folder's data lies after the CFFILE
// entries and overlaps no other folder's; no two files of a folder
// overlap.
func (c *Cabinet) CheckLayout() error {
	if _, err := c.checkNames(); err != nil {
		return err
	}
	order := c.foldersByOffset()
	end, prev := c.filesEnd, -1
	for _, i := range order {
		fo := c.folders[i]
		if fo.Blocks > 0 && fo.Offset < end {
			what := "the CFFILE entries"
			if prev >= 0 {
				what = fmt.Sprintf("CFFOLDER[%d]'s data", prev)
			}
			return c.errf(ErrMalformed, fmt.Sprintf("CFFOLDER[%d]", i), fo.Offset, "data begins at %d, inside %s (which end at %d)", fo.Offset, what, end)
		}
		if fo.Blocks > 0 {
			end, prev = fo.Offset+fo.CompressedSize, i
		}
	}
	files := make([]int, len(c.files))
	for i := range files {
		files[i] = i
	}
	slices.SortStableFunc(files, func(a, b int) int {
		fa, fb := c.files[a], c.files[b]
		return cmp.Or(cmp.Compare(fa.Folder, fb.Folder), cmp.Compare(fa.Offset, fb.Offset))
	})
	for k := 1; k < len(files); k++ {
		a, b := c.files[files[k-1]], c.files[files[k]]
		if a.Folder == b.Folder && b.Offset < a.Offset+a.Size && b.Size > 0 {
			return c.errf(ErrMalformed, fmt.Sprintf("CFFILE[%d]", files[k]), c.filesEnd, "%q (bytes %d to %d of folder %d) overlaps %q (bytes %d to %d)",
				b.Name, b.Offset, b.Offset+b.Size, b.Folder, a.Name, a.Offset, a.Offset+a.Size)
		}
	}
	return nil
}

// foldersByOffset returns the folders' indexes in the order their data
// lies in the file.
func (c *Cabinet) foldersByOffset() []int {
	order := make([]int, len(c.folders))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(c.folders[a].Offset, c.folders[b].Offset) })
	return order
}

// ChecksumWriter checks the CFDATA checksums of the cabinet ([MS-CAB]:
// a zero checksum means none was computed) as the cabinet's bytes are
// written to it, in order from the first: the pass that hashes a cabinet
// checks them too, without reading it again. It keeps one block header,
// whatever the size. The folders must not overlap (CheckLayout). Write
// fails at the first mismatch (ErrChecksum); Close reports a cabinet that
// ended before its last block.
func (c *Cabinet) ChecksumWriter() *ChecksumWriter {
	w := &ChecksumWriter{c: c, hdr: make([]byte, 0, dataHeaderSize+int(c.cbData))}
	for _, fi := range c.foldersByOffset() {
		if c.folders[fi].Blocks > 0 {
			w.order = append(w.order, fi)
		}
	}
	if len(w.order) > 0 {
		w.next = c.folders[w.order[0]].Offset
	}
	return w
}

// ChecksumWriter is what Cabinet.ChecksumWriter returns.
type ChecksumWriter struct {
	c     *Cabinet
	order []int  // the folders with data, in file order
	fo    int    // index in order of the folder being read
	block int    // its block being read
	pos   int64  // offset in the file of the next byte written
	next  int64  // offset of the next block's header
	hdr   []byte // that header, as far as written
	left  int    // its data bytes still to come, once the header is read
	sum   csum   // the checksum of its data so far
	err   error
}

func (w *ChecksumWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n := len(p)
	for len(p) > 0 && w.fo < len(w.order) {
		var k int
		switch {
		case len(w.hdr) == 0 && w.pos < w.next: // between blocks
			k = int(min(int64(len(p)), w.next-w.pos))
		case len(w.hdr) < cap(w.hdr):
			k = min(len(p), cap(w.hdr)-len(w.hdr))
			w.hdr = append(w.hdr, p[:k]...)
			if len(w.hdr) == cap(w.hdr) {
				w.left, w.sum = int(binary.LittleEndian.Uint16(w.hdr[4:])), csum{}
			}
		default:
			k = min(len(p), w.left)
			w.sum.write(p[:k])
			w.left -= k
		}
		w.pos, p = w.pos+int64(k), p[k:]
		if len(w.hdr) == cap(w.hdr) && w.left == 0 {
			w.endBlock()
			if w.err != nil {
				return n - len(p), w.err
			}
		}
	}
	w.pos += int64(len(p)) // after the last folder: nothing to check
	return n, nil
}

// endBlock compares the checksum of the block whose data was just
// written, and moves on to the next.
func (w *ChecksumWriter) endBlock() {
	fi := w.order[w.fo]
	if want := binary.LittleEndian.Uint32(w.hdr); want != 0 {
		// The checksum covers the data, then cbData, cbUncomp and the
		// per-block reserve.
		if got := checksum(w.hdr[4:], w.sum.value()); got != want {
			w.err = w.c.errf(ErrChecksum, fmt.Sprintf("CFDATA[%d/%d]", fi, w.block), w.next, "checksum %#08x, computed %#08x", want, got)
			return
		}
	}
	w.next, w.hdr = w.pos, w.hdr[:0]
	if w.block++; w.block == w.c.folders[fi].Blocks {
		w.fo, w.block = w.fo+1, 0
		if w.fo < len(w.order) {
			w.next = w.c.folders[w.order[w.fo]].Offset
		}
	}
}

// Close reports whether every block was written.
func (w *ChecksumWriter) Close() error {
	if w.err == nil && w.fo < len(w.order) {
		w.err = w.c.errf(ErrMalformed, fmt.Sprintf("CFDATA[%d/%d]", w.order[w.fo], w.block), w.pos, "the cabinet ends before its data does")
	}
	return w.err
}

// csum is the CFDATA checksum of bytes written in pieces: the XOR of the
// little-endian 32-bit words, then the 1-3 trailing bytes (see checksum).
type csum struct {
	acc  uint32
	tail [4]byte
	n    int // bytes in tail
}

func (s *csum) write(p []byte) {
	if s.n > 0 {
		k := copy(s.tail[s.n:], p)
		s.n, p = s.n+k, p[k:]
		if s.n < 4 {
			return
		}
		s.acc ^= binary.LittleEndian.Uint32(s.tail[:])
		s.n = 0
	}
	whole := len(p) &^ 3
	s.acc = checksum(p[:whole], s.acc)
	s.n = copy(s.tail[:], p[whole:])
}

// value is checksum of everything written, with seed 0.
func (s *csum) value() uint32 { return checksum(s.tail[:s.n], s.acc) }
