package authenticode_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/devupdate/devupdate/manifest/update"
	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/signer/authenticode"
	"github.com/devupdate/devupdate/signer/devpki"
	"github.com/devupdate/devupdate/signer/signertest"
)

// fuzzSeeds signs small cabinets (one plain, one with an RFC 3161
// timestamp, one os update carrying a vendor package signed by the OS
// vendor) under a policy that trusts their roots and their TSA, and
// returns the signed files, their Authenticode digests and the policy.
func fuzzSeeds(f *testing.F) ([][]byte, []string, authenticode.Policy) {
	ctx := context.Background()
	pki, err := devpki.New()
	if err != nil {
		f.Fatal(err)
	}
	vendor, err := devpki.New()
	if err != nil {
		f.Fatal(err)
	}
	tsa := signertest.NewTSA(f)
	policy := authenticode.Policy{Roots: pki.Roots(), TimestampRoots: tsa.Roots(), OSVendorRoots: vendor.Roots()}
	dir := f.TempDir()
	inf := signertest.File{Name: "a.inf", Data: bytes.Repeat([]byte("abc"), 100)}
	driver := []signertest.File{signertest.UpdateJSON(f, update.KindDriver, inf), inf}

	// The OS vendor's package: a cabinet the vendor signs (without EV).
	vs, err := signer.New(ctx, vendor.LeafKey, vendor.Chain(), authenticode.Policy{Roots: vendor.Roots()}, signer.WithUnsafeAllowNonEV())
	if err != nil {
		f.Fatal(err)
	}
	pkg := filepath.Join(dir, "pkg.cab")
	if _, err := vs.SignFile(ctx, signertest.StoredCabinet(f, filepath.Join(dir, "pkg-in.cab"), true, signertest.File{Name: "update.mum", Data: []byte("<assembly/>")}), pkg); err != nil {
		f.Fatal(err)
	}
	pkgData, err := os.ReadFile(pkg)
	if err != nil {
		f.Fatal(err)
	}
	vendorPkg := signertest.File{Name: "os/pkg.cab", Data: pkgData}
	osUpdate := []signertest.File{signertest.UpdateJSON(f, update.KindOS, vendorPkg), vendorPkg}

	var cabs [][]byte
	var digests []string
	for i, seed := range []struct {
		files []signertest.File
		opts  []signer.Option
	}{{driver, nil}, {driver, []signer.Option{signer.WithTimestampURL(tsa.URL, nil)}}, {osUpdate, nil}} {
		s, err := signer.New(ctx, pki.LeafKey, pki.Chain(), policy, seed.opts...)
		if err != nil {
			f.Fatal(err)
		}
		in := signertest.StoredCabinet(f, filepath.Join(dir, "in.cab"), true, seed.files...)
		out := filepath.Join(dir, "signed"+string(rune('0'+i))+".cab")
		res, err := s.SignFile(ctx, in, out)
		if err != nil {
			f.Fatal(err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			f.Fatal(err)
		}
		cabs, digests = append(cabs, b), append(digests, res.Digest)
	}
	return cabs, digests, policy
}

// FuzzVerify feeds arbitrary cabinets to the verifier under a policy that
// trusts the seeds' root: no panic, and whatever it accepts carries the
// digest of a genuinely signed seed (a changed byte the digest covers is
// never accepted).
func FuzzVerify(f *testing.F) {
	cabs, digests, policy := fuzzSeeds(f)
	for _, c := range cabs {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := authenticode.VerifyReaderAt(context.Background(), "fuzz.cab", bytes.NewReader(data), int64(len(data)), policy)
		if err != nil {
			return
		}
		if !slices.Contains(digests, res.Digest) {
			t.Fatalf("accepted a cabinet with digest %s, signed were %v", res.Digest, digests)
		}
	})
}

// FuzzVerifyBlob feeds arbitrary signature blobs (the PKCS #7 SignedData,
// its SpcIndirectDataContent and an RFC 3161 token) to VerifyBlob against
// a seed's digest: no panic, and an accepted blob must be one the trusted
// key signed for that digest, so it names the seed's signer.
func FuzzVerifyBlob(f *testing.F) {
	cabs, digests, policy := fuzzSeeds(f)
	var imprints [][]byte
	for i, c := range cabs {
		total := binary.LittleEndian.Uint32(c[8:])
		f.Add(c[total:], i == 1) // the second seed carries an RFC 3161 token
		imprint, err := hex.DecodeString(digests[i][len("sha256:"):])
		if err != nil {
			f.Fatal(err)
		}
		imprints = append(imprints, imprint)
	}
	f.Fuzz(func(t *testing.T, blob []byte, timestamped bool) {
		if len(blob) > authenticode.MaxSignatureSize {
			return
		}
		i := 0
		if timestamped {
			i = 1
		}
		res, err := authenticode.VerifyBlob("fuzz", blob, imprints[i], policy)
		if err == nil && res.Digest != digests[i] {
			t.Fatalf("accepted for another digest: %+v", res)
		}
	})
}
