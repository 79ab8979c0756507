package signer_test

import (
	"bytes"
	"context"
	"crypto/sha256"
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
	inf := []byte("[Version]\r\nSignature=\"$WINDOWS NT$\"\r\n")
	// update.json as `devupdate build` writes it (manifest.Update.EncodeJSON).
	manifest := []byte(fmt.Sprintf(`{"files": [{"path": "toaster.inf", "sha256": "%x", "size": %d}], "inf": "toaster.inf",
"kind": "driver", "name": "Contoso.Toaster.Driver", "schema": 1, "targets": ["3faec92a-3ae3-5744-be88-495e90a7d541"], "version": "1.0.0.2"}`,
		sha256.Sum256(inf), len(inf)))
	cab := filepath.Join(dir, "toaster.cab")
	file := func(name string, data []byte) packager.File {
		return packager.File{Name: name, Size: int64(len(data)), Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
	}
	_, err := packager.WriteFile(ctx, cab, []packager.File{file("update.json", manifest), file("toaster.inf", inf)})
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
