package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/internal/testtool"
)

// publishItem is one cabinet in publish's JSON report.
type publishItem struct {
	File     string     `json:"file"`
	OK       bool       `json:"ok"`
	Error    *cli.Error `json:"error"`
	SHA256   string     `json:"sha256"`
	Size     int64      `json:"size"`
	URL      string     `json:"url"`
	Uploaded bool       `json:"uploaded"`
}

// sha256sum hashes with coreutils, an implementation independent of ours.
func sha256sum(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command(testtool.Need(t, "sha256sum"), path).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))[0]
}

// newCab makes an unsigned cabinet holding one file with content, by
// `cab create`.
func newCab(t *testing.T, dir, name string, content []byte) string {
	t.Helper()
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "payload.bin"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	cab := filepath.Join(dir, name)
	if _, stderr, code := run(t, "cab", "create", cab, src); code != exitOK {
		t.Fatalf("cab create: %s", stderr)
	}
	return cab
}

// devPKI writes a dev PKI to dir and returns the sign flags for it.
func devPKI(t *testing.T, dir string) []string {
	t.Helper()
	if _, stderr, code := run(t, "keys", "dev-pki", dir); code != exitOK {
		t.Fatalf("dev-pki: %s", stderr)
	}
	return []string{"--key", filepath.Join(dir, "leaf.key"), "--cert", filepath.Join(dir, "chain.pem"), "--roots", filepath.Join(dir, "root.pem")}
}

func TestPublishJSONAndIdempotent(t *testing.T) {
	dir := t.TempDir()
	a := newCab(t, dir, "a.cab", bytes.Repeat([]byte("A"), 100000))
	b := newCab(t, dir, "b.cab", []byte("B"))
	store := filepath.Join(dir, "store")
	publish := func() []publishItem {
		out, stderr, code := run(t, "publish", a, b, "--store", store, "--cdn-base", "https://cdn.example.com", "--output", "json", "--insecure-allow-unsigned")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if stderr != "" {
			t.Errorf("stderr not quiet off a terminal: %q", stderr)
		}
		return decode[batchReport[publishItem]](t, out).Results
	}
	first := publish()
	if len(first) != 2 {
		t.Fatalf("%d results, want 2", len(first))
	}
	for i, p := range []string{a, b} {
		want := sha256sum(t, p)
		r := first[i]
		if r.File != p || !r.OK || r.SHA256 != want || !r.Uploaded || r.URL != "https://cdn.example.com/blobs/sha256/"+want {
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

// TestPublishRefusesWhatDevicesRefuse: by default only structurally valid,
// signed cabinets are published; --insecure-allow-unsigned admits unsigned
// cabinets (still only cabinets); --roots applies the full policy. Nothing
// refused reaches the store.
func TestPublishRefusesWhatDevicesRefuse(t *testing.T) {
	dir := t.TempDir()
	flags := devPKI(t, filepath.Join(dir, "pki"))
	other := devPKI(t, filepath.Join(dir, "other"))
	unsigned := newCab(t, dir, "unsigned.cab", []byte("payload"))
	signed := newCab(t, dir, "signed.cab", []byte("signed payload"))
	if _, stderr, code := run(t, append([]string{"sign", signed}, flags...)...); code != exitOK {
		t.Fatalf("sign: %s", stderr)
	}
	raw, err := os.ReadFile(unsigned)
	if err != nil {
		t.Fatal(err)
	}
	sraw, err := os.ReadFile(signed)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tampered := append([]byte(nil), sraw...)
	tampered[len(raw)/2] ^= 0x01 // a payload byte: the signed digest no longer matches
	tests := []struct {
		name  string
		file  string
		extra []string
		code  string // "" when published
	}{
		{"text file", write("notes.cab", []byte("release notes\n")), nil, "malformed_cabinet"},
		{"empty file", write("empty.cab", nil), nil, "malformed_cabinet"},
		{"random bytes", write("random.cab", bytes.Repeat([]byte{0x9e, 0x37, 0x79, 0xb9}, 300)), nil, "malformed_cabinet"},
		{"truncated cabinet", write("truncated.cab", raw[:len(raw)-7]), nil, "malformed_cabinet"},
		{"unsigned cabinet", unsigned, nil, "not_signed"},
		{"tampered signed cabinet", write("tampered.cab", tampered), nil, "digest_mismatch"},
		{"text file, unsigned allowed", write("notes2.cab", []byte("release notes\n")), []string{"--insecure-allow-unsigned"}, "malformed_cabinet"},
		{"unsigned cabinet, unsigned allowed", unsigned, []string{"--insecure-allow-unsigned"}, ""},
		{"signed cabinet", signed, nil, ""},
		{"signed cabinet, its roots", signed, []string{"--roots", flags[5]}, ""},
		{"signed cabinet, other roots", signed, []string{"--roots", other[5]}, "certificate_untrusted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := filepath.Join(t.TempDir(), "store")
			out, _, code := run(t, append([]string{"publish", tt.file, "--store", store, "-O", "json"}, tt.extra...)...)
			rep := decode[batchReport[publishItem]](t, out)
			if len(rep.Results) != 1 {
				t.Fatalf("report %s", out)
			}
			r := rep.Results[0]
			stored, _ := filepath.Glob(filepath.Join(store, "blobs", "sha256", "[0-9a-f]*")) // not the hidden sidecars
			if tt.code == "" {
				if code != exitOK || !r.OK || len(stored) != 1 {
					t.Errorf("exit %d, %d blobs stored, report %s; want it published", code, len(stored), out)
				}
				return
			}
			if code != exitFailed || r.OK || r.Error == nil || r.Error.Code != tt.code {
				t.Errorf("exit %d, report %s; want exit 1 with code %s", code, out, tt.code)
			}
			if len(stored) != 0 {
				t.Errorf("refused file stored: %v", stored)
			}
		})
	}
}

func TestPublishErrors(t *testing.T) {
	dir := t.TempDir()
	f := newCab(t, dir, "x.cab", []byte("x"))
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
		{"memory store keeps nothing", []string{"publish", f, "--store", "mem://", "--insecure-allow-unsigned"}, exitUsage},
		{"vendor roots without roots", []string{"publish", f, "--store", dir, "--os-vendor-roots", f}, exitUsage},
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

func TestServeRefusesMissingStore(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "typo")
	for _, store := range []string{missing, "file://" + missing, "mem://"} {
		_, stderr, code := run(t, "serve", "--store", store, "--addr", "127.0.0.1:0")
		if code == exitOK {
			t.Errorf("serve --store %s: exit 0 (%s)", store, stderr)
		}
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("serve created the store directory: %v", err)
	}
}

func TestServePublishedStore(t *testing.T) {
	dir := t.TempDir()
	f := newCab(t, dir, "x.cab", []byte("cabinet"))
	store := filepath.Join(dir, "store")
	if _, stderr, code := run(t, "publish", f, "--store", store, "--insecure-allow-unsigned"); code != exitOK {
		t.Fatalf("publish: %s", stderr)
	}
	want, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
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
	if resp.StatusCode != 200 || !bytes.Equal(body, want) || resp.Header.Get("Cache-Control") != cdn.ImmutableCacheControl {
		t.Errorf("GET: %d %q %q", resp.StatusCode, body, resp.Header.Get("Cache-Control"))
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("serve exit %d after interrupt", code)
	}
}
