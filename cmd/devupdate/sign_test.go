package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/internal/testtool"
	"github.com/devupdate/devupdate/manifest"
	"github.com/devupdate/devupdate/signer/signertest"
)

// signature is a signature in sign and verify reports.
type signature struct {
	Subject            string `json:"subject"`
	SubjectCN          string `json:"subject_cn"`
	Issuer             string `json:"issuer"`
	EV                 bool   `json:"ev"`
	NotAfter           string `json:"not_after"`
	Timestamp          string `json:"timestamp"`
	AuthenticodeDigest string `json:"authenticode_digest"`
}

// signedItem is one cabinet in sign and verify reports.
type signedItem struct {
	File      string     `json:"file"`
	OK        bool       `json:"ok"`
	Error     *cli.Error `json:"error"`
	State     string     `json:"state"`
	Source    string     `json:"source"`
	Kind      string     `json:"kind"`
	Signature *signature `json:"signature"`
	Packages  []struct {
		Name      string    `json:"name"`
		Signature signature `json:"signature"`
	} `json:"packages"`
}

// gcabCabinet makes a small MSZIP cabinet with the real gcab.
func gcabCabinet(t *testing.T, dir, name, manifest string) string {
	t.Helper()
	gcab := testtool.Need(t, "gcab")
	src := t.TempDir()
	files := []string{"payload.bin"}
	if err := os.WriteFile(filepath.Join(src, "payload.bin"), []byte("payload bytes for "+name), 0o644); err != nil {
		t.Fatal(err)
	}
	if manifest != "" {
		if err := os.WriteFile(filepath.Join(src, "update.json"), []byte(manifest), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, "update.json")
	}
	out := filepath.Join(dir, name)
	cmd := exec.Command(gcab, append([]string{"-c", "-z", out}, files...)...)
	cmd.Dir = src
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcab: %v\n%s", err, b)
	}
	return out
}

func TestSignVerifyCLI(t *testing.T) {
	dir := t.TempDir()
	pki := filepath.Join(dir, "pki")
	if _, stderr, code := run(t, "keys", "dev-pki", pki); code != exitOK {
		t.Fatalf("dev-pki: %d %s", code, stderr)
	}
	if _, _, code := run(t, "keys", "dev-pki", pki); code != exitFailed {
		t.Errorf("dev-pki over an existing PKI: exit %d, want %d", code, exitFailed)
	}
	a := gcabCabinet(t, dir, "a.cab", string(signertest.UpdateJSON(t, manifest.KindOCP, signertest.File{Name: "payload.bin", Data: []byte("payload bytes for a.cab")}).Data))
	b := gcabCabinet(t, dir, "b.cab", "")
	root := filepath.Join(pki, "root.pem")
	sign := []string{"sign", a, b, "--key", "file:" + filepath.Join(pki, "leaf.key"), "--cert", filepath.Join(pki, "chain.pem"), "--roots", root}
	if _, stderr, code := run(t, sign...); code != exitOK {
		t.Fatalf("sign: %d %s", code, stderr)
	}
	out, stderr, code := run(t, "verify", a, b, "--roots", root, "--require-ev", "--output", "json")
	if code != exitOK {
		t.Fatalf("verify: %d %s\n%s", code, stderr, out)
	}
	reports := decode[batchReport[signedItem]](t, out).Results
	if len(reports) != 2 || !reports[0].OK || reports[0].File != a || !reports[0].Signature.EV || reports[0].Signature.Subject == "" || reports[0].Signature.Issuer == "" ||
		len(reports[0].Signature.AuthenticodeDigest) != len("sha256:")+64 {
		t.Errorf("reports = %+v", reports)
	}
	if osslsigncode := testtool.Need(t, "osslsigncode"); osslsigncode != "" {
		if b, err := exec.Command(osslsigncode, "verify", "-in", a, "-CAfile", root).CombinedOutput(); err != nil {
			t.Errorf("osslsigncode verify: %v\n%s", err, b)
		}
	}

	// a required subject that differs, roots of another PKI: exit 1
	if _, _, code := run(t, "verify", a, "--roots", root, "--require-subject", "Contoso"); code != exitFailed {
		t.Errorf("verify --require-subject Contoso: exit %d", code)
	}
	other := filepath.Join(dir, "other")
	run(t, "keys", "dev-pki", other)
	if _, _, code := run(t, "verify", a, "--roots", filepath.Join(other, "root.pem")); code != exitFailed {
		t.Errorf("verify against other roots: exit %d", code)
	}
	// missing --roots is a usage error
	if _, _, code := run(t, "verify", a); code != exitUsage {
		t.Errorf("verify without --roots: exit %d", code)
	}
	// a cabinet signed by another certificate is never signed again
	otherSign := []string{"sign", a, "--key", filepath.Join(other, "leaf.key"), "--cert", filepath.Join(other, "chain.pem"), "--roots", filepath.Join(other, "root.pem")}
	if _, _, code := run(t, otherSign...); code != exitFailed {
		t.Errorf("sign a cabinet signed by another certificate: exit %d, want %d", code, exitFailed)
	}
	// an invalid update.json is refused
	bad := gcabCabinet(t, dir, "bad.cab", `{"kind": "os"}`)
	if _, _, code := run(t, "sign", bad, "--key", filepath.Join(pki, "leaf.key"), "--cert", filepath.Join(pki, "chain.pem"), "--roots", root); code != exitFailed {
		t.Errorf("sign with an invalid update.json: exit %d, want %d", code, exitFailed)
	}
	// a PIN in the URI is a usage error: a secret in an argument
	if _, _, code := run(t, "sign", b, "--key", "pkcs11:token=t;object=k?pin-value=1234", "--cert", filepath.Join(pki, "chain.pem")); code != exitUsage {
		t.Errorf("pin-value: exit %d", code)
	}
}

