package iox

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
)

// Buffers is a fixed number of equal buffers that ParallelWriters share:
// it bounds the bytes all of them hold in flight, whatever the number of
// writers or of bytes written, and reuses the buffers from writer to
// writer. A buffer is allocated the first time it is needed.
type Buffers struct {
	free chan *chunk
	size int
}

type chunk struct {
	b    []byte
	refs atomic.Int32
	home *Buffers
}

func (c *chunk) release() {
	if c.refs.Add(-1) == 0 {
		c.home.free <- c
	}
}

// NewBuffers returns n buffers of size bytes (n >= 1, size >= 1).
func NewBuffers(n, size int) *Buffers {
	b := &Buffers{free: make(chan *chunk, n), size: size}
	for range n {
		b.free <- &chunk{home: b}
	}
	return b
}

func (b *Buffers) get() *chunk {
	c := <-b.free
	if c.b == nil {
		c.b = make([]byte, b.size)
	}
	return c
}

// ParallelWriter is io.MultiWriter with each writer on its own goroutine:
// Write copies the bytes into a shared buffer and returns while the
// writers consume it, so feeding the same bytes to two hashes costs the
// time of one on two cores. A writer that fails is fed nothing more while
// the others go on; Close reports the failures. Write and ReadFrom must
// not be called concurrently, nor after Close.
type ParallelWriter struct {
	bufs  *Buffers
	queue []chan *chunk
	errs  []error
	wg    sync.WaitGroup
}

// Writer starts a ParallelWriter feeding ws from b's buffers. Close it.
func (b *Buffers) Writer(ws ...io.Writer) *ParallelWriter {
	p := &ParallelWriter{bufs: b, errs: make([]error, len(ws))}
	for i, w := range ws {
		q := make(chan *chunk, cap(b.free))
		p.queue = append(p.queue, q)
		p.wg.Go(func() {
			for c := range q {
				if p.errs[i] == nil {
					_, p.errs[i] = w.Write(c.b)
				}
				c.release()
			}
		})
	}
	return p
}

func (p *ParallelWriter) send(c *chunk, n int) {
	c.b = c.b[:n]
	c.refs.Store(int32(len(p.queue)))
	for _, q := range p.queue {
		q <- c
	}
}

// Write hands a copy of b to every writer. Its error is always nil: the
// writers' errors are Close's.
func (p *ParallelWriter) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		c := p.bufs.get()
		k := copy(c.b[:cap(c.b)], b)
		p.send(c, k)
		b = b[k:]
	}
	return n, nil
}

// ReadFrom reads r to its end straight into the shared buffers (one copy
// less than io.Copy) and hands each to every writer. Its error is r's; the
// writers' errors are Close's.
func (p *ParallelWriter) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for {
		c := p.bufs.get()
		n, err := io.ReadFull(r, c.b[:cap(c.b)])
		total += int64(n)
		if n > 0 {
			p.send(c, n)
		} else {
			c.refs.Store(1)
			c.release()
		}
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return total, nil
		case err != nil:
			return total, err
		}
	}
}

// Close waits until every writer has consumed what was written and
// returns their errors, joined (nil when none failed).
func (p *ParallelWriter) Close() error {
	for _, q := range p.queue {
		close(q)
	}
	p.wg.Wait()
	return errors.Join(p.errs...)
}
