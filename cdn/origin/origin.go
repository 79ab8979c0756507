// Package origin serves a cdn.Store over HTTP as the origin behind a CDN:
// GET and HEAD of any valid blob key (content under /blobs/sha256/<hex>, the
// rings' TUF metadata and targets), with Range requests (at most
// MaxRangeParts parts; more are answered with the whole blob), an ETag
// (the content's recorded SHA-256 where there is one, so every origin of
// the same blob sends the same; else the store's), the stored Cache-Control,
// and conditional requests (If-None-Match answers 304). GET /healthz
// answers 200 while the store answers (503 when it does not), and every
// request is logged as one structured line (WithAccessLog). It never lists
// directories and never maps a request outside the store's keys. It does
// not write: publishing goes through cdn.Publish.
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
	access         *slog.Logger
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

// WithAccessLog logs every request as one line at level Info on l: method,
// path (never the query), status, bytes sent, duration, the client's
// address, its Range and User-Agent (default: no access log).
func WithAccessLog(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("nil access logger")
		}
		o.access = l
		return nil
	}
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
	var h http.Handler = &handler{s: s, log: o.logger, o: o}
	if o.access != nil {
		h = &accessLog{h: h, log: o.access}
	}
	return h, nil
}

// smallBlob is the size up to which a blob is served from one whole read.
const smallBlob = 64 << 10

// MaxRangeParts is the most parts of a Range header served as ranges: each
// part is one more read of the blob from the store, so a request with more
// (which no downloader sends) is answered with the whole blob, as RFC 9110
// lets a server ignore Range.
const MaxRangeParts = 16

// HealthPath answers 200 while the store answers a Stat, 503 otherwise; it
// shadows a blob of that name.
const HealthPath = "/healthz"

// healthProbe is the key /healthz asks the store about: any answer,
// found or not found, means the store is reachable.
const healthProbe = "healthz"

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
	if r.URL.Path == HealthPath {
		h.health(w, r)
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
	sum := info.Props.Metadata[cdn.MetaSHA256]
	if isSHA256Hex(sum) {
		// The bytes' own name: the same on every origin and every copy of
		// the store, unlike the store's ETag (a local store's comes from
		// the file's inode and time).
		hdr.Set("ETag", `"sha256:`+sum+`"`)
		hdr.Set("X-Checksum-Sha256", sum)
	} else {
		hdr.Set("ETag", info.ETag)
	}
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
	if rg := r.Header.Get("Range"); rg != "" && strings.Count(rg, ",") >= MaxRangeParts {
		r.Header.Del("Range")
	}
	if small != nil {
		http.ServeContent(w, r, "", info.Modified, bytes.NewReader(small))
		return
	}
	b := &blobSeeker{ctx: r.Context(), s: h.s, info: info, log: h.log}
	defer b.Close() // a range or an aborted download ends before the blob does
	http.ServeContent(w, r, "", info.Modified, b)
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// health answers HealthPath.
func (h *handler) health(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if _, err := h.s.Stat(r.Context(), healthProbe); err != nil && !errors.Is(err, cdn.ErrNotFound) {
		h.log.ErrorContext(r.Context(), "health check: store unavailable", slog.Any("error", err))
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "store unavailable\n")
		return
	}
	_, _ = io.WriteString(w, "ok\n")
}

// accessLog logs one line per request.
type accessLog struct {
	h   http.Handler
	log *slog.Logger
}

func (a *accessLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	a.h.ServeHTTP(rec, r)
	if r.Method == http.MethodHead {
		rec.bytes = 0 // written by the handler, never sent
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", rec.status),
		slog.Int64("bytes", rec.bytes),
		slog.Duration("duration", time.Since(start)),
		slog.String("remote", r.RemoteAddr),
	}
	if rg := r.Header.Get("Range"); rg != "" {
		attrs = append(attrs, slog.String("range", truncate(rg, 100)))
	}
	if ua := r.UserAgent(); ua != "" {
		attrs = append(attrs, slog.String("user_agent", truncate(ua, 200)))
	}
	a.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// recorder remembers the status and counts the body bytes of a response.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	r.wrote = true
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

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
	if pos != b.pos {
		b.Close()
	}
	b.pos = pos
	return pos, nil
}

// Close closes the store's reader, if one is open.
func (b *blobSeeker) Close() error {
	if b.rc == nil {
		return nil
	}
	err := b.rc.Close()
	b.rc = nil
	return err
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
		b.Close()
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
