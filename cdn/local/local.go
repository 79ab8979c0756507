// Package local is the embedded default cdn.Store: a directory on the local
// file system, with blob keys as relative paths inside it.
//
// A blob at key DIR/NAME is three names in DIR: NAME holds the data,
// .NAME.<etag>.meta its properties (content type, cache control, metadata)
// for exactly that version of the data, and .NAME.lock the lock Replace
// takes. The ETag is derived from the data file itself (inode, size,
// modification time), so a reader always finds the properties of the
// version it opened, or none.
//
// Writes never leave a partial blob at its final path, and a blob never
// appears without its properties: the bytes go to a hidden temporary file
// ".tmp-*" in DIR and are synced; the properties are written (synced,
// renamed) under the name their ETag gives them and DIR is synced; only then
// does the data appear at once, by link(2) for a conditional create (which
// fails if the name exists, so of two concurrent creators exactly one wins)
// and by rename(2) for a replace (under an flock, after checking the ETag).
// A writer killed at any point leaves the old state plus hidden files no
// reader looks at: properties named after an ETag no data has, and
// temporary files, which the first write into DIR by a later run removes
// once they are an hour old (several writers may run at once: a live
// writer's temporary file is younger). A blob left without properties by an
// older version of this package is completed by the next Create of the
// same bytes. All access goes through os.Root: no key, symlink or ".." can
// reach outside the directory.
package local

import (
	"bytes"
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
	"sync"
	"syscall"
	"time"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/internal/iox"
)

// maxSidecar bounds a sidecar read: it holds a few short strings.
const maxSidecar = 64 << 10

// abandonedAfter is the age past which a hidden temporary file belongs to
// no live writer: a writer streaming a blob touches its file with every
// write, and links or renames it within moments of the last.
const abandonedAfter = time.Hour

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

	mu    sync.Mutex
	swept map[string]bool // directories already cleaned of abandoned files
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
	return &Store{root: root, dir: abs, o: o, swept: map[string]bool{}}, nil
}

// Close releases the directory handle.
func (s *Store) Close() error { return s.root.Close() }

// URL returns the file:// URL of key.
func (s *Store) URL(key string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(s.dir, filepath.FromSlash(key)))}).String()
}

// sidecar is the JSON stored in .NAME.<etag>.meta.
type sidecar struct {
	ETag         string            `json:"etag"`
	ContentType  string            `json:"contentType,omitempty"`
	CacheControl string            `json:"cacheControl,omitempty"`
	Metadata     map[string]string `json:"metadata,omitempty"`
}

func newSidecar(etag string, p cdn.Props) sidecar {
	return sidecar{ETag: etag, ContentType: p.ContentType, CacheControl: p.CacheControl, Metadata: p.Metadata}
}

// metaName is where the properties of the version etag of key live.
func metaName(key, etag string) string {
	dir, name := path.Split(key)
	return dir + "." + name + "." + strings.Trim(etag, `"`) + ".meta"
}

func lockName(key string) string {
	dir, name := path.Split(key)
	return dir + "." + name + ".lock"
}

// tempPrefix starts the name of every file being written.
const tempPrefix = ".tmp-"

