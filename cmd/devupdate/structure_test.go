package main

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/devupdate/devupdate/internal/testtool"
	"github.com/devupdate/devupdate/signer/signertest"
)

// osslSign signs in with osslsigncode into out: a signer that checks
// nothing of a cabinet's names or checksums, as another OEM service may.
func osslSign(t *testing.T, pki, in, out string) {
	t.Helper()
	b, err := exec.Command(testtool.Need(t, "osslsigncode"), "sign", "-h", "sha256", "-certs", filepath.Join(pki, "chain.pem"),
		"-key", filepath.Join(pki, "leaf.key"), "-in", in, "-out", out).CombinedOutput()
	if err != nil {
		t.Fatalf("osslsigncode sign %s: %v\n%s", in, err, b)
	}
}

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

// TestSignVerifyRefuseStructuralFaults: a cabinet that no device should
// trust, for what its structure says (no decompression needed), is neither
// signed by sign nor accepted by verify or publish when another signer
// (osslsigncode) signed it: names that escape or that Windows cannot hold,
// names that collide, a CFDATA checksum that does not match, overlapping
// files, overlapping folders.
func TestSignVerifyRefuseStructuralFaults(t *testing.T) {
	dir := t.TempDir()
	pki := filepath.Join(dir, "pki")
	flags := devPKI(t, pki)
	root := filepath.Join(pki, "root.pem")
	x := []byte("payload")
	one := func(name string) []signertest.File { return []signertest.File{{Name: name, Data: x}} }
	// The stored cabinet's layout without a reserve: CFHEADER (36), one
	// CFFOLDER (8), then the CFFILEs (16 bytes and the name each).
	const firstFile = 36 + 8
	tests := []struct {
		name  string
		files []signertest.File
		after func(t *testing.T, cab string)
		code  string
	}{
		{"dot-dot", one(`..\evil.txt`), nil, "invalid_name"},
		{"absolute", one(`\Windows\evil.dll`), nil, "invalid_name"},
		{"drive letter", one(`C:\evil.dll`), nil, "invalid_name"},
		{"UNC", one(`\\server\share\evil.dll`), nil, "invalid_name"},
		{"control character", one("evil\x1b.txt"), nil, "invalid_name"},
		{"invalid UTF-8", one("evil\xff.txt"), nil, "invalid_name"},
		{"device name", one("CON"), nil, "invalid_name"},
		{"duplicate without case", []signertest.File{{Name: "a.txt", Data: x}, {Name: "A.TXT", Data: x}}, nil, "invalid_name"},
		{"checksum mismatch", one("a.txt"), func(t *testing.T, cab string) {
			patch(t, cab, firstFile+16+len("a.txt")+1, 0xdeadbeef) // CFDATA.csum
		}, "checksum_mismatch"},
		{"overlapping files", []signertest.File{{Name: "a.txt", Data: x}, {Name: "b.txt", Data: x}}, func(t *testing.T, cab string) {
			patch(t, cab, firstFile+16+len("a.txt")+1+4, 0) // b.txt's uoffFolderStart: a.txt's bytes
		}, "malformed_cabinet"},
		{"overlapping folders", one("a.txt"), func(t *testing.T, cab string) { signertest.DuplicateFolder(t, cab) }, "malformed_cabinet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := t.TempDir()
			cab := signertest.StoredCabinet(t, filepath.Join(d, "hostile.cab"), false, tt.files...)
			if tt.after != nil {
				tt.after(t, cab)
			}
			out := filepath.Join(d, "ours.cab")
			stdout, _, code := run(t, append([]string{"sign", cab, "-o", out, "-O", "json"}, flags...)...)
			if got := decode[batchReport[signedItem]](t, stdout); code != exitFailed || len(got.Results) != 1 || got.Results[0].Error == nil || got.Results[0].Error.Code != tt.code {
				t.Errorf("sign: exit %d, %s; want exit 1, %s", code, stdout, tt.code)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("sign wrote a signed copy of it")
			}
			theirs := filepath.Join(d, "theirs.cab")
			osslSign(t, pki, cab, theirs)
			stdout, _, code = run(t, "verify", theirs, "--roots", root, "-O", "json")
			if got := decode[batchReport[signedItem]](t, stdout); code != exitFailed || len(got.Results) != 1 || got.Results[0].Error == nil || got.Results[0].Error.Code != tt.code {
				t.Errorf("verify of osslsigncode's signature: exit %d, %s; want exit 1, %s", code, stdout, tt.code)
			}
			if _, _, code := run(t, "publish", theirs, "--store", filepath.Join(d, "store")); code != exitFailed {
				t.Errorf("publish: exit %d, want %d", code, exitFailed)
			}
		})
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

// TestDefaultCabinetSignableByOthers: the default cabinet (build, cab
// create) is signed in place by osslsigncode, as an OEM's own signing
// service would, and by devupdate sign; each verifies the other's
// signature; and build recognises its cabinet signed either way.
func TestDefaultCabinetSignableByOthers(t *testing.T) {
	ossl := testtool.Need(t, "osslsigncode")
	dir := t.TempDir()
	pki := filepath.Join(dir, "pki")
	flags := devPKI(t, pki)
	root := filepath.Join(pki, "root.pem")
	built := func(t *testing.T, d string) string {
		if _, stderr, code := run(t, "build", exampleUpdate("app"), "-o", d); code != exitOK {
			t.Fatalf("build: %s", stderr)
		}
		return filepath.Join(d, "Contoso.Toaster.App_1.0.0.3.cab")
	}
	created := func(t *testing.T, d string) string { return newCab(t, d, "created.cab", []byte("payload")) }
	for _, mk := range []struct {
		name string
		cab  func(*testing.T, string) string
	}{{"build", built}, {"cab create", created}} {
		t.Run(mk.name+"/osslsigncode signs, devupdate verifies", func(t *testing.T) {
			d := t.TempDir()
			cab := mk.cab(t, d)
			osslSign(t, pki, cab, cab+".signed")
			if err := os.Rename(cab+".signed", cab); err != nil {
				t.Fatal(err)
			}
			if stdout, stderr, code := run(t, "verify", cab, "--roots", root); code != exitOK {
				t.Errorf("devupdate verify of osslsigncode's signature: exit %d: %s%s", code, stdout, stderr)
			}
			if mk.name == "build" {
				out, stderr, code := run(t, "build", exampleUpdate("app"), "-o", d, "-O", "json")
				if r := decode[batchReport[buildItem]](t, out).Results; code != exitOK || len(r) != 1 || r[0].Cabinet == nil || r[0].Cabinet.State != "unchanged" {
					t.Errorf("build after osslsigncode signed in place: exit %d: %s%s", code, out, stderr)
				}
			}
		})
		t.Run(mk.name+"/devupdate signs, osslsigncode verifies", func(t *testing.T) {
			cab := mk.cab(t, t.TempDir())
			if _, stderr, code := run(t, append([]string{"sign", cab}, flags...)...); code != exitOK {
				t.Fatalf("devupdate sign in place: %s", stderr)
			}
			if b, err := exec.Command(ossl, "verify", "-in", cab, "-CAfile", root).CombinedOutput(); err != nil {
				t.Errorf("osslsigncode verify of devupdate's signature: %v\n%s", err, b)
			}
		})
	}
}
