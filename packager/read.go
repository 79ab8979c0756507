package packager

import (
	"context"
	"io"
	"log/slog"

	"github.com/devupdate/devupdate/packager/cabinet"
)

// The reading side lives in package packager/cabinet, which the device
// side imports without this writer; these names keep packager's API for
// its callers.
type (
	Cabinet       = cabinet.Cabinet
	Entry         = cabinet.Entry
	FolderInfo    = cabinet.FolderInfo
	SignatureInfo = cabinet.SignatureInfo
	ReadOption    = cabinet.ReadOption
	Compression   = cabinet.Compression

	Limit             = cabinet.Limit
	LimitError        = cabinet.LimitError
	NameError         = cabinet.NameError
	SizeMismatchError = cabinet.SizeMismatchError
	FormatError       = cabinet.FormatError
)

// Compression methods, format limits and the decompression cap (see
// package cabinet).
const (
	None  = cabinet.None
	MSZIP = cabinet.MSZIP

	MaxFiles               = cabinet.MaxFiles
	MaxFolders             = cabinet.MaxFolders
	MaxDataBlocks          = cabinet.MaxDataBlocks
	MaxFolderSize          = cabinet.MaxFolderSize
	MaxCabinetSize         = cabinet.MaxCabinetSize
	MaxNameLength          = cabinet.MaxNameLength
	DefaultMaxUncompressed = cabinet.DefaultMaxUncompressed
	LimitFiles             = cabinet.LimitFiles
	LimitFolders           = cabinet.LimitFolders
	LimitDataBlocks        = cabinet.LimitDataBlocks
	LimitFileSize          = cabinet.LimitFileSize
	LimitFolderSize        = cabinet.LimitFolderSize
	LimitCabinetSize       = cabinet.LimitCabinetSize
	LimitNameLength        = cabinet.LimitNameLength
	LimitUncompressed      = cabinet.LimitUncompressed
)

// Sentinel errors (see package cabinet).
var (
	ErrLimit         = cabinet.ErrLimit
	ErrInvalidName   = cabinet.ErrInvalidName
	ErrSizeMismatch  = cabinet.ErrSizeMismatch
	ErrInvalidOption = cabinet.ErrInvalidOption
	ErrNoFiles       = cabinet.ErrNoFiles
	ErrMalformed     = cabinet.ErrMalformed
	ErrChecksum      = cabinet.ErrChecksum
	ErrUnsupported   = cabinet.ErrUnsupported
	ErrTooLarge      = cabinet.ErrTooLarge
	ErrNotFound      = cabinet.ErrNotFound
	ErrExists        = cabinet.ErrExists
)

// Open is cabinet.Open.
func Open(ctx context.Context, r io.ReaderAt, size int64, opts ...ReadOption) (*Cabinet, error) {
	return cabinet.Open(ctx, r, size, opts...)
}

// OpenFile is cabinet.OpenFile.
func OpenFile(ctx context.Context, path string, opts ...ReadOption) (*Cabinet, error) {
	return cabinet.OpenFile(ctx, path, opts...)
}

// WithName is cabinet.WithName.
func WithName(name string) ReadOption { return cabinet.WithName(name) }

// WithMaxUncompressed is cabinet.WithMaxUncompressed.
func WithMaxUncompressed(n int64) ReadOption { return cabinet.WithMaxUncompressed(n) }

// SafePath is cabinet.SafePath.
func SafePath(name string) (string, error) { return cabinet.SafePath(name) }

// WithReadLogger is cabinet.WithReadLogger.
func WithReadLogger(l *slog.Logger) ReadOption { return cabinet.WithReadLogger(l) }
