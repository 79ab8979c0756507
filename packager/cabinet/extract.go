package cabinet

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"unicode/utf8"
)

// budget counts the bytes decompressed by one call against the cap.
type budget struct {
	used, max int64
}

func (b *budget) take(n int64) error {
	b.used += n
	if b.used > b.max {
		return &LimitError{Limit: LimitUncompressed, Value: b.used, Max: b.max}
	}
	return nil
}

// Sizes of a folderReader's buffers.
const (
	// readBuffer is what one read of the cabinet fetches: many CFDATA
	// blocks, which lie one after another, at a time.
	readBuffer = 256 << 10
	// historyBuffer holds the 32 KiB deflate window and the blocks
	// decompressed after it; the window is moved back to the start only
	// when the buffer is full.
	historyBuffer = 8 * blockSize
)

// folderReader decompresses one folder sequentially, reading its CFDATA
// blocks in order through one buffer (one read per readBuffer bytes, not
// two per block), each block's header checked again as it is read. The
// reader uses the standard library's inflate, independent of the writer's
// deflate.
type folderReader struct {
	c      *Cabinet
	ctx    context.Context
	fi     int
	src    *bufio.Reader // the folder's CFDATA blocks
	off    int64         // offset in the cabinet of the next block
	next   int           // index of the next block to read
	pos    int64         // uncompressed offset of the next byte Read returns
	hist   []byte        // the history window, then the current block
	cur    []byte        // unread part of the current block
	inf    io.ReadCloser
	budget *budget
	trace  *Trace // nil: not traced
}

func (c *Cabinet) newFolderReader(ctx context.Context, fi int, b *budget) (*folderReader, error) {
	fo := c.folders[fi]
	src := bufio.NewReaderSize(io.NewSectionReader(c.ra, fo.Offset, c.cbCab-fo.Offset), readBuffer)
	return &folderReader{c: c, ctx: ctx, fi: fi, src: src, off: fo.Offset, budget: b, trace: traceFrom(ctx), hist: make([]byte, 0, historyBuffer)}, nil
}

