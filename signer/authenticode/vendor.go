package authenticode

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/devupdate/devupdate/internal/iox"
	"github.com/devupdate/devupdate/manifest/update"
	"github.com/devupdate/devupdate/packager/cabinet"
)

// MaxVendorPackageSize bounds one vendor package read out of an os-kind
// cabinet: the largest cabinet [MS-CAB] allows.
const MaxVendorPackageSize = 0x7FFFFFFF

// Package is a vendor package (.cab) inside an os-kind cabinet and its
// verified vendor signature.
type Package struct {
	// Path is the package's path inside the os-kind cabinet.
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Signature is the vendor's verified Authenticode signature; its File
	// is "CABINET!PATH".
	Signature *Result `json:"signature"`
}

// VerifyVendorPackages verifies every .cab inside the os-kind cabinet
// (named name, opened as cab, whose update.json is u) against
// p.VendorPolicy(). Each package is decompressed, bounded, into a
// temporary file, its size and SHA-256 compared with what update.json
// records, and its own Authenticode signature verified. The packages are
// only read, never changed.
func VerifyVendorPackages(ctx context.Context, name string, cab *cabinet.Cabinet, u *update.Update, p Policy) ([]Package, error) {
	if p.OSVendorRoots == nil {
		return nil, fmt.Errorf("%s: %w", name, ErrNoOSVendorRoots)
	}
	listed := map[string]update.File{}
	for _, f := range u.Files {
		listed[f.Path] = f
	}
	vp := p.VendorPolicy()
	var pkgs []Package
	for _, e := range cab.Files() {
		if !strings.EqualFold(path.Ext(e.Name), ".cab") {
			continue
		}
		pkg, err := verifyVendorPackage(ctx, name, cab, e, listed, vp)
		if err != nil {
			return nil, &PackageError{File: name, Path: e.Name, Err: err}
		}
		pkgs = append(pkgs, *pkg)
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("%s: %w", name, ErrNoVendorPackages)
	}
	return pkgs, nil
}

func verifyVendorPackage(ctx context.Context, name string, cab *cabinet.Cabinet, e cabinet.Entry, listed map[string]update.File, vp Policy) (*Package, error) {
	if e.Size > MaxVendorPackageSize {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrMalformed, e.Size, int64(MaxVendorPackageSize))
	}
	f, ok := listed[e.Name]
	if !ok {
		return nil, fmt.Errorf("%w: not listed in %s", ErrMalformed, manifestName)
	}
	rc, err := cab.Open(e.Name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	tmp, err := os.CreateTemp("", "devupdate-vendor-*.cab")
	if err != nil {
		return nil, err
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(iox.ContextReader(ctx, rc), e.Size+1))
	if err != nil {
		return nil, err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if n != e.Size || n != f.Size || sum != f.SHA256 {
		return nil, fmt.Errorf("%w: %d bytes with SHA-256 %s, %s records %d bytes with %s", ErrDigestMismatch, n, sum, manifestName, f.Size, f.SHA256)
	}
	res, err := verifySignature(ctx, name+"!"+e.Name, tmp, n, vp)
	if err != nil {
		return nil, err
	}
	return &Package{Path: e.Name, Size: n, SHA256: sum, Signature: res}, nil
}
