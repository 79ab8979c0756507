package cabinet

import (
	"errors"
	"fmt"

	"github.com/devupdate/devupdate/internal/problem"
)

// Sentinel errors. Every error from this package wraps one of them; the
// typed errors below carry the details.
var (
	// ErrLimit: the input exceeds a limit of the cabinet format (*LimitError).
	ErrLimit = errors.New("cabinet format limit exceeded")
	// ErrInvalidName: a file name cannot be stored or extracted safely (*NameError).
	ErrInvalidName = errors.New("invalid file name")
	// ErrSizeMismatch: a file's content is not as long as its declared Size (*SizeMismatchError).
	ErrSizeMismatch = errors.New("file size differs from its declared size")
	// ErrInvalidOption: an option value is out of range.
	ErrInvalidOption = errors.New("invalid option")
	// ErrNoFiles: a cabinet needs at least one file.
	ErrNoFiles = errors.New("no files to package")
	// ErrMalformed: a cabinet's structures are inconsistent or truncated (*FormatError).
	ErrMalformed = errors.New("malformed cabinet")
	// ErrChecksum: a CFDATA checksum does not match its data (*FormatError).
	ErrChecksum = errors.New("CFDATA checksum mismatch")
	// ErrUnsupported: a valid cabinet uses a feature this package does not
	// read (Quantum or LZX compression, cabinet sets).
	ErrUnsupported = errors.New("unsupported cabinet feature")
	// ErrTooLarge: reading would decompress more than the configured cap
	// (see WithMaxUncompressed), the mark of a decompression bomb.
	ErrTooLarge = errors.New("cabinet expands beyond the decompression cap")
	// ErrNotFound: no file of that name in the cabinet.
	ErrNotFound = errors.New("file not in cabinet")
	// ErrExists: extraction would overwrite an existing file.
	ErrExists = errors.New("file already exists")
)

// Limit names a format limit.
type Limit string

// The limits the writer checks before writing anything.
const (
	LimitFiles        Limit = "files in a cabinet"
	LimitFolders      Limit = "folders in a cabinet"
	LimitDataBlocks   Limit = "CFDATA blocks in a folder"
	LimitFileSize     Limit = "bytes in one file (a file cannot span folders)"
	LimitFolderSize   Limit = "uncompressed bytes in a folder"
	LimitCabinetSize  Limit = "bytes in a cabinet"
	LimitNameLength   Limit = "bytes in a file name"
	LimitUncompressed Limit = "uncompressed bytes read (decompression cap)"
)

// LimitError reports input beyond a format limit, with the numbers.
type LimitError struct {
	Limit Limit
	Name  string // the file concerned, if one
	Value int64  // what the input needs
	Max   int64  // what the format allows
}

func (e *LimitError) Error() string {
	s := fmt.Sprintf("%d %s, the format allows at most %d", e.Value, e.Limit, e.Max)
	if e.Limit == LimitUncompressed {
		// Not the format's limit: the reader's cap (WithMaxUncompressed).
		s = fmt.Sprintf("expands to more than the %d-byte decompression cap", e.Max)
	}
	if e.Name != "" {
		s = fmt.Sprintf("%q: %s", e.Name, s)
	}
	return s
}

// Unwrap makes errors.Is(err, ErrLimit) hold; a decompression cap error
// also wraps ErrTooLarge.
func (e *LimitError) Unwrap() []error {
	if e.Limit == LimitUncompressed {
		return []error{ErrLimit, ErrTooLarge}
	}
	return []error{ErrLimit}
}

// NameError reports a file name the writer cannot store or the reader will
// not extract.
type NameError struct {
	Name   string
	Reason string
}

func (e *NameError) Error() string { return fmt.Sprintf("file name %q: %s", e.Name, e.Reason) }
func (e *NameError) Unwrap() error { return ErrInvalidName }

// SizeMismatchError reports a file whose content does not match its
// declared size: the writer never pads or cuts a file to fit.
type SizeMismatchError struct {
	Name     string
	Declared int64
	Read     int64 // bytes read; Declared+1 means "more than declared"
}

func (e *SizeMismatchError) Error() string {
	if e.Read > e.Declared {
		return fmt.Sprintf("%q: declared %d bytes but has more", e.Name, e.Declared)
	}
	return fmt.Sprintf("%q: declared %d bytes but has only %d", e.Name, e.Declared, e.Read)
}
func (e *SizeMismatchError) Unwrap() error { return ErrSizeMismatch }

// FormatError reports a malformed structure in a cabinet being read.
type FormatError struct {
	Cabinet   string // the cabinet's name (see WithName), "cabinet" when unnamed
	Structure string // CFHEADER, CFFOLDER[2], CFFILE[7], CFDATA[0/12], ...
	Offset    int64  // byte offset of the structure in the cabinet
	Reason    string
	Err       error // ErrMalformed, ErrChecksum or ErrUnsupported
}

// Error is FILE:OFFSET: STRUCTURE: RULE, the form of every binary input's
// problem.
func (e *FormatError) Error() string {
	return problem.AtOffset(e.Cabinet, e.Offset, e.Structure, e.Reason)
}
func (e *FormatError) Unwrap() error { return e.Err }

// ProblemFile is the cabinet the problem is in (its message starts with it).
func (e *FormatError) ProblemFile() string { return e.Cabinet }
