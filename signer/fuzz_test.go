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

// FuzzCheckPublishable feeds arbitrary bytes to the check publish runs
// before storing a cabinet, under a policy that trusts the seed's root:
// no panic, and whatever it lets through is verified by the verifier and
// carries the signed seed's Authenticode digest (changing a byte the
// digest covers, or the structure around it, is never accepted).
func FuzzCheckPublishable(f *testing.F) {
	pki, err := devpki.New()
	if err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	signed := filepath.Join(dir, "signed.cab")
	inf := signertest.File{Name: "a.inf", Data: bytes.Repeat([]byte("abc"), 100)}
	in := signertest.StoredCabinet(f, filepath.Join(dir, "in.cab"), true, signertest.UpdateJSON(f, manifest.KindDriver, inf), inf)
	policy := signer.Policy{Roots: pki.Roots()}
	s, err := signer.New(context.Background(), pki.LeafKey, pki.Chain(), policy)
	if err != nil {
		f.Fatal(err)
	}
	res, err := s.SignFile(context.Background(), in, signed)
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range []string{in, signed} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		if err := signer.CheckPublishable(context.Background(), "fuzz.cab", r, int64(len(data)), &policy, false); err != nil {
			return
		}
		got, err := signer.VerifyReaderAt(context.Background(), "fuzz.cab", r, int64(len(data)), policy)
		if err != nil || got.Digest != res.Digest {
			t.Fatalf("publishable, but verify says %v, %v (the seed's digest is %s)", got, err, res.Digest)
		}
	})
}
