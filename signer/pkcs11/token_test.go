//go:build cgo

package pkcs11_test

import (
	"context"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	mpkcs11 "github.com/miekg/pkcs11"

	"github.com/devupdate/devupdate/internal/testtool"
	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/signer/devpki"
	"github.com/devupdate/devupdate/signer/pkcs11"
	"github.com/devupdate/devupdate/signer/pkcs11/softhsmtest"
	"github.com/devupdate/devupdate/signer/signertest"
)

const (
	tokenLabel = "devupdate-test"
	userPIN    = "123456"
	keyLabel   = "ev-signing"
)

// The token is made once per test process: relic keeps a PKCS#11 module
// initialised for the life of the process, and SoftHSM2 reads
// SOFTHSM2_CONF only when initialised.
var hsm struct {
	once   sync.Once
	dir    string
	module string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if hsm.dir != "" {
		os.RemoveAll(hsm.dir)
	}
	os.Exit(code)
}

// softhsm returns the module path of a SoftHSM2 token made once in a
// temporary directory (SOFTHSM2_CONF), with a non-extractable ECDSA P-256
// key pair generated on it by pkcs11-tool.
func softhsm(t *testing.T) string {
	t.Helper()
	hsm.once.Do(func() { hsm.module = makeToken(t) })
	if hsm.module == "" {
		t.Fatal("SoftHSM2 token setup failed in an earlier test")
	}
	return hsm.module
}

func makeToken(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "devupdate-softhsm-")
	if err != nil {
		t.Fatal(err)
	}
	hsm.dir = dir
	tok := softhsmtest.New(t, dir, tokenLabel, userPIN, keyLabel)
	os.Setenv("SOFTHSM2_CONF", tok.Conf)
	return tok.Module
}

