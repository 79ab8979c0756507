package cabinet

import "context"

// Trace observes the work of a cabinet reader: a test counts with it the
// bytes decompressed (a folder decompressed twice shows), and
// instrumentation may too. It travels in a context, as net/http/httptrace's
// ClientTrace does, so that it reaches the reader through callers (a
// verifier, a signer) that know nothing of it; without one the reader
// pays a nil check per block. Its functions may be called from any
// goroutine.
type Trace struct {
	// Decompressed is called after each CFDATA block of folder is
	// decompressed (and checked), with its uncompressed size.
	Decompressed func(folder, n int)
}

type traceKey struct{}

// WithTrace returns a context carrying t; the readers started with it
// (Walk, Extract, Test) report to t.
func WithTrace(ctx context.Context, t *Trace) context.Context {
	return context.WithValue(ctx, traceKey{}, t)
}

func traceFrom(ctx context.Context) *Trace {
	t, _ := ctx.Value(traceKey{}).(*Trace)
	if t == nil || t.Decompressed == nil {
		return nil
	}
	return t
}
