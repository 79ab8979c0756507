// Package origin serves a cdn.Store over HTTP as the origin behind a CDN:
// GET and HEAD of any valid blob key (content under /blobs/sha256/<hex>, and
// later the flight catalogs), with Range requests, the stored ETag and
// Cache-Control, and conditional requests (If-None-Match answers 304). It
// never lists directories and never maps a request outside the store's keys.
// It does not write: publishing goes through cdn.Publish.
package origin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/devupdate/devupdate/cdn"
)

type options struct {
	logger         *slog.Logger
	ready          func(net.Addr)
	timestampAge   time.Duration
	notFoundMaxAge time.Duration
}

// Option configures NewHandler and ListenAndServe.
type Option func(*options) error

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error { o.logger = l; return nil }
}

// WithReady is called with the listening address once ListenAndServe accepts
// connections (default: nothing).
func WithReady(fn func(net.Addr)) Option {
	return func(o *options) error { o.ready = fn; return nil }
}

// WithTimestampMaxAge sets how long caches may keep a TUF timestamp.json (any
// key named timestamp.json), the one file of a ring's repository that is
// rewritten (default 60 s; at least one second). Every other metadata file is
// versioned and served with its stored immutable Cache-Control.
func WithTimestampMaxAge(d time.Duration) Option {
	return func(o *options) error {
		if d < time.Second {
			return fmt.Errorf("timestamp max-age %v is below one second", d)
		}
		o.timestampAge = d
		return nil
	}
}

// WithNotFoundMaxAge sets how long caches may keep a 404 (default 10 s; 0
// sends no-store). A device's scan begins with a request for the next
// N.root.json, a 404 on every scan until a root rotation: a short negative
// max-age lets the CDN answer it without making a rotation wait long.
func WithNotFoundMaxAge(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("negative not-found max-age %v", d)
		}
		o.notFoundMaxAge = d
		return nil
	}
}

func newOptions(opts []Option) (options, error) {
	o := options{logger: slog.New(slog.DiscardHandler), ready: func(net.Addr) {}, timestampAge: 60 * time.Second, notFoundMaxAge: 10 * time.Second}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

// NewHandler returns the origin handler for s.
func NewHandler(s cdn.Store, opts ...Option) (http.Handler, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	return &handler{s: s, log: o.logger, o: o}, nil
}

// smallBlob is the size up to which a blob is served from one whole read.
const smallBlob = 64 << 10

type handler struct {
	s   cdn.Store
	log *slog.Logger
	o   options
}

func maxAge(d time.Duration) string {
	if d <= 0 {
		return "no-store"
	}
	return fmt.Sprintf("public, max-age=%d", int(d/time.Second))
}

func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", maxAge(h.o.notFoundMaxAge))
	http.NotFound(w, r)
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	key := strings.TrimPrefix(r.URL.Path, "/")
	if cdn.ValidateKey(key) != nil {
		// Covers "/", directories ("blobs/"), "..", hidden files: no listing, no escape.
		h.notFound(w, r)
		return
	}
	// Small blobs (the rings' metadata, timestamp.json among them) are read
	// whole in one Get, so the body served is the version the headers
	// name even when a pointer is swapped meanwhile; larger ones are
	// immutable content, streamed by range.
	var (
		info  cdn.Info
		small []byte
		err   error
	)
	rc, ginfo, err := h.s.Get(r.Context(), key, cdn.Range{Offset: 0, Length: smallBlob + 1})
	if err == nil {
		small, err = io.ReadAll(io.LimitReader(rc, smallBlob+1))
		rc.Close()
		info = ginfo
		if int64(len(small)) > smallBlob || info.Size > smallBlob {
			small = nil
		}
	}
	if errors.Is(err, cdn.ErrNotFound) {
		h.notFound(w, r)
		return
	}
	if err != nil {
		h.log.ErrorContext(r.Context(), "stat failed", slog.String("key", key), slog.Any("error", err))
		http.Error(w, "storage unavailable", http.StatusBadGateway)
		return
	}
	hdr := w.Header()
	hdr.Set("ETag", info.ETag)
	cc := info.Props.CacheControl
	if path.Base(key) == "timestamp.json" {
		cc = maxAge(h.o.timestampAge)
	}
	if cc == "" {
		cc = "no-cache" // unknown freshness: caches must revalidate
	}
	hdr.Set("Cache-Control", cc)
	ct := info.Props.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	hdr.Set("Content-Type", ct)
	hdr.Set("X-Content-Type-Options", "nosniff")
	if sum := info.Props.Metadata[cdn.MetaSHA256]; sum != "" {
		hdr.Set("X-Checksum-Sha256", sum)
	}
	if small != nil {
		http.ServeContent(w, r, "", info.Modified, bytes.NewReader(small))
		return
	}
	http.ServeContent(w, r, "", info.Modified, &blobSeeker{ctx: r.Context(), s: h.s, info: info, log: h.log})
}

// blobSeeker lets http.ServeContent handle ranges and conditional requests
// over a store: seeking only moves an offset, and the first Read opens a
// ranged Get from there, pinned to the ETag the headers announced.
type blobSeeker struct {
	ctx  context.Context
	s    cdn.Store
	info cdn.Info
	log  *slog.Logger
	pos  int64
	rc   io.ReadCloser
}

func (b *blobSeeker) Seek(off int64, whence int) (int64, error) {
	var pos int64
	switch whence {
	case io.SeekStart:
		pos = off
	case io.SeekCurrent:
		pos = b.pos + off
	case io.SeekEnd:
		pos = b.info.Size + off
	}
	if pos < 0 {
		return 0, errors.New("seek before start")
	}
	if pos != b.pos && b.rc != nil {
		b.rc.Close()
		b.rc = nil
	}
	b.pos = pos
	return pos, nil
}

func (b *blobSeeker) Read(p []byte) (int, error) {
	if b.pos >= b.info.Size {
		return 0, io.EOF
	}
	if b.rc == nil {
		rc, info, err := b.s.Get(b.ctx, b.info.Key, cdn.Range{Offset: b.pos})
		if err != nil {
			return 0, err
		}
		if info.ETag != b.info.ETag {
			rc.Close()
			b.log.WarnContext(b.ctx, "blob replaced while serving", slog.String("key", b.info.Key))
			return 0, fmt.Errorf("%w: %s changed while serving", cdn.ErrPreconditionFailed, b.info.Key)
		}
		b.rc = rc
	}
	n, err := b.rc.Read(p)
	b.pos += int64(n)
	if err == io.EOF {
		b.rc.Close()
		b.rc = nil
	}
	return n, err
}

// NewServer returns an http.Server for h with timeouts set, so a slow or
// stalled client cannot hold connections forever.
func NewServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Minute, // a large cabinet over a slow link
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

// ListenAndServe serves s on addr until ctx is done, then shuts down
// gracefully (in-flight requests get 10 seconds).
func ListenAndServe(ctx context.Context, addr string, s cdn.Store, opts ...Option) error {
	o, err := newOptions(opts)
	if err != nil {
		return err
	}
	h, err := NewHandler(s, opts...)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := NewServer(h)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	o.logger.InfoContext(ctx, "serving", slog.String("addr", l.Addr().String()))
	o.ready(l.Addr())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shCtx); err != nil {
		return err
	}
	return nil
}
