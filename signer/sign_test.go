package signer_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/devupdate/devupdate/internal/testtool"
	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/signer/devpki"
	"github.com/devupdate/devupdate/signer/signertest"
)

// fixture is a dev PKI written to disk plus a policy trusting its root.
type fixture struct {
	pki      *devpki.PKI
	dir      string
	rootFile string
	policy   signer.Policy
}

func newFixture(t testing.TB, opts ...devpki.Option) *fixture {
	t.Helper()
	pki, err := devpki.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := pki.Write(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	return &fixture{pki: pki, dir: dir, rootFile: filepath.Join(dir, "root.pem"), policy: signer.Policy{Roots: pki.Roots()}}
}

func (f *fixture) signer(t *testing.T, opts ...signer.Option) *signer.Signer {
	t.Helper()
	s, err := signer.New(context.Background(), f.pki.LeafKey, f.pki.Chain(), f.policy, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func payload(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func gcabCab(t *testing.T) string {
	t.Helper()
	return signertest.GcabCabinet(t, filepath.Join(t.TempDir(), "in.cab"),
		signertest.File{Name: "driver.inf", Data: []byte("[Version]\r\nSignature=\"$WINDOWS NT$\"\r\n")},
		signertest.File{Name: "driver.sys", Data: payload(100_000)},
	)
}

func osslVerify(t *testing.T, cab, caFile string, extra ...string) error {
	t.Helper()
	tool := testtool.Need(t, "osslsigncode")
	args := append([]string{"verify", "-in", cab, "-CAfile", caFile}, extra...)
	out, err := exec.Command(tool, args...).CombinedOutput()
	if err != nil {
		return &toolError{err: err, out: string(out)}
	}
	return nil
}

type toolError struct {
	err error
	out string
}

func (e *toolError) Error() string { return e.err.Error() + "\n" + e.out }

func TestSignVerifyGcabCabinet(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	in := gcabCab(t)
	out := filepath.Join(t.TempDir(), "out.cab")
	res, err := f.signer(t).SignFile(ctx, in, out)
	if err != nil {
		t.Fatal(err)
	}
	if !res.EV || res.Timestamp != nil || res.File != out {
		t.Errorf("sign result = %+v", res)
	}
	got, err := signer.Verify(ctx, out, signer.Policy{Roots: f.pki.Roots(), RequireEV: true})
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != res.Digest || got.Subject != f.pki.Leaf.Subject.String() {
		t.Errorf("verify = %+v, sign = %+v", got, res)
	}
	if err := osslVerify(t, out, f.rootFile); err != nil {
		t.Errorf("osslsigncode refuses our signature: %v", err)
	}
	// the payload still extracts with an independent reader
	cabextract := testtool.Need(t, "cabextract")
	dir := t.TempDir()
	if b, err := exec.Command(cabextract, "-q", "-d", dir, out).CombinedOutput(); err != nil {
		t.Fatalf("cabextract: %v\n%s", err, b)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "driver.sys")); err != nil || !bytes.Equal(b, payload(100_000)) {
		t.Errorf("extracted driver.sys differs (err %v)", err)
	}
}

func TestVerifyOsslsigncodeSignature(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, devpki.WithRSA(3072))
	tool := testtool.Need(t, "osslsigncode")
	in := gcabCab(t)
	out := filepath.Join(t.TempDir(), "ossl.cab")
	if b, err := exec.Command(tool, "sign", "-certs", filepath.Join(f.dir, "chain.pem"), "-key", filepath.Join(f.dir, "leaf.key"),
		"-h", "sha256", "-in", in, "-out", out).CombinedOutput(); err != nil {
		t.Fatalf("osslsigncode sign: %v\n%s", err, b)
	}
	res, err := signer.Verify(ctx, out, signer.Policy{Roots: f.pki.Roots(), RequireEV: true})
	if err != nil {
		t.Fatalf("ours refuses osslsigncode's signature: %v", err)
	}
	if !res.EV || res.Subject != f.pki.Leaf.Subject.String() {
		t.Errorf("result = %+v", res)
	}
}

func runTool(t *testing.T, name string, args ...string) error {
	t.Helper()
	out, err := exec.Command(testtool.Need(t, name), args...).CombinedOutput()
	if err != nil {
		return &toolError{err: err, out: string(out)}
	}
	return nil
}
