package cabinet

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"
)

// DefaultMaxUncompressed is the default cap on the bytes one Test, Extract
// or Open(name) may decompress: well above any device update, far below
// what a decompression bomb expands to.
const DefaultMaxUncompressed = 8 << 30

// ReadOption configures Open and OpenFile.
type ReadOption func(*readOptions) error

type readOptions struct {
	name            string
	maxUncompressed int64
	logger          *slog.Logger
}

// WithName names the cabinet in errors. Default: "cabinet" (OpenFile: its path).
func WithName(name string) ReadOption {
	return func(o *readOptions) error {
		o.name = name
		return nil
	}
}

// WithMaxUncompressed caps the bytes one Test, Extract or Open(name) call
// decompresses (a *LimitError wrapping ErrTooLarge beyond it). Default:
// DefaultMaxUncompressed.
func WithMaxUncompressed(n int64) ReadOption {
	return func(o *readOptions) error {
		if n < 0 {
			return fmt.Errorf("%w: negative decompression cap %d", ErrInvalidOption, n)
		}
		o.maxUncompressed = n
		return nil
	}
}

// WithReadLogger sets the logger for debug messages. Default: discard.
func WithReadLogger(l *slog.Logger) ReadOption {
	return func(o *readOptions) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalidOption)
		}
		o.logger = l
		return nil
	}
}

// Entry is a file listed in a cabinet.
type Entry struct {
	Name       string     `json:"name"` // as stored, with '\' shown as '/'
	Size       int64      `json:"size"`
	Modified   time.Time  `json:"modified"` // MS-DOS time read as UTC; zero if invalid
	Attributes Attributes `json:"attributes"`
	Folder     int        `json:"folder"`
	Offset     int64      `json:"offset"` // uncompressed offset in its folder

	stored string
}

// FolderInfo describes one CFFOLDER.
type FolderInfo struct {
	Compression    Compression `json:"compression"`
	Blocks         int         `json:"blocks"`
	Size           int64       `json:"size"`            // uncompressed bytes
	CompressedSize int64       `json:"compressed_size"` // CFDATA bytes, headers included
	Offset         int64       `json:"offset"`          // of the first CFDATA
}

// SignatureInfo describes the Authenticode reserve of a cabinet.
type SignatureInfo struct {
	Reserved bool  `json:"reserved"` // CFHEADER has the 20-byte signature reserve
	Offset   int64 `json:"offset"`   // where the signature is (or will be) appended
	Size     int64 `json:"size"`     // signature bytes; 0 when unsigned
}

// Cabinet is an opened cabinet. Its methods may be called concurrently.
type Cabinet struct {
	ra      io.ReaderAt
	size    int64 // bytes available in ra
	closer  io.Closer
	o       readOptions
	cbCab   int64
	cbData  int64 // CFDATA reserve per block
	sig     SignatureInfo
	folders []FolderInfo
	files   []Entry
}

// OpenFile opens the cabinet at path; Close closes the file.
func OpenFile(path string, opts ...ReadOption) (*Cabinet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	c, err := Open(f, st.Size(), append([]ReadOption{WithName(path)}, opts...)...)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	c.closer = f
	return c, nil
}

// Open reads the structure of the size-byte cabinet in r: CFHEADER,
// CFFOLDERs, CFFILEs and every CFDATA header, checking that they are
// consistent. Signed cabinets (signature appended after cbCabinet bytes)
// are read like unsigned ones. Open reads no compressed data.
func Open(r io.ReaderAt, size int64, opts ...ReadOption) (*Cabinet, error) {
	c := &Cabinet{ra: r, size: size, o: readOptions{name: "cabinet", maxUncompressed: DefaultMaxUncompressed, logger: slog.New(slog.DiscardHandler)}}
	for _, opt := range opts {
		if err := opt(&c.o); err != nil {
			return nil, err
		}
	}
	if err := c.parse(); err != nil {
		return nil, err
	}
	return c, nil
}

