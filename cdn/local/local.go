// Package local is the embedded default cdn.Store: a directory on the local
// file system, with blob keys as relative paths inside it.
//
// Writes never leave a partial blob at its final path: the bytes go to a
// hidden temporary file in the destination directory, are fsynced, and then
// appear at once, by link(2) for a conditional create (which fails if the
// name exists, so of two concurrent creators exactly one wins) and by
// rename(2) for a replace (under an flock, after checking the ETag). A killed
// writer leaves only hidden ".tmp-*" files, which are never keys.
//
// Properties (content type, cache control, metadata) live in a hidden JSON
// sidecar ".NAME.meta" beside each blob, written the same atomic way. The
// ETag is derived from the data file itself (inode, size, mtime), and the
// sidecar records the ETag it belongs to, so a reader never pairs a blob with
// another version's properties. All access goes through os.Root: no key,
// symlink or ".." can reach outside the directory.
package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/internal/iox"
)

// maxSidecar bounds a sidecar read: it holds a few short strings.
const maxSidecar = 64 << 10

type options struct {
	logger    *slog.Logger
	perm      fs.FileMode
	mustExist bool
}

// Option configures New.
type Option func(*options) error

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error { o.logger = l; return nil }
}

// MustExist makes New fail (wrapping fs.ErrNotExist) when the directory does
// not exist, instead of creating it (default: created), for readers such as
// an origin server, which would otherwise serve an empty store from a
// mistyped path.
func MustExist() Option {
	return func(o *options) error { o.mustExist = true; return nil }
}

// Store is a directory-backed cdn.Store.
type Store struct {
	root *os.Root
	dir  string // absolute
	o    options
}

var _ cdn.Store = (*Store)(nil)

// New opens (creating it if needed) the store directory dir.
func New(dir string, opts ...Option) (*Store, error) {
	o := options{logger: slog.New(slog.DiscardHandler), perm: 0o644}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local store: %w", err)
	}
	if o.mustExist {
		if st, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("local store: %w", err)
		} else if !st.IsDir() {
			return nil, fmt.Errorf("local store: %s is not a directory", abs)
		}
	} else if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("local store: %w", err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("local store: %w", err)
	}
	return &Store{root: root, dir: abs, o: o}, nil
}

// Close releases the directory handle.
func (s *Store) Close() error { return s.root.Close() }

// URL returns the file:// URL of key.
func (s *Store) URL(key string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(s.dir, filepath.FromSlash(key)))}).String()
}

// sidecar is the JSON stored in .NAME.meta.
type sidecar struct {
	ETag         string            `json:"etag"`
	ContentType  string            `json:"contentType,omitempty"`
	CacheControl string            `json:"cacheControl,omitempty"`
	Metadata     map[string]string `json:"metadata,omitempty"`
}

func metaName(key string) string {
	dir, name := path.Split(key)
	return dir + "." + name + ".meta"
}

func lockName(key string) string {
	dir, name := path.Split(key)
	return dir + "." + name + ".lock"
}

func etagOf(fi fs.FileInfo) string {
	return fmt.Sprintf(`"%x-%x-%x"`, fileID(fi), fi.Size(), fi.ModTime().UnixNano())
}

func statusErr(op, key string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &cdn.StatusError{Op: op, Key: key, Status: 404, Code: "BlobNotFound", Err: cdn.ErrNotFound, Cause: err}
	case errors.Is(err, fs.ErrExist):
		return &cdn.StatusError{Op: op, Key: key, Status: 409, Code: "BlobAlreadyExists", Err: cdn.ErrExists, Cause: err}
	}
	return fmt.Errorf("%s %s: %w", op, key, err)
}

