package flight

import (
	"context"
	"errors"
	"sync"
)

// each calls fn(ctx, i) for every i in [0, n), at most limit at once. A
// failing call does not stop the others (the repositories of a store are
// independent: one that cannot be read must not keep the rest from being
// refreshed); once ctx is done no further call starts. It returns every
// error, in index order, joined.
func each(ctx context.Context, limit, n int, fn func(ctx context.Context, i int) error) error {
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(limit, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = fn(ctx, i)
			}
		}()
	}
	var stopped error
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			stopped = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	return errors.Join(append(errs, stopped)...)
}
