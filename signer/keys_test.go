package signer_test

import (
	"context"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/devupdate/devupdate/signer"
)

func env(m map[string]string) signer.KeyOption {
	return signer.WithEnv(func(k string) (string, bool) { v, ok := m[k]; return v, ok })
}

func TestOpenKeySources(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	dir := t.TempDir()
	pfxData, err := pkcs12.Modern.Encode(f.pki.LeafKey, f.pki.Leaf, []*x509.Certificate{f.pki.Intermediate}, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	pfx := filepath.Join(dir, "ev.pfx")
	if err := os.WriteFile(pfx, pfxData, 0o600); err != nil {
		t.Fatal(err)
	}
	passFile := filepath.Join(dir, "pass")
	if err := os.WriteFile(passFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(f.dir, "leaf.key")
	tests := []struct {
		name      string
		ref       string
		opts      []signer.KeyOption
		want      error
		wantChain int
	}{
		{"bare path", keyFile, nil, nil, 0},
		{"file: URI", "file:" + keyFile, nil, nil, 0},
		{"pfx, password from env", pfx, []signer.KeyOption{env(map[string]string{signer.EnvPFXPassword: "s3cret"})}, nil, 2},
		{"pfx, password from file", pfx, []signer.KeyOption{env(nil), signer.WithPFXPasswordFile(passFile)}, nil, 2},
		{"pfx, wrong password", pfx, []signer.KeyOption{env(map[string]string{signer.EnvPFXPassword: "nope"})}, signer.ErrWrongPIN, 0},
		{"pfx, no password", pfx, []signer.KeyOption{env(nil)}, signer.ErrNoPIN, 0},
		{"not a key", filepath.Join(f.dir, "root.pem"), nil, signer.ErrKey, 0},
		{"missing file", filepath.Join(dir, "none.key"), nil, signer.ErrKey, 0},
		{"pkcs11 without support", "pkcs11:token=t;object=k", nil, signer.ErrNoCgo, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := signer.OpenKey(ctx, tt.ref, tt.opts...)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err != nil {
				return
			}
			defer k.Close()
			if len(k.Chain) != tt.wantChain {
				t.Errorf("chain of %d certificates, want %d", len(k.Chain), tt.wantChain)
			}
			if _, err := signer.New(ctx, k, f.pki.Chain(), f.policy); err != nil {
				t.Errorf("key does not match its certificate: %v", err)
			}
		})
	}
}

// TestSignCabinetsPFX: the chain stored in a .pfx signs without --cert.
func TestSignCabinetsPFX(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	pfxData, err := pkcs12.Modern.Encode(f.pki.LeafKey, f.pki.Leaf, []*x509.Certificate{f.pki.Intermediate}, "pw")
	if err != nil {
		t.Fatal(err)
	}
	pfx := filepath.Join(t.TempDir(), "ev.p12")
	if err := os.WriteFile(pfx, pfxData, 0o600); err != nil {
		t.Fatal(err)
	}
	cab := gcabCab(t)
	res, err := signer.SignCabinets(ctx, signer.SignRequest{
		Files: []string{cab}, Key: pfx, RootsFile: f.rootFile,
		KeyOptions: []signer.KeyOption{env(map[string]string{signer.EnvPFXPassword: "pw"})},
	})
	if err != nil || len(res) != 1 {
		t.Fatalf("SignCabinets: %v %v", res, err)
	}
	if err := osslVerify(t, cab, f.rootFile); err != nil {
		t.Error(err)
	}
}
