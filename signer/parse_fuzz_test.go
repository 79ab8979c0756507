package signer

import (
	"bytes"
	"context"
	"crypto"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/sassoftware/relic/v8/lib/pkcs9"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/devupdate/devupdate/signer/devpki"
)

// FuzzKeyAndCertificates feeds arbitrary PEM to the key parser (PKCS#8,
// PKCS#1, SEC 1) and to the certificate bundle parser: no panic; a key
// that parses has a public half; certificates that parse are written back to the
// same bundle.
func FuzzKeyAndCertificates(f *testing.F) {
	pki, err := devpki.New()
	if err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	if err := pki.Write(context.Background(), dir); err != nil {
		f.Fatal(err)
	}
	for _, name := range []string{"leaf.key", "chain.pem", "root.pem"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if k, err := parsePEMKey(data); err == nil && k.Public() == nil {
			t.Fatal("a parsed key has no public half")
		}
		certs, err := parseCertificates("fuzz.pem", data)
		if err != nil {
			return
		}
		var again []byte
		for _, c := range certs {
			again = append(again, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
		}
		back, err := parseCertificates("again.pem", again)
		if err != nil || len(back) != len(certs) {
			t.Fatalf("%d certificates written back parse as %d, %v", len(certs), len(back), err)
		}
	})
}

// FuzzPKCS12 feeds arbitrary bytes to the PKCS#12 key loader: no panic;
// a refusal is ErrKey or ErrWrongPIN; a key that loads comes with its
// certificate chain.
func FuzzPKCS12(f *testing.F) {
	pki, err := devpki.New()
	if err != nil {
		f.Fatal(err)
	}
	pfx, err := pkcs12.Modern.Encode(pki.LeafKey, pki.Leaf, nil, "pw")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pfx, "pw")
	f.Add(pfx, "wrong")
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x03}, "")
	f.Fuzz(func(t *testing.T, data []byte, pass string) {
		o := &keyOptions{getenv: func(k string) (string, bool) { return pass, k == EnvPFXPassword }}
		k, err := openPFX(context.Background(), "fuzz.pfx", data, o)
		switch {
		case err != nil && !errors.Is(err, ErrKey) && !errors.Is(err, ErrWrongPIN):
			t.Fatalf("error %v is neither ErrKey nor ErrWrongPIN", err)
		case err == nil && (len(k.Chain) == 0 || k.Chain[0] == nil):
			t.Fatal("a PKCS#12 key loaded without its certificate")
		}
	})
}

// roundTrip answers every request with body, as a timestamp authority.
type roundTrip []byte

func (b roundTrip) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Body: io.NopCloser(bytes.NewReader(b)), Request: r, Header: http.Header{}}, nil
}

// FuzzTimestampResponse hands the RFC 3161 client arbitrary answers from
// its authority: no panic; a refusal is ErrTimestamp; a token it returns
// is one relic can add to a signature.
func FuzzTimestampResponse(f *testing.F) {
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x00})             // status granted, no token
	f.Add([]byte{0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02}) // rejection
	f.Add([]byte("not DER"))
	f.Fuzz(func(t *testing.T, body []byte) {
		c := rfc3161Client{url: "http://tsa.invalid/", client: &http.Client{Transport: roundTrip(body)}}
		token, err := c.Timestamp(context.Background(), &pkcs9.Request{EncryptedDigest: []byte("signature"), Hash: crypto.SHA256})
		switch {
		case err != nil && !errors.Is(err, ErrTimestamp):
			t.Fatalf("error %v is not ErrTimestamp", err)
		case err == nil && token == nil:
			t.Fatal("no error and no token")
		}
	})
}