// Close closes the file opened by OpenFile; otherwise it does nothing.
func (c *Cabinet) Close() error {
	if c.closer != nil {
		return c.closer.Close()
	}
	return nil
}

// Files lists the files in stored order.
func (c *Cabinet) Files() []Entry { return append([]Entry(nil), c.files...) }

// Folders lists the folders.
func (c *Cabinet) Folders() []FolderInfo { return append([]FolderInfo(nil), c.folders...) }

// Size is CFHEADER.cbCabinet: the cabinet's bytes without a signature.
func (c *Cabinet) Size() int64 { return c.cbCab }

// Signature describes the signature reserve and any appended signature.
func (c *Cabinet) Signature() SignatureInfo { return c.sig }

func (c *Cabinet) errf(sentinel error, structure string, off int64, format string, args ...any) error {
	return &FormatError{Cabinet: c.o.name, Structure: structure, Offset: off, Reason: fmt.Sprintf(format, args...), Err: sentinel}
}

// readAt reads exactly len(p) bytes at off, which must lie in the cabinet.
func (c *Cabinet) readAt(p []byte, off int64, structure string) error {
	if off < 0 || off+int64(len(p)) > c.cbCab {
		return c.errf(ErrMalformed, structure, off, "%d bytes needed but the cabinet ends at %d", len(p), c.cbCab)
	}
	if _, err := c.ra.ReadAt(p, off); err != nil {
		if errors.Is(err, io.EOF) {
			return c.errf(ErrMalformed, structure, off, "truncated")
		}
		return fmt.Errorf("%s: reading %s at offset %d: %w", c.o.name, structure, off, err)
	}
	return nil
}

