package signer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"

	"github.com/devupdate/devupdate/signer"
)

func TestParseSubject(t *testing.T) {
	n, err := signer.ParseSubject(`CN=Contoso\, Ltd,O=Contoso Ltd,OU=Devices,C=US,businessCategory=Private Organization,jurisdictionC=US,SERIALNUMBER=600413485`)
	if err != nil {
		t.Fatal(err)
	}
	if n.CommonName != "Contoso, Ltd" || n.Organization[0] != "Contoso Ltd" || n.SerialNumber != "600413485" || len(n.ExtraNames) != 2 {
		t.Errorf("parsed %+v", n)
	}
	for _, bad := range []string{"", "Contoso", "O=Contoso", "CN=", "CN=x,EMAIL=a@b", "CN=x,,O=y"} {
		if _, err := signer.ParseSubject(bad); !errors.Is(err, signer.ErrSubject) {
			t.Errorf("ParseSubject(%q) = %v, want ErrSubject", bad, err)
		}
	}
}

func TestCreateCSR(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	name, _ := signer.ParseSubject("CN=Contoso Ltd,O=Contoso Ltd,C=US")
	out, err := signer.CreateCSR(context.Background(), key, name)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(out)
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil || csr.CheckSignature() != nil || csr.Subject.CommonName != "Contoso Ltd" || !csr.PublicKey.(*ecdsa.PublicKey).Equal(&key.PublicKey) {
		t.Errorf("request %+v, %v", csr, err)
	}
	weak, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := signer.CreateCSR(context.Background(), weak, name); !errors.Is(err, signer.ErrWeakKey) {
		t.Errorf("P-224 key: %v, want ErrWeakKey", err)
	}
}

// FuzzParseSubject: any string either parses into a name with a common
// name, or is refused with ErrSubject; it never panics.
func FuzzParseSubject(f *testing.F) {
	for _, s := range []string{"CN=a", `CN=a\,b,O=c`, "CN=x,jurisdictionST=WA", "=", `\`, "CN=a,\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := signer.ParseSubject(s)
		if err != nil {
			if !errors.Is(err, signer.ErrSubject) {
				t.Fatalf("error %v is not ErrSubject", err)
			}
			return
		}
		if n.CommonName == "" {
			t.Fatalf("%q parsed without a common name", s)
		}
	})
}
