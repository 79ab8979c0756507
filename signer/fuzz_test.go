package signer_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/devupdate/devupdate/manifest"
	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/signer/devpki"
	"github.com/devupdate/devupdate/signer/signertest"
)

// FuzzVerify feeds arbitrary bytes to the verifier: it must return an error
// or a result, never panic, and never accept a cabinet the policy's root did
// not sign.
func FuzzVerify(f *testing.F) {
	pki, err := devpki.New()
	if err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	signed := filepath.Join(dir, "signed.cab")
	inf := signertest.File{Name: "a.inf", Data: bytes.Repeat([]byte("abc"), 100)}
	in := signertest.StoredCabinet(f, filepath.Join(dir, "in.cab"), true, signertest.UpdateJSON(f, manifest.KindDriver, inf), inf)
	s, err := signer.New(context.Background(), pki.LeafKey, pki.Chain(), signer.Policy{Roots: pki.Roots()})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := s.SignFile(context.Background(), in, signed); err != nil {
		f.Fatal(err)
	}
	for _, p := range []string{in, signed} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	other, _ := devpki.New()
	policy := signer.Policy{Roots: other.Roots()}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := signer.VerifyReaderAt(context.Background(), "fuzz.cab", bytes.NewReader(data), int64(len(data)), policy)
		if err == nil {
			t.Fatalf("accepted a cabinet signed by nobody trusted: %+v", res)
		}
	})
}