func (c *Cabinet) parse() error {
	le := binary.LittleEndian
	if c.size < headerSize {
		return c.errf(ErrMalformed, "CFHEADER", 0, "not a cabinet (%d bytes, shorter than a cabinet header)", c.size)
	}
	c.cbCab = headerSize
	var h [headerSize]byte
	if err := c.readAt(h[:], 0, "CFHEADER"); err != nil {
		return err
	}
	if le.Uint32(h[0:]) != signature {
		return c.errf(ErrMalformed, "CFHEADER", 0, "not a cabinet (no MSCF signature)")
	}
	c.cbCab = int64(le.Uint32(h[8:]))
	if c.cbCab < headerSize || c.cbCab > c.size {
		return c.errf(ErrMalformed, "CFHEADER", 8, "cbCabinet %d but %d bytes are available", c.cbCab, c.size)
	}
	coffFiles := int64(le.Uint32(h[16:]))
	if h[25] != 1 {
		return c.errf(ErrUnsupported, "CFHEADER", 24, "format version %d.%d", h[25], h[24])
	}
	nFolders, nFiles, flags := int(le.Uint16(h[26:])), int(le.Uint16(h[28:])), le.Uint16(h[30:])
	if flags&(flagPrevCabinet|flagNextCabinet) != 0 {
		return c.errf(ErrUnsupported, "CFHEADER", 30, "cabinet sets (flags %#04x)", flags)
	}
	off := int64(headerSize)
	var cbFolder int64
	if flags&flagReservePresent != 0 {
		var r [reserveFieldLen]byte
		if err := c.readAt(r[:], off, "CFHEADER reserve"); err != nil {
			return err
		}
		cbHeader := int64(le.Uint16(r[0:]))
		cbFolder, c.cbData = int64(r[2]), int64(r[3])
		off += reserveFieldLen
		if cbHeader > 60000 {
			return c.errf(ErrMalformed, "CFHEADER reserve", off-reserveFieldLen, "cbCFHeader %d exceeds 60000", cbHeader)
		}
		res := make([]byte, cbHeader)
		if err := c.readAt(res, off, "CFHEADER reserve"); err != nil {
			return err
		}
		if cbHeader == sigReserveSize {
			c.sig = SignatureInfo{Reserved: true, Offset: int64(le.Uint32(res[4:])), Size: int64(le.Uint32(res[8:]))}
		}
		off += cbHeader
	}
	if c.sig.Size > 0 && (c.sig.Offset != c.cbCab || c.sig.Offset+c.sig.Size > c.size) {
		return c.errf(ErrMalformed, "CFHEADER reserve", headerSize+reserveFieldLen, "signature of %d bytes at %d does not follow the cabinet's %d bytes within the %d available",
			c.sig.Size, c.sig.Offset, c.cbCab, c.size)
	}

	// CFFOLDERs.
	fe := make([]byte, folderEntrySize+cbFolder)
	c.folders = make([]FolderInfo, nFolders)
	starts := make([]int64, nFolders)
	for i := range nFolders {
		name := fmt.Sprintf("CFFOLDER[%d]", i)
		if err := c.readAt(fe, off, name); err != nil {
			return err
		}
		comp := Compression(le.Uint16(fe[6:]) & 0x000F)
		if comp != None && comp != MSZIP {
			return c.errf(ErrUnsupported, name, off, "%v compression", comp)
		}
		c.folders[i] = FolderInfo{Compression: comp, Blocks: int(le.Uint16(fe[4:])), Offset: int64(le.Uint32(fe[0:]))}
		starts[i] = off
		off += int64(len(fe))
	}
	if coffFiles < off || coffFiles > c.cbCab {
		return c.errf(ErrMalformed, "CFHEADER", 16, "coffFiles %d is outside [%d, %d]", coffFiles, off, c.cbCab)
	}

	// CFFILEs, read through one buffered section.
	br := bufio.NewReader(io.NewSectionReader(c.ra, coffFiles, c.cbCab-coffFiles))
	off = coffFiles
	c.files = make([]Entry, 0, nFiles)
	var ent [fileEntrySize]byte
	for i := range nFiles {
		name := fmt.Sprintf("CFFILE[%d]", i)
		if _, err := io.ReadFull(br, ent[:]); err != nil {
			return c.errf(ErrMalformed, name, off, "truncated")
		}
		stored, err := br.ReadSlice(0)
		if err != nil || len(stored) > MaxNameLength+1 {
			return c.errf(ErrMalformed, name, off+fileEntrySize, "name not NUL-terminated within %d bytes", MaxNameLength+1)
		}
		stored = stored[:len(stored)-1]
		iFolder := int(le.Uint16(ent[8:]))
		if iFolder >= 0xFFFD {
			return c.errf(ErrUnsupported, name, off+8, "file continued from or into another cabinet (iFolder %#x)", iFolder)
		}
		if iFolder >= nFolders {
			return c.errf(ErrMalformed, name, off+8, "iFolder %d but the cabinet has %d folders", iFolder, nFolders)
		}
		c.files = append(c.files, Entry{
			Name:       string(bytes.ReplaceAll(stored, []byte{'\\'}, []byte{'/'})),
			Size:       int64(le.Uint32(ent[0:])),
			Modified:   fromDOSTime(le.Uint16(ent[10:]), le.Uint16(ent[12:])),
			Attributes: Attributes(le.Uint16(ent[14:])),
			Folder:     iFolder,
			Offset:     int64(le.Uint32(ent[4:])),
			stored:     string(stored),
		})
		off += fileEntrySize + int64(len(stored)) + 1
	}

	// Walk the CFDATA headers of every folder: sizes and bounds, without
	// keeping them (their number is bounded only by the cabinet's size).
	minBlock := int64(dataHeaderSize) + c.cbData + 1
	var walked int64
	for i := range c.folders {
		fo := &c.folders[i]
		if fo.Blocks == 0 {
			continue
		}
		walked += int64(fo.Blocks)
		if walked*minBlock > c.cbCab {
			return c.errf(ErrMalformed, fmt.Sprintf("CFFOLDER[%d]", i), starts[i], "%d CFDATA blocks cannot fit in %d bytes", walked, c.cbCab)
		}
		err := c.walkBlocks(i, func(_ int, _ int64, cbData, cbUncomp int) error {
			fo.Size += int64(cbUncomp)
			fo.CompressedSize += int64(dataHeaderSize) + c.cbData + int64(cbData)
			return nil
		})
		if err != nil {
			return err
		}
	}
	for i, f := range c.files {
		if fo := c.folders[f.Folder]; f.Offset+f.Size > fo.Size {
			return c.errf(ErrMalformed, fmt.Sprintf("CFFILE[%d]", i), coffFiles, "%q claims bytes %d to %d of folder %d, which holds %d",
				f.Name, f.Offset, f.Offset+f.Size, f.Folder, fo.Size)
		}
	}
	return nil
}

