package redact_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"

	"github.com/devupdate/devupdate/internal/redact"
)

func TestURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://acct.blob.core.windows.net/cont/blob?sv=2022-11-02&sig=S3CRET%3D", "https://acct.blob.core.windows.net/cont/blob?sv=REDACTED&sig=REDACTED"},
		{"http://user:S3CRET@tsa.example.com/ts?apikey=S3CRET#frag", "http://REDACTED@tsa.example.com/ts?apikey=REDACTED"},
		{"https://S3CRET@tsa.example.com/", "https://REDACTED@tsa.example.com/"},
		{"azblob://acct/cont?endpoint=http%3A%2F%2F127.0.0.1%3A10000%2Facct%3Fsig%3DS3CRET&create-container=true",
			"azblob://acct/cont?endpoint=http%3A%2F%2F127.0.0.1%3A10000%2Facct%3Fsig%3DREDACTED&create-container=true"},
		{"./store", "./store"},
		{"mem://", "mem://"},
		{"file:///srv/store", "file:///srv/store"},
		{"http://127.0.0.1:8000/blobs/sha256/abc", "http://127.0.0.1:8000/blobs/sha256/abc"},
		{"http://u:S3CRET@host/%zz?sig=S3CRET", "http://REDACTED@host/%zz?REDACTED"}, // does not parse
	}
	for _, tt := range tests {
		if got := redact.URL(tt.in); got != tt.want {
			t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestErrorKeepsTreeHidesURL(t *testing.T) {
	ue := &url.Error{Op: "Get", URL: "http://127.0.0.1:1/acct/cont?sig=S3CRET", Err: syscall.ECONNREFUSED}
	wrapped := fmt.Errorf("open container: %w", ue) // a message made before redaction
	err := redact.Error(wrapped)
	if strings.Contains(err.Error(), "S3CRET") || strings.Contains(ue.Error(), "S3CRET") {
		t.Errorf("secret in %q / %q", err, ue)
	}
	var got *url.Error
	if !errors.As(err, &got) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("redacted error lost its tree: %v", err)
	}
	if redact.Error(nil) != nil {
		t.Error("Error(nil) is not nil")
	}
	plain := context.Canceled
	if redact.Error(plain) != plain {
		t.Error("an error without a URL was wrapped")
	}
}

// TestErrorFromHTTPClient: what net/http reports for a request whose URL
// carries a SAS token.
func TestErrorFromHTTPClient(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now: the connection is refused
	_, err = http.Get("http://" + addr + "/acct/cont?sig=S3CRET")
	if err == nil {
		t.Fatal("GET of a closed port succeeded")
	}
	if got := redact.Error(err).Error(); strings.Contains(got, "S3CRET") || !strings.Contains(got, addr+"/acct/cont") {
		t.Errorf("redacted: %q", got)
	}
}
