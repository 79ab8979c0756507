package signer_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/devupdate/devupdate/manifest"
	"github.com/devupdate/devupdate/packager"
	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/signer/devpki"
	"github.com/devupdate/devupdate/smbios"
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
	res, err := signer.Verify(ctx, cab, signer.Policy{Roots: pki.Roots()})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("ev:", res.EV, "kind:", res.Kind, "timestamped:", res.Timestamp != nil)
	// Output: ev: true kind: driver timestamped: false
}

// Sign an os update: the OEM signs the outer cabinet, but only after the OS
// vendor's signed package inside it verifies against the vendor's roots;
// the package itself is left exactly as the vendor signed it.
func ExampleSigner_SignFile_osUpdate() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	file := func(name string, data []byte) packager.File {
		return packager.File{Name: name, Size: int64(len(data)), Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
	}

	// The OS vendor's package, signed with the vendor's own key (TEST-ONLY here).
	vendor, _ := devpki.New(devpki.WithLeafCommonName("TEST-ONLY OS Vendor"))
	pkg := filepath.Join(dir, "vendor.cab")
	if _, err := packager.WriteFile(ctx, pkg, []packager.File{file("update.mum", []byte("<assembly/>"))}); err != nil {
		fmt.Println(err)
		return
	}
	vs, _ := signer.New(ctx, vendor.LeafKey, vendor.Chain(), signer.Policy{Roots: vendor.Roots()})
	if _, err := vs.SignFile(ctx, pkg, pkg); err != nil {
		fmt.Println(err)
		return
	}
	pkgBytes, _ := os.ReadFile(pkg)

	// The OEM's os update carrying it, as `devupdate build` writes it.
	target, _ := smbios.ParseCHID("3faec92a-3ae3-5744-be88-495e90a7d541")
	u := &manifest.Update{
		Name: "Contoso.Toaster.OS", Kind: manifest.KindOS, Version: manifest.Version{10, 0, 17763, 615},
		OSBuild: manifest.Version{10, 0, 17763, 615}, VendorSigned: true, Targets: []smbios.CHID{target},
		Files: []manifest.File{{Path: "os/vendor.cab", Size: int64(len(pkgBytes)), SHA256: fmt.Sprintf("%x", sha256.Sum256(pkgBytes))}},
	}
	doc, _ := u.EncodeJSON()
	outer := filepath.Join(dir, "Contoso.Toaster.OS.cab")
	if _, err := packager.WriteFile(ctx, outer, []packager.File{file("update.json", doc), file("os/vendor.cab", pkgBytes)}); err != nil {
		fmt.Println(err)
		return
	}

	oem, _ := devpki.New() // TEST-ONLY: production keys live in an HSM
	policy := signer.Policy{Roots: oem.Roots(), OSVendorRoots: vendor.Roots()}
	s, _ := signer.New(ctx, oem.LeafKey, oem.Chain(), policy)
	res, err := s.SignFile(ctx, outer, outer)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("outer signed by:", res.SubjectCN, "kind:", res.Kind)
	for _, p := range res.Packages {
		fmt.Println("vendor package:", p.Path, "signed by:", p.Signature.SubjectCN)
	}
	// Output:
	// outer signed by: devupdate TEST-ONLY Code Signing kind: os
	// vendor package: os/vendor.cab signed by: TEST-ONLY OS Vendor
}
