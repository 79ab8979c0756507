package cdntest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/cdn/origin"
)

// testOriginClosesReaders serves the store through cdn/origin and checks
// that every reader the origin opened is closed once the responses are
// done, whichever way they end: whole, HEAD, 304, one range, several,
// too many parts, and a client that hangs up mid-download.
func testOriginClosesReaders(t *testing.T, s cdn.Store) {
	tr, ok := s.(*Tracked)
	if !ok {
		t.Fatal("the suite's store is not tracked")
	}
	data := randomBytes(t, 300<<10) // past the origin's whole-read size
	sum := sha256Hex(data)
	create(t, s, cdn.BlobKey(sum), data, cdn.Props{ContentType: cdn.CabinetContentType, CacheControl: cdn.ImmutableCacheControl, Metadata: map[string]string{cdn.MetaSHA256: sum}})
	h, err := origin.NewHandler(s)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	url := srv.URL + "/" + cdn.BlobKey(sum)
	many := make([]string, origin.MaxRangeParts+1)
	for i := range many {
		many[i] = fmt.Sprintf("%d-%d", i*1000, i*1000+9)
	}
	etag := ""
	for _, tt := range []struct {
		name, method, hdr, val string
		status                 int
		want                   []byte
	}{
		{"whole", "GET", "", "", 200, data},
		{"HEAD", "HEAD", "", "", 200, nil},
		{"one range", "GET", "Range", "bytes=100000-100009", 206, data[100000:100010]},
		{"tail", "GET", "Range", "bytes=-10", 206, data[len(data)-10:]},
		{"three ranges", "GET", "Range", "bytes=0-9,200000-200009,290000-290009", 206, nil},
		{"too many parts: the whole blob", "GET", "Range", "bytes=" + strings.Join(many, ","), 200, data},
		{"not modified", "GET", "If-None-Match", "", 304, nil},
	} {
		req, err := http.NewRequestWithContext(ctx(t), tt.method, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tt.hdr == "If-None-Match" {
			tt.val = etag
		}
		if tt.hdr != "" {
			req.Header.Set(tt.hdr, tt.val)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != tt.status || tt.want != nil && !bytes.Equal(body, tt.want) {
			t.Errorf("%s: %d, %d bytes, %v; want %d", tt.name, resp.StatusCode, len(body), err, tt.status)
		}
		if tt.name == "whole" {
			etag = resp.Header.Get("ETag")
			if want := `"sha256:` + sum + `"`; etag != want {
				t.Errorf("ETag %s, want the content digest %s", etag, want)
			}
		}
	}
	// A client that reads a little and hangs up.
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	srv.Close() // waits for every request's handler to return
	if n := tr.Open(); n != 0 {
		t.Errorf("the origin left %d reader(s) open", n)
	}
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
