package packager

import (
	"bufio"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/devupdate/devupdate/internal/iox"
)

// File is one file to put in a cabinet.
type File struct {
	// Name is the path inside the cabinet, '/'-separated (stored with '\').
	Name string
	// Size is the exact length of the content; the writer refuses a file
	// whose content turns out longer or shorter (*SizeMismatchError).
	Size int64
	// Open returns the content. It is called once, while the file is being
	// compressed, so at most one input is open at a time.
	Open func() (io.ReadCloser, error)
}

// Result describes a written cabinet.
type Result struct {
	Size    int64  `json:"size"`    // bytes written
	SHA256  string `json:"sha256"`  // lower-case hex digest of the bytes written
	Files   int    `json:"files"`   // number of files
	Folders int    `json:"folders"` // number of CFFOLDERs
}

// Option configures Write and WriteFile.
type Option func(*writeOptions) error

type writeOptions struct {
	compression Compression
	modTime     time.Time
	reserve     bool
	concurrency int
	logger      *slog.Logger
	tempDir     string

	// Test hooks: smaller limits so tests can cross them with small input,
	// and the deflate level for the benchmarks that chose mszipLevel.
	level          int
	maxFolderSize  int64
	maxCabinetSize int64
}

// WithCompression selects MSZIP (the default) or None.
func WithCompression(c Compression) Option {
	return func(o *writeOptions) error {
		if c != MSZIP && c != None {
			return fmt.Errorf("%w: compression %v: only mszip and none are written", ErrInvalidOption, c)
		}
		o.compression = c
		return nil
	}
}

// WithModTime sets the time stamped on every file (UTC, 2-second
// resolution, 1980-2107). Default: SOURCE_DATE_EPOCH when set (clamped to
// 1980-01-01 when earlier), else DefaultModTime.
func WithModTime(t time.Time) Option {
	return func(o *writeOptions) error {
		if _, _, err := dosTime(t); err != nil {
			return err
		}
		o.modTime = t
		return nil
	}
}

// WithSignatureReserve reserves (the default, true) or not the 20-byte
// CFHEADER area that Authenticode signing fills, so that a signer patches
// the header and appends the signature without moving any data.
func WithSignatureReserve(reserve bool) Option {
	return func(o *writeOptions) error {
		o.reserve = reserve
		return nil
	}
}

// WithConcurrency sets how many blocks are compressed at once. Default:
// runtime.GOMAXPROCS(0). The output does not depend on it.
func WithConcurrency(n int) Option {
	return func(o *writeOptions) error {
		if n < 1 {
			return fmt.Errorf("%w: concurrency %d: must be at least 1", ErrInvalidOption, n)
		}
		o.concurrency = n
		return nil
	}
}

// WithLogger sets the logger for progress and timing at debug level.
// Default: discard.
func WithLogger(l *slog.Logger) Option {
	return func(o *writeOptions) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalidOption)
		}
		o.logger = l
		return nil
	}
}

// WithTempDir sets where Write spools the compressed data when its writer
// cannot seek (an *os.File is written in place). Default: os.TempDir().
func WithTempDir(dir string) Option {
	return func(o *writeOptions) error {
		o.tempDir = dir
		return nil
	}
}

func newWriteOptions(opts []Option) (*writeOptions, error) {
	o := &writeOptions{
		compression:    MSZIP,
		reserve:        true,
		concurrency:    runtime.GOMAXPROCS(0),
		logger:         slog.New(slog.DiscardHandler),
		level:          mszipLevel,
		maxFolderSize:  MaxFolderSize,
		maxCabinetSize: MaxCabinetSize,
	}
	t, err := sourceDateEpoch()
	if err != nil {
		return nil, err
	}
	o.modTime = t
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// sourceDateEpoch reads SOURCE_DATE_EPOCH (reproducible-builds.org).
func sourceDateEpoch() (time.Time, error) {
	v, ok := os.LookupEnv("SOURCE_DATE_EPOCH")
	if !ok || v == "" {
		return DefaultModTime, nil
	}
	sec, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: SOURCE_DATE_EPOCH %q is not an integer number of seconds", ErrInvalidOption, v)
	}
	t := time.Unix(sec, 0).UTC()
	if t.Before(DefaultModTime) {
		t = DefaultModTime
	}
	if _, _, err := dosTime(t); err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH: %w", err)
	}
	return t, nil
}