// TestSignTimestampCLI: --timestamp-url with the in-process TSA; the JSON
// report carries the timestamp.
func TestSignTimestampCLI(t *testing.T) {
	dir := t.TempDir()
	pki := filepath.Join(dir, "pki")
	if _, stderr, code := run(t, "keys", "dev-pki", pki, "--rsa"); code != exitOK {
		t.Fatalf("dev-pki: %s", stderr)
	}
	tsa := signertest.NewTSA(t)
	cab := gcabCabinet(t, dir, "a.cab", "")
	root := filepath.Join(pki, "root.pem")
	if _, stderr, code := run(t, "sign", cab, "--key", filepath.Join(pki, "leaf.key"), "--cert", filepath.Join(pki, "chain.pem"),
		"--roots", root, "--timestamp-url", tsa.URL, "--timestamp-roots", tsa.RootFile); code != exitOK {
		t.Fatalf("sign: %s", stderr)
	}
	out, stderr, code := run(t, "verify", cab, "--roots", root, "--timestamp-roots", tsa.RootFile, "-O", "json")
	if code != exitOK {
		t.Fatalf("verify: %s\n%s", stderr, out)
	}
	reports := decode[batchReport[signedItem]](t, out).Results
	if len(reports) != 1 || reports[0].Signature == nil || reports[0].Signature.Timestamp == "" {
		t.Fatalf("no timestamp in %s", out)
	}
	if b, err := exec.Command(testtool.Need(t, "osslsigncode"), "verify", "-in", cab, "-CAfile", root, "-TSA-CAfile", tsa.RootFile).CombinedOutput(); err != nil {
		t.Errorf("osslsigncode: %v\n%s", err, b)
	}
}

// osUpdateCLI is an os update made with the CLI: an OS vendor (its own
// TEST-ONLY, non-EV PKI in vendor) signs its package with devupdate sign
// and vendorSign's further arguments; the OEM (PKI in oem) builds the
// unsigned outer cabinet carrying it.
type osUpdateCLI struct {
	oem, vendor, outer string
}

