package signer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/devupdate/devupdate/packager"
	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/signer/signertest"
)

// BenchmarkSignOSUpdate signs os updates of 10 and 100 vendor packages of
// 1 MiB each (incompressible, one folder) in place, as the OEM's pipeline
// does after build, the vendor packages verified first; it reports the
// time as a ratio to one SHA-256 pass over the same cabinet measured in
// the same iterations (x_sha256; goal: at most 2.5, the same at 100
// packages as at 10).
func BenchmarkSignOSUpdate(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("packages=%d", n), func(b *testing.B) {
			oem := newFixture(b)
			// With the signature reserve, signing in place fills it and
			// appends: what is measured is the reading. (The default
			// cabinet is copied once more to insert the reserve; see
			// hack/bench.d/30-sign.sh.)
			o := signertest.NewOSUpdate(b, filepath.Join(b.TempDir(), "os.cab"), n, 1<<20, packager.WithSignatureReserve(true))
			policy := signer.Policy{Roots: oem.pki.Roots(), OSVendorRoots: o.Vendor.Roots()}
			s, err := signer.New(ctx, oem.pki.LeafKey, oem.pki.Chain(), policy)
			if err != nil {
				b.Fatal(err)
			}
			unsigned, err := os.ReadFile(o.Path)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(unsigned)))
			p := filepath.Join(b.TempDir(), "signed.cab")
			var peer time.Duration
			for b.Loop() {
				b.StopTimer()
				if err := os.WriteFile(p, unsigned, 0o644); err != nil {
					b.Fatal(err)
				}
				syncFile(b, p) // as build leaves it
				peer += signertest.HashPass(b, p)
				b.StartTimer()
				if _, err := s.SignFile(ctx, p, p); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed())/float64(peer), "x_sha256")
		})
	}
}

func syncFile(tb testing.TB, path string) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		tb.Fatal(err)
	}
}
