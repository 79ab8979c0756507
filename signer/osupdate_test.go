package signer_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devupdate/devupdate/internal/testtool"
	"github.com/devupdate/devupdate/manifest"
	"github.com/devupdate/devupdate/manifest/build"
	"github.com/devupdate/devupdate/packager"
	"github.com/devupdate/devupdate/packager/cabinet"
	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/signer/devpki"
	"github.com/devupdate/devupdate/signer/signertest"
)

const vendorPackage = "Microsoft-OneCore-Test-Package.cab"

// osUpdate is an os-kind update as the OEM gets it: the OS vendor's signed
// package (made by gcab, signed by osslsigncode with a TEST-ONLY, non-EV
// vendor chain) in the payload of an update.yaml, built with
// manifest/build into the outer cabinet the OEM signs.
type osUpdate struct {
	oem, vendor *fixture
	vendorCab   []byte // the vendor's signed package, as shipped
	update      *manifest.Update
	outer       string // the built, unsigned outer cabinet
}

// vendorSetup varies the vendor's side of an osUpdate.
type vendorSetup struct {
	tamper   bool            // flip one byte of the package after the vendor signed it
	pki      []devpki.Option // applied after the defaults (non-EV, vendor common name)
	signArgs []string        // extra osslsigncode sign arguments
}

// newOSUpdate builds the update; tamper flips one byte of the vendor's
// package after the vendor signed it.
func newOSUpdate(t *testing.T, tamper bool) *osUpdate {
	t.Helper()
	return newOSUpdateWith(t, vendorSetup{tamper: tamper})
}

