// Package memory is an in-memory cdn.Store for fast unit tests. It keeps the
// same conditional-write semantics as the real backends (it passes the
// cdn/cdntest suite) but nothing survives the process.
package memory

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/internal/iox"
)

// Store is an in-memory cdn.Store; the zero value is not usable, call New.
type Store struct {
	mu    sync.Mutex
	blobs map[string]*blob
	next  uint64
	now   func() time.Time
}

type blob struct {
	data []byte
	info cdn.Info
}

// New returns an empty store.
func New() *Store { return &Store{blobs: map[string]*blob{}, now: time.Now} }

var _ cdn.Store = (*Store)(nil)

func notFound(op, key string) error {
	return &cdn.StatusError{Op: op, Key: key, Status: 404, Code: "BlobNotFound", Err: cdn.ErrNotFound}
}

// Stat implements cdn.Store.
func (s *Store) Stat(ctx context.Context, key string) (cdn.Info, error) {
	if err := check(ctx, key); err != nil {
		return cdn.Info{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.blobs[key]
	if !ok {
		return cdn.Info{}, notFound("stat", key)
	}
	return copyInfo(b.info), nil
}

// Get implements cdn.Store.
func (s *Store) Get(ctx context.Context, key string, r cdn.Range) (io.ReadCloser, cdn.Info, error) {
	if err := check(ctx, key); err != nil {
		return nil, cdn.Info{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.blobs[key]
	if !ok {
		return nil, cdn.Info{}, notFound("get", key)
	}
	size := int64(len(b.data))
	if r.Offset < 0 || (r.Offset > 0 && r.Offset >= size) {
		return nil, cdn.Info{}, &cdn.StatusError{Op: "get", Key: key, Status: 416, Err: cdn.ErrInvalidRange}
	}
	end := size
	if r.Length > 0 && r.Offset+r.Length < size {
		end = r.Offset + r.Length
	}
	// b.data is never modified in place (Replace swaps the slice), so the
	// reader may outlive the lock.
	return io.NopCloser(bytes.NewReader(b.data[r.Offset:end])), copyInfo(b.info), nil
}

// Create implements cdn.Store.
func (s *Store) Create(ctx context.Context, key string, body io.Reader, p cdn.Props) (cdn.Info, error) {
	return s.put(ctx, "create", key, body, p, "")
}

// Replace implements cdn.Store.
func (s *Store) Replace(ctx context.Context, key string, body io.Reader, p cdn.Props, ifMatch string) (cdn.Info, error) {
	if ifMatch == "" {
		return cdn.Info{}, fmt.Errorf("replace %s: empty ETag", key)
	}
	return s.put(ctx, "replace", key, body, p, ifMatch)
}

func (s *Store) put(ctx context.Context, op, key string, body io.Reader, p cdn.Props, ifMatch string) (cdn.Info, error) {
	if err := check(ctx, key); err != nil {
		return cdn.Info{}, err
	}
	// Read the whole body before looking at the map: a failing body leaves
	// nothing behind, like the real backends.
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, iox.ContextReader(ctx, body)); err != nil {
		return cdn.Info{}, fmt.Errorf("%s %s: %w", op, key, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, exists := s.blobs[key]
	switch {
	case ifMatch == "" && exists:
		return cdn.Info{}, &cdn.StatusError{Op: op, Key: key, Status: 409, Code: "BlobAlreadyExists", Err: cdn.ErrExists}
	case ifMatch != "" && (!exists || old.info.ETag != ifMatch):
		return cdn.Info{}, &cdn.StatusError{Op: op, Key: key, Status: 412, Code: "ConditionNotMet", Err: cdn.ErrPreconditionFailed}
	}
	s.next++
	info := cdn.Info{
		Key:      key,
		Size:     int64(buf.Len()),
		ETag:     fmt.Sprintf(`"m%d"`, s.next),
		Modified: s.now().UTC(),
		Props:    copyProps(p),
	}
	s.blobs[key] = &blob{data: buf.Bytes(), info: info}
	return copyInfo(info), nil
}

// Copy implements cdn.Store: dst shares src's bytes (never modified in place).
func (s *Store) Copy(ctx context.Context, src, dst string) (cdn.Info, error) {
	if err := check(ctx, src); err != nil {
		return cdn.Info{}, err
	}
	if err := check(ctx, dst); err != nil {
		return cdn.Info{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.blobs[src]
	if !ok {
		return cdn.Info{}, notFound("copy", src)
	}
	if _, exists := s.blobs[dst]; exists {
		return cdn.Info{}, &cdn.StatusError{Op: "copy", Key: dst, Status: 409, Code: "BlobAlreadyExists", Err: cdn.ErrExists}
	}
	s.next++
	info := copyInfo(b.info)
	info.Key, info.ETag, info.Modified = dst, fmt.Sprintf(`"m%d"`, s.next), s.now().UTC()
	s.blobs[dst] = &blob{data: b.data, info: info}
	return copyInfo(info), nil
}

// List implements cdn.Store.
func (s *Store) List(ctx context.Context, prefix string, fn func(cdn.Info) error) error {
	if err := cdn.ValidatePrefix(prefix); err != nil {
		return err
	}
	s.mu.Lock()
	var infos []cdn.Info
	for _, k := range slices.Sorted(maps.Keys(s.blobs)) {
		if strings.HasPrefix(k, prefix) {
			infos = append(infos, copyInfo(s.blobs[k].info))
		}
	}
	s.mu.Unlock()
	for _, i := range infos {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(i); err != nil {
			return err
		}
	}
	return nil
}

func check(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return cdn.ValidateKey(key)
}

func copyProps(p cdn.Props) cdn.Props {
	p.Metadata = maps.Clone(p.Metadata)
	return p
}

func copyInfo(i cdn.Info) cdn.Info {
	i.Props = copyProps(i.Props)
	return i
}
