package cdn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/devupdate/devupdate/internal/iox"
)

type retryOptions struct {
	attempts int
	base     time.Duration
	max      time.Duration
	logger   *slog.Logger
}

// RetryOption configures WithRetry.
type RetryOption func(*retryOptions) error

// RetryAttempts sets how many times an operation is tried in all (default 5).
func RetryAttempts(n int) RetryOption {
	return func(o *retryOptions) error {
		if n < 1 {
			return fmt.Errorf("retry attempts must be at least 1, not %d", n)
		}
		o.attempts = n
		return nil
	}
}

// RetryBackoff sets the first delay and the cap of the exponential backoff
// (default 250ms and 8s; each delay is jittered by up to half).
func RetryBackoff(base, max time.Duration) RetryOption {
	return func(o *retryOptions) error {
		if base <= 0 || max < base {
			return fmt.Errorf("retry backoff needs 0 < base <= max, got %v and %v", base, max)
		}
		o.base, o.max = base, max
		return nil
	}
}

// RetryLogger logs each retry (default: discard).
func RetryLogger(l *slog.Logger) RetryOption {
	return func(o *retryOptions) error { o.logger = l; return nil }
}

// WithRetry wraps s so that transient failures (IsTransient) are retried
// with exponential backoff, and permanent ones (authentication, conflicts,
// other 4xx) are returned at once with their status and code. A write is
// retried only when its body is an io.Seeker, rewound before each attempt.
func WithRetry(s Store, opts ...RetryOption) (Store, error) {
	o := retryOptions{attempts: 5, base: 250 * time.Millisecond, max: 8 * time.Second, logger: discardLogger()}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	return &retryStore{s: s, o: o}, nil
}

type retryStore struct {
	s Store
	o retryOptions
}

func (r *retryStore) do(ctx context.Context, op, key string, rewind func() error, f func() error) error {
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || attempt >= r.o.attempts || !IsTransient(err) {
			return err
		}
		if rewind != nil {
			if rerr := rewind(); rerr != nil {
				return errors.Join(err, fmt.Errorf("cannot retry %s %s: %w", op, key, rerr))
			}
		}
		d := iox.Backoff(attempt, r.o.base, r.o.max)
		r.o.logger.LogAttrs(ctx, slog.LevelWarn, "retrying storage operation",
			slog.String("op", op), slog.String("key", key), slog.Int("attempt", attempt),
			slog.Duration("delay", d), slog.Any("error", err))
		if serr := iox.Sleep(ctx, d); serr != nil {
			return errors.Join(err, serr)
		}
	}
}

// rewinder returns a function that seeks body back to where it started, or
// nil (no retry) when body cannot seek.
func rewinder(body io.Reader) (func() error, bool) {
	sk, ok := body.(io.Seeker)
	if !ok {
		return nil, false
	}
	start, err := sk.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, false
	}
	return func() error { _, err := sk.Seek(start, io.SeekStart); return err }, true
}

func (r *retryStore) Stat(ctx context.Context, key string) (info Info, err error) {
	err = r.do(ctx, "stat", key, nil, func() error { info, err = r.s.Stat(ctx, key); return err })
	return info, err
}

func (r *retryStore) Get(ctx context.Context, key string, rg Range) (rc io.ReadCloser, info Info, err error) {
	err = r.do(ctx, "get", key, nil, func() error { rc, info, err = r.s.Get(ctx, key, rg); return err })
	return rc, info, err
}

func (r *retryStore) Create(ctx context.Context, key string, body io.Reader, p Props) (info Info, err error) {
	rewind, ok := rewinder(body)
	if !ok {
		return r.s.Create(ctx, key, body, p)
	}
	err = r.do(ctx, "create", key, rewind, func() error { info, err = r.s.Create(ctx, key, body, p); return err })
	return info, err
}

func (r *retryStore) Replace(ctx context.Context, key string, body io.Reader, p Props, ifMatch string) (info Info, err error) {
	rewind, ok := rewinder(body)
	if !ok {
		return r.s.Replace(ctx, key, body, p, ifMatch)
	}
	err = r.do(ctx, "replace", key, rewind, func() error { info, err = r.s.Replace(ctx, key, body, p, ifMatch); return err })
	return info, err
}

func (r *retryStore) Copy(ctx context.Context, src, dst string) (info Info, err error) {
	err = r.do(ctx, "copy", dst, nil, func() error { info, err = r.s.Copy(ctx, src, dst); return err })
	return info, err
}

// List is retried only until fn has seen a first blob, so fn never sees a
// blob twice; a failure after that is returned as it is.
func (r *retryStore) List(ctx context.Context, prefix string, fn func(Info) error) error {
	seen := false
	var final error
	err := r.do(ctx, "list", prefix, nil, func() error {
		err := r.s.List(ctx, prefix, func(i Info) error {
			seen = true
			return fn(i)
		})
		if seen {
			final = err
			return nil
		}
		return err
	})
	if seen {
		return final
	}
	return err
}

// URL forwards to the wrapped store.
func (r *retryStore) URL(key string) string {
	if u, ok := r.s.(URLer); ok {
		return u.URL(key)
	}
	return ""
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
