//go:build cgo

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devupdate/devupdate/internal/testtool"
)

// TestKeysCSRWithSoftHSM is the README's worked example: a token made with
// softhsm2-util, a non-extractable P-256 key generated on it by
// pkcs11-tool, and `keys csr` for that key, with the module and the PIN
// from the environment. openssl, an independent implementation, checks the
// request's signature and subject; the private key never left the token.
func TestKeysCSRWithSoftHSM(t *testing.T) {
	util := testtool.Need(t, "softhsm2-util")
	tool := testtool.Need(t, "pkcs11-tool")
	openssl := testtool.Need(t, "openssl")
	module := testtool.SoftHSM2Module(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.MkdirAll(filepath.Join(dir, "tokens"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte("directories.tokendir = "+filepath.Join(dir, "tokens")+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	sh := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return string(out)
	}
	sh(util, "--init-token", "--free", "--label", "oem-ev", "--pin", "123456", "--so-pin", "87654321")
	sh(tool, "--module", module, "--token-label", "oem-ev", "--login", "--pin", "123456",
		"--keypairgen", "--key-type", "EC:prime256v1", "--label", "ev-signing", "--id", "01", "--usage-sign", "--sensitive")

	key := "pkcs11:token=oem-ev;object=ev-signing"
	subject := "CN=Contoso Ltd,O=Contoso Ltd,L=Redmond,ST=Washington,C=US,businessCategory=Private Organization,jurisdictionC=US,serialNumber=600413485"
	csr := filepath.Join(dir, "ev.csr")

	// Without the PIN: a usage error naming the variable.
	t.Setenv("DEVUPDATE_PKCS11_MODULE", module)
	if _, stderr, code := run(t, "keys", "csr", "--key", key, "--subject", subject, "-o", csr); code != exitUsage || !strings.Contains(stderr, "DEVUPDATE_PKCS11_PIN") {
		t.Errorf("without a PIN: exit %d, %q; want a usage error naming DEVUPDATE_PKCS11_PIN", code, stderr)
	}
	t.Setenv("DEVUPDATE_PKCS11_PIN", "123456")
	out, stderr, code := run(t, "keys", "csr", "--key", key, "--subject", subject, "-o", csr)
	if code != exitOK {
		t.Fatalf("keys csr: exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "ECDSA P-256") {
		t.Errorf("report %q does not name the key", out)
	}
	if got := sh(openssl, "req", "-in", csr, "-noout", "-verify"); !strings.Contains(got, "verify OK") {
		t.Errorf("openssl req -verify: %s", got)
	}
	got := sh(openssl, "req", "-in", csr, "-noout", "-subject", "-nameopt", "RFC2253")
	for _, want := range []string{"CN=Contoso Ltd", "O=Contoso Ltd", "C=US", "serialNumber=600413485", "businessCategory=Private Organization"} {
		if !strings.Contains(got, want) {
			t.Errorf("subject %q lacks %q", got, want)
		}
	}
	// The request is never overwritten.
	if _, _, code := run(t, "keys", "csr", "--key", key, "--subject", subject, "-o", csr); code != exitFailed {
		t.Errorf("keys csr over an existing request: exit %d, want %d", code, exitFailed)
	}
	// The key is still on the token and still not extractable.
	if attrs := sh(tool, "--module", module, "--token-label", "oem-ev", "--login", "--pin", "123456", "--list-objects", "--type", "privkey"); !strings.Contains(attrs, "never extractable") && !strings.Contains(attrs, "sensitive") {
		t.Errorf("private key attributes: %s", attrs)
	}
	// A subject that is not a DN is a usage error naming --subject.
	if _, stderr, code := run(t, "keys", "csr", "--key", key, "--subject", "Contoso"); code != exitUsage || !strings.Contains(stderr, "--subject") {
		t.Errorf("bad subject: exit %d, %q", code, stderr)
	}
}