// privateKeyAttrs reads CKA_EXTRACTABLE and CKA_SENSITIVE of the key, the
// properties that keep it inside the token.
func privateKeyAttrs(t *testing.T, module string) (extractable, sensitive bool) {
	t.Helper()
	c := mpkcs11.New(module)
	if c == nil {
		t.Fatal("cannot load module")
	}
	defer c.Destroy()
	if err := c.Initialize(); err != nil && !errors.Is(err, mpkcs11.Error(mpkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
		t.Fatal(err)
	} else if err == nil {
		defer c.Finalize()
	}
	slots, err := c.GetSlotList(true)
	if err != nil || len(slots) == 0 {
		t.Fatalf("slots: %v %v", slots, err)
	}
	sh, err := c.OpenSession(slots[0], mpkcs11.CKF_SERIAL_SESSION)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseSession(sh)
	if err := c.Login(sh, mpkcs11.CKU_USER, userPIN); err != nil && !errors.Is(err, mpkcs11.Error(mpkcs11.CKR_USER_ALREADY_LOGGED_IN)) {
		t.Fatal(err)
	}
	if err := c.FindObjectsInit(sh, []*mpkcs11.Attribute{
		mpkcs11.NewAttribute(mpkcs11.CKA_CLASS, mpkcs11.CKO_PRIVATE_KEY),
		mpkcs11.NewAttribute(mpkcs11.CKA_LABEL, keyLabel),
	}); err != nil {
		t.Fatal(err)
	}
	objs, _, err := c.FindObjects(sh, 2)
	_ = c.FindObjectsFinal(sh)
	if err != nil || len(objs) != 1 {
		t.Fatalf("private key objects: %v %v", objs, err)
	}
	attrs, err := c.GetAttributeValue(sh, objs[0], []*mpkcs11.Attribute{
		mpkcs11.NewAttribute(mpkcs11.CKA_EXTRACTABLE, nil),
		mpkcs11.NewAttribute(mpkcs11.CKA_SENSITIVE, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	return len(attrs[0].Value) == 1 && attrs[0].Value[0] != 0, len(attrs[1].Value) == 1 && attrs[1].Value[0] != 0
}

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestSignWithSoftHSM(t *testing.T) {
	ctx := context.Background()
	module := softhsm(t)
	if extractable, sensitive := privateKeyAttrs(t, module); extractable || !sensitive {
		t.Fatalf("token key CKA_EXTRACTABLE=%v CKA_SENSITIVE=%v, want false/true", extractable, sensitive)
	}
	uri := "pkcs11:token=" + tokenLabel + ";object=" + keyLabel
	key, err := pkcs11.Open(ctx, uri, env(map[string]string{signer.EnvPKCS11Module: module, signer.EnvPKCS11PIN: userPIN}), "")
	if err != nil {
		t.Fatal(err)
	}
	defer key.Close()
	// certify the token's key with a dev PKI
	pki, err := devpki.New(devpki.WithLeafKey(key))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "root.pem")
	if err := os.WriteFile(root, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pki.Root.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := signer.New(ctx, key, pki.Chain(), signer.Policy{Roots: pki.Roots()})
	if err != nil {
		t.Fatal(err)
	}
	in := signertest.GcabCabinet(t, filepath.Join(dir, "in.cab"), signertest.File{Name: "a.txt", Data: []byte("hello from the HSM test")})
	out := filepath.Join(dir, "out.cab")
	if _, err := s.SignFile(ctx, in, out); err != nil {
		t.Fatal(err)
	}
	if _, err := signer.Verify(ctx, out, signer.Policy{Roots: pki.Roots(), RequireEV: true}); err != nil {
		t.Fatal(err)
	}
	ossl := testtool.Need(t, "osslsigncode")
	if b, err := exec.Command(ossl, "verify", "-in", out, "-CAfile", root).CombinedOutput(); err != nil {
		t.Fatalf("osslsigncode verify: %v\n%s", err, b)
	}

	// the module from module-path= and the PIN from pin-source=file:
	pinFile := filepath.Join(dir, "pin")
	if err := os.WriteFile(pinFile, []byte(userPIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k2, err := pkcs11.Open(ctx, "pkcs11:token="+tokenLabel+";id=%0a%0b?module-path="+module+"&pin-source=file:"+pinFile, env(nil), "")
	if err != nil {
		t.Fatalf("module-path + pin-source + id: %v", err)
	}
	k2.Close()
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	module := softhsm(t)
	good := map[string]string{signer.EnvPKCS11Module: module, signer.EnvPKCS11PIN: userPIN}
	tests := []struct {
		name string
		uri  string
		env  map[string]string
		want error
	}{
		{"wrong PIN", "pkcs11:token=" + tokenLabel + ";object=" + keyLabel, map[string]string{signer.EnvPKCS11Module: module, signer.EnvPKCS11PIN: "000000"}, signer.ErrWrongPIN},
		{"missing token", "pkcs11:token=no-such-token;object=" + keyLabel, good, signer.ErrTokenNotFound},
		{"missing key", "pkcs11:token=" + tokenLabel + ";object=no-such-key", good, signer.ErrKeyNotFound},
		{"no PIN", "pkcs11:token=" + tokenLabel + ";object=" + keyLabel, map[string]string{signer.EnvPKCS11Module: module}, signer.ErrNoPIN},
		{"empty PIN", "pkcs11:token=" + tokenLabel + ";object=" + keyLabel, map[string]string{signer.EnvPKCS11Module: module, signer.EnvPKCS11PIN: ""}, signer.ErrNoPIN},
		{"pin-value in URI", "pkcs11:token=" + tokenLabel + ";object=" + keyLabel + "?pin-value=" + userPIN, good, signer.ErrPINInURI},
		{"no module", "pkcs11:token=" + tokenLabel + ";object=" + keyLabel, map[string]string{signer.EnvPKCS11PIN: userPIN}, signer.ErrKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := pkcs11.Open(ctx, tt.uri, env(tt.env), "")
			if err == nil {
				k.Close()
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			for _, other := range []error{signer.ErrWrongPIN, signer.ErrTokenNotFound, signer.ErrKeyNotFound, signer.ErrNoPIN, signer.ErrPINInURI} {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("err = %v is also %v", err, other)
				}
			}
		})
	}
}
