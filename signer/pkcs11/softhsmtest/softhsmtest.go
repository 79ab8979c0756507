// Package softhsmtest makes SoftHSM2 tokens for tests: a token directory
// and configuration of its own, and non-extractable ECDSA P-256 key pairs
// generated on the token by pkcs11-tool (never in the test's memory). It
// is the one place tests of PKCS#11 signing (Authenticode, TUF metadata)
// get their token from.
package softhsmtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/devupdate/devupdate/internal/testtool"
)

// SOPIN is the security officer PIN of every test token.
const SOPIN = "87654321"

// Token is a SoftHSM2 token made for a test.
type Token struct {
	Module string // the PKCS#11 module (libsofthsm2.so)
	Conf   string // SOFTHSM2_CONF for processes that use the token
	Label  string
	PIN    string
}

// New initialises a token labelled label with user PIN pin in dir (its
// tokens and softhsm2.conf live there), and generates one non-extractable,
// sensitive ECDSA P-256 key pair per key label (ids 0a0b, 0a0c, ...).
func New(t testing.TB, dir, label, pin string, keyLabels ...string) *Token {
	t.Helper()
	util := testtool.Need(t, "softhsm2-util")
	tool := testtool.Need(t, "pkcs11-tool")
	tok := &Token{Module: testtool.SoftHSM2Module(t), Conf: filepath.Join(dir, "softhsm2.conf"), Label: label, PIN: pin}
	if err := os.MkdirAll(filepath.Join(dir, "tokens"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tok.Conf, []byte("directories.tokendir = "+filepath.Join(dir, "tokens")+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+tok.Conf)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	run(util, "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", SOPIN)
	for i, kl := range keyLabels {
		run(tool, "--module", tok.Module, "--token-label", label, "--login", "--pin", pin,
			"--keypairgen", "--key-type", "EC:prime256v1", "--label", kl, "--id", []string{"0a0b", "0a0c", "0a0d", "0a0e"}[i%4], "--usage-sign", "--sensitive")
	}
	return tok
}
