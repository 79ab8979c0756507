package iox

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
)

// ErrNotExpected is wrapped by every *UnexpectedError.
var ErrNotExpected = errors.New("content is not the one expected")

// UnexpectedError says that a stream was not Size bytes with SHA-256
// Want: it had Got bytes (at least, when Over) hashing to Sum.
type UnexpectedError struct {
	Size int64
	Want string
	Got  int64
	Sum  string // "" when the stream ran past Size
	Over bool
}

func (e *UnexpectedError) Error() string {
	if e.Over {
		return fmt.Sprintf("more than the %d bytes expected", e.Size)
	}
	return fmt.Sprintf("%d bytes with sha256 %s, want %d bytes with %s", e.Got, e.Sum, e.Size, e.Want)
}

// Unwrap makes errors.Is(err, ErrNotExpected) true.
func (e *UnexpectedError) Unwrap() error { return ErrNotExpected }

// VerifyingReader is the one reader that hashes and bounds what passes
// through it: it reads r, hashes every byte with SHA-256, fails as soon as
// more than size bytes arrive, and at the end returns an error instead of
// io.EOF unless exactly size bytes hashing to want arrived, so whoever
// consumes it (a cabinet writer, a store's upload) abandons its work
// before anything becomes visible. The error is wrap(*UnexpectedError),
// so each caller says what it means for it.
type VerifyingReader struct {
	r        io.Reader
	h        hash.Hash
	want     string
	size, n  int64
	wrap     func(*UnexpectedError) error
	progress func(done int64)
}

// NewVerifyingReader returns a VerifyingReader of r for size bytes with
// the lower-case hex SHA-256 want. wrap (nil: none) turns the mismatch
// into the caller's error; progress (nil: none) is told the bytes read so
// far after every read.
func NewVerifyingReader(r io.Reader, size int64, want string, wrap func(*UnexpectedError) error, progress func(done int64)) *VerifyingReader {
	if wrap == nil {
		wrap = func(e *UnexpectedError) error { return e }
	}
	return &VerifyingReader{r: r, h: sha256.New(), want: want, size: size, wrap: wrap, progress: progress}
}

func (v *VerifyingReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if v.progress != nil && n > 0 {
		v.progress(v.n)
	}
	if v.n > v.size {
		return n, v.wrap(&UnexpectedError{Size: v.size, Want: v.want, Got: v.n, Over: true})
	}
	if err == io.EOF {
		if sum := hex.EncodeToString(v.h.Sum(nil)); v.n != v.size || sum != v.want {
			return n, v.wrap(&UnexpectedError{Size: v.size, Want: v.want, Got: v.n, Sum: sum})
		}
	}
	return n, err
}

// Restart forgets what was read: the caller has rewound r to its start
// (a retried upload).
func (v *VerifyingReader) Restart() {
	v.h.Reset()
	v.n = 0
}

// N is the number of bytes read since the start (or Restart).
func (v *VerifyingReader) N() int64 { return v.n }