// plan is the complete layout of a cabinet, decided before any byte is
// written: every count and offset except the compressed sizes.
type plan struct {
	files      []plannedFile
	folders    []plannedFolder
	reserve    bool
	coffFiles  int64 // offset of the first CFFILE
	dataStart  int64 // offset of the first CFDATA
	date, time uint16
}

type plannedFile struct {
	File
	stored string // '\'-separated name as stored
	folder int
	offset int64 // uncompressed offset in its folder
	attrs  uint16
}

type plannedFolder struct {
	first, end int   // files[first:end] are in this folder
	size       int64 // uncompressed bytes
	blocks     int
}

// newPlan validates files and lays them out: sorted by name, packed into
// folders in that order, a new folder when the next file would overflow.
func newPlan(files []File, o *writeOptions) (*plan, error) {
	if len(files) == 0 {
		return nil, ErrNoFiles
	}
	if len(files) > MaxFiles {
		return nil, &LimitError{Limit: LimitFiles, Value: int64(len(files)), Max: MaxFiles}
	}
	p := &plan{reserve: o.reserve, files: make([]plannedFile, len(files))}
	var err error
	if p.date, p.time, err = dosTime(o.modTime); err != nil {
		return nil, err
	}
	for i, f := range files {
		if err := checkName(f.Name); err != nil {
			return nil, err
		}
		if f.Size < 0 {
			return nil, &SizeMismatchError{Name: f.Name, Declared: f.Size}
		}
		if f.Size > o.maxFolderSize {
			return nil, &LimitError{Limit: LimitFileSize, Name: f.Name, Value: f.Size, Max: o.maxFolderSize}
		}
		if f.Open == nil {
			return nil, fmt.Errorf("%w: %q has no Open function", ErrInvalidOption, f.Name)
		}
		attrs := uint16(attrArchive)
		if !isASCII(f.Name) {
			attrs |= attrNameIsUTF
		}
		p.files[i] = plannedFile{File: f, stored: strings.ReplaceAll(f.Name, "/", `\`), attrs: attrs}
	}
	slices.SortFunc(p.files, func(a, b plannedFile) int { return cmp.Compare(a.Name, b.Name) })
	seen := make(map[string]string, len(p.files))
	for _, f := range p.files {
		// Windows extracts case-insensitively: two names that differ only
		// in case would overwrite each other there.
		k := strings.ToLower(f.Name)
		if prev, dup := seen[k]; dup {
			return nil, &NameError{Name: f.Name, Reason: fmt.Sprintf("duplicates %q (names are compared case-insensitively)", prev)}
		}
		seen[k] = f.Name
	}

	cur := plannedFolder{}
	for i := range p.files {
		f := &p.files[i]
		if cur.size+f.Size > o.maxFolderSize {
			cur.end = i
			p.folders = append(p.folders, cur)
			cur = plannedFolder{first: i}
		}
		f.folder = len(p.folders)
		f.offset = cur.size
		cur.size += f.Size
	}
	cur.end = len(p.files)
	p.folders = append(p.folders, cur)
	if len(p.folders) > MaxFolders {
		return nil, &LimitError{Limit: LimitFolders, Value: int64(len(p.folders)), Max: MaxFolders}
	}
	var minData int64
	for i := range p.folders {
		fo := &p.folders[i]
		fo.blocks = int((fo.size + blockSize - 1) / blockSize)
		if fo.size > MaxFolderSize {
			return nil, &LimitError{Limit: LimitFolderSize, Value: fo.size, Max: MaxFolderSize}
		}
		if fo.blocks > MaxDataBlocks {
			return nil, &LimitError{Limit: LimitDataBlocks, Value: int64(fo.blocks), Max: MaxDataBlocks}
		}
		minBlock := int64(dataHeaderSize)
		if o.compression == MSZIP {
			minBlock += 2 + 2 // "CK" and the shortest deflate stream
		} else {
			minData += fo.size
		}
		minData += int64(fo.blocks) * minBlock
	}
	p.coffFiles = headerSize + int64(len(p.folders))*folderEntrySize
	if p.reserve {
		p.coffFiles += reserveFieldLen + sigReserveSize
	}
	p.dataStart = p.coffFiles
	for _, f := range p.files {
		p.dataStart += fileEntrySize + int64(len(f.stored)) + 1
	}
	// An uncompressed cabinet's size is exact now; a compressed one's is
	// bounded, and checked again block by block as it is written.
	if total := p.dataStart + minData; total > o.maxCabinetSize {
		return nil, &LimitError{Limit: LimitCabinetSize, Value: total, Max: o.maxCabinetSize}
	}
	return p, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// checkName accepts a relative, '/'-separated path whose components are
// neither empty nor "." or "..", with no byte that means something else on
// Windows or to a cabinet (NUL, controls, '\', ':').
func checkName(name string) error {
	switch {
	case name == "":
		return &NameError{Name: name, Reason: "empty"}
	case len(name) > MaxNameLength:
		return &LimitError{Limit: LimitNameLength, Name: name, Value: int64(len(name)), Max: MaxNameLength}
	case !utf8.ValidString(name):
		return &NameError{Name: name, Reason: "not valid UTF-8"}
	}
	for _, r := range name {
		switch {
		case r < 0x20 || r == 0x7F:
			return &NameError{Name: name, Reason: fmt.Sprintf("control character %U", r)}
		case r == '\\':
			return &NameError{Name: name, Reason: `'\' is not allowed: separate directories with '/'`}
		case r == ':':
			return &NameError{Name: name, Reason: "':' is not allowed (drive letters, alternate data streams)"}
		}
	}
	for _, c := range strings.Split(name, "/") {
		switch c {
		case "":
			return &NameError{Name: name, Reason: "empty path component (leading, trailing or doubled '/')"}
		case ".", "..":
			return &NameError{Name: name, Reason: fmt.Sprintf("%q path component", c)}
		}
	}
	return nil
}

// header encodes everything before the first CFDATA: CFHEADER, the
// signature reserve, the CFFOLDERs and the CFFILEs.
func (p *plan) header(total int64, folderStarts []int64, compression Compression) []byte {
	b := make([]byte, 0, p.dataStart)
	le := binary.LittleEndian
	var flags uint16
	if p.reserve {
		flags |= flagReservePresent
	}
	b = le.AppendUint32(b, signature)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, uint32(total))
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, uint32(p.coffFiles))
	b = le.AppendUint32(b, 0)
	b = append(b, 3, 1) // version 1.3
	b = le.AppendUint16(b, uint16(len(p.folders)))
	b = le.AppendUint16(b, uint16(len(p.files)))
	b = le.AppendUint16(b, flags)
	b = le.AppendUint16(b, 0) // setID
	b = le.AppendUint16(b, 0) // iCabinet
	if p.reserve {
		b = le.AppendUint16(b, sigReserveSize)
		b = append(b, 0, 0) // no per-folder or per-datablock reserve
		b = le.AppendUint32(b, sigReserveMagic)
		b = le.AppendUint32(b, uint32(total))
		b = le.AppendUint32(b, 0) // signature size
		b = le.AppendUint32(b, 0)
		b = le.AppendUint32(b, 0)
	}
	for i, fo := range p.folders {
		b = le.AppendUint32(b, uint32(folderStarts[i]))
		b = le.AppendUint16(b, uint16(fo.blocks))
		b = le.AppendUint16(b, uint16(compression))
	}
	for _, f := range p.files {
		b = le.AppendUint32(b, uint32(f.Size))
		b = le.AppendUint32(b, uint32(f.offset))
		b = le.AppendUint16(b, uint16(f.folder))
		b = le.AppendUint16(b, p.date)
		b = le.AppendUint16(b, p.time)
		b = le.AppendUint16(b, f.attrs)
		b = append(b, f.stored...)
		b = append(b, 0)
	}
	return b
}

