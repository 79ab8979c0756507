package origin_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/cdn/local"
	"github.com/devupdate/devupdate/cdn/memory"
	"github.com/devupdate/devupdate/cdn/origin"
)

// publish stores data through cdn.Publish and returns its key.
func publish(t *testing.T, s cdn.Store, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "u.cab")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := cdn.Publish(t.Context(), s, p)
	if err != nil {
		t.Fatal(err)
	}
	return res.Key
}

func newOrigin(t *testing.T, s cdn.Store) *httptest.Server {
	t.Helper()
	h, err := origin.NewHandler(s)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestServeContent(t *testing.T) {
	for name, s := range map[string]cdn.Store{"memory": memory.New(), "local": mustLocal(t, t.TempDir())} {
		t.Run(name, func(t *testing.T) {
			data := bytes.Repeat([]byte("0123456789"), 1000)
			key := publish(t, s, data)
			srv := newOrigin(t, s)
			url := srv.URL + "/" + key

			resp, body := do(t, "GET", url, nil)
			if resp.StatusCode != 200 || !bytes.Equal(body, data) {
				t.Fatalf("GET: %d, %d bytes", resp.StatusCode, len(body))
			}
			for h, want := range map[string]string{
				"Cache-Control":  cdn.ImmutableCacheControl,
				"Content-Type":   cdn.CabinetContentType,
				"Content-Length": "10000",
				"Accept-Ranges":  "bytes",
			} {
				if got := resp.Header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			etag := resp.Header.Get("ETag")
			if etag == "" {
				t.Fatal("no ETag")
			}

			resp, body = do(t, "HEAD", url, nil)
			if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("ETag") != etag {
				t.Errorf("HEAD: %d, %d bytes, ETag %q", resp.StatusCode, len(body), resp.Header.Get("ETag"))
			}

			resp, body = do(t, "GET", url, map[string]string{"Range": "bytes=9995-"})
			if resp.StatusCode != 206 || string(body) != "56789" || resp.Header.Get("Content-Range") != "bytes 9995-9999/10000" {
				t.Errorf("Range tail: %d %q %q", resp.StatusCode, body, resp.Header.Get("Content-Range"))
			}
			resp, body = do(t, "GET", url, map[string]string{"Range": "bytes=10-13"})
			if resp.StatusCode != 206 || string(body) != "0123" {
				t.Errorf("Range middle: %d %q", resp.StatusCode, body)
			}
			resp, _ = do(t, "GET", url, map[string]string{"Range": "bytes=20000-"})
			if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
				t.Errorf("Range past the end: %d, want 416", resp.StatusCode)
			}

			resp, body = do(t, "GET", url, map[string]string{"If-None-Match": etag})
			if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
				t.Errorf("If-None-Match current: %d, want 304", resp.StatusCode)
			}
			resp, _ = do(t, "GET", url, map[string]string{"If-None-Match": `"other"`})
			if resp.StatusCode != 200 {
				t.Errorf("If-None-Match other: %d, want 200", resp.StatusCode)
			}
		})
	}
}

func mustLocal(t *testing.T, dir string) *local.Store {
	t.Helper()
	s, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestNoListingNoEscape(t *testing.T) {
	parent := t.TempDir()
	if err := os.WriteFile(filepath.Join(parent, "secret"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(parent, "store")
	s := mustLocal(t, dir)
	key := publish(t, s, []byte("content"))
	// A symlink planted inside the store must not lead outside it.
	if err := os.Symlink(filepath.Join(parent, "secret"), filepath.Join(dir, "blobs", "link")); err != nil {
		t.Fatal(err)
	}
	srv := newOrigin(t, s)
	for _, path := range []string{
		"/", "/blobs", "/blobs/", "/blobs/sha256", "/blobs/sha256/", "/../secret", "/blobs/../../secret",
		"/%2e%2e/secret", "/blobs/%2e%2e/%2e%2e/secret", "/blobs/link", "/blobs/sha256/.tmp-x",
		"/" + key + ".meta", "/blobs/sha256/." + key[len("blobs/sha256/"):] + ".meta", "/nope",
	} {
		req, err := http.NewRequest("GET", srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.RawPath = path
		req.URL.Path = path
		req.URL.Opaque = path // sent verbatim, no client-side cleaning
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMovedPermanently {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
		if bytes.Contains(body, []byte("secret")) || bytes.Contains(body, []byte("sha256")) {
			t.Errorf("GET %s leaked %q", path, body)
		}
	}
	resp, _ := do(t, "POST", srv.URL+"/"+key, nil)
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", resp.StatusCode)
	}
}

func TestPointerMaxAge(t *testing.T) {
	s := memory.New()
	if _, err := cdn.PutPointer(t.Context(), s, "rings/Preview/catalog.json", []byte(`{}`), "", cdn.WithMaxAge(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	srv := newOrigin(t, s)
	resp, body := do(t, "GET", srv.URL+"/rings/Preview/catalog.json", nil)
	if resp.StatusCode != 200 || string(body) != "{}" || resp.Header.Get("Cache-Control") != "public, max-age=5" || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("pointer: %d %q %v", resp.StatusCode, body, resp.Header)
	}
}

func TestListenAndServe(t *testing.T) {
	s := memory.New()
	key := publish(t, s, []byte("abc"))
	ctx, cancel := context.WithCancel(t.Context())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- origin.ListenAndServe(ctx, "127.0.0.1:0", s, origin.WithReady(func(a net.Addr) { addrc <- a.String() }))
	}()
	addr := <-addrc
	_, body := do(t, "GET", "http://"+addr+"/"+key, nil)
	if string(body) != "abc" {
		t.Errorf("GET = %q", body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ListenAndServe after cancel: %v", err)
	}
}

func TestTUFMetadataCaching(t *testing.T) {
	s := memory.New()
	for key, cc := range map[string]string{
		"rings/Preview/x/timestamp.json":  "public, max-age=31536000, immutable", // a wrong stored value is overridden
		"rings/Preview/x/1.root.json":     cdn.ImmutableCacheControl,
		"rings/Preview/x/3.snapshot.json": cdn.ImmutableCacheControl,
	} {
		if _, err := s.Create(t.Context(), key, bytes.NewReader([]byte("{}")), cdn.Props{ContentType: "application/json", CacheControl: cc}); err != nil {
			t.Fatal(err)
		}
	}
	h, err := origin.NewHandler(s, origin.WithTimestampMaxAge(30*time.Second), origin.WithNotFoundMaxAge(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	tests := []struct {
		path   string
		status int
		cc     string
	}{
		{"/rings/Preview/x/timestamp.json", 200, "public, max-age=30"},
		{"/rings/Preview/x/1.root.json", 200, cdn.ImmutableCacheControl},
		{"/rings/Preview/x/3.snapshot.json", 200, cdn.ImmutableCacheControl},
		{"/rings/Preview/x/2.root.json", 404, "public, max-age=5"},
	}
	for _, tt := range tests {
		resp, _ := do(t, http.MethodGet, srv.URL+tt.path, nil)
		if resp.StatusCode != tt.status || resp.Header.Get("Cache-Control") != tt.cc {
			t.Errorf("GET %s: %d %q, want %d %q", tt.path, resp.StatusCode, resp.Header.Get("Cache-Control"), tt.status, tt.cc)
		}
	}
	for _, opt := range []origin.Option{origin.WithTimestampMaxAge(0), origin.WithNotFoundMaxAge(-time.Second)} {
		if _, err := origin.NewHandler(s, opt); err == nil {
			t.Error("invalid option accepted")
		}
	}
}
