package fetch

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func newClient(t *testing.T, bases []string, opts ...Option) *Client {
	t.Helper()
	c, err := New(bases, append([]Option{WithBackoff(0, 0), WithStallTimeout(300 * time.Millisecond), WithRequestTimeout(2 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// closedURL is a loopback address nothing listens on.
func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/"
}

func TestGet(t *testing.T) {
	var fails atomic.Int32
	fails.Store(2)
	mux := http.NewServeMux()
	mux.HandleFunc("/ok.json", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"ok":1}`)) })
	mux.HandleFunc("/flaky.json", func(w http.ResponseWriter, r *http.Request) {
		if fails.Add(-1) >= 0 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("fine"))
	})
	mux.HandleFunc("/big.json", func(w http.ResponseWriter, r *http.Request) { w.Write(bytes.Repeat([]byte("x"), 200)) })
	mux.HandleFunc("/endless.json", func(w http.ResponseWriter, r *http.Request) {
		for r.Context().Err() == nil {
			if _, err := w.Write(bytes.Repeat([]byte(" "), 4096)); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/forbidden.json", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusForbidden) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := context.Background()
	c := newClient(t, []string{srv.URL + "/"})

	if got, err := c.Get(ctx, "ok.json", 100); err != nil || string(got) != `{"ok":1}` {
		t.Errorf("ok: %q, %v", got, err)
	}
	if got, err := c.Get(ctx, "flaky.json", 100); err != nil || string(got) != "fine" {
		t.Errorf("flaky: %q, %v", got, err)
	}
	if _, err := c.Get(ctx, "missing.json", 100); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
	if _, err := c.Get(ctx, "big.json", 100); !errors.Is(err, ErrTooLong) {
		t.Errorf("too long: %v", err)
	}
	if _, err := c.Get(ctx, "endless.json", 10000); !errors.Is(err, ErrTooLong) {
		t.Errorf("endless: %v", err)
	}
	var se *StatusError
	if _, err := c.Get(ctx, "forbidden.json", 100); !errors.As(err, &se) || se.Code != 403 || errors.Is(err, ErrUnreachable) {
		t.Errorf("403 is an answer, not retried: %v", err)
	}
	// Only server errors: unreachable after the attempts.
	fails.Store(100)
	if _, err := c.Get(ctx, "flaky.json", 100); !errors.Is(err, ErrUnreachable) || !errors.As(err, &se) || se.Code != 503 {
		t.Errorf("always 503: %v", err)
	}
}

func TestGetMirrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(r.URL.Path)) }))
	defer srv.Close()
	c := newClient(t, []string{closedURL(t), srv.URL + "/cdn"})
	got, err := c.Get(context.Background(), "rings/Preview/timestamp.json", 100)
	if err != nil || string(got) != "/cdn/rings/Preview/timestamp.json" {
		t.Errorf("through the mirror: %q, %v", got, err)
	}
	// The mirror that answered is asked first next time.
	if c.cur.Load() != 1 {
		t.Errorf("current base %d, want the mirror", c.cur.Load())
	}
	// Hanging servers time out and are retried on the mirror.
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hang.Close()
	c = newClient(t, []string{hang.URL, srv.URL}, WithRequestTimeout(200*time.Millisecond))
	if got, err := c.Get(context.Background(), "x", 100); err != nil || string(got) != "/x" {
		t.Errorf("after a timeout: %q, %v", got, err)
	}
}

// cabServer serves one file with Range support, and misbehaves as told.
type cabServer struct {
	data     []byte
	requests atomic.Int32
	// dropAfter cuts the connection after that many body bytes of the
	// first dropTimes responses.
	dropAfter, dropTimes int32
	// stallOnce hangs the first response after half the body.
	stallOnce atomic.Bool
	// serve replaces the bytes served (a swap, a truncation, extra bytes).
	serve []byte
}

func (s *cabServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.requests.Add(1)
	data := s.data
	if s.serve != nil {
		data = s.serve
	}
	start := 0
	if rg := r.Header.Get("Range"); rg != "" {
		v, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"))
		if v >= len(data) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", len(data)))
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		start = v
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", v, len(data)-1, len(data)))
		w.Header().Set("Content-Length", strconv.Itoa(len(data)-v))
		w.WriteHeader(http.StatusPartialContent)
	} else {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	}
	body := data[start:]
	if n <= s.dropTimes && int(s.dropAfter) < len(body) {
		w.Write(body[:s.dropAfter])
		w.(http.Flusher).Flush()
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
		return
	}
	if s.stallOnce.CompareAndSwap(true, false) {
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		return
	}
	w.Write(body)
}

func randomBytes(n int) ([]byte, string) {
	b := make([]byte, n)
	rand.Read(b)
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:])
}

func TestDownload(t *testing.T) {
	ctx := context.Background()
	data, sum := randomBytes(3<<20 + 17)
	dir := t.TempDir()
	get := func(t *testing.T, s *cabServer, name string) error {
		srv := httptest.NewServer(s)
		defer srv.Close()
		return newClient(t, []string{srv.URL}).Download(ctx, "targets/"+sum+".x.cab", filepath.Join(dir, name), int64(len(data)), sum)
	}
	check := func(t *testing.T, name string) {
		t.Helper()
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: %d bytes, %v", name, len(got), err)
		}
		if _, err := os.Stat(filepath.Join(dir, name+PartSuffix)); !os.IsNotExist(err) {
			t.Errorf("%s: part file left: %v", name, err)
		}
	}
	t.Run("whole", func(t *testing.T) {
		if err := get(t, &cabServer{data: data}, "whole.cab"); err != nil {
			t.Fatal(err)
		}
		check(t, "whole.cab")
	})
	t.Run("dropped three times, resumed", func(t *testing.T) {
		s := &cabServer{data: data, dropAfter: 1 << 20, dropTimes: 3}
		if err := get(t, s, "dropped.cab"); err != nil {
			t.Fatal(err)
		}
		check(t, "dropped.cab")
		if s.requests.Load() != 4 {
			t.Errorf("%d requests, want 4 (three cut, one resumed to the end)", s.requests.Load())
		}
	})
	t.Run("stalled, resumed", func(t *testing.T) {
		s := &cabServer{data: data}
		s.stallOnce.Store(true)
		if err := get(t, s, "stalled.cab"); err != nil {
			t.Fatal(err)
		}
		check(t, "stalled.cab")
	})
	t.Run("resumed from an earlier run", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(dir, "earlier.cab"+PartSuffix), data[:1000], 0o600); err != nil {
			t.Fatal(err)
		}
		s := &cabServer{data: data}
		if err := get(t, s, "earlier.cab"); err != nil {
			t.Fatal(err)
		}
		check(t, "earlier.cab")
	})
	t.Run("damaged earlier part, started over", func(t *testing.T) {
		bad := bytes.Clone(data[:1000])
		bad[10] ^= 1
		if err := os.WriteFile(filepath.Join(dir, "damaged.cab"+PartSuffix), bad, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := get(t, &cabServer{data: data}, "damaged.cab"); err != nil {
			t.Fatal(err)
		}
		check(t, "damaged.cab")
	})
	refusals := []struct {
		name  string
		serve []byte
		want  error
	}{
		{"swapped", func() []byte { b := bytes.Clone(data); b[5] ^= 0xff; return b }(), ErrDigestMismatch},
		{"too long", append(bytes.Clone(data), 'x'), ErrTooLong},
		{"truncated", data[:len(data)/2], ErrTruncated},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			err := get(t, &cabServer{data: data, serve: tt.serve}, tt.name+".cab")
			if !errors.Is(err, tt.want) || errors.Is(err, ErrUnreachable) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
			if _, err := os.Stat(filepath.Join(dir, tt.name+".cab")); !os.IsNotExist(err) {
				t.Errorf("refused download is in place: %v", err)
			}
		})
	}
}

func TestParseContentRange(t *testing.T) {
	for s, want := range map[string][3]int64{
		"bytes 10-19/20": {10, 20, 1},
		"bytes 0-0/*":    {0, -1, 1},
		"bytes x-1/2":    {0, 0, 0},
		"items 1-2/3":    {0, 0, 0},
	} {
		start, total, ok := parseContentRange(s)
		if start != want[0] || total != want[1] || ok != (want[2] == 1) {
			t.Errorf("%q: %d %d %v", s, start, total, ok)
		}
	}
}

// TestMirrorNotAskedAfterARefusal: a server whose bytes do not verify is
// refused; the next mirror is for network trouble only.
func TestMirrorNotAskedAfterARefusal(t *testing.T) {
	data, sum := randomBytes(1 << 20)
	swapped := bytes.Clone(data)
	swapped[0] ^= 1
	bad := httptest.NewServer(&cabServer{data: data, serve: swapped})
	defer bad.Close()
	good := &cabServer{data: data}
	mirror := httptest.NewServer(good)
	defer mirror.Close()
	c := newClient(t, []string{bad.URL, mirror.URL})
	err := c.Download(context.Background(), "x.cab", filepath.Join(t.TempDir(), "x.cab"), int64(len(data)), sum)
	if !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("error %v", err)
	}
	if n := good.requests.Load(); n != 0 {
		t.Errorf("the mirror was asked %d times after the server's bytes were refused", n)
	}
}

// TestAnswerAfterAnErrorReusesTheConnection: a scan's 404 (the probe for
// the next root) and the timestamp.json after it travel on one
// connection, not two: the error's body is read to its end.
func TestAnswerAfterAnErrorReusesTheConnection(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/2.root.json":
			http.NotFound(w, r)
		case "/busy.json":
			http.Error(w, strings.Repeat("busy ", 100), http.StatusServiceUnavailable)
		default:
			w.Write([]byte(`{"signed":{}}`))
		}
	}))
	var conns atomic.Int32
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := newClient(t, []string{srv.URL + "/"}, WithAttempts(1))
	ctx := context.Background()
	for range 3 {
		if _, err := c.Get(ctx, "2.root.json", 1000); !errors.Is(err, ErrNotFound) {
			t.Fatalf("2.root.json: %v, want ErrNotFound", err)
		}
		if _, err := c.Get(ctx, "busy.json", 1000); !errors.Is(err, ErrUnreachable) {
			t.Fatalf("busy.json: %v, want ErrUnreachable", err)
		}
		if _, err := c.Get(ctx, "timestamp.json", 1000); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("9 requests took %d connections, want 1", n)
	}
}