func (r *folderReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.next == r.c.folders[r.fi].Blocks {
			return 0, io.EOF
		}
		if err := r.ctx.Err(); err != nil {
			return 0, err
		}
		if err := r.readBlock(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	r.pos += int64(n)
	return n, nil
}

// peek returns the next n bytes of the folder's data without consuming
// them.
func (r *folderReader) peek(n int, name func() string) ([]byte, error) {
	b, err := r.src.Peek(n)
	switch {
	case err == nil:
		return b, nil
	case errors.Is(err, io.EOF):
		return nil, r.c.errf(ErrMalformed, name(), r.off, "%d bytes needed but the cabinet ends at %d", n, r.c.cbCab)
	}
	return nil, fmt.Errorf("%s: reading %s at offset %d: %w", r.c.o.name, name(), r.off, err)
}

// readBlock reads, checks and decompresses the next CFDATA block.
func (r *folderReader) readBlock() error {
	c := r.c
	i := r.next
	name := func() string { return fmt.Sprintf("CFDATA[%d/%d]", r.fi, i) }
	r.next++
	headerLen := dataHeaderSize + int(c.cbData)
	hdr, err := r.peek(headerLen, name)
	if err != nil {
		return err
	}
	sum := binary.LittleEndian.Uint32(hdr)
	cbData, cbUncomp := int(binary.LittleEndian.Uint16(hdr[4:])), int(binary.LittleEndian.Uint16(hdr[6:]))
	if err := c.checkBlock(r.fi, i, r.off, cbData, cbUncomp); err != nil {
		return err
	}
	if err := r.budget.take(int64(cbUncomp)); err != nil {
		return fmt.Errorf("%s: %w", c.o.name, err)
	}
	block, err := r.peek(headerLen+cbData, name)
	if err != nil {
		return err
	}
	hdr, data := block[:headerLen], block[headerLen:]
	// The checksum covers the data, then cbData, cbUncomp and the
	// per-block reserve.
	if got := checksum(hdr[4:], checksum(data, 0)); sum != 0 && got != sum {
		return c.errf(ErrChecksum, name(), r.off, "checksum %#08x, computed %#08x", sum, got)
	}
	// Keep the 32 KiB of history before the new block, moving it back to
	// the start of the buffer when the block would not fit after it.
	if len(r.hist)+blockSize > cap(r.hist) {
		r.hist = append(r.hist[:0], r.hist[len(r.hist)-blockSize:]...)
	}
	start := len(r.hist)
	out := r.hist[start : start+cbUncomp]
	dict := r.hist[max(0, start-blockSize):start]
	switch c.folders[r.fi].Compression {
	case None:
		copy(out, data)
	case MSZIP:
		if len(data) < 2 || data[0] != 'C' || data[1] != 'K' {
			return c.errf(ErrMalformed, name(), r.off+int64(headerLen), "MSZIP block does not start with CK")
		}
		src := bytes.NewReader(data[2:])
		if r.inf == nil {
			r.inf = flate.NewReaderDict(src, dict)
		} else if err := r.inf.(flate.Resetter).Reset(src, dict); err != nil {
			return c.errf(ErrMalformed, name(), r.off, "%v", err)
		}
		if _, err := io.ReadFull(r.inf, out); err != nil {
			return c.errf(ErrMalformed, name(), r.off+int64(headerLen), "deflate data: %v (expected %d bytes)", err, cbUncomp)
		}
		var one [1]byte
		if n, err := r.inf.Read(one[:]); n > 0 || err != io.EOF {
			return c.errf(ErrMalformed, name(), r.off+int64(headerLen), "deflate data longer than cbUncomp %d or not final (%v)", cbUncomp, err)
		}
	}
	if _, err := r.src.Discard(len(block)); err != nil {
		return fmt.Errorf("%s: %s: %w", c.o.name, name(), err)
	}
	r.off += int64(len(block))
	r.hist = r.hist[:start+cbUncomp]
	r.cur = out
	if r.trace != nil {
		r.trace.Decompressed(r.fi, cbUncomp)
	}
	return nil
}

// discard skips n bytes of the folder.
func (r *folderReader) discard(n int64) error {
	if _, err := io.CopyN(io.Discard, r, n); err != nil {
		if err == io.EOF {
			return r.c.errf(ErrMalformed, fmt.Sprintf("CFFOLDER[%d]", r.fi), r.c.folders[r.fi].Offset, "data ends before offset %d", r.pos+n)
		}
		return err
	}
	return nil
}

// Test decompresses every folder, checking every CFDATA checksum and size,
// that every file lies within its folder's data, and the decompression cap.
func (c *Cabinet) Test(ctx context.Context) error {
	b := &budget{max: c.o.maxUncompressed}
	for i := range c.folders {
		r, err := c.newFolderReader(ctx, i, b)
		if err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			return err
		}
		if r.pos != c.folders[i].Size {
			return c.errf(ErrMalformed, fmt.Sprintf("CFFOLDER[%d]", i), c.folders[i].Offset, "%d bytes decompressed, %d expected", r.pos, c.folders[i].Size)
		}
	}
	return nil
}

