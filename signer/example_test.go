package signer_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/devupdate/devupdate/packager"
	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/signer/devpki"
)

// Sign a cabinet in place with a TEST-ONLY EV chain and verify it, requiring EV.
func ExampleSigner_SignFile() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	manifest := []byte(`{"kind": "driver", "name": "Contoso.Toaster.Driver"}`)
	cab := filepath.Join(dir, "toaster.cab")
	_, err := packager.WriteFile(ctx, cab, []packager.File{{
		Name: "update.json", Size: int64(len(manifest)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(manifest)), nil },
	}})
	if err != nil {
		fmt.Println(err)
		return
	}

	pki, _ := devpki.New() // TEST-ONLY: production keys live in an HSM (package signer/pkcs11)
	s, err := signer.New(ctx, pki.LeafKey, pki.Chain(), signer.Policy{Roots: pki.Roots()})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := s.SignFile(ctx, cab, cab); err != nil {
		fmt.Println(err)
		return
	}
	res, err := signer.Verify(ctx, cab, signer.Policy{Roots: pki.Roots(), RequireEV: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("ev:", res.EV, "kind:", res.Kind, "timestamped:", res.Timestamp != nil)
	// Output: ev: true kind: driver timestamped: false
}