// Write writes a cabinet holding files to w and returns its size and
// SHA-256. Files are sorted by name; see the Option functions for the
// defaults. Every format limit is checked before the first byte is written,
// except that an MSZIP cabinet's exact size is only known as it is
// compressed: that limit stops the writing as soon as it is crossed.
//
// When w is an *os.File (more precisely an io.WriteSeeker and io.ReaderAt)
// the cabinet is written in place and its header patched at the end;
// otherwise the compressed data is spooled to a temporary file first. On
// error, w may hold a partial cabinet: use WriteFile to never leave one.
func Write(ctx context.Context, w io.Writer, files []File, opts ...Option) (*Result, error) {
	o, err := newWriteOptions(opts)
	if err != nil {
		return nil, err
	}
	p, err := newPlan(files, o)
	if err != nil {
		return nil, err
	}
	o.logger.DebugContext(ctx, "cabinet planned", "files", len(p.files), "folders", len(p.folders),
		"compression", o.compression.String(), "concurrency", o.concurrency)
	start := time.Now()
	var res *Result
	if f, ok := w.(seekableFile); ok {
		res, err = writeInPlace(ctx, f, p, o)
	} else {
		res, err = writeSpooled(ctx, w, p, o)
	}
	if err != nil {
		return nil, err
	}
	var in int64
	for _, fo := range p.folders {
		in += fo.size
	}
	d := time.Since(start)
	o.logger.DebugContext(ctx, "cabinet written", "size", res.Size, "input", in, "duration", d,
		"MBps", float64(in)/1e6/max(d.Seconds(), 1e-9))
	return res, nil
}