// Open returns the content of the named file ('/' or '\' separated, as
// listed by Files). The reader decompresses the file's folder from its
// start; it fails with a *FormatError if the data is corrupt.
func (c *Cabinet) Open(name string) (io.ReadCloser, error) {
	name = strings.ReplaceAll(name, `\`, "/")
	for _, f := range c.files {
		if f.Name != name {
			continue
		}
		b := &budget{max: c.o.maxUncompressed}
		if f.Size > b.max {
			return nil, fmt.Errorf("%s: %q: %w", c.o.name, name, &LimitError{Limit: LimitUncompressed, Name: name, Value: f.Size, Max: b.max})
		}
		r, err := c.newFolderReader(context.Background(), f.Folder, b)
		if err != nil {
			return nil, err
		}
		if err := r.discard(f.Offset); err != nil {
			return nil, err
		}
		return io.NopCloser(&exactReader{r: io.LimitReader(r, f.Size), left: f.Size, c: c, name: name}), nil
	}
	return nil, fmt.Errorf("%s: %q: %w", c.o.name, name, ErrNotFound)
}

// exactReader turns a premature end of the folder into an error.
type exactReader struct {
	r    io.Reader
	left int64
	c    *Cabinet
	name string
}

func (e *exactReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		return n, fmt.Errorf("%s: %q: %w", e.c.o.name, e.name, io.ErrUnexpectedEOF)
	}
	return n, err
}

// SafePath returns the relative, '/'-separated path under which a file
// stored as name may be extracted, or a *NameError: names with an empty,
// "." or ".." component, a leading separator (absolute), a ':' (drive
// letters, alternate data streams), control characters or invalid UTF-8
// are refused. Both '\' and '/' separate directories.
func SafePath(name string) (string, error) {
	bad := func(reason string) (string, error) { return "", &NameError{Name: name, Reason: reason} }
	if name == "" {
		return bad("empty")
	}
	if !utf8.ValidString(name) {
		return bad("not valid UTF-8")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7F {
			return bad(fmt.Sprintf("control character %U", r))
		}
		if r == ':' {
			return bad("':' (drive letter or alternate data stream)")
		}
	}
	parts := strings.FieldsFunc(name, func(r rune) bool { return r == '/' || r == '\\' })
	if name[0] == '/' || name[0] == '\\' {
		return bad("absolute path")
	}
	for _, p := range strings.Split(strings.ReplaceAll(name, `\`, "/"), "/") {
		switch p {
		case "":
			return bad("empty path component")
		case ".", "..":
			return bad(fmt.Sprintf("%q path component", p))
		}
	}
	return path.Join(parts...), nil
}

// Extract writes every file under dir (created if missing), refusing
// unsafe names (see SafePath) before writing anything, and never
// overwriting an existing file (ErrExists). Writes go through an os.Root,
// so symbolic links cannot lead them out of dir. It returns the entries
// extracted.
func (c *Cabinet) Extract(ctx context.Context, dir string) ([]Entry, error) {
	paths := make([]string, len(c.files))
	var total int64
	seen := map[string]bool{}
	for i, f := range c.files {
		p, err := SafePath(f.stored)
		if err != nil {
			return nil, fmt.Errorf("%s: CFFILE[%d]: %w", c.o.name, i, err)
		}
		if seen[p] {
			return nil, fmt.Errorf("%s: CFFILE[%d]: %q: %w (twice in the cabinet)", c.o.name, i, p, ErrExists)
		}
		seen[p] = true
		paths[i] = p
		total += f.Size
	}
	if total > c.o.maxUncompressed {
		return nil, fmt.Errorf("%s: %w", c.o.name, &LimitError{Limit: LimitUncompressed, Value: total, Max: c.o.maxUncompressed})
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()

	err = c.Walk(ctx, func(i int, e Entry, r io.Reader) error {
		if err := extractOne(root, paths[i], r, e); err != nil {
			return fmt.Errorf("%s: extracting %q: %w", c.o.name, e.Name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.o.logger.DebugContext(ctx, "extracted", "cabinet", c.o.name, "files", len(paths), "bytes", total)
	return c.Files(), nil
}

// Walk calls fn for every file of the cabinet with a reader of its
// content, in the order the data lies: folder by folder, by offset within
// a folder (i is the file's index in Files). Each folder is decompressed
// once, as one stream, whatever the number of files; only a file that
// overlaps the one before it (which no writer makes, but a hostile
// cabinet may) starts its folder again, and the decompression cap bounds
// that work too. Whatever fn leaves unread of its file is decompressed and
// dropped, and the reader must not be used after fn returns. The first
// error, fn's or the reader's (a *FormatError, a *LimitError wrapping
// ErrTooLarge, ctx's), ends the walk.
func (c *Cabinet) Walk(ctx context.Context, fn func(i int, e Entry, r io.Reader) error) error {
	order := make([]int, len(c.files))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		fa, fb := c.files[a], c.files[b]
		if fa.Folder != fb.Folder {
			return fa.Folder - fb.Folder
		}
		return int(min(max(fa.Offset-fb.Offset, -1), 1))
	})
	b := &budget{max: c.o.maxUncompressed}
	var r *folderReader
	var err error
	for _, i := range order {
		e := c.files[i]
		if r == nil || r.fi != e.Folder || r.pos > e.Offset {
			if r, err = c.newFolderReader(ctx, e.Folder, b); err != nil {
				return err
			}
		}
		if err := r.discard(e.Offset - r.pos); err != nil {
			return err
		}
		end := r.pos + e.Size
		if err := fn(i, e, &exactReader{r: io.LimitReader(r, e.Size), left: e.Size, c: c, name: e.Name}); err != nil {
			return err
		}
		if err := r.discard(end - r.pos); err != nil {
			return err
		}
	}
	return nil
}

func extractOne(root *os.Root, p string, r io.Reader, e Entry) (err error) {
	if d := path.Dir(p); d != "." {
		if err := root.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	f, err := root.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w", p, ErrExists)
		}
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = root.Remove(p)
		}
	}()
	n, err := io.Copy(f, r)
	if err != nil {
		return err
	}
	if n != e.Size {
		return &SizeMismatchError{Name: e.Name, Declared: e.Size, Read: n}
	}
	if !e.Modified.IsZero() {
		_ = root.Chtimes(p, e.Modified, e.Modified)
	}
	return nil
}
