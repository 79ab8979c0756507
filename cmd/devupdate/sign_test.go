package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/devupdate/devupdate/internal/testtool"
	"github.com/devupdate/devupdate/signer/signertest"
)

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
	a := gcabCabinet(t, dir, "a.cab", `{"kind":"driver"}`)
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
	var reports []struct {
		File      string  `json:"file"`
		Valid     bool    `json:"valid"`
		Subject   string  `json:"subject"`
		Issuer    string  `json:"issuer"`
		EV        bool    `json:"ev"`
		Timestamp *string `json:"timestamp"`
		Digest    string  `json:"digest"`
	}
	if err := json.Unmarshal([]byte(out), &reports); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(reports) != 2 || !reports[0].Valid || !reports[0].EV || reports[0].Subject == "" || reports[0].Issuer == "" || len(reports[0].Digest) != len("sha256:")+64 {
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
	// os-kind cabinets are never re-signed
	osCab := gcabCabinet(t, dir, "os.cab", `{"kind": "os"}`)
	if _, _, code := run(t, "sign", osCab, "--key", filepath.Join(pki, "leaf.key"), "--cert", filepath.Join(pki, "chain.pem"), "--roots", root); code != exitFailed {
		t.Errorf("sign os-kind: exit %d, want %d", code, exitFailed)
	}
	// a PIN in the URI is refused
	if _, _, code := run(t, "sign", b, "--key", "pkcs11:token=t;object=k?pin-value=1234", "--cert", filepath.Join(pki, "chain.pem")); code != exitFailed {
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
	var reports []struct {
		Timestamp string `json:"timestamp"`
	}
	if err := json.Unmarshal([]byte(out), &reports); err != nil || len(reports) != 1 || reports[0].Timestamp == "" {
		t.Fatalf("no timestamp in %s (%v)", out, err)
	}
	if b, err := exec.Command(testtool.Need(t, "osslsigncode"), "verify", "-in", cab, "-CAfile", root, "-TSA-CAfile", tsa.RootFile).CombinedOutput(); err != nil {
		t.Errorf("osslsigncode: %v\n%s", err, b)
	}
}
