// Package fetch is the agent's HTTP side: bounded GETs of small documents
// (TUF metadata) and resumable downloads of cabinets, from a CDN and its
// mirrors, over an injected *http.Client.
//
// Untrusted bytes are bounded before anyone parses them: a document is
// read up to its limit and refused past it, a download up to the length
// its signed metadata gives, and its SHA-256 is computed as the bytes
// arrive. Network trouble (refused connections, timeouts, 5xx, a
// connection dropped mid-body) is retried with backoff, moving to the next
// mirror, and a download resumes where it stopped (HTTP Range). What is
// wrong with the bytes themselves (too long, a different digest, a file
// shorter than signed) is never retried as if it were the network's fault:
// it is returned at once, each with its own error.
package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/devupdate/devupdate/internal/iox"
)

// Errors (test with errors.Is; *StatusError and *DigestError carry details).
var (
	// ErrNotFound: the server answered 404.
	ErrNotFound = errors.New("not found")
	// ErrUnreachable: every attempt on every mirror failed with a network
	// error or a server error; it wraps the last one.
	ErrUnreachable = errors.New("server unreachable")
	// ErrTooLong: the body is longer than allowed (the document limit, or
	// the signed length of a download): an endless or oversized response.
	ErrTooLong = errors.New("response longer than allowed")
	// ErrTruncated: the server's file is shorter than its signed length.
	ErrTruncated = errors.New("response shorter than its signed length")
	// ErrDigestMismatch: the downloaded bytes are not the signed ones.
	ErrDigestMismatch = errors.New("download does not match its signed SHA-256")
)

// StatusError is an HTTP answer other than success.
type StatusError struct {
	URL  string
	Code int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("GET %s: %d %s", e.URL, e.Code, http.StatusText(e.Code))
}

// Is makes a 404 errors.Is(err, ErrNotFound).
func (e *StatusError) Is(target error) bool {
	return target == ErrNotFound && e.Code == http.StatusNotFound
}

// retryable reports whether another attempt may succeed: the server's
// trouble, not an answer about the resource.
func (e *StatusError) retryable() bool {
	return e.Code >= 500 || e.Code == http.StatusTooManyRequests || e.Code == http.StatusRequestTimeout
}

// DigestError: the bytes downloaded from URL hash to Got, not to the
// signed Want.
type DigestError struct {
	URL, Want, Got string
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("GET %s: %v: signed %s, got %s", e.URL, ErrDigestMismatch, e.Want, e.Got)
}

func (e *DigestError) Unwrap() error { return ErrDigestMismatch }

type options struct {
	http           *http.Client
	attempts       int
	minBackoff     time.Duration
	maxBackoff     time.Duration
	requestTimeout time.Duration
	stallTimeout   time.Duration
	userAgent      string
	logger         *slog.Logger
}

// Option configures New.
type Option func(*options) error

// WithHTTPClient sets the HTTP client (default: a client with the
// default transport and no overall timeout; requests are bounded by
// WithRequestTimeout and WithStallTimeout).
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("nil HTTP client")
		}
		o.http = c
		return nil
	}
}

// WithAttempts sets how many attempts in a row may fail (without a
// download making progress) before ErrUnreachable (default 5).
func WithAttempts(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("attempts %d < 1", n)
		}
		o.attempts = n
		return nil
	}
}

// WithBackoff sets the wait before the first retry and its cap; each
// retry doubles the wait, less up to half at random (iox.Backoff;
// default 500ms and 30s).
func WithBackoff(first, max time.Duration) Option {
	return func(o *options) error {
		if first < 0 || max < first {
			return fmt.Errorf("backoff %s..%s", first, max)
		}
		o.minBackoff, o.maxBackoff = first, max
		return nil
	}
}

// WithRequestTimeout bounds one document request (default 30s).
func WithRequestTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("request timeout %s", d)
		}
		o.requestTimeout = d
		return nil
	}
}

// WithStallTimeout bounds how long a download may receive nothing before
// the attempt is abandoned and resumed (default 30s).
func WithStallTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("stall timeout %s", d)
		}
		o.stallTimeout = d
		return nil
	}
}