func tempName(dir string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return path.Join(dir, tempPrefix+hex.EncodeToString(b[:]))
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

// openData opens the data file of key for reading. Only a regular file is
// a blob: anything else (a directory, a FIFO or device someone put there,
// a symlink leading out of the store, a loop) is not found, and is never
// opened in a way that could block: the type is checked before the open
// and again on the opened file.
func (s *Store) openData(op, key string) (*os.File, fs.FileInfo, error) {
	name := filepath.FromSlash(key)
	notBlob := func(err error) error {
		if !errors.Is(err, fs.ErrPermission) && !errors.Is(err, syscall.EIO) && !errors.Is(err, fs.ErrClosed) {
			err = errors.Join(fs.ErrNotExist, err)
		}
		return statusErr(op, key, err)
	}
	if fi, err := s.root.Stat(name); err != nil {
		return nil, nil, notBlob(err)
	} else if !fi.Mode().IsRegular() {
		return nil, nil, statusErr(op, key, fs.ErrNotExist)
	}
	f, err := s.root.OpenFile(name, os.O_RDONLY|oNonBlock, 0)
	if err != nil {
		return nil, nil, notBlob(err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fs.ErrNotExist
	}
	if err != nil {
		f.Close()
		return nil, nil, statusErr(op, key, err)
	}
	return f, fi, nil
}

// open opens the data file of key and returns it with its Info, the
// properties of that very version included.
func (s *Store) open(ctx context.Context, op, key string) (*os.File, cdn.Info, error) {
	if err := cdn.ValidateKey(key); err != nil {
		return nil, cdn.Info{}, err
	}
	for try := 0; ; try++ {
		if err := ctx.Err(); err != nil {
			return nil, cdn.Info{}, err
		}
		f, fi, err := s.openData(op, key)
		if err != nil {
			return nil, cdn.Info{}, err
		}
		info := cdn.Info{Key: key, Size: fi.Size(), ETag: etagOf(fi), Modified: fi.ModTime().UTC()}
		p, err := s.readProps(key, info.ETag)
		if err == nil {
			info.Props = p
			return f, info, nil
		}
		// The version opened has no properties: it was replaced (and its
		// properties removed) since it was opened, so open the new one; or
		// it was left without them by an older writer, and is served
		// without them, never with another version's.
		if try < 3 && errors.Is(err, fs.ErrNotExist) {
			if cur, serr := s.root.Stat(filepath.FromSlash(key)); serr == nil && etagOf(cur) != info.ETag {
				f.Close()
				continue
			}
		}
		s.o.logger.WarnContext(ctx, "blob without its properties", slog.String("key", key), slog.Any("error", err))
		return f, info, nil
	}
}

// readProps reads the properties of version etag of key.
func (s *Store) readProps(key, etag string) (cdn.Props, error) {
	data, err := iox.ReadRootFile(s.root, filepath.FromSlash(metaName(key, etag)), maxSidecar)
	if err != nil {
		return cdn.Props{}, err
	}
	p, err := parseSidecar(data, etag)
	if err != nil {
		return cdn.Props{}, fmt.Errorf("properties of %s: %w", key, err)
	}
	return p, nil
}

// errSidecar: a properties file that is not one, or another version's.
var errSidecar = errors.New("invalid properties file")

// parseSidecar parses the properties of the version etag of a blob.
func parseSidecar(data []byte, etag string) (cdn.Props, error) {
	var sc sidecar
	if err := json.Unmarshal(data, &sc); err != nil {
		return cdn.Props{}, fmt.Errorf("%w: %w", errSidecar, err)
	}
	if sc.ETag != etag {
		return cdn.Props{}, fmt.Errorf("%w: it records ETag %s, want %s", errSidecar, sc.ETag, etag)
	}
	return cdn.Props{ContentType: sc.ContentType, CacheControl: sc.CacheControl, Metadata: sc.Metadata}, nil
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

// prepareDir makes the directory of key and, on the first write into it
// by this Store, removes what writers killed long ago left there.
func (s *Store) prepareDir(op, key string) (string, error) {
	dir := path.Dir(key)
	if err := s.root.MkdirAll(filepath.FromSlash(dir), 0o755); err != nil {
		return "", statusErr(op, key, err)
	}
	s.mu.Lock()
	first := !s.swept[dir]
	s.swept[dir] = true
	s.mu.Unlock()
	if first {
		s.sweep(dir)
	}
	return dir, nil
}

// sweep removes the temporary files in dir that no writer has touched for
// abandonedAfter: a killed writer's partial blob or properties, or the
// second name of data a killed writer had already linked into place.
func (s *Store) sweep(dir string) {
	d, err := s.root.Open(filepath.FromSlash(dir))
	if err != nil {
		return
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return
	}
	for _, n := range names {
		if !strings.HasPrefix(n, tempPrefix) {
			continue
		}
		p := filepath.FromSlash(path.Join(dir, n))
		if fi, err := s.root.Lstat(p); err == nil && time.Since(fi.ModTime()) > abandonedAfter {
			if err := s.root.Remove(p); err == nil {
				s.o.logger.Info("removed an abandoned temporary file", slog.String("file", path.Join(dir, n)), slog.Int64("size", fi.Size()))
			}
		}
	}
}

// staged is a written, synced temporary data file, ready to be linked or
// renamed into place.
type staged struct {
	data string // temporary name, relative to the root; "" once moved
	info cdn.Info
}

func (s *Store) stage(ctx context.Context, op, key string, body io.Reader, p cdn.Props) (*staged, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := cdn.ValidateKey(key); err != nil {
		return nil, err
	}
	dir, err := s.prepareDir(op, key)
	if err != nil {
		return nil, err
	}
	st := &staged{data: tempName(dir)}
	var fi fs.FileInfo
	err = s.writeTemp(st.data, func(f *os.File) error {
		if _, err := io.Copy(f, iox.ContextReader(ctx, body)); err != nil {
			return err
		}
		fi, err = f.Stat()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", op, key, err)
	}
	st.info = cdn.Info{Key: key, Size: fi.Size(), ETag: etagOf(fi), Modified: fi.ModTime().UTC(), Props: p}
	return st, nil
}

// writeTemp creates the temporary file name, fills it with write and syncs
// it; on failure it is removed.
func (s *Store) writeTemp(name string, write func(*os.File) error) error {
	f, err := s.root.OpenFile(filepath.FromSlash(name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, s.o.perm)
	if err != nil {
		return err
	}
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = s.root.Remove(filepath.FromSlash(name))
	}
	return err
}

// discard removes the staged data file unless it was moved into place.
func (s *Store) discard(st *staged) {
	if st != nil && st.data != "" {
		_ = s.root.Remove(filepath.FromSlash(st.data))
	}
}

// putProps writes the properties of version etag of key, synced, at
// their final name, and syncs the directory: the data may appear after.
func (s *Store) putProps(key, etag string, p cdn.Props) error {
	sc, err := json.Marshal(newSidecar(etag, p))
	if err != nil {
		return err
	}
	dir := path.Dir(key)
	tmp := tempName(dir)
	if err := s.writeTemp(tmp, func(f *os.File) error { _, err := f.Write(sc); return err }); err != nil {
		return err
	}
	if err := s.root.Rename(filepath.FromSlash(tmp), filepath.FromSlash(metaName(key, etag))); err != nil {
		_ = s.root.Remove(filepath.FromSlash(tmp))
		return err
	}
	return s.syncDir(dir)
}

func (s *Store) removeProps(key, etag string) {
	_ = s.root.Remove(filepath.FromSlash(metaName(key, etag)))
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
	defer s.discard(st) // the data stays linked at key
	if err := s.putProps(key, st.info.ETag, p); err != nil {
		return cdn.Info{}, fmt.Errorf("create %s: properties: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		s.removeProps(key, st.info.ETag)
		return cdn.Info{}, err
	}
	if err := s.root.Link(filepath.FromSlash(st.data), filepath.FromSlash(key)); err != nil {
		s.removeProps(key, st.info.ETag) // named after our new file: no one else's
		if errors.Is(err, fs.ErrExist) {
			s.complete(ctx, key, st)
		}
		return cdn.Info{}, statusErr("create", key, err)
	}
	if err := s.syncDir(path.Dir(key)); err != nil {
		return cdn.Info{}, fmt.Errorf("create %s: %w", key, err)
	}
	return st.info, nil
}

// complete gives the blob at key the properties st was created with when
// it has none and holds exactly st's bytes: it is what a writer killed
// between placing the data and its properties (as older versions of this
// package did them, in that order) would have left, and creating the
// same bytes again finishes its work. The data is not touched.
func (s *Store) complete(ctx context.Context, key string, st *staged) {
	f, fi, err := s.openData("create", key)
	if err != nil {
		return
	}
	defer f.Close()
	etag := etagOf(fi)
	if _, err := s.readProps(key, etag); !errors.Is(err, fs.ErrNotExist) || fi.Size() != st.info.Size {
		return
	}
	mine, err := s.root.Open(filepath.FromSlash(st.data))
	if err != nil {
		return
	}
	defer mine.Close()
	if same, err := sameContent(ctx, f, mine); err != nil || !same {
		return
	}
	if err := s.putProps(key, etag, st.info.Props); err == nil {
		s.o.logger.InfoContext(ctx, "completed a blob left without its properties", slog.String("key", key))
	}
}

// sameContent reports whether a and b hold the same bytes.
func sameContent(ctx context.Context, a, b io.Reader) (bool, error) {
	ba, bb := make([]byte, 256<<10), make([]byte, 256<<10)
	a, b = iox.ContextReader(ctx, a), iox.ContextReader(ctx, b)
	for {
		na, errA := io.ReadFull(a, ba)
		nb, errB := io.ReadFull(b, bb)
		if !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		endA := errors.Is(errA, io.EOF) || errors.Is(errA, io.ErrUnexpectedEOF)
		endB := errors.Is(errB, io.EOF) || errors.Is(errB, io.ErrUnexpectedEOF)
		switch {
		case errA != nil && !endA:
			return false, errA
		case errB != nil && !endB:
			return false, errB
		case endA || endB:
			return endA && endB, nil
		}
	}
}

// Copy implements cdn.Store by a hard link: dst is the same file as src,
// so nothing is copied and the blob cannot differ from its source. Its
// properties are written before the link, like Create's.
func (s *Store) Copy(ctx context.Context, src, dst string) (cdn.Info, error) {
	f, info, err := s.open(ctx, "copy", src)
	if err != nil {
		return cdn.Info{}, err
	}
	f.Close()
	if err := cdn.ValidateKey(dst); err != nil {
		return cdn.Info{}, err
	}
	if _, err := s.prepareDir("copy", dst); err != nil {
		return cdn.Info{}, err
	}
	if err := s.putProps(dst, info.ETag, info.Props); err != nil {
		return cdn.Info{}, fmt.Errorf("copy %s: properties: %w", dst, err)
	}
	if err := ctx.Err(); err != nil {
		s.removeOwnProps(dst, info.ETag)
		return cdn.Info{}, err
	}
	if err := s.root.Link(filepath.FromSlash(src), filepath.FromSlash(dst)); err != nil {
		s.removeOwnProps(dst, info.ETag)
		return cdn.Info{}, statusErr("copy", dst, err)
	}
	if err := s.syncDir(path.Dir(dst)); err != nil {
		return cdn.Info{}, fmt.Errorf("copy %s: %w", dst, err)
	}
	info.Key = dst
	return info, nil
}

// removeOwnProps removes the properties a failed Copy wrote for version
// etag of dst, unless dst is that version (a copy of the same source made
// before): they are then its own.
func (s *Store) removeOwnProps(dst, etag string) {
	if fi, err := s.root.Stat(filepath.FromSlash(dst)); err == nil && etagOf(fi) == etag {
		return
	}
	s.removeProps(dst, etag)
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
	if err := s.putProps(key, st.info.ETag, p); err != nil {
		return cdn.Info{}, fmt.Errorf("replace %s: properties: %w", key, err)
	}
	if err := s.root.Rename(filepath.FromSlash(st.data), filepath.FromSlash(key)); err != nil {
		s.removeProps(key, st.info.ETag)
		return cdn.Info{}, fmt.Errorf("replace %s: %w", key, err)
	}
	st.data = ""
	if err := s.syncDir(path.Dir(key)); err != nil {
		return cdn.Info{}, fmt.Errorf("replace %s: %w", key, err)
	}
	s.removeProps(key, ifMatch) // the old version's, now no data's
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
