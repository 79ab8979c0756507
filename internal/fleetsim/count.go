package fleetsim

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/flight/catalog"
)

// Kinds of request, by path.
const (
	kindRoot      = "root"      // N.root.json: the probe for the next root (a 404 but for a rotation)
	kindTimestamp = "timestamp" // timestamp.json
	kindVersioned = "versioned" // N.snapshot.json, N.targets.json
	kindCabinet   = "cabinet"   // targets/<sha256>.<name>
	kindOther     = "other"
)

// classify returns a request path's ring and product CHID (for the rings'
// metadata) and its kind.
func classify(path string) (ring, chid, kind string) {
	p := strings.TrimPrefix(path, "/")
	if strings.HasPrefix(p, catalog.TargetsDir+"/") {
		return "", "", kindCabinet
	}
	rest, ok := strings.CutPrefix(p, catalog.RingsDir+"/")
	if !ok {
		return "", "", kindOther
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 {
		return "", "", kindOther
	}
	ring, chid, file := parts[0], parts[1], parts[2]
	switch {
	case file == "timestamp.json":
		kind = kindTimestamp
	case strings.HasSuffix(file, ".root.json"):
		kind = kindRoot
	case strings.HasSuffix(file, ".snapshot.json"), strings.HasSuffix(file, ".targets.json"):
		kind = kindVersioned
	default:
		kind = kindOther
	}
	return ring, chid, kind
}

// originRequest is one request that reached the origin (a line of its
// access log).
type originRequest struct {
	at               time.Time
	ring, chid, kind string
	status           int
	bytes            int64
}

// usage is what one device's run fetched from the CDN (bodies).
type usage struct {
	metaBytes, metaRequests int64
	versioned               int64
	cabBytes, cabRequests   int64
}

// countingTransport counts a device's responses into its usage.
type countingTransport struct {
	base http.RoundTripper
	u    *usage
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	_, _, kind := classify(r.URL.Path)
	if kind == kindCabinet {
		t.u.cabRequests++
	} else {
		t.u.metaRequests++
		if kind == kindVersioned {
			t.u.versioned++
		}
	}
	resp.Body = &countingBody{ReadCloser: resp.Body, u: t.u, cab: kind == kindCabinet}
	return resp, nil
}

type countingBody struct {
	io.ReadCloser
	u   *usage
	cab bool
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if b.cab {
		b.u.cabBytes += int64(n)
	} else {
		b.u.metaBytes += int64(n)
	}
	return n, err
}

// storeCounter counts what the publisher (the flight library) asks of the
// store: its work, which must not depend on the fleet.
type storeCounter struct {
	cdn.Store
	reads, writes, written atomic.Int64
}

func (s *storeCounter) Stat(ctx context.Context, key string) (cdn.Info, error) {
	s.reads.Add(1)
	return s.Store.Stat(ctx, key)
}

func (s *storeCounter) Get(ctx context.Context, key string, r cdn.Range) (io.ReadCloser, cdn.Info, error) {
	s.reads.Add(1)
	return s.Store.Get(ctx, key, r)
}

func (s *storeCounter) List(ctx context.Context, prefix string, fn func(cdn.Info) error) error {
	s.reads.Add(1)
	return s.Store.List(ctx, prefix, fn)
}

func (s *storeCounter) Create(ctx context.Context, key string, body io.Reader, p cdn.Props) (cdn.Info, error) {
	s.writes.Add(1)
	return s.Store.Create(ctx, key, &countingReader{r: body, n: &s.written}, p)
}

func (s *storeCounter) Replace(ctx context.Context, key string, body io.Reader, p cdn.Props, ifMatch string) (cdn.Info, error) {
	s.writes.Add(1)
	return s.Store.Replace(ctx, key, &countingReader{r: body, n: &s.written}, p, ifMatch)
}

func (s *storeCounter) Copy(ctx context.Context, src, dst string) (cdn.Info, error) {
	s.writes.Add(1)
	return s.Store.Copy(ctx, src, dst)
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// StoreOps is the publisher's work for one change.
type StoreOps struct {
	Reads, Writes, Written int64
}

func (s *storeCounter) take() StoreOps {
	return StoreOps{Reads: s.reads.Swap(0), Writes: s.writes.Swap(0), Written: s.written.Swap(0)}
}
