package iox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadAllLimit(t *testing.T) {
	tests := []struct {
		in      string
		limit   int64
		tooLarg bool
	}{
		{"", 0, false},
		{"abc", 3, false},
		{"abcd", 3, true},
		{"abc", 0, true},
	}
	for _, tt := range tests {
		got, err := ReadAll(strings.NewReader(tt.in), "in", tt.limit)
		var tl *TooLargeError
		if tt.tooLarg {
			if !errors.As(err, &tl) || !errors.Is(err, ErrTooLarge) || tl.Name != "in" || tl.Limit != tt.limit {
				t.Errorf("ReadAll(%q, %d) = %q, %v; want a TooLargeError", tt.in, tt.limit, got, err)
			}
			continue
		}
		if err != nil || string(got) != tt.in {
			t.Errorf("ReadAll(%q, %d) = %q, %v", tt.in, tt.limit, got, err)
		}
	}
}

// The reader stops at limit+1 bytes: a huge input is never read whole.
func TestReadAllStopsEarly(t *testing.T) {
	r := &countingReader{}
	if _, err := ReadAll(r, "endless", 10); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v", err)
	}
	if r.n > 11 {
		t.Errorf("read %d bytes for a 10-byte limit", r.n)
	}
}

type countingReader struct{ n int }

func (c *countingReader) Read(p []byte) (int, error) {
	p = p[:1]
	p[0] = 'x'
	c.n++
	return 1, nil
}

func TestReadFileAndRoot(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadFile(context.Background(), filepath.Join(dir, "f"), 5); err != nil || string(got) != "hello" {
		t.Errorf("ReadFile = %q, %v", got, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ReadFile(ctx, filepath.Join(dir, "f"), 5); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ReadFile: %v", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if _, err := ReadRootFile(root, "f", 4); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadRootFile over the limit: %v", err)
	}
	if _, err := ReadRootFile(root, "../f", 5); err == nil {
		t.Errorf("ReadRootFile escaped its root")
	}
}

func TestContextReader(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := ContextReader(ctx, bytes.NewReader(make([]byte, 10)))
	buf := make([]byte, 4)
	if n, err := r.Read(buf); n != 4 || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	cancel()
	if _, err := r.Read(buf); !errors.Is(err, context.Canceled) {
		t.Errorf("Read after cancel: %v", err)
	}
}

// TestTemp: a committed Temp is the whole file at once; Commit(false)
// never replaces, Commit(true) does; Discard and a failed commit leave no
// temporary file.
func TestTemp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	write := func(replace bool, data string) error {
		tmp, err := NewTemp(p, 0o640)
		if err != nil {
			t.Fatal(err)
		}
		defer tmp.Discard()
		if _, err := tmp.WriteString(data); err != nil {
			t.Fatal(err)
		}
		return tmp.Commit(replace)
	}
	if err := write(false, "one"); err != nil {
		t.Fatal(err)
	}
	if err := write(false, "two"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Commit(false) over a file: %v, want fs.ErrExist", err)
	}
	if got, _ := os.ReadFile(p); string(got) != "one" {
		t.Errorf("after a refused commit: %q", got)
	}
	if err := write(true, "three"); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if got, _ := os.ReadFile(p); string(got) != "three" || err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("after Commit(true): %q, %v, %v", got, st.Mode(), err)
	}
	tmp, err := NewTemp(p, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	tmp.Discard()
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
		t.Errorf("temporary files left: %q", left)
	}
}

// TestVerifyingReader: the bytes pass unchanged; a stream longer than
// expected fails as soon as it is, a different one at its end, each with
// the caller's error around *UnexpectedError.
func TestVerifyingReader(t *testing.T) {
	const data = "the payload"
	sum := "66a6f8f5b8a62a6af8c3b3ce8a2d1fd08f6b7f5e52e8c1aa3ef1e6cc24d0a5a1" // not data's
	right := sha256Hex(data)
	mine := errors.New("payload changed")
	wrap := func(e *UnexpectedError) error { return fmt.Errorf("%w: %w", mine, e) }
	tests := []struct {
		in, want string
		size     int64
		ok       bool
	}{
		{data, right, int64(len(data)), true},
		{data, sum, int64(len(data)), false},
		{data, right, int64(len(data)) - 1, false},
		{data, right, int64(len(data)) + 1, false},
	}
	for _, tt := range tests {
		var progress int64
		v := NewVerifyingReader(strings.NewReader(tt.in), tt.size, tt.want, wrap, func(n int64) { progress = n })
		got, err := io.ReadAll(v)
		var ue *UnexpectedError
		switch {
		case tt.ok && (err != nil || string(got) != tt.in || progress != int64(len(tt.in))):
			t.Errorf("size %d: %q, %v, progress %d", tt.size, got, err, progress)
		case !tt.ok && (!errors.Is(err, mine) || !errors.Is(err, ErrNotExpected) || !errors.As(err, &ue)):
			t.Errorf("size %d, want %s: %v, want the caller's error around *UnexpectedError", tt.size, tt.want[:8], err)
		}
	}
	r := strings.NewReader(data)
	v := NewVerifyingReader(r, int64(len(data)), right, nil, nil)
	if _, err := io.CopyN(io.Discard, v, 4); err != nil {
		t.Fatal(err)
	}
	r.Reset(data)
	v.Restart()
	if got, err := io.ReadAll(v); err != nil || string(got) != data {
		t.Errorf("after Restart: %q, %v", got, err)
	}
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
