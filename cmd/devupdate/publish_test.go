package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/internal/testtool"
)

// sha256sum hashes with coreutils, an implementation independent of ours.
func sha256sum(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command(testtool.Need(t, "sha256sum"), path).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))[0]
}

func TestPublishJSONAndIdempotent(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.cab")
	b := filepath.Join(dir, "b.cab")
	if err := os.WriteFile(a, bytes.Repeat([]byte("A"), 100000), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte("B"), 0o644); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(dir, "store")
	publish := func() []cdn.Result {
		out, stderr, code := run(t, "publish", a, b, "--store", store, "--cdn-base", "https://cdn.example.com", "--output", "json")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if stderr != "" {
			t.Errorf("stderr not quiet off a terminal: %q", stderr)
		}
		var got []cdn.Result
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		var raw []map[string]any
		_ = json.Unmarshal([]byte(out), &raw)
		for _, r := range raw {
			for _, k := range []string{"path", "sha256", "size", "url", "uploaded"} {
				if _, ok := r[k]; !ok {
					t.Errorf("report lacks %q: %v", k, r)
				}
			}
		}
		return got
	}
	first := publish()
	if len(first) != 2 {
		t.Fatalf("%d results, want 2", len(first))
	}
	for i, p := range []string{a, b} {
		want := sha256sum(t, p)
		r := first[i]
		if r.Path != p || r.SHA256 != want || !r.Uploaded || r.URL != "https://cdn.example.com/blobs/sha256/"+want {
			t.Errorf("result %d = %+v, want sha256 %s uploaded", i, r, want)
		}
		stored := filepath.Join(store, "blobs", "sha256", want)
		if got := sha256sum(t, stored); got != want {
			t.Errorf("stored file %s hashes to %s", stored, got)
		}
	}
	for i, r := range publish() {
		if r.Uploaded || r.SHA256 != first[i].SHA256 {
			t.Errorf("re-publish result %d = %+v, want uploaded false", i, r)
		}
	}
}

func TestPublishErrors(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "x.cab")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"no files", []string{"publish", "--store", dir}, exitUsage},
		{"no store", []string{"publish", f}, exitUsage},
		{"bad scheme", []string{"publish", f, "--store", "s3://bucket"}, exitUsage},
		{"secret in URL", []string{"publish", f, "--store", "azblob://acct/cont?sig=abc"}, exitUsage},
		{"bad cdn base", []string{"publish", f, "--store", dir, "--cdn-base", "ftp://x"}, exitUsage},
		{"missing file", []string{"publish", filepath.Join(dir, "nope.cab"), "--store", dir}, exitFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, stderr, got := run(t, tt.args...); got != tt.want {
				t.Errorf("exit %d, want %d (stderr %q)", got, tt.want, stderr)
			}
		})
	}
}

// lockedBuffer is written by the serve command while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestServePublishedStore(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "x.cab")
	if err := os.WriteFile(f, []byte("cabinet"), 0o644); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(dir, "store")
	if _, stderr, code := run(t, "publish", f, "--store", store); code != exitOK {
		t.Fatalf("publish: %s", stderr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Execute(ctx, []string{"serve", "--store", store, "--addr", "127.0.0.1:0"}, &out, io.Discard)
	}()
	var url string
	for deadline := time.Now().Add(10 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		sc := bufio.NewScanner(strings.NewReader(out.String()))
		for sc.Scan() {
			if i := strings.Index(sc.Text(), "http://"); i >= 0 {
				url = sc.Text()[i:]
			}
		}
	}
	if url == "" {
		t.Fatal("serve did not report its address")
	}
	resp, err := http.Get(url + "/blobs/sha256/" + sha256sum(t, f))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "cabinet" || resp.Header.Get("Cache-Control") != cdn.ImmutableCacheControl {
		t.Errorf("GET: %d %q %q", resp.StatusCode, body, resp.Header.Get("Cache-Control"))
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("serve exit %d after interrupt", code)
	}
}