// keyArgs are the sign arguments of the PKI in dir.
func keyArgs(dir string) []string {
	return []string{"--key", filepath.Join(dir, "leaf.key"), "--cert", filepath.Join(dir, "chain.pem"), "--roots", filepath.Join(dir, "root.pem")}
}

func newOSUpdateCLI(t *testing.T, vendorSign ...string) *osUpdateCLI {
	t.Helper()
	dir := t.TempDir()
	o := &osUpdateCLI{oem: filepath.Join(dir, "oem"), vendor: filepath.Join(dir, "vendor")}
	if _, stderr, code := run(t, "keys", "dev-pki", o.oem); code != exitOK {
		t.Fatalf("dev-pki: %s", stderr)
	}
	if _, stderr, code := run(t, "keys", "dev-pki", o.vendor, "--common-name", "TEST-ONLY OS Vendor", "--non-ev"); code != exitOK {
		t.Fatalf("dev-pki --common-name: %s", stderr)
	}
	update := filepath.Join(dir, "update")
	if err := os.MkdirAll(filepath.Join(update, "payload"), 0o755); err != nil {
		t.Fatal(err)
	}
	vendorCab := gcabCabinet(t, filepath.Join(update, "payload"), "Vendor-OS.cab", "")
	if _, _, code := run(t, append([]string{"sign", vendorCab}, keyArgs(o.vendor)...)...); code != exitFailed {
		t.Errorf("vendor sign with a non-EV certificate without --insecure-allow-non-ev: exit %d, want %d", code, exitFailed)
	}
	if _, stderr, code := run(t, append(append([]string{"sign", vendorCab, "--insecure-allow-non-ev"}, keyArgs(o.vendor)...), vendorSign...)...); code != exitOK {
		t.Fatalf("vendor sign: %s", stderr)
	}
	product, err := os.ReadFile(filepath.Join(testtool.RepoRoot(t), "examples", "contoso-toaster", "product.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	yaml := "name: Contoso.Toaster.OS\nkind: os\nversion: 10.0.17763.615\nos_build: 10.0.17763.615\nproducts: [product.yaml]\nfiles: [{source: payload/**, dest: os/}]\n"
	for name, data := range map[string][]byte{"product.yaml": product, "update.yaml": []byte(yaml)} {
		if err := os.WriteFile(filepath.Join(update, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, stderr, code := run(t, "build", filepath.Join(update, "update.yaml"), "-o", filepath.Join(dir, "cabs")); code != exitOK {
		t.Fatalf("build: %s", stderr)
	}
	o.outer = filepath.Join(dir, "cabs", "Contoso.Toaster.OS_10.0.17763.615.cab")
	return o
}

// TestSignVerifyOSUpdateCLI: an OS vendor (its own TEST-ONLY PKI) signs its
// package; the OEM builds an os update carrying it, signs the outer cabinet
// (only with --os-vendor-roots) and verifies it with both roots; the
// reports list the vendor package.
func TestSignVerifyOSUpdateCLI(t *testing.T) {
	if _, _, code := run(t, "keys", "dev-pki", filepath.Join(t.TempDir(), "x"), "--common-name", "Microsoft Windows"); code != exitUsage {
		t.Errorf("dev-pki --common-name without TEST-ONLY: exit %d, want %d", code, exitUsage)
	}
	o := newOSUpdateCLI(t)
	oem, outer := o.oem, o.outer
	vendorRoots := filepath.Join(o.vendor, "root.pem")
	if _, _, code := run(t, append([]string{"sign", outer}, keyArgs(oem)...)...); code != exitFailed {
		t.Errorf("sign os update without --os-vendor-roots: exit %d, want %d", code, exitFailed)
	}
	if _, stderr, code := run(t, append([]string{"sign", outer, "--os-vendor-roots", vendorRoots}, keyArgs(oem)...)...); code != exitOK {
		t.Fatalf("sign os update: %s", stderr)
	}
	if _, _, code := run(t, "verify", outer, "--roots", filepath.Join(oem, "root.pem")); code != exitFailed {
		t.Errorf("verify os update without --os-vendor-roots: exit %d, want %d", code, exitFailed)
	}
	if _, _, code := run(t, "verify", outer, "--roots", filepath.Join(oem, "root.pem"), "--os-vendor-roots", filepath.Join(oem, "root.pem")); code != exitFailed {
		t.Errorf("verify os update with the OEM's roots as the vendor's: exit %d, want %d", code, exitFailed)
	}
	out, stderr, code := run(t, "verify", outer, "--roots", filepath.Join(oem, "root.pem"), "--os-vendor-roots", vendorRoots, "--require-ev", "-O", "json")
	if code != exitOK {
		t.Fatalf("verify: %s\n%s", stderr, out)
	}
	reports := decode[batchReport[signedItem]](t, out).Results
	if len(reports) != 1 || !reports[0].OK || reports[0].Kind != "os" || reports[0].Signature.SubjectCN != "devupdate TEST-ONLY Code Signing" ||
		len(reports[0].Packages) != 1 || reports[0].Packages[0].Name != "os/Vendor-OS.cab" ||
		reports[0].Packages[0].Signature.SubjectCN != "TEST-ONLY OS Vendor" || reports[0].Packages[0].Signature.EV || reports[0].Packages[0].Signature.NotAfter == "" {
		t.Errorf("reports = %+v", reports)
	}
	if b, err := exec.Command(testtool.Need(t, "osslsigncode"), "verify", "-in", outer, "-CAfile", filepath.Join(oem, "root.pem")).CombinedOutput(); err != nil {
		t.Errorf("osslsigncode verify of the outer cabinet: %v\n%s", err, b)
	}
}

// TestOSVendorTimestampRootsCLI: a vendor package timestamped by the OS
// vendor's authority is accepted by sign and verify only with that
// authority's roots in --os-vendor-timestamp-roots: not by default (the
// system roots), and not through the OEM's --timestamp-roots. The same
// commands with the flag succeed, so the flag is what decides.
func TestOSVendorTimestampRootsCLI(t *testing.T) {
	tsa := signertest.NewTSA(t)
	o := newOSUpdateCLI(t, "--timestamp-url", tsa.URL, "--timestamp-roots", tsa.RootFile)
	vendorRoots := []string{"--os-vendor-roots", filepath.Join(o.vendor, "root.pem")}
	sign := append(append([]string{"sign", o.outer}, keyArgs(o.oem)...), vendorRoots...)
	verify := append([]string{"verify", o.outer, "--roots", filepath.Join(o.oem, "root.pem")}, vendorRoots...)
	for _, extra := range [][]string{nil, {"--timestamp-roots", tsa.RootFile}} {
		if _, _, code := run(t, append(sign, extra...)...); code != exitFailed {
			t.Errorf("sign %q: exit %d, want %d", extra, code, exitFailed)
		}
	}
	if _, stderr, code := run(t, append(sign, "--os-vendor-timestamp-roots", tsa.RootFile)...); code != exitOK {
		t.Fatalf("sign --os-vendor-timestamp-roots: %s", stderr)
	}
	for _, extra := range [][]string{nil, {"--timestamp-roots", tsa.RootFile}} {
		if _, _, code := run(t, append(verify, extra...)...); code != exitFailed {
			t.Errorf("verify %q: exit %d, want %d", extra, code, exitFailed)
		}
	}
	out, stderr, code := run(t, append(verify, "--os-vendor-timestamp-roots", tsa.RootFile, "-O", "json")...)
	if code != exitOK {
		t.Fatalf("verify --os-vendor-timestamp-roots: %s\n%s", stderr, out)
	}
	reports := decode[batchReport[signedItem]](t, out).Results
	if len(reports) != 1 || len(reports[0].Packages) != 1 || reports[0].Packages[0].Signature.Timestamp == "" {
		t.Errorf("no vendor timestamp in %s", out)
	}
}
