package iox

import (
	"context"
	"math/rand/v2"
	"time"
)

// Sleep waits d, or until ctx is done (its error).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Backoff is the wait before retry n (from 1) of something that keeps
// failing: first, doubled at each retry up to limit, less a random part of
// up to half, so that many clients retrying at once spread out.
func Backoff(n int, first, limit time.Duration) time.Duration {
	d := first << min(max(n-1, 0), 30)
	if d > limit || d <= 0 {
		d = limit
	}
	if d <= 0 {
		return 0
	}
	return d - rand.N(d/2+1)
}
