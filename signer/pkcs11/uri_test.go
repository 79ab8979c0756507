package pkcs11_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/signer/pkcs11"
)

func TestParseURI(t *testing.T) {
	u, err := pkcs11.ParseURI("pkcs11:token=My%20HSM;object=ev-key;id=%01%02;serial=42;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin")
	if err != nil {
		t.Fatal(err)
	}
	if u.Token != "My HSM" || u.Object != "ev-key" || !bytes.Equal(u.ID, []byte{1, 2}) || u.Serial != "42" ||
		u.ModulePath != "/usr/lib/softhsm/libsofthsm2.so" || u.PINSource != "file:/run/pin" {
		t.Errorf("parsed %+v", u)
	}
	bad := []struct {
		uri  string
		want error
	}{
		{"pkcs11:token=t;object=k?pin-value=1234", signer.ErrPINInURI},
		{"pkcs11:token=t;object=k;pin-value=1234", signer.ErrPINInURI},
		{"file:/x", signer.ErrKey},
		{"pkcs11:token=t", signer.ErrKey},                      // no key named
		{"pkcs11:token=t;object=k;objekt=typo", signer.ErrKey}, // unknown attribute
		{"pkcs11:token=t;token=u;object=k", signer.ErrKey},     // repeated
		{"pkcs11:token=t;object=k;type=public", signer.ErrKey},
		{"pkcs11:token=%zz;object=k", signer.ErrKey},
	}
	for _, tt := range bad {
		if _, err := pkcs11.ParseURI(tt.uri); !errors.Is(err, tt.want) {
			t.Errorf("ParseURI(%q) = %v, want %v", tt.uri, err, tt.want)
		}
	}
}

func FuzzParseURI(f *testing.F) {
	f.Add("pkcs11:token=a;object=b?module-path=/m&pin-source=file:/p")
	f.Add("pkcs11:id=%00%ff;type=private")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := pkcs11.ParseURI(s)
		if err == nil && u.Object == "" && len(u.ID) == 0 {
			t.Fatalf("accepted %q naming no key", s)
		}
	})
}
