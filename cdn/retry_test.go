package cdn_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/cdn/memory"
)

// flakyStore fails the first n calls of Create and Stat with err.
type flakyStore struct {
	cdn.Store
	n      int
	err    error
	calls  int
	bodies []string
}

func (f *flakyStore) Create(ctx context.Context, key string, body io.Reader, p cdn.Props) (cdn.Info, error) {
	f.calls++
	data, _ := io.ReadAll(body)
	f.bodies = append(f.bodies, string(data))
	if f.calls <= f.n {
		return cdn.Info{}, f.err
	}
	return f.Store.Create(ctx, key, bytes.NewReader(data), p)
}

func (f *flakyStore) Stat(ctx context.Context, key string) (cdn.Info, error) {
	f.calls++
	if f.calls <= f.n {
		return cdn.Info{}, f.err
	}
	return f.Store.Stat(ctx, key)
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

var _ net.Error = timeoutErr{}

func TestIsTransient(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"500", &cdn.StatusError{Status: 500, Code: "InternalError"}, true},
		{"503", &cdn.StatusError{Status: 503, Code: "ServerBusy"}, true},
		{"429", &cdn.StatusError{Status: 429}, true},
		{"408", &cdn.StatusError{Status: 408}, true},
		{"timeout", &net.OpError{Op: "read", Err: timeoutErr{}}, true},
		{"reset", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, true},
		{"cut response", io.ErrUnexpectedEOF, true},
		{"403 auth", &cdn.StatusError{Status: 403, Code: "AuthenticationFailed"}, false},
		{"400", &cdn.StatusError{Status: 400, Code: "InvalidHeaderValue"}, false},
		{"exists", &cdn.StatusError{Status: 409, Err: cdn.ErrExists}, false},
		{"precondition", &cdn.StatusError{Status: 412, Err: cdn.ErrPreconditionFailed}, false},
		{"not found", cdn.ErrNotFound, false},
		{"cancelled", context.Canceled, false},
		{"500 but cancelled", errors.Join(context.Canceled, &cdn.StatusError{Status: 500}), false},
		{"plain", errors.New("x"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		if got := cdn.IsTransient(tt.err); got != tt.want {
			t.Errorf("%s: IsTransient = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func fastRetry(t *testing.T, s cdn.Store) cdn.Store {
	t.Helper()
	r, err := cdn.WithRetry(s, cdn.RetryAttempts(4), cdn.RetryBackoff(time.Millisecond, 4*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRetryTransientThenSucceed(t *testing.T) {
	f := &flakyStore{Store: memory.New(), n: 2, err: &cdn.StatusError{Op: "create", Status: 503, Code: "ServerBusy"}}
	_, err := fastRetry(t, f).Create(t.Context(), "k", strings.NewReader("payload"), cdn.Props{})
	if err != nil {
		t.Fatalf("Create after 2 transient failures: %v", err)
	}
	if f.calls != 3 {
		t.Errorf("%d attempts, want 3", f.calls)
	}
	for i, b := range f.bodies {
		if b != "payload" {
			t.Errorf("attempt %d sent %q: body not rewound", i+1, b)
		}
	}
}

func TestRetryGivesUp(t *testing.T) {
	f := &flakyStore{Store: memory.New(), n: 100, err: &cdn.StatusError{Op: "stat", Status: 500, Code: "InternalError"}}
	_, err := fastRetry(t, f).Stat(t.Context(), "k")
	var se *cdn.StatusError
	if !errors.As(err, &se) || se.Status != 500 {
		t.Fatalf("error %v, want the last *StatusError 500", err)
	}
	if f.calls != 4 {
		t.Errorf("%d attempts, want 4", f.calls)
	}
}

func TestRetryPermanentFailsFast(t *testing.T) {
	for _, err := range []error{
		&cdn.StatusError{Op: "create", Status: 403, Code: "AuthenticationFailed"},
		&cdn.StatusError{Op: "create", Status: 409, Code: "BlobAlreadyExists", Err: cdn.ErrExists},
	} {
		f := &flakyStore{Store: memory.New(), n: 100, err: err}
		_, got := fastRetry(t, f).Create(t.Context(), "k", strings.NewReader("x"), cdn.Props{})
		var se *cdn.StatusError
		if !errors.As(got, &se) || se.Code != err.(*cdn.StatusError).Code {
			t.Errorf("error %v, want %v", got, err)
		}
		if f.calls != 1 {
			t.Errorf("%v: %d attempts, want 1", err, f.calls)
		}
	}
}

func TestRetryNeedsSeekableBody(t *testing.T) {
	f := &flakyStore{Store: memory.New(), n: 1, err: &cdn.StatusError{Status: 503}}
	// io.MultiReader cannot seek: the body cannot be sent again.
	_, err := fastRetry(t, f).Create(t.Context(), "k", io.MultiReader(strings.NewReader("x")), cdn.Props{})
	if err == nil || f.calls != 1 {
		t.Errorf("non-seekable body: error %v after %d attempts, want failure after 1", err, f.calls)
	}
}

func TestRetryStopsOnCancel(t *testing.T) {
	f := &flakyStore{Store: memory.New(), n: 100, err: &cdn.StatusError{Status: 503}}
	r, err := cdn.WithRetry(f, cdn.RetryAttempts(10), cdn.RetryBackoff(time.Hour, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = r.Stat(ctx, "k")
	if !errors.Is(err, context.DeadlineExceeded) || f.calls != 1 {
		t.Errorf("error %v after %d attempts, want the deadline after 1", err, f.calls)
	}
}

func TestRetryOptionsValidated(t *testing.T) {
	for _, opt := range []cdn.RetryOption{cdn.RetryAttempts(0), cdn.RetryBackoff(0, time.Second), cdn.RetryBackoff(time.Second, time.Millisecond)} {
		if _, err := cdn.WithRetry(memory.New(), opt); err == nil {
			t.Error("invalid retry option accepted")
		}
	}
}