// WithUserAgent sets the User-Agent header (default "devupdate-agent").
func WithUserAgent(ua string) Option {
	return func(o *options) error { o.userAgent = ua; return nil }
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

// Client fetches from a server and its mirrors. It is safe for concurrent
// use.
type Client struct {
	bases []*url.URL
	o     options
	// cur is the base that answered last: requests start there.
	cur atomic.Int32
}

// New returns a client for the base URLs, tried in order.
func New(bases []string, opts ...Option) (*Client, error) {
	o := options{
		http: &http.Client{}, attempts: 5, minBackoff: 500 * time.Millisecond, maxBackoff: 30 * time.Second,
		requestTimeout: 30 * time.Second, stallTimeout: 30 * time.Second, userAgent: "devupdate-agent",
		logger: slog.New(slog.DiscardHandler),
	}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if len(bases) == 0 {
		return nil, errors.New("no base URL")
	}
	c := &Client{o: o}
	for _, b := range bases {
		u, err := url.Parse(b)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%q is not an http(s) base URL", b)
		}
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
		}
		c.bases = append(c.bases, u)
	}
	return c, nil
}

// url is path (relative, '/'-separated) under base i.
func (c *Client) url(i int, path string) string {
	return c.bases[i].JoinPath(path).String()
}

// try runs attempt on the current base, retrying retryable failures on
// the next base after a backoff, until it succeeds, fails for good, or
// the attempts are spent. attempt reports whether it made progress (a
// download that got bytes), which starts the count afresh.
func (c *Client) try(ctx context.Context, what string, attempt func(ctx context.Context, base int) (progress bool, err error)) error {
	var last error
	for failed := 0; failed < c.o.attempts; {
		if failed > 0 {
			if err := iox.Sleep(ctx, iox.Backoff(failed, c.o.minBackoff, c.o.maxBackoff)); err != nil {
				return err
			}
		}
		base := int(c.cur.Load()) % len(c.bases)
		progress, err := attempt(ctx, base)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !retryable(err) {
			return err
		}
		last = err
		c.o.logger.DebugContext(ctx, "retrying", "what", what, "base", c.bases[base].String(), "error", err)
		// The next attempt goes to the next mirror.
		c.cur.CompareAndSwap(int32(base), int32((base+1)%len(c.bases)))
		if progress {
			failed = 0
		}
		failed++
	}
	return fmt.Errorf("%s: %w: %w", what, ErrUnreachable, last)
}

// retryable reports whether err is the network's or the server's trouble.
func retryable(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.retryable()
	}
	for _, final := range []error{ErrTooLong, ErrTruncated, ErrDigestMismatch, errNotResumable} {
		if errors.Is(err, final) {
			return false
		}
	}
	return true // transport errors, timeouts, a body cut short
}

// drainMax is how much of an answer's unwanted body is read and thrown
// away: net/http closes a connection whose body was not read to its end,
// and a scan's first request (the next root, a 404 but for a rotation)
// is followed by timestamp.json, which would pay a new TCP (and TLS)
// handshake.
const drainMax = 4 << 10

// drain reads and discards up to drainMax bytes of an unwanted body, so
// that its connection can carry the next request.
func drain(body io.Reader) { _, _ = io.CopyN(io.Discard, body, drainMax) }

// errNotResumable is internal: a Range answer that does not fit.
var errNotResumable = errors.New("range answer does not fit")

func (c *Client) newRequest(ctx context.Context, u string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", c.o.userAgent)
	return req, nil
}

// Get fetches path (relative to the base URLs) whole, refusing a body of
// more than limit bytes (ErrTooLong) before reading past it. A 404 is
// returned at once (errors.Is(err, ErrNotFound)).
func (c *Client) Get(ctx context.Context, path string, limit int64) ([]byte, error) {
	var out []byte
	err := c.try(ctx, "GET "+path, func(ctx context.Context, base int) (bool, error) {
		ctx, cancel := context.WithTimeout(ctx, c.o.requestTimeout)
		defer cancel()
		u := c.url(base, path)
		req, err := c.newRequest(ctx, u)
		if err != nil {
			return false, err
		}
		resp, err := c.o.http.Do(req)
		if err != nil {
			return false, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			drain(resp.Body)
			return false, &StatusError{URL: u, Code: resp.StatusCode}
		}
		if resp.ContentLength > limit {
			return false, fmt.Errorf("GET %s: %w: Content-Length %d, at most %d allowed", u, ErrTooLong, resp.ContentLength, limit)
		}
		buf, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
		if err != nil {
			return false, err
		}
		if int64(len(buf)) > limit {
			return false, fmt.Errorf("GET %s: %w: more than %d bytes", u, ErrTooLong, limit)
		}
		out = buf
		return false, nil
	})
	return out, err
}