// walkBlocks calls fn with the offset and sizes of each CFDATA of folder
// fi, after checking its header.
func (c *Cabinet) walkBlocks(fi int, fn func(i int, off int64, cbData, cbUncomp int) error) error {
	fo := c.folders[fi]
	off := fo.Offset
	var h [dataHeaderSize]byte
	for i := range fo.Blocks {
		name := fmt.Sprintf("CFDATA[%d/%d]", fi, i)
		if err := c.readAt(h[:], off, name); err != nil {
			return err
		}
		cbData, cbUncomp := int(binary.LittleEndian.Uint16(h[4:])), int(binary.LittleEndian.Uint16(h[6:]))
		if err := c.checkBlock(fi, i, off, cbData, cbUncomp); err != nil {
			return err
		}
		if err := fn(i, off, cbData, cbUncomp); err != nil {
			return err
		}
		off += dataHeaderSize + c.cbData + int64(cbData)
	}
	return nil
}

// Unsigned returns the cabinet as it was before an Authenticode signature
// was filled into its 20-byte signature reserve: the first cbCabinet bytes
// with the reserve's signature size set back to zero, which is exactly what
// this package wrote (signing in place fills that size and appends the
// signature, nothing else). ok is false when the cabinet carries no
// signature in such a reserve.
func (c *Cabinet) Unsigned() (r io.Reader, size int64, ok bool) {
	if !c.sig.Reserved || c.sig.Size == 0 || c.sig.Offset != c.cbCab {
		return nil, 0, false
	}
	const sizeField = headerSize + reserveFieldLen + 8 // the signature size in the reserve
	return io.MultiReader(
		io.NewSectionReader(c.ra, 0, sizeField),
		bytes.NewReader(make([]byte, 4)),
		io.NewSectionReader(c.ra, sizeField+4, c.cbCab-sizeField-4),
	), c.cbCab, true
}

// checkBlock checks the header of block i of folder fi, at off: its sizes
// and that its data ends within the cabinet. Opening checks every block
// header, and reading checks each again as it reads it.
func (c *Cabinet) checkBlock(fi, i int, off int64, cbData, cbUncomp int) error {
	bad := func(format string, args ...any) error {
		return c.errf(ErrMalformed, fmt.Sprintf("CFDATA[%d/%d]", fi, i), off, format, args...)
	}
	switch {
	case cbUncomp == 0 || cbUncomp > blockSize:
		return bad("cbUncomp %d is outside 1..%d", cbUncomp, blockSize)
	case cbData > maxBlockData:
		return bad("cbData %d exceeds %d", cbData, maxBlockData)
	case c.folders[fi].Compression == None && cbData != cbUncomp:
		return bad("stored block with cbData %d != cbUncomp %d", cbData, cbUncomp)
	case off+dataHeaderSize+c.cbData+int64(cbData) > c.cbCab:
		return bad("%d data bytes run past the cabinet's end at %d", cbData, c.cbCab)
	}
	return nil
}
