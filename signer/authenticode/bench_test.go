package authenticode_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/devupdate/devupdate/signer/authenticode"
	"github.com/devupdate/devupdate/signer/signertest"
)

// BenchmarkVerifyOSUpdate verifies os updates of 10 and 100 vendor
// packages of 1 MiB each (incompressible, one folder) as a device does,
// and reports the time as a ratio to one SHA-256 pass over the same
// cabinet measured in the same iterations (x_sha256; goal: at most 2.5,
// and the same at 100 packages as at 10).
func BenchmarkVerifyOSUpdate(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("packages=%d", n), func(b *testing.B) {
			o, policy := signedOSUpdate(b, n, 1<<20)
			st, err := os.Stat(o.Path)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(st.Size())
			var peer time.Duration
			for b.Loop() {
				if _, err := authenticode.Verify(ctx, o.Path, policy); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				peer += signertest.HashPass(b, o.Path)
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed())/float64(peer), "x_sha256")
		})
	}
}
