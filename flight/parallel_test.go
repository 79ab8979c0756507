package flight

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
)

// TestEach: every call runs, never more than the limit at once, a failure
// does not stop the others, every error comes back in index order, and a
// done context starts no further call.
func TestEach(t *testing.T) {
	var running, peak, calls atomic.Int64
	errOdd := errors.New("odd")
	err := each(t.Context(), 3, 50, func(ctx context.Context, i int) error {
		calls.Add(1)
		n := running.Add(1)
		defer running.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		if i%2 == 1 {
			return fmt.Errorf("call %d: %w", i, errOdd)
		}
		return nil
	})
	if calls.Load() != 50 || peak.Load() > 3 {
		t.Errorf("%d calls, at most %d at once; want 50, at most 3", calls.Load(), peak.Load())
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !errors.Is(err, errOdd) || !ok || len(joined.Unwrap()) != 25 || joined.Unwrap()[0].Error() != "call 1: odd" || joined.Unwrap()[24].Error() != "call 49: odd" {
		t.Errorf("error = %v, want the 25 odd calls' errors in order", err)
	}
	if err := each(t.Context(), 4, 0, nil); err != nil {
		t.Errorf("no calls: %v", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	calls.Store(0)
	err = each(ctx, 1, 100, func(ctx context.Context, i int) error {
		if calls.Add(1) == 5 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls.Load() > 6 {
		t.Errorf("after cancel: %d calls, error %v; want at most 6 and context.Canceled", calls.Load(), err)
	}
}
