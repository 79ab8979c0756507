package origin_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/cdn/memory"
	"github.com/devupdate/devupdate/cdn/origin"
	"github.com/devupdate/devupdate/internal/nginx"
)

// countingHandler counts origin requests per path and remembers the status
// it answered, so the test sees what nginx asked of the origin.
type countingHandler struct {
	h      http.Handler
	mu     sync.Mutex
	hits   map[string]int
	status map[string][]int
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) { r.code = code; r.ResponseWriter.WriteHeader(code) }

func (c *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, code: 200}
	c.h.ServeHTTP(rec, r)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hits[r.URL.Path]++
	c.status[r.URL.Path] = append(c.status[r.URL.Path], rec.code)
}

func (c *countingHandler) count(path string) (int, []int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits[path], append([]int(nil), c.status[path]...)
}

// startNginx runs Debian's nginx with the repository's example config
// (examples/cdn/nginx.conf) in front of originAddr (internal/nginx).
func startNginx(t *testing.T, originAddr string) string {
	t.Helper()
	return nginx.StartT(t, originAddr).URL
}

func get(t *testing.T, url string) (string, string) {
	t.Helper()
	resp, body := do(t, "GET", url, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	return resp.Header.Get("X-Cache-Status"), string(body)
}

// TestNginxCachesContentAndRevalidatesPointers puts the real nginx with the
// example config in front of the origin handler: immutable content is a
// cache HIT from the second request on, and a pointer with a 1-second
// max-age goes back to the origin once it has expired (EXPIRED with new
// bytes when it changed, REVALIDATED through a 304 when it did not).
func TestNginxCachesContentAndRevalidatesPointers(t *testing.T) {
	s := memory.New()
	content := bytes.Repeat([]byte("cabinet bytes "), 5000)
	key := publish(t, s, content)
	const ptr = "rings/Preview/catalog.json"
	v1, err := cdn.PutPointer(t.Context(), s, ptr, []byte(`{"v":1}`), "", cdn.WithMaxAge(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	h, err := origin.NewHandler(s)
	if err != nil {
		t.Fatal(err)
	}
	counter := &countingHandler{h: h, hits: map[string]int{}, status: map[string][]int{}}
	srv := httptest.NewServer(counter)
	t.Cleanup(srv.Close)
	cdnURL := startNginx(t, srv.Listener.Addr().String())

	status, body := get(t, cdnURL+"/"+key)
	if status != "MISS" || body != string(content) {
		t.Errorf("first content GET: X-Cache-Status %q, %d bytes; want MISS and the content", status, len(body))
	}
	for i := range 2 {
		status, body = get(t, cdnURL+"/"+key)
		if status != "HIT" || body != string(content) {
			t.Errorf("content GET %d: X-Cache-Status %q; want HIT", i+2, status)
		}
	}
	if n, _ := counter.count("/" + key); n != 1 {
		t.Errorf("origin served the content %d times, want once", n)
	}

	if status, body = get(t, cdnURL+"/"+ptr); status != "MISS" || body != `{"v":1}` {
		t.Errorf("first pointer GET: %q %q", status, body)
	}
	if status, _ = get(t, cdnURL+"/"+ptr); status != "HIT" {
		t.Errorf("pointer within max-age: %q, want HIT", status)
	}
	if _, err := cdn.PutPointer(t.Context(), s, ptr, []byte(`{"v":2}`), v1.ETag, cdn.WithMaxAge(time.Second)); err != nil {
		t.Fatal(err)
	}
	// nginx keeps whole seconds: an entry cached at second S with max-age=1
	// is stale from second S+2 on. Until then it is a HIT with the bytes
	// cached; the first answer that is not, is the one to check.
	if status, body = getAfterHits(t, cdnURL+"/"+ptr, `{"v":1}`); status != "EXPIRED" || body != `{"v":2}` {
		t.Errorf("changed pointer after max-age: %q %q, want EXPIRED with v2", status, body)
	}
	if status, body = getAfterHits(t, cdnURL+"/"+ptr, `{"v":2}`); status != "REVALIDATED" || body != `{"v":2}` {
		t.Errorf("unchanged pointer after max-age: %q %q, want REVALIDATED with v2", status, body)
	}
	if n, codes := counter.count("/" + ptr); n != 3 || codes[2] != http.StatusNotModified {
		t.Errorf("origin saw %d pointer requests answered %v, want 3 ending in 304", n, codes)
	}
	if n, _ := counter.count("/" + key); n != 1 {
		t.Errorf("content went back to the origin (%d requests), want it cached", n)
	}
}

// getAfterHits GETs url until nginx answers other than a cache HIT (each
// HIT must hold cached), and returns that answer. The cached entry's
// expiry is nginx's clock, seconds away: this waits for it without
// assuming when it comes.
func getAfterHits(t *testing.T, url, cached string) (string, string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		status, body := get(t, url)
		if status != "HIT" {
			return status, body
		}
		if body != cached {
			t.Fatalf("cache HIT with %q, want %q", body, cached)
		}
		time.Sleep(100 * time.Millisecond) // poll interval
	}
	t.Fatalf("%s still a cache HIT after a minute", url)
	return "", ""
}