// open opens the data file of key and returns it with its Info; a directory
// at key is reported as not found.
func (s *Store) open(ctx context.Context, op, key string) (*os.File, cdn.Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, cdn.Info{}, err
	}
	if err := cdn.ValidateKey(key); err != nil {
		return nil, cdn.Info{}, err
	}
	f, err := s.root.Open(filepath.FromSlash(key))
	if err != nil {
		if !errors.Is(err, fs.ErrPermission) && !errors.Is(err, syscall.EIO) {
			// The store serves only the regular files it wrote: a symlink
			// leading out of the directory, a loop or a file where a
			// directory should be is no blob either.
			err = errors.Join(fs.ErrNotExist, err)
		}
		return nil, cdn.Info{}, statusErr(op, key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, cdn.Info{}, statusErr(op, key, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, cdn.Info{}, statusErr(op, key, fs.ErrNotExist)
	}
	info := cdn.Info{Key: key, Size: fi.Size(), ETag: etagOf(fi), Modified: fi.ModTime().UTC()}
	info.Props = s.props(key, info.ETag)
	return f, info, nil
}

// props reads key's sidecar. A sidecar recording another ETag belongs to a
// version being replaced right now (or to a writer that crashed between its
// two renames): wait briefly for the new one, then serve without properties
// rather than with another version's.
func (s *Store) props(key, etag string) cdn.Props {
	for try := 0; ; try++ {
		var sc sidecar
		data, err := iox.ReadRootFile(s.root, filepath.FromSlash(metaName(key)), maxSidecar)
		if err == nil {
			err = json.Unmarshal(data, &sc)
		}
		if err == nil && sc.ETag == etag {
			return cdn.Props{ContentType: sc.ContentType, CacheControl: sc.CacheControl, Metadata: sc.Metadata}
		}
		if try == 20 {
			s.o.logger.Warn("blob without matching properties sidecar", slog.String("key", key), slog.Any("error", err))
			return cdn.Props{}
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Stat implements cdn.Store.
func (s *Store) Stat(ctx context.Context, key string) (cdn.Info, error) {
	f, info, err := s.open(ctx, "stat", key)
	if err != nil {
		return cdn.Info{}, err
	}
	f.Close()
	return info, nil
}

// Get implements cdn.Store.
func (s *Store) Get(ctx context.Context, key string, r cdn.Range) (io.ReadCloser, cdn.Info, error) {
	f, info, err := s.open(ctx, "get", key)
	if err != nil {
		return nil, cdn.Info{}, err
	}
	if r.Offset < 0 || (r.Offset > 0 && r.Offset >= info.Size) {
		f.Close()
		return nil, cdn.Info{}, &cdn.StatusError{Op: "get", Key: key, Status: 416, Err: cdn.ErrInvalidRange}
	}
	n := info.Size - r.Offset
	if r.Length > 0 && r.Length < n {
		n = r.Length
	}
	return &sectionReadCloser{io.NewSectionReader(f, r.Offset, n), f}, info, nil
}

type sectionReadCloser struct {
	*io.SectionReader
	f *os.File
}

func (s *sectionReadCloser) Close() error { return s.f.Close() }

// staged is a written, synced temporary data file and sidecar, ready to be
// linked or renamed into place.
type staged struct {
	data, meta string // temporary names, relative to the root
	etag       string
	info       cdn.Info
}

func tempName(dir string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return path.Join(dir, ".tmp-"+hex.EncodeToString(b[:]))
}

func (s *Store) stage(ctx context.Context, op, key string, body io.Reader, p cdn.Props) (st *staged, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := cdn.ValidateKey(key); err != nil {
		return nil, err
	}
	dir := path.Dir(key)
	if err := s.root.MkdirAll(filepath.FromSlash(dir), 0o755); err != nil {
		return nil, statusErr(op, key, err)
	}
	st = &staged{data: tempName(dir), meta: tempName(dir)}
	defer func() {
		if err != nil {
			s.discard(st)
		}
	}()
	f, err := s.root.OpenFile(filepath.FromSlash(st.data), os.O_WRONLY|os.O_CREATE|os.O_EXCL, s.o.perm)
	if err != nil {
		return st, fmt.Errorf("%s %s: %w", op, key, err)
	}
	_, err = io.Copy(f, iox.ContextReader(ctx, body))
	if err == nil {
		err = f.Sync()
	}
	var fi fs.FileInfo
	if err == nil {
		fi, err = f.Stat()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return st, fmt.Errorf("%s %s: %w", op, key, err)
	}
	st.etag = etagOf(fi)
	st.info = cdn.Info{Key: key, Size: fi.Size(), ETag: st.etag, Modified: fi.ModTime().UTC(), Props: p}
	sc, err := json.Marshal(sidecar{ETag: st.etag, ContentType: p.ContentType, CacheControl: p.CacheControl, Metadata: p.Metadata})
	if err != nil {
		return st, err
	}
	if err := s.writeSynced(st.meta, sc); err != nil {
		return st, fmt.Errorf("%s %s: %w", op, key, err)
	}
	return st, nil
}

func (s *Store) writeSynced(name string, data []byte) error {
	f, err := s.root.OpenFile(filepath.FromSlash(name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, s.o.perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (s *Store) discard(st *staged) {
	for _, n := range []string{st.data, st.meta} {
		if n != "" {
			_ = s.root.Remove(filepath.FromSlash(n))
		}
	}
}

func (s *Store) syncDir(dir string) error {
	d, err := s.root.Open(filepath.FromSlash(dir))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Create implements cdn.Store. link(2) refuses an existing name, which makes
// the create conditional even between processes.
func (s *Store) Create(ctx context.Context, key string, body io.Reader, p cdn.Props) (cdn.Info, error) {
	st, err := s.stage(ctx, "create", key, body, p)
	if err != nil {
		return cdn.Info{}, err
	}
	defer s.discard(st) // the data name stays linked at key
	if err := ctx.Err(); err != nil {
		return cdn.Info{}, err
	}
	if err := s.root.Link(filepath.FromSlash(st.data), filepath.FromSlash(key)); err != nil {
		return cdn.Info{}, statusErr("create", key, err)
	}
	if err := s.root.Rename(filepath.FromSlash(st.meta), filepath.FromSlash(metaName(key))); err != nil {
		return cdn.Info{}, fmt.Errorf("create %s: properties: %w", key, err)
	}
	st.meta = ""
	if err := s.syncDir(path.Dir(key)); err != nil {
		return cdn.Info{}, fmt.Errorf("create %s: %w", key, err)
	}
	return st.info, nil
}

// Copy implements cdn.Store by a hard link: dst is the same file as src,
// so nothing is copied and the blob cannot differ from its source. Its
// sidecar is staged first and renamed into place after the link.
func (s *Store) Copy(ctx context.Context, src, dst string) (cdn.Info, error) {
	f, info, err := s.open(ctx, "copy", src)
	if err != nil {
		return cdn.Info{}, err
	}
	f.Close()
	if err := cdn.ValidateKey(dst); err != nil {
		return cdn.Info{}, err
	}
	dir := path.Dir(dst)
	if err := s.root.MkdirAll(filepath.FromSlash(dir), 0o755); err != nil {
		return cdn.Info{}, statusErr("copy", dst, err)
	}
	p := info.Props
	sc, err := json.Marshal(sidecar{ETag: info.ETag, ContentType: p.ContentType, CacheControl: p.CacheControl, Metadata: p.Metadata})
	if err != nil {
		return cdn.Info{}, err
	}
	st := &staged{meta: tempName(dir)}
	defer s.discard(st)
	if err := s.writeSynced(st.meta, sc); err != nil {
		return cdn.Info{}, fmt.Errorf("copy %s: %w", dst, err)
	}
	if err := ctx.Err(); err != nil {
		return cdn.Info{}, err
	}
	if err := s.root.Link(filepath.FromSlash(src), filepath.FromSlash(dst)); err != nil {
		return cdn.Info{}, statusErr("copy", dst, err)
	}
	if err := s.root.Rename(filepath.FromSlash(st.meta), filepath.FromSlash(metaName(dst))); err != nil {
		return cdn.Info{}, fmt.Errorf("copy %s: properties: %w", dst, err)
	}
	st.meta = ""
	if err := s.syncDir(dir); err != nil {
		return cdn.Info{}, fmt.Errorf("copy %s: %w", dst, err)
	}
	info.Key = dst
	return info, nil
}

// Replace implements cdn.Store.
func (s *Store) Replace(ctx context.Context, key string, body io.Reader, p cdn.Props, ifMatch string) (cdn.Info, error) {
	if ifMatch == "" {
		return cdn.Info{}, fmt.Errorf("replace %s: empty ETag", key)
	}
	st, err := s.stage(ctx, "replace", key, body, p)
	if err != nil {
		return cdn.Info{}, err
	}
	defer s.discard(st)
	unlock, err := s.lock(ctx, key)
	if err != nil {
		return cdn.Info{}, fmt.Errorf("replace %s: %w", key, err)
	}
	defer unlock()
	fi, err := s.root.Stat(filepath.FromSlash(key))
	if err != nil || !fi.Mode().IsRegular() || etagOf(fi) != ifMatch {
		return cdn.Info{}, &cdn.StatusError{Op: "replace", Key: key, Status: 412, Code: "ConditionNotMet", Err: cdn.ErrPreconditionFailed, Cause: err}
	}
	if err := s.root.Rename(filepath.FromSlash(st.data), filepath.FromSlash(key)); err != nil {
		return cdn.Info{}, fmt.Errorf("replace %s: %w", key, err)
	}
	st.data = ""
	if err := s.root.Rename(filepath.FromSlash(st.meta), filepath.FromSlash(metaName(key))); err != nil {
		return cdn.Info{}, fmt.Errorf("replace %s: properties: %w", key, err)
	}
	st.meta = ""
	if err := s.syncDir(path.Dir(key)); err != nil {
		return cdn.Info{}, fmt.Errorf("replace %s: %w", key, err)
	}
	return st.info, nil
}

// lock takes an exclusive lock (flock, LockFileEx on Windows) on key's lock file, polling so ctx can
// cancel the wait.
func (s *Store) lock(ctx context.Context, key string) (func(), error) {
	f, err := s.root.OpenFile(filepath.FromSlash(lockName(key)), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		locked, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, err
		}
		if locked {
			return func() { _ = unlock(f); f.Close() }, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// List implements cdn.Store.
func (s *Store) List(ctx context.Context, prefix string, fn func(cdn.Info) error) error {
	if err := cdn.ValidatePrefix(prefix); err != nil {
		return err
	}
	start := "."
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		start = prefix[:i]
	}
	var keys []string
	err := fs.WalkDir(s.root.FS(), start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == start {
				return fs.SkipAll
			}
			return err
		}
		if p != start && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && strings.HasPrefix(p, prefix) && cdn.ValidateKey(p) == nil {
			keys = append(keys, p)
		}
		return ctx.Err()
	})
	if err != nil {
		return fmt.Errorf("list %s: %w", prefix, err)
	}
	slices.Sort(keys)
	for _, k := range keys {
		info, err := s.Stat(ctx, k)
		if errors.Is(err, cdn.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if err := fn(info); err != nil {
			return err
		}
	}
	return nil
}
