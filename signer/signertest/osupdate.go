package signertest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/devupdate/devupdate/internal/testtool"
	"github.com/devupdate/devupdate/manifest"
	"github.com/devupdate/devupdate/packager"
	"github.com/devupdate/devupdate/signer/devpki"
)

// OSUpdate is an os-kind update as the OEM builds it: the OS vendor's
// signed packages under os/ with their update.json, in one unsigned
// cabinet from our packager.
type OSUpdate struct {
	// Path is the unsigned outer cabinet.
	Path string
	// Vendor is the OS vendor's TEST-ONLY PKI: its leaf is not EV, as an
	// OS vendor's certificate need not be.
	Vendor *devpki.PKI
	// Packages are the vendor's signed packages, as stored in the cabinet.
	Packages []File
}

// NewOSUpdate writes at path an os-kind cabinet holding n vendor packages
// (os/Vendor-Package-NNN.cab), each a packager cabinet of size random,
// incompressible bytes signed by the real osslsigncode (an independent
// signer) with a fresh TEST-ONLY, non-EV vendor PKI. opts are the outer
// cabinet's packager options (e.g. WithSignatureReserve).
func NewOSUpdate(t testing.TB, path string, n, size int, opts ...packager.Option) *OSUpdate {
	t.Helper()
	ctx := context.Background()
	vendor, err := devpki.New(devpki.WithLeafCommonName("TEST-ONLY OS Vendor Code Signing"), devpki.WithLeafEdit(func(c *x509.Certificate) {
		c.Policies, c.PolicyIdentifiers = nil, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	o := &OSUpdate{Path: path, Vendor: vendor}
	dir := t.TempDir()
	if err := vendor.Write(ctx, dir); err != nil {
		t.Fatal(err)
	}
	ossl := testtool.Need(t, "osslsigncode")
	mtime := packager.WithModTime(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	for i := range n {
		data := make([]byte, size)
		rand.NewChaCha8([32]byte{byte(i), byte(i >> 8), byte(size)}).Read(data)
		in, out := filepath.Join(dir, "unsigned.cab"), filepath.Join(dir, fmt.Sprintf("%d.cab", i))
		files := memFiles(File{Name: "update.mum", Data: []byte("<assembly/>\r\n")}, File{Name: "payload.bin", Data: data})
		// osslsigncode 2.9 refuses a cabinet with an empty signature reserve.
		if _, err := packager.WriteFile(ctx, in, files, mtime, packager.WithSignatureReserve(false)); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(ossl, "sign", "-certs", filepath.Join(dir, "chain.pem"), "-key", filepath.Join(dir, "leaf.key"), "-h", "sha256", "-in", in, "-out", out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("osslsigncode sign: %v\n%s", err, b)
		}
		os.Remove(in)
		signed, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		o.Packages = append(o.Packages, File{Name: fmt.Sprintf("os/Vendor-Package-%03d.cab", i), Data: signed})
	}
	files := append(o.Packages, UpdateJSON(t, manifest.KindOS, o.Packages...))
	if _, err := packager.WriteFile(ctx, path, memFiles(files...), append([]packager.Option{mtime}, opts...)...); err != nil {
		t.Fatal(err)
	}
	return o
}

func memFiles(files ...File) []packager.File {
	var out []packager.File
	for _, f := range files {
		data := f.Data
		out = append(out, packager.File{Name: f.Name, Size: int64(len(data)), Open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		}})
	}
	return out
}

// HashPass times one streaming SHA-256 pass over the file at path: the
// peer an os update's sign and verify benchmarks are measured against
// (hack/benchtool sha256 does the same for the bench scripts).
func HashPass(tb testing.TB, path string) time.Duration {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	start := time.Now()
	if _, err := io.CopyBuffer(sha256.New(), f, make([]byte, 256<<10)); err != nil {
		tb.Fatal(err)
	}
	return time.Since(start)
}
