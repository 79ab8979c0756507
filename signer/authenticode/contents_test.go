package authenticode_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/sassoftware/relic/v8/lib/cabfile"

	"github.com/devupdate/devupdate/packager/cabinet"
	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/signer/authenticode"
	"github.com/devupdate/devupdate/signer/devpki"
	"github.com/devupdate/devupdate/signer/signertest"
)

// signedOSUpdate makes an os update of n vendor packages of size bytes
// (signertest.NewOSUpdate: osslsigncode-signed, non-EV vendor) and signs
// the outer cabinet with a TEST-ONLY EV OEM key; it returns the update and
// the device's policy.
func signedOSUpdate(t testing.TB, n, size int) (*signertest.OSUpdate, authenticode.Policy) {
	t.Helper()
	ctx := context.Background()
	o := signertest.NewOSUpdate(t, filepath.Join(t.TempDir(), "os.cab"), n, size)
	oem, err := devpki.New()
	if err != nil {
		t.Fatal(err)
	}
	policy := authenticode.Policy{Roots: oem.Roots(), OSVendorRoots: o.Vendor.Roots(), RequireEV: true}
	s, err := signer.New(ctx, oem.LeafKey, oem.Chain(), policy)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignFile(ctx, o.Path, o.Path); err != nil {
		t.Fatal(err)
	}
	return o, policy
}

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	r io.ReaderAt
	n atomic.Int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

// TestDeviceVerifiesOSUpdateInOnePass: what a device runs before it
// installs an os update (VerifyReaderAt, the one verifier) decompresses
// the cabinet's folder once, whatever the number of vendor packages, and
// reads the cabinet no more than twice (its own digest, and the one
// decompression). Each package's Authenticode digest, computed as it
// streams, is the one relic's cabfile computes over the package whole,
// and its SHA-256 is the package's.
func TestDeviceVerifiesOSUpdateInOnePass(t *testing.T) {
	const n = 16
	o, policy := signedOSUpdate(t, n, 50_000)
	f, err := os.Open(o.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	c, err := cabinet.Open(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	var folders int64
	for _, fo := range c.Folders() {
		folders += fo.Size
	}

	var inflated atomic.Int64
	ctx := cabinet.WithTrace(context.Background(), &cabinet.Trace{Decompressed: func(_, n int) { inflated.Add(int64(n)) }})
	r := &countingReaderAt{r: f}
	res, err := authenticode.VerifyReaderAt(ctx, o.Path, r, st.Size(), policy)
	if err != nil {
		t.Fatal(err)
	}
	if got := inflated.Load(); got != folders {
		t.Errorf("%d bytes decompressed, the folders hold %d (%.2f passes)", got, folders, float64(got)/float64(folders))
	}
	// One pass for the digest, one for the decompression, and the
	// structures (headers, CFFILEs, CFDATA headers) read when opening.
	t.Logf("read %d bytes of a %d-byte cabinet", r.n.Load(), st.Size())
	if limit := 2*st.Size() + 64<<10; r.n.Load() > limit {
		t.Errorf("read %d bytes of a %d-byte cabinet, more than %d", r.n.Load(), st.Size(), limit)
	}
	if res.Kind != authenticode.KindOS || len(res.Packages) != n {
		t.Fatalf("kind %q with %d packages, want os with %d", res.Kind, len(res.Packages), n)
	}
	for i, p := range res.Packages {
		want := o.Packages[i]
		sum := sha256.Sum256(want.Data)
		d, err := cabfile.Digest(bytes.NewReader(want.Data), crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if p.Path != want.Name || p.Size != int64(len(want.Data)) || p.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("package %d: %s, %d bytes, %s; want %s", i, p.Path, p.Size, p.SHA256, want.Name)
		}
		if p.Signature.Digest != "sha256:"+hex.EncodeToString(d.Imprint) || p.Signature.EV || p.Signature.File != o.Path+"!"+want.Name {
			t.Errorf("package %d: signature %+v, relic's digest %x", i, p.Signature, d.Imprint)
		}
	}
}

// TestVendorPackageBeyondTheBuffers: a vendor package far larger than
// everything the verifier buffers (the header area, the signature, the
// hashes' buffers in flight) verifies, and is never held whole: verifying
// allocates less than half of it in all.
func TestVendorPackageBeyondTheBuffers(t *testing.T) {
	const size = 24 << 20
	o, policy := signedOSUpdate(t, 1, size)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res, err := authenticode.Verify(context.Background(), o.Path, policy)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Packages) != 1 || res.Packages[0].Size != int64(len(o.Packages[0].Data)) {
		t.Fatalf("packages %+v", res.Packages)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("verifying a %d-byte package allocated %d bytes", len(o.Packages[0].Data), alloc)
	if alloc > size/2 {
		t.Errorf("verifying a %d-byte package allocated %d bytes", len(o.Packages[0].Data), alloc)
	}
}
