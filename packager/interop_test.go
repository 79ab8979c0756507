package packager

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/devupdate/devupdate/internal/testtool"
	"github.com/sassoftware/relic/v8/lib/cabfile"
)

// interopCases are the cabinet shapes every independent reader must accept.
var interopCases = []struct {
	name string
	opts []Option
}{
	{"mszip", nil},
	{"none", []Option{WithCompression(None)}},
	{"mszip-noreserve", []Option{WithSignatureReserve(false)}},
	{"mszip-multifolder", []Option{withFolderLimit(250000)}},
	{"none-multifolder", []Option{WithCompression(None), withFolderLimit(250000)}},
}

func runTool(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestInteropCabextract(t *testing.T) {
	tool := testtool.Need(t, "cabextract")
	in := testInput()
	for _, tc := range interopCases {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := writeTemp(t, filesOf(in), tc.opts...)
			out := runTool(t, "", tool, "-t", p)
			if !strings.Contains(out, "All done, no errors.") {
				t.Errorf("cabextract -t: %s", out)
			}
			dir := t.TempDir()
			runTool(t, "", tool, "-q", "-d", dir, p)
			sameFiles(t, "cabextract -d", readDir(t, dir), in)
		})
	}
}

func TestInteropGcab(t *testing.T) {
	tool := testtool.Need(t, "gcab")
	in := testInput()
	var want []string
	for name := range in {
		want = append(want, name)
	}
	slices.Sort(want)
	for _, tc := range interopCases {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := writeTemp(t, filesOf(in), tc.opts...)
			got := strings.Fields(strings.ReplaceAll(runTool(t, "", tool, "-t", p), `\`, "/"))
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("gcab -t lists %q, want %q", got, want)
			}
			dir := t.TempDir()
			runTool(t, "", tool, "-x", "-C", dir, p)
			sameFiles(t, "gcab -x", readDir(t, dir), in)
		})
	}
}

func TestInterop7z(t *testing.T) {
	tool := testtool.Need(t, "7z")
	in := testInput()
	for _, tc := range interopCases {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := writeTemp(t, filesOf(in), tc.opts...)
			out := runTool(t, "", tool, "t", p)
			if !strings.Contains(out, "Everything is Ok") {
				t.Errorf("7z t: %s", out)
			}
			dir := t.TempDir()
			runTool(t, "", tool, "x", "-y", "-o"+dir, p)
			sameFiles(t, "7z x", readDir(t, dir), in)
		})
	}
}

// TestReadGcabCabinets reads cabinets written by gcab, compressed and not.
func TestReadGcabCabinets(t *testing.T) {
	tool := testtool.Need(t, "gcab")
	in := testInput()
	src := t.TempDir()
	var names []string
	for name, data := range in {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	slices.Sort(names)
	for _, z := range []bool{true, false} {
		p := filepath.Join(t.TempDir(), "gcab.cab")
		args := []string{"-c"}
		if z {
			args = append(args, "-z")
		}
		runTool(t, src, tool, append(append(args, p), names...)...)
		sameFiles(t, "reader on gcab output", readAll(t, p), in)
		dir := t.TempDir()
		c, err := OpenFile(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Extract(context.Background(), dir); err != nil {
			t.Fatalf("Extract: %v", err)
		}
		c.Close()
		sameFiles(t, "Extract on gcab output", readDir(t, dir), in)
	}
}

// TestSignatureReserveMatchesRelic checks the reserve against relic's
// lib/cabfile, the Authenticode cabinet code the signer uses: it must take
// our header as is (no bytes added or removed), and the signature it
// appends must leave a cabinet every reader still reads.
func TestSignatureReserveMatchesRelic(t *testing.T) {
	in := testInput()
	p, res := writeTemp(t, filesOf(in), WithSignatureReserve(true))
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	d, err := cabfile.Digest(bytes.NewReader(raw), 0)
	if err != nil {
		t.Fatalf("relic cabfile.Digest: %v", err)
	}
	c, err := OpenFile(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	coffFiles := int(d.Cabinet.Header.OffsetFiles)
	c.Close()
	if !bytes.Equal(d.Patched, raw[:coffFiles]) {
		t.Fatalf("relic rewrites our header:\n got %x\nwant %x", d.Patched, raw[:coffFiles])
	}
	if d.Cabinet.SignatureHeader == nil || d.Cabinet.SignatureHeader.CabinetSize != uint32(res.Size) {
		t.Fatalf("relic signature header = %+v, want cabinet size %d", d.Cabinet.SignatureHeader, res.Size)
	}
	fakeSig := bytes.Repeat([]byte{0x30}, 1001)
	signed := filepath.Join(t.TempDir(), "signed.cab")
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := d.MakePatch(fakeSig).Apply(f, signed); err != nil {
		t.Fatalf("applying relic's patch: %v", err)
	}
	sraw, err := os.ReadFile(signed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sraw[coffFiles:res.Size], raw[coffFiles:]) {
		t.Error("signing moved or changed the file table or data")
	}
	sc, err := OpenFile(context.Background(), signed)
	if err != nil {
		t.Fatalf("reading the signed cabinet: %v", err)
	}
	defer sc.Close()
	if sig := sc.Signature(); !sig.Reserved || sig.Offset != res.Size || sig.Size != 1008 {
		t.Errorf("Signature() = %+v, want reserved, offset %d, size 1008", sig, res.Size)
	}
	sameFiles(t, "reader on relic-signed", readAll(t, signed), in)
	if tool := testtool.Need(t, "cabextract"); tool != "" {
		runTool(t, "", tool, "-t", signed)
	}
}

// TestReadOsslsigncodeSigned reads cabinets signed by osslsigncode, an
// independent Authenticode implementation. osslsigncode 2.9 treats any
// cabinet with a header reserve as already signed (it requires the
// signature to end the file), so it signs cabinets written without the
// reserve, inserting the 24 header bytes itself; relic, which the signer
// uses, fills our reserve in place (TestSignatureReserveMatchesRelic).
func TestReadOsslsigncodeSigned(t *testing.T) {
	tool := testtool.Need(t, "osslsigncode")
	in := testInput()
	p, res := writeTemp(t, filesOf(in), WithSignatureReserve(false))
	dir := t.TempDir()
	cert, key := selfSignedCodeSigning(t, dir)
	signed := filepath.Join(dir, "signed.cab")
	runTool(t, "", tool, "sign", "-certs", cert, "-key", key, "-h", "sha256", "-in", p, "-out", signed)
	sc, err := OpenFile(context.Background(), signed)
	if err != nil {
		t.Fatalf("reading the osslsigncode-signed cabinet: %v", err)
	}
	defer sc.Close()
	if sig := sc.Signature(); !sig.Reserved || sig.Size == 0 || sig.Offset != res.Size+24 {
		t.Errorf("Signature() = %+v, want a signature at %d", sig, res.Size+24)
	}
	sameFiles(t, "reader on osslsigncode-signed", readAll(t, signed), in)

	// And osslsigncode refuses our reserved, unsigned cabinet, as described.
	q, _ := writeTemp(t, filesOf(in))
	cmd := exec.Command(tool, "sign", "-certs", cert, "-key", key, "-in", q, "-out", filepath.Join(dir, "refused.cab"))
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Logf("osslsigncode now signs a reserved unsigned cabinet; the comment above is outdated:\n%s", out)
	}
}

func selfSignedCodeSigning(t *testing.T, dir string) (certPath, keyPath string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "devupdate packager test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}
