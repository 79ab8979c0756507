package signer_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/signer/pkcs11"
)

// TestErrorChains: what a key file, the PKCS#12 password file, a PKCS#11
// URI or a cancelled timestamp request failed with is still in the error
// that reaches the caller, through relic and across packages, for
// errors.Is and errors.As.
func TestErrorChains(t *testing.T) {
	ctx := context.Background()
	missing := filepath.Join(t.TempDir(), "missing.key")
	_, err := signer.OpenKey(ctx, "file:"+missing)
	if !errors.Is(err, signer.ErrKey) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing key file: %v, want ErrKey and fs.ErrNotExist", err)
	}
	pfx := filepath.Join(t.TempDir(), "k.pfx")
	if err := os.WriteFile(pfx, []byte("not pkcs12"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = signer.OpenKey(ctx, pfx, signer.WithPFXPasswordFile(missing))
	if !errors.Is(err, signer.ErrKey) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing password file: %v, want ErrKey and fs.ErrNotExist", err)
	}
	_, err = pkcs11.ParseURI("pkcs11:token=a%zz")
	var esc url.EscapeError
	if !errors.Is(err, signer.ErrKey) || !errors.As(err, &esc) {
		t.Errorf("bad escape in a PKCS#11 URI: %v, want ErrKey and url.EscapeError", err)
	}

	// A timestamp request cut short by the caller is a cancellation, not
	// a failing authority.
	arrived := make(chan struct{})
	tsa := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // then the server notices the client leave
		close(arrived)
		<-r.Context().Done()
	}))
	defer tsa.Close()
	f := newFixture(t)
	cctx, cancel := context.WithCancel(ctx)
	go func() { <-arrived; cancel() }()
	_, err = f.signer(t, signer.WithTimestampURL(tsa.URL, nil)).SignFile(cctx, gcabCab(t), filepath.Join(t.TempDir(), "o.cab"))
	if !errors.Is(err, context.Canceled) || errors.Is(err, signer.ErrTimestamp) || errors.Is(err, signer.ErrKey) {
		t.Errorf("cancelled while timestamping: %v, want context.Canceled only", err)
	}
}
