package cdn

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"mime"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/devupdate/devupdate/internal/iox"
)

// ImmutableCacheControl is served with content-addressed blobs: their bytes
// can never change, so every cache may keep them for a year.
const ImmutableCacheControl = "public, max-age=31536000, immutable"

// CabinetContentType is the registered media type of Microsoft cabinets.
const CabinetContentType = "application/vnd.ms-cab-compressed"

// MetaSHA256 is the metadata name under which Publish records a blob's
// SHA-256 (lower-case hex), so a later publish can verify it with one stat.
const MetaSHA256 = "sha256"

// BlobKey returns the content address of a blob with the given lower-case hex
// SHA-256: blobs/sha256/<hex>.
func BlobKey(sha256Hex string) string { return "blobs/sha256/" + sha256Hex }

type options struct {
	check       Check
	logger      *slog.Logger
	progress    func(path string, done, total int64)
	baseURL     string
	contentType string
	maxAge      time.Duration
}

// Option configures Publish and PutPointer.
type Option func(*options) error

func newOptions(opts []Option) (options, error) {
	o := options{logger: discardLogger(), maxAge: time.Minute}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("nil logger")
		}
		o.logger = l
		return nil
	}
}

// Check decides whether the file at path (r, size bytes: the file Publish
// hashed and will send) may be published; an error refuses it and nothing
// is stored.
type Check func(ctx context.Context, path string, r io.ReaderAt, size int64) error

// WithCheck runs check on every file after it is hashed and before anything
// is stored (default: none; the CLI refuses what devices would refuse).
// Publish sends exactly the bytes it hashed, so the bytes checked are the
// bytes stored.
func WithCheck(check Check) Option {
	return func(o *options) error { o.check = check; return nil }
}

// WithProgress calls fn as bytes go to the store, with the file, the bytes
// sent so far and the total (default: no callback). It restarts from 0 when a transient
// failure makes the upload start over. The CLI draws its progress bar with it.
func WithProgress(fn func(path string, done, total int64)) Option {
	return func(o *options) error { o.progress = fn; return nil }
}

// WithBaseURL sets the public base URL (the CDN) under which Result.URL is
// formed (default: the store's own URL for the blob, if it has one). It must
// pass CheckBaseURL.
func WithBaseURL(base string) Option {
	return func(o *options) error {
		if err := CheckBaseURL(base); err != nil {
			return err
		}
		o.baseURL = strings.TrimSuffix(base, "/")
		return nil
	}
}

// CheckBaseURL checks a CDN base URL: http or https, with a host
// (ErrInvalidBaseURL otherwise).
func CheckBaseURL(base string) error {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w %q: want an http(s) URL with a host, such as https://cdn.example.com/updates", ErrInvalidBaseURL, base)
	}
	return nil
}

// WithContentType overrides the content type (default: from the file name
// extension, application/vnd.ms-cab-compressed for .cab, for PutPointer
// application/json).
func WithContentType(ct string) Option {
	return func(o *options) error {
		if _, _, err := mime.ParseMediaType(ct); err != nil {
			return fmt.Errorf("content type %q: %w", ct, err)
		}
		o.contentType = ct
		return nil
	}
}

// WithMaxAge sets how long caches may serve a pointer before revalidating it
// (PutPointer only; default one minute).
func WithMaxAge(d time.Duration) Option {
	return func(o *options) error {
		if d < time.Second {
			return fmt.Errorf("pointer max-age %v is below one second", d)
		}
		o.maxAge = d
		return nil
	}
}