type seekableFile interface {
	io.WriteSeeker
	io.ReaderAt
}

func writeInPlace(ctx context.Context, f seekableFile, p *plan, o *writeOptions) (*Result, error) {
	start, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, err
	}
	// Placeholder header, rewritten once the folders' offsets are known.
	if _, err := f.Write(make([]byte, p.dataStart)); err != nil {
		return nil, err
	}
	folderStarts, total, err := writeData(ctx, f, p, o)
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return nil, err
	}
	if _, err := f.Write(p.header(total, folderStarts, o.compression)); err != nil {
		return nil, err
	}
	if _, err := f.Seek(start+total, io.SeekStart); err != nil {
		return nil, err
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, start, total)); err != nil {
		return nil, fmt.Errorf("hashing the written cabinet: %w", err)
	}
	return &Result{Size: total, SHA256: hex.EncodeToString(h.Sum(nil)), Files: len(p.files), Folders: len(p.folders)}, nil
}

func writeSpooled(ctx context.Context, w io.Writer, p *plan, o *writeOptions) (res *Result, err error) {
	spool, err := os.CreateTemp(o.tempDir, "devupdate-cab-*.spool")
	if err != nil {
		return nil, err
	}
	defer func() {
		err = errors.Join(err, spool.Close(), os.Remove(spool.Name()))
	}()
	folderStarts, total, err := writeData(ctx, spool, p, o)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	mw := io.MultiWriter(w, h)
	if _, err := mw.Write(p.header(total, folderStarts, o.compression)); err != nil {
		return nil, err
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	if _, err := io.Copy(mw, spool); err != nil {
		return nil, err
	}
	return &Result{Size: total, SHA256: hex.EncodeToString(h.Sum(nil)), Files: len(p.files), Folders: len(p.folders)}, nil
}

// writeData writes every CFDATA block and returns each folder's offset of
// its first block and the cabinet's total size.
func writeData(ctx context.Context, w io.Writer, p *plan, o *writeOptions) ([]int64, int64, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	folderStarts := make([]int64, len(p.folders))
	off := p.dataStart
	folder, left := -1, 0
	err := compressBlocks(ctx, p, o, func(b *block) error {
		for left == 0 {
			folder++
			folderStarts[folder] = off
			left = p.folders[folder].blocks
		}
		left--
		n := int64(dataHeaderSize + len(b.out))
		if off+n > o.maxCabinetSize {
			return &LimitError{Limit: LimitCabinetSize, Value: off + n, Max: o.maxCabinetSize}
		}
		off += n
		if _, err := bw.Write(b.hdr[:]); err != nil {
			return err
		}
		_, err := bw.Write(b.out)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	// Folders with no data (only empty files) start where the data ends.
	for folder++; folder < len(p.folders); folder++ {
		folderStarts[folder] = off
	}
	if err := bw.Flush(); err != nil {
		return nil, 0, err
	}
	return folderStarts, off, nil
}

// WriteFile writes the cabinet to a new file at path (see Write), by way
// of a temporary file in the same directory that is synced and then linked
// into place (iox.CreateNew): path never holds a partial cabinet, and an
// existing path is never replaced. Then the error wraps fs.ErrExist and the
// Result still describes the cabinet that was built, so a caller can tell
// whether what is there is the same.
func WriteFile(ctx context.Context, path string, files []File, opts ...Option) (*Result, error) {
	var res *Result
	err := iox.CreateNew(path, 0o644, func(f *os.File) error {
		var err error
		if res, err = Write(ctx, f, files, opts...); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		return nil
	})
	return res, err
}
