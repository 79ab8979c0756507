package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/devupdate/devupdate/signer/signertest"
)

// patch rewrites the little-endian uint32 at off of the file at path.
func patch(t *testing.T, path string, off int, v uint32) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint32(b[off:], v)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestUnhashedSignatureHeaderWords: the words at bytes 40-43 and 52-55 of
// a signed cabinet are left out of the Authenticode digest; verify
// accepts only what relic and osslsigncode write there (0x00100000 and
// zero), and sign refuses a cabinet whose reserve holds anything else.
func TestUnhashedSignatureHeaderWords(t *testing.T) {
	dir := t.TempDir()
	pki := filepath.Join(dir, "pki")
	flags := devPKI(t, pki)
	root := filepath.Join(pki, "root.pem")
	for _, w := range []struct {
		off int
		v   uint32
	}{{40, 0x00100001}, {40, 0}, {52, 1}} {
		cab := newCab(t, t.TempDir(), "x.cab", []byte("payload"))
		if _, stderr, code := run(t, append([]string{"sign", cab}, flags...)...); code != exitOK {
			t.Fatalf("sign: %s", stderr)
		}
		if _, stderr, code := run(t, "verify", cab, "--roots", root); code != exitOK {
			t.Fatalf("verify before the change: %s", stderr)
		}
		patch(t, cab, w.off, w.v)
		if stdout, _, code := run(t, "verify", cab, "--roots", root); code != exitFailed {
			t.Errorf("verify with %#08x at byte %d: exit %d, want %d: %s", w.v, w.off, code, exitFailed, stdout)
		}
		reserved := signertest.StoredCabinet(t, filepath.Join(t.TempDir(), "r.cab"), true, signertest.File{Name: "a.txt", Data: []byte("x")})
		patch(t, reserved, w.off, w.v)
		if _, _, code := run(t, append([]string{"sign", reserved}, flags...)...); code != exitFailed {
			t.Errorf("sign of a reserve with %#08x at byte %d: exit %d, want %d", w.v, w.off, code, exitFailed)
		}
	}
}