func newOSUpdateWith(t *testing.T, v vendorSetup) *osUpdate {
	t.Helper()
	ctx := context.Background()
	o := &osUpdate{
		oem: newFixture(t),
		vendor: newFixture(t, append([]devpki.Option{devpki.WithLeafCommonName("TEST-ONLY OS Vendor Code Signing"), devpki.WithLeafEdit(func(c *x509.Certificate) {
			c.Policies, c.PolicyIdentifiers = nil, nil // an OS vendor's certificate need not be EV
		})}, v.pki...)...),
	}
	work := t.TempDir()
	unsigned := signertest.GcabCabinet(t, filepath.Join(work, "vendor-unsigned.cab"),
		signertest.File{Name: "update.mum", Data: []byte("<assembly/>\r\n")},
		signertest.File{Name: "onecore.bin", Data: payload(120_000)})
	signed := filepath.Join(work, "vendor.cab")
	osslSign(t, o.vendor, unsigned, signed, v.signArgs...)
	o.vendorCab = read(t, signed)
	if v.tamper {
		o.vendorCab[len(o.vendorCab)/2] ^= 0x01
	}

	dir := filepath.Join(work, "update")
	if err := os.MkdirAll(filepath.Join(dir, "payload"), 0o755); err != nil {
		t.Fatal(err)
	}
	product := read(t, filepath.Join(testtool.RepoRoot(t), "examples", "contoso-toaster", "product.yaml"))
	yaml := "name: Contoso.Toaster.OS\nkind: os\nversion: 10.0.17763.615\nos_build: 10.0.17763.615\nproducts: [product.yaml]\nfiles:\n  - source: payload/**\n    dest: os/\n"
	for name, data := range map[string][]byte{
		"product.yaml":             product,
		"update.yaml":              []byte(yaml),
		"payload/" + vendorPackage: o.vendorCab,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	u, err := manifest.Load(ctx, filepath.Join(dir, "update.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	o.update = u
	res, err := build.Cabinet(ctx, u, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	o.outer = res.Path
	return o
}

func (o *osUpdate) policy() signer.Policy {
	return signer.Policy{Roots: o.oem.pki.Roots(), OSVendorRoots: o.vendor.pki.Roots(), RequireEV: true}
}

// extract returns the bytes of the file at name inside the cabinet at cab.
func extract(t *testing.T, cab, name string) []byte {
	t.Helper()
	c, err := packager.OpenFile(cab)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := c.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSignVerifyOSUpdate: the OEM signs the outer cabinet of an os update
// with its EV key after verifying the vendor's package inside against the
// vendor's roots; the vendor's package comes out byte for byte as the
// vendor shipped it, still verifying with osslsigncode, and osslsigncode
// accepts the OEM's signature on the outer cabinet.
func TestSignVerifyOSUpdate(t *testing.T) {
	ctx := context.Background()
	o := newOSUpdate(t, false)
	s, err := signer.New(ctx, o.oem.pki.LeafKey, o.oem.pki.Chain(), o.policy())
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.SignFile(ctx, o.outer, o.outer)
	if err != nil {
		t.Fatal(err)
	}
	inner := "os/" + vendorPackage
	check := func(what string, res *signer.Result) {
		t.Helper()
		if res.Kind != signer.KindOS || !res.EV || res.SubjectCN != o.oem.pki.Leaf.Subject.CommonName {
			t.Errorf("%s: outer %+v, want os kind signed by the OEM with EV", what, res)
		}
		if len(res.Packages) != 1 {
			t.Fatalf("%s: packages %+v, want one", what, res.Packages)
		}
		p := res.Packages[0]
		if p.Path != inner || p.Size != int64(len(o.vendorCab)) || p.Signature.SubjectCN != o.vendor.pki.Leaf.Subject.CommonName ||
			p.Signature.EV || !p.Signature.NotAfter.Equal(o.vendor.pki.Leaf.NotAfter) {
			t.Errorf("%s: package %+v, signature %+v", what, p, p.Signature)
		}
	}
	check("sign", res)
	got, err := signer.Verify(ctx, o.outer, o.policy())
	if err != nil {
		t.Fatal(err)
	}
	check("verify", got)
	if got.Digest != res.Digest {
		t.Errorf("verify digest %s, sign digest %s", got.Digest, res.Digest)
	}

	if err := osslVerify(t, o.outer, o.oem.rootFile); err != nil {
		t.Errorf("osslsigncode refuses the OEM's outer signature: %v", err)
	}
	// The vendor's package is untouched: same bytes, still the vendor's signature.
	b := extract(t, o.outer, inner)
	if !bytes.Equal(b, o.vendorCab) {
		t.Fatal("the vendor's package changed inside the signed outer cabinet")
	}
	p := filepath.Join(t.TempDir(), "extracted.cab")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := osslVerify(t, p, o.vendor.rootFile); err != nil {
		t.Errorf("osslsigncode refuses the extracted vendor package: %v", err)
	}
}

// TestSignOSUpdateRefused: without the vendor's roots, with someone else's
// roots, or with a vendor package changed after the vendor signed it, the
// os update is not signed and the outer cabinet is left as it was.
func TestSignOSUpdateRefused(t *testing.T) {
	ctx := context.Background()
	good, tampered := newOSUpdate(t, false), newOSUpdate(t, true)
	tests := []struct {
		name        string
		o           *osUpdate
		vendorRoots *x509.CertPool
		want        error
		pkgErr      bool // a *PackageError naming the vendor package
	}{
		{"no vendor roots", good, nil, signer.ErrNoOSVendorRoots, false},
		{"wrong vendor roots", good, good.oem.pki.Roots(), signer.ErrUntrustedChain, true},
		{"tampered vendor package", tampered, tampered.vendor.pki.Roots(), signer.ErrDigestMismatch, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			policy := signer.Policy{Roots: tt.o.oem.pki.Roots(), OSVendorRoots: tt.vendorRoots}
			s, err := signer.New(ctx, tt.o.oem.pki.LeafKey, tt.o.oem.pki.Chain(), policy)
			if err != nil {
				t.Fatal(err)
			}
			before := read(t, tt.o.outer)
			_, err = s.SignFile(ctx, tt.o.outer, tt.o.outer)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var pe *signer.PackageError
			if got := errors.As(err, &pe); got != tt.pkgErr || (got && (pe.Path != "os/"+vendorPackage || !errors.Is(err, signer.ErrVendorPackage))) {
				t.Errorf("err = %v: *PackageError %v, want %v naming os/%s", err, got, tt.pkgErr, vendorPackage)
			}
			if !bytes.Equal(before, read(t, tt.o.outer)) {
				t.Error("refused outer cabinet was modified")
			}
		})
	}
}

// TestVerifyOSUpdatePolicies: verifying a signed os update checks the
// outer signature against the OEM's roots and the vendor package against
// the vendor's roots, both required. The tampered case is an outer cabinet
// whose OEM signature is valid (made with osslsigncode, which looks no
// further) over a vendor package that is not the vendor's any more.
func TestVerifyOSUpdatePolicies(t *testing.T) {
	ctx := context.Background()
	o := newOSUpdate(t, false)
	s, err := signer.New(ctx, o.oem.pki.LeafKey, o.oem.pki.Chain(), o.policy())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignFile(ctx, o.outer, o.outer); err != nil {
		t.Fatal(err)
	}

	bad := newOSUpdate(t, true)
	files, err := build.Files(bad.update)
	if err != nil {
		t.Fatal(err)
	}
	unsigned := filepath.Join(t.TempDir(), "tampered.cab")
	// osslsigncode 2.9 refuses a cabinet with an empty signature reserve.
	if _, err := packager.WriteFile(ctx, unsigned, files, packager.WithSignatureReserve(false)); err != nil {
		t.Fatal(err)
	}
	tamperedOuter := filepath.Join(t.TempDir(), "tampered-signed.cab")
	osslSign(t, bad.oem, unsigned, tamperedOuter)
	if err := osslVerify(t, tamperedOuter, bad.oem.rootFile); err != nil {
		t.Fatalf("osslsigncode refuses the outer signature: %v", err)
	}

	tests := []struct {
		name   string
		cab    string
		policy signer.Policy
		want   error
		pkgErr bool
	}{
		{"both roots", o.outer, o.policy(), nil, false},
		{"no vendor roots", o.outer, signer.Policy{Roots: o.oem.pki.Roots()}, signer.ErrNoOSVendorRoots, false},
		{"wrong vendor roots", o.outer, signer.Policy{Roots: o.oem.pki.Roots(), OSVendorRoots: o.oem.pki.Roots()}, signer.ErrUntrustedChain, true},
		{"vendor roots as OEM roots", o.outer, signer.Policy{Roots: o.vendor.pki.Roots(), OSVendorRoots: o.vendor.pki.Roots()}, signer.ErrUntrustedChain, false},
		{"vendor subject required of the OEM", o.outer, signer.Policy{Roots: o.oem.pki.Roots(), OSVendorRoots: o.vendor.pki.Roots(), RequireSubject: o.vendor.pki.Leaf.Subject.CommonName}, signer.ErrSubjectMismatch, false},
		{"tampered vendor package", tamperedOuter, signer.Policy{Roots: bad.oem.pki.Roots(), OSVendorRoots: bad.vendor.pki.Roots()}, signer.ErrDigestMismatch, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := signer.Verify(ctx, tt.cab, tt.policy)
			if tt.want == nil {
				if err != nil || len(res.Packages) != 1 {
					t.Fatalf("verify: %+v, %v", res, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var pe *signer.PackageError
			if errors.As(err, &pe) != tt.pkgErr {
				t.Errorf("err = %v: *PackageError %v, want %v", err, !tt.pkgErr, tt.pkgErr)
			}
		})
	}
}

// TestSignRefusesSignedCabinet: a cabinet that already carries a
// signature, the vendor's or ours, is never signed again and is left as
// it was.
func TestSignRefusesSignedCabinet(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	vendor := newFixture(t, devpki.WithLeafCommonName("TEST-ONLY OS Vendor Code Signing"))
	dir := t.TempDir()
	vendorSigned := filepath.Join(dir, "vendor.cab")
	osslSign(t, vendor, gcabCab(t), vendorSigned)
	ours := filepath.Join(dir, "ours.cab")
	if _, err := f.signer(t).SignFile(ctx, packagerCab(t, filepath.Join(dir, "p.cab"), signertest.File{Name: "a.bin", Data: payload(1000)}), ours); err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string]string{"vendor's (osslsigncode)": vendorSigned, "ours (reserve filled)": ours} {
		t.Run(name, func(t *testing.T) {
			before := read(t, in)
			for _, out := range []string{in, filepath.Join(t.TempDir(), "out.cab")} {
				res, err := f.signer(t).SignFile(ctx, in, out)
				if in == ours && out == in {
					// Our own signature under our policy: signing again is a no-op.
					if err != nil || res == nil {
						t.Errorf("sign ours in place again: %+v, %v; want done, the file left as it is", res, err)
					}
					continue
				}
				if !errors.Is(err, signer.ErrAlreadySigned) {
					t.Errorf("sign to %s: err = %v, want ErrAlreadySigned", out, err)
				}
			}
			if !bytes.Equal(before, read(t, in)) {
				t.Error("signed cabinet was modified")
			}
		})
	}
}

// TestSignAgainIsDone: signing a cabinet again with the same certificate
// and policy succeeds without touching it, in place and to an existing -o
// output made from it; another certificate's signature, or an existing
// output holding another cabinet, is refused.
func TestSignAgainIsDone(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	other := newFixture(t)
	dir := t.TempDir()
	in := packagerCab(t, filepath.Join(dir, "in.cab"), signertest.File{Name: "a.bin", Data: payload(5000)})
	out := filepath.Join(dir, "out.cab")
	first, err := f.signer(t).SignFile(ctx, in, out)
	if err != nil {
		t.Fatalf("first sign: %+v, %v", first, err)
	}
	signedBytes := read(t, out)
	again, err := f.signer(t).SignFile(ctx, in, out)
	if err != nil || again.Digest != first.Digest {
		t.Errorf("sign -o again: %+v, %v; want done with the same digest", again, err)
	}
	if _, err := other.signer(t).SignFile(ctx, in, out); !errors.Is(err, os.ErrExist) {
		t.Errorf("sign -o over another certificate's output: %v, want os.ErrExist", err)
	}
	in2 := packagerCab(t, filepath.Join(dir, "in2.cab"), signertest.File{Name: "b.bin", Data: payload(6000)})
	if _, err := f.signer(t).SignFile(ctx, in2, out); !errors.Is(err, os.ErrExist) {
		t.Errorf("sign -o over another cabinet's output: %v, want os.ErrExist", err)
	}
	if _, err := other.signer(t).SignFile(ctx, out, out); !errors.Is(err, signer.ErrAlreadySigned) {
		t.Errorf("sign in place by another certificate: %v, want ErrAlreadySigned", err)
	}
	if !bytes.Equal(signedBytes, read(t, out)) {
		t.Error("signed output was modified")
	}
}

// TestSignRefusesInvalidUpdateJSON: a cabinet whose update.json is present
// but invalid is not signed; the error carries the manifest's problems.
func TestSignRefusesInvalidUpdateJSON(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	in := packagerCab(t, filepath.Join(t.TempDir(), "in.cab"),
		signertest.File{Name: "update.json", Data: []byte(`{"kind": "os"}`)},
		signertest.File{Name: "os.cab", Data: payload(1000)})
	_, err := f.signer(t).SignFile(ctx, in, in)
	var ue *signer.UpdateJSONError
	if !errors.Is(err, signer.ErrInvalidUpdateJSON) || !errors.As(err, &ue) || ue.File != in {
		t.Fatalf("err = %v, want an *UpdateJSONError for %s", err, in)
	}
	if le := binary.LittleEndian; le.Uint32(read(t, in)[48:]) != 0 {
		t.Error("refused cabinet was signed")
	}
}

// TestOSUpdateVendorCertificateRules: the vendor's certificate need not be
// EV, but the code-signing EKU, validity, key strength and chain rules
// apply to it, each refusal a *PackageError wrapping the rule's
// *PolicyError; a timestamped vendor signature is checked against the
// timestamp roots and reported with its time.
func TestOSUpdateVendorCertificateRules(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	tsa := signertest.NewTSA(t)
	tests := []struct {
		name  string
		setup vendorSetup
		want  error
		rule  signer.Rule
	}{
		{name: "expired", setup: vendorSetup{pki: []devpki.Option{devpki.WithLeafEdit(func(c *x509.Certificate) {
			c.Policies, c.NotBefore, c.NotAfter = nil, now.AddDate(-2, 0, 0), now.AddDate(-1, 0, 0)
		})}}, want: signer.ErrExpired, rule: signer.RuleValidity},
		{name: "no code-signing EKU", setup: vendorSetup{pki: []devpki.Option{devpki.WithLeafEdit(func(c *x509.Certificate) {
			c.Policies, c.ExtKeyUsage = nil, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		})}}, want: signer.ErrNotCodeSigning, rule: signer.RuleCodeSigningEKU},
		{name: "RSA-2048", setup: vendorSetup{pki: []devpki.Option{devpki.WithRSA(2048)}}, want: signer.ErrWeakKey, rule: signer.RuleKeyStrength},
		{name: "timestamped", setup: vendorSetup{signArgs: []string{"-ts", tsa.URL}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOSUpdateWith(t, tt.setup)
			policy := o.policy()
			policy.OSVendorTimestampRoots = tsa.Roots()
			s, err := signer.New(ctx, o.oem.pki.LeafKey, o.oem.pki.Chain(), policy)
			if err != nil {
				t.Fatal(err)
			}
			res, err := s.SignFile(ctx, o.outer, o.outer)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if ts := res.Packages[0].Signature.Timestamp; ts == nil || ts.Before(now.Add(-time.Minute)) {
					t.Errorf("vendor timestamp = %v, want about now", ts)
				}
				if got, err := signer.Verify(ctx, o.outer, policy); err != nil || got.Packages[0].Signature.Timestamp == nil {
					t.Errorf("verify: %+v, %v", got, err)
				}
				return
			}
			var pe *signer.PackageError
			var pol *signer.PolicyError
			if !errors.Is(err, tt.want) || !errors.As(err, &pe) || !errors.As(err, &pol) || pol.Rule != tt.rule {
				t.Fatalf("err = %v, want a *PackageError wrapping %v (rule %s)", err, tt.want, tt.rule)
			}
		})
	}
}

// TestOSUpdateVendorTimestampRoots: a vendor package's timestamp chains to
// the OS vendor's timestamp roots, the OEM's signature's to the OEM's
// timestamp roots, and neither set stands in for the other.
func TestOSUpdateVendorTimestampRoots(t *testing.T) {
	ctx := context.Background()
	vendorTSA, oemTSA := signertest.NewTSA(t), signertest.NewTSA(t)
	o := newOSUpdateWith(t, vendorSetup{signArgs: []string{"-ts", vendorTSA.URL}})
	policy := func(tsRoots, vendorTSRoots *x509.CertPool) signer.Policy {
		p := o.policy()
		p.TimestampRoots, p.OSVendorTimestampRoots = tsRoots, vendorTSRoots
		return p
	}
	s, err := signer.New(ctx, o.oem.pki.LeafKey, o.oem.pki.Chain(), policy(oemTSA.Roots(), vendorTSA.Roots()), signer.WithTimestampURL(oemTSA.URL, nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignFile(ctx, o.outer, o.outer); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		policy signer.Policy
		want   error
		pkgErr bool
	}{
		{"each its own", policy(oemTSA.Roots(), vendorTSA.Roots()), nil, false},
		{"the OEM's for the vendor", policy(oemTSA.Roots(), oemTSA.Roots()), signer.ErrTimestamp, true},
		{"the OEM's, the vendor's unset (system roots)", policy(oemTSA.Roots(), nil), signer.ErrTimestamp, true},
		{"the vendor's for the OEM", policy(vendorTSA.Roots(), vendorTSA.Roots()), signer.ErrTimestamp, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := signer.Verify(ctx, o.outer, tt.policy)
			if tt.want == nil {
				if err != nil || res.Timestamp == nil || len(res.Packages) != 1 || res.Packages[0].Signature.Timestamp == nil {
					t.Fatalf("verify: %+v, %v; want both timestamps", res, err)
				}
				return
			}
			var pe *signer.PackageError
			if !errors.Is(err, tt.want) || errors.As(err, &pe) != tt.pkgErr {
				t.Fatalf("err = %v, want %v (a *PackageError: %t)", err, tt.want, tt.pkgErr)
			}
		})
	}
}

// TestSignOSUpdateDecompressesOnce: signing and verifying an os update of
// many vendor packages each decompress the cabinet's folder once, as one
// stream (the reader's trace counts the bytes inflated), instead of once
// per package; every package is verified and reported on the way.
func TestSignOSUpdateDecompressesOnce(t *testing.T) {
	const n = 24
	oem := newFixture(t)
	o := signertest.NewOSUpdate(t, filepath.Join(t.TempDir(), "os.cab"), n, 40_000)
	c, err := packager.OpenFile(o.Path)
	if err != nil {
		t.Fatal(err)
	}
	var folders int64
	for _, fo := range c.Folders() {
		folders += fo.Size
	}
	c.Close()
	policy := signer.Policy{Roots: oem.pki.Roots(), OSVendorRoots: o.Vendor.Roots(), RequireEV: true}
	s, err := signer.New(context.Background(), oem.pki.LeafKey, oem.pki.Chain(), policy)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{"sign", "verify"} {
		var inflated atomic.Int64
		ctx := cabinet.WithTrace(context.Background(), &cabinet.Trace{Decompressed: func(_, n int) { inflated.Add(int64(n)) }})
		var res *signer.Result
		if step == "sign" {
			res, err = s.SignFile(ctx, o.Path, o.Path)
		} else {
			res, err = signer.Verify(ctx, o.Path, policy)
		}
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if got := inflated.Load(); got != folders {
			t.Errorf("%s: %d bytes decompressed, the cabinet's folders hold %d (%.1f passes)", step, got, folders, float64(got)/float64(folders))
		}
		if len(res.Packages) != n {
			t.Fatalf("%s: %d packages reported, want %d", step, len(res.Packages), n)
		}
		for i, p := range res.Packages {
			sum := sha256.Sum256(o.Packages[i].Data)
			if p.Path != o.Packages[i].Name || p.SHA256 != hex.EncodeToString(sum[:]) || p.Signature.SubjectCN != o.Vendor.Leaf.Subject.CommonName {
				t.Errorf("%s: package %d: %+v, want %s", step, i, p, o.Packages[i].Name)
			}
		}
	}
}
