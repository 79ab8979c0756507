// Package iox holds the small I/O helpers devupdate packages share: reading
// a whole small file under a size limit (so untrusted input is bounded
// before anything parses it), a reader that stops when its context is done,
// the crash-safe file writes, and a writer that feeds several writers
// (hashes) on as many goroutines from a bounded set of buffers. It knows
// nothing of the formats read through it.
package iox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrTooLarge is wrapped by every *TooLargeError.
var ErrTooLarge = errors.New("larger than the limit")

// TooLargeError says that Name holds more than Limit bytes.
type TooLargeError struct {
	Name  string
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is larger than the %d-byte limit", e.Name, e.Limit)
}

// Unwrap makes errors.Is(err, ErrTooLarge) true.
func (e *TooLargeError) Unwrap() error { return ErrTooLarge }

// ReadAll reads r to the end, but reads at most limit+1 bytes: more than
// limit is a *TooLargeError naming name, and nothing past the limit is kept.
func ReadAll(r io.Reader, name string, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, &TooLargeError{Name: name, Limit: limit}
	}
	return data, nil
}

// ReadFile is ReadAll of the file at path. It checks ctx first, so a
// cancelled caller does not start reading.
func ReadFile(ctx context.Context, path string, limit int64) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadAll(f, path, limit)
}

// ReadRootFile is ReadAll of name opened inside root, so the read cannot
// escape root's directory.
func ReadRootFile(root *os.Root, name string, limit int64) ([]byte, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadAll(f, name, limit)
}

// ContextReader returns a reader that fails with ctx's error once ctx is
// done, so a long copy stops between two reads.
func ContextReader(ctx context.Context, r io.Reader) io.Reader {
	return ctxReader{ctx, r}
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