// Result reports one published file.
type Result struct {
	Path     string `json:"path"`
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`
	URL      string `json:"url"`
	Uploaded bool   `json:"uploaded"` // false when the store already had the content
	Key      string `json:"-"`
	// Err is why the file was not published (PublishFiles only).
	Err error `json:"-"`
}

// ContentTypeFor returns the content type Publish uses for a file name.
func ContentTypeFor(name string) string {
	ext := strings.ToLower(filepath.Ext(name))
	if ext == ".cab" {
		return CabinetContentType
	}
	if ct := mime.TypeByExtension(ext); ct != "" {
		return ct
	}
	return "application/octet-stream"
}

// Publish stores the file at path as an immutable, content-addressed blob
// (BlobKey of its SHA-256) with ImmutableCacheControl, and reports where.
//
// It is idempotent and crash-safe: content already in the store is verified
// by one Stat (size and recorded digest) and not transferred again; the
// upload is a conditional create, so a published blob is never overwritten,
// and a store shows nothing at the key until the whole upload succeeded. The
// bytes are hashed again as they are sent and the upload is abandoned before
// it becomes visible if they differ (the file changed meanwhile); afterwards
// the stored size and digest are checked.
func Publish(ctx context.Context, s Store, path string, opts ...Option) (Result, error) {
	o, err := newOptions(opts)
	if err != nil {
		return Result{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return Result{}, fmt.Errorf("publish: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Result{}, fmt.Errorf("publish: %w", err)
	}
	if !st.Mode().IsRegular() {
		return Result{}, fmt.Errorf("publish %s: not a regular file", path)
	}
	h := sha256.New()
	n, err := io.Copy(h, iox.ContextReader(ctx, f))
	if err != nil {
		return Result{}, fmt.Errorf("publish %s: hashing: %w", path, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	key := BlobKey(sum)
	res := Result{Path: path, SHA256: sum, Size: n, Key: key, URL: blobURL(s, o.baseURL, key)}
	log := o.logger.With(slog.String("path", path), slog.String("key", key))
	if o.check != nil {
		if err := o.check(ctx, path, f, n); err != nil {
			return Result{Path: path, SHA256: sum, Size: n}, fmt.Errorf("publish: %w", err)
		}
	}

	switch info, err := s.Stat(ctx, key); {
	case err == nil:
		log.DebugContext(ctx, "already published")
		return res, verifyStored(info, key, sum, n)
	case !errors.Is(err, ErrNotFound):
		return res, fmt.Errorf("publish %s: %w", path, err)
	}

	ct := o.contentType
	if ct == "" {
		ct = ContentTypeFor(path)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return res, fmt.Errorf("publish %s: %w", path, err)
	}
	body := &verifyingReader{f: f, h: sha256.New(), want: sum, size: n}
	if o.progress != nil {
		body.progress = func(done, total int64) { o.progress(path, done, total) }
	}
	props := Props{ContentType: ct, CacheControl: ImmutableCacheControl, Metadata: map[string]string{MetaSHA256: sum}}
	_, err = s.Create(ctx, key, body, props)
	var info Info
	switch {
	case errors.Is(err, ErrExists):
		// Another publisher won the race (or a retried create had in fact
		// succeeded): fine if it stored the same bytes.
		log.DebugContext(ctx, "published concurrently")
		if info, err = s.Stat(ctx, key); err != nil {
			return res, fmt.Errorf("publish %s: %w", path, err)
		}
		return res, verifyStored(info, key, sum, n)
	case err != nil:
		return res, fmt.Errorf("publish %s: %w", path, err)
	}
	if info, err = s.Stat(ctx, key); err != nil {
		return res, fmt.Errorf("publish %s: checking upload: %w", path, err)
	}
	if err := verifyStored(info, key, sum, n); err != nil {
		return res, err
	}
	res.Uploaded = true
	log.InfoContext(ctx, "published", slog.Int64("size", n))
	return res, nil
}

func verifyStored(info Info, key, sum string, size int64) error {
	if info.Size != size {
		return fmt.Errorf("%w: %s holds %d bytes, want %d", ErrDigestMismatch, key, info.Size, size)
	}
	if got := info.Props.Metadata[MetaSHA256]; got != sum {
		return fmt.Errorf("%w: %s records sha256 %q, want %s", ErrDigestMismatch, key, got, sum)
	}
	return nil
}

func blobURL(s Store, base, key string) string {
	if base != "" {
		return base + "/" + key
	}
	if u, ok := s.(URLer); ok {
		return u.URL(key)
	}
	return ""
}

// verifyingReader streams the file to the store, hashing the bytes as they
// go; at the end it reports ErrDigestMismatch instead of io.EOF when they are
// not the bytes that were hashed before, so the store abandons the upload
// before anything becomes visible. Seeking back to the start (for a retry)
// restarts the hash.
type verifyingReader struct {
	f        *os.File
	h        hash.Hash
	want     string
	size, n  int64
	progress func(done, total int64)
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.f.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if v.progress != nil && n > 0 {
		v.progress(v.n, v.size)
	}
	if v.n > v.size {
		return n, fmt.Errorf("%w: file grew past %d bytes while publishing", ErrDigestMismatch, v.size)
	}
	if err == io.EOF {
		if got := hex.EncodeToString(v.h.Sum(nil)); v.n != v.size || got != v.want {
			return n, fmt.Errorf("%w: file changed while publishing (sha256 %s, want %s)", ErrDigestMismatch, got, v.want)
		}
	}
	return n, err
}

func (v *verifyingReader) Seek(off int64, whence int) (int64, error) {
	if whence == io.SeekCurrent && off == 0 {
		return v.n, nil
	}
	if whence != io.SeekStart || off != 0 {
		return 0, errors.New("verifyingReader: can only rewind to the start")
	}
	if _, err := v.f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	v.h.Reset()
	v.n = 0
	return 0, nil
}

// PublishFiles publishes each file in turn (see Publish) and returns one
// Result per path, in order, each with its own Err: one bad file does not
// stop or hide the others. The error joins every file's.
func PublishFiles(ctx context.Context, s Store, paths []string, opts ...Option) ([]Result, error) {
	results := make([]Result, 0, len(paths))
	var errs []error
	for _, p := range paths {
		r := Result{Err: ctx.Err()}
		if r.Err == nil {
			r, r.Err = Publish(ctx, s, p, opts...)
		}
		r.Path = p
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
		results = append(results, r)
	}
	return results, errors.Join(errs...)
}

// PutPointer writes a small mutable document (such as a ring's catalog
// pointer) at key with a short max-age (WithMaxAge, default one minute), by
// compare-and-swap: with ifMatch empty it creates the pointer and fails with
// ErrExists if one exists; otherwise it replaces it only if its ETag is still
// ifMatch (ErrPreconditionFailed when another writer got there first). It
// returns the new Info, whose ETag is the next ifMatch. A conflict is
// reported only when the pointer holds other bytes: when a retried write's
// first attempt had committed, the pointer already holds body and PutPointer
// succeeds.
func PutPointer(ctx context.Context, s Store, key string, body []byte, ifMatch string, opts ...Option) (Info, error) {
	o, err := newOptions(opts)
	if err != nil {
		return Info{}, err
	}
	if err := ValidateKey(key); err != nil {
		return Info{}, err
	}
	if strings.HasPrefix(key, "blobs/") {
		return Info{}, fmt.Errorf("%w %q: blobs/ holds immutable content, not pointers", ErrInvalidKey, key)
	}
	ct := o.contentType
	if ct == "" {
		ct = "application/json"
	}
	sum := sha256.Sum256(body)
	props := Props{
		ContentType:  ct,
		CacheControl: fmt.Sprintf("public, max-age=%d", int(o.maxAge/time.Second)),
		Metadata:     map[string]string{MetaSHA256: hex.EncodeToString(sum[:])},
	}
	var info Info
	if ifMatch == "" {
		info, err = s.Create(ctx, key, bytes.NewReader(body), props)
	} else {
		info, err = s.Replace(ctx, key, bytes.NewReader(body), props, ifMatch)
	}
	if errors.Is(err, ErrExists) || errors.Is(err, ErrPreconditionFailed) {
		// A retried write whose first attempt committed finds its own
		// bytes in place: that is success, not a lost race.
		if cur, serr := s.Stat(ctx, key); serr == nil && cur.Size == int64(len(body)) && cur.Props.Metadata[MetaSHA256] == props.Metadata[MetaSHA256] {
			o.logger.DebugContext(ctx, "pointer already holds these bytes", slog.String("key", key))
			return cur, nil
		}
	}
	if err != nil {
		return Info{}, fmt.Errorf("pointer %s: %w", key, err)
	}
	o.logger.InfoContext(ctx, "pointer updated", slog.String("key", key), slog.String("etag", info.ETag))
	return info, nil
}
