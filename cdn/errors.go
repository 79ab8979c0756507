package cdn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
)

// Sentinel errors shared by every backend. Backends wrap them (usually inside
// a *StatusError) so callers test with errors.Is.
var (
	ErrNotFound           = errors.New("blob not found")
	ErrExists             = errors.New("blob already exists")
	ErrPreconditionFailed = errors.New("precondition failed (ETag changed)")
	ErrInvalidKey         = errors.New("invalid blob key")
	ErrInvalidRange       = errors.New("range not satisfiable")
	ErrDigestMismatch     = errors.New("stored content does not match its digest")
	ErrInvalidURL         = errors.New("invalid store URL")
	ErrInvalidBaseURL     = errors.New("invalid CDN base URL")
)

// StatusError is a failed storage operation as the service reported it: the
// HTTP status and the service's error code (for Azure, the x-ms-error-code
// such as BlobAlreadyExists or AuthenticationFailed). Err is the sentinel it
// maps to (nil when none applies); Cause is the backend's own error.
type StatusError struct {
	Op     string // "create", "replace", "get", "stat", "list"
	Key    string
	Status int    // HTTP status; 0 when the service never answered
	Code   string // service error code; may be empty
	Err    error  // ErrNotFound, ErrExists, ErrPreconditionFailed or nil
	Cause  error
}

func (e *StatusError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s:", e.Op, e.Key)
	if e.Status != 0 {
		fmt.Fprintf(&b, " status %d", e.Status)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	} else if e.Cause != nil {
		fmt.Fprintf(&b, ": %v", e.Cause)
	}
	return b.String()
}

// Unwrap exposes both the sentinel and the backend's error.
func (e *StatusError) Unwrap() []error {
	var errs []error
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	if e.Cause != nil {
		errs = append(errs, e.Cause)
	}
	return errs
}

// Transient reports whether retrying the operation may succeed: server errors
// (5xx), request timeouts and throttling (408, 429). Other 4xx (authentication,
// authorization, conflicts, bad requests) are permanent.
func (e *StatusError) Transient() bool {
	return e.Status >= 500 || e.Status == 408 || e.Status == 429
}

// IsTransient reports whether err is worth retrying: a transient
// *StatusError, a network timeout, a reset or refused connection, or a
// connection cut mid-response. Cancellation and every sentinel error are
// permanent.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	for _, s := range []error{ErrNotFound, ErrExists, ErrPreconditionFailed, ErrInvalidKey, ErrInvalidRange, ErrDigestMismatch} {
		if errors.Is(err, s) {
			return false
		}
	}
	var se *StatusError
	if errors.As(err, &se) && se.Status != 0 {
		return se.Transient()
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF)
}

// maxKeyLen bounds keys well below every backend's limit (Azure: 1024).
const maxKeyLen = 512

// ValidateKey checks that key is a blob key every backend stores the same
// way and that cannot escape a local store's directory: slash-separated
// segments of ASCII letters, digits, '.', '_' and '-', none empty, none
// starting with '.', at most 512 bytes. Names starting with '.' are reserved
// for the backends' own files (temporary files, metadata sidecars).
func ValidateKey(key string) error {
	if key == "" || len(key) > maxKeyLen {
		return fmt.Errorf("%w %q: must be 1 to %d bytes", ErrInvalidKey, key, maxKeyLen)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" {
			return fmt.Errorf("%w %q: empty path segment", ErrInvalidKey, key)
		}
		if seg[0] == '.' {
			return fmt.Errorf("%w %q: segment %q starts with '.'", ErrInvalidKey, key, seg)
		}
		for _, c := range []byte(seg) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return fmt.Errorf("%w %q: character %q not allowed", ErrInvalidKey, key, c)
			}
		}
	}
	return nil
}

// ValidatePrefix checks a List prefix: empty, or a key prefix whose complete
// segments are valid (a trailing partial segment such as "blobs/sha256/ab" is
// allowed, and so is a trailing slash).
func ValidatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	p := strings.TrimSuffix(prefix, "/")
	if err := ValidateKey(p); err != nil {
		return fmt.Errorf("prefix: %w", err)
	}
	return nil
}
