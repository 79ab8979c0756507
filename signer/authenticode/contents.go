package authenticode

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/devupdate/devupdate/internal/iox"
	"github.com/devupdate/devupdate/manifest/update"
	"github.com/devupdate/devupdate/packager/cabinet"
)

// MaxVendorPackageSize bounds one vendor package read out of an os-kind
// cabinet: the largest cabinet [MS-CAB] allows.
const MaxVendorPackageSize = 0x7FFFFFFF

// Buffers of the vendor packages' hashes in flight: two per hash and
// package in the pipeline is enough to keep both hashes busy.
const (
	hashBuffers    = 8
	hashBufferSize = 256 << 10
)

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

// Contents is what a cabinet holds that its signature vouches for and
// verification checks: its update.json and, for an os-kind cabinet, the
// OS vendor's packages.
type Contents struct {
	// Update is the embedded update.json; nil when the cabinet has none.
	Update *update.Update
	// Packages are the vendor packages (.cab) of an os-kind cabinet, in
	// stored order, each with its verified vendor signature; nil for the
	// other kinds.
	Packages []Package
}

// Kind is the update's kind, "" for a cabinet without update.json.
func (c *Contents) Kind() string { return kindOf(c.Update) }

// ReadContents reads the cabinet of size bytes in r, named name in
// errors, in one streaming pass: each folder is decompressed once, in
// order (cabinet.Cabinet.Walk), whatever the number of files. update.json
// is read as it passes (bounded by update.MaxJSONSize) and parsed strictly
// by update.ParseJSON; a present but invalid one is an *UpdateJSONError.
// When p.OSVendorRoots is set, every .cab inside is verified as its bytes
// come out: its SHA-256 and its own Authenticode digest are computed at
// once, on two goroutines, its header parsed from its first bytes and its
// signature kept from its last (each within its bound), so no package is
// held whole, whatever its size. For an os-kind cabinet each package must
// then be listed in update.json with the size and SHA-256 it has, and its
// signature verify against p.VendorPolicy(); the first refusal in stored
// order is a *PackageError. An os-kind cabinet without p.OSVendorRoots is
// ErrNoOSVendorRoots, one without a .cab ErrNoVendorPackages. The
// packages are only read, never changed.
func ReadContents(ctx context.Context, name string, r io.ReaderAt, size int64, p Policy) (*Contents, error) {
	var vp *Policy
	if p.OSVendorRoots != nil {
		v := p.VendorPolicy()
		vp = &v
	}
	u, pkgs, err := readContents(ctx, name, r, size, vp)
	if err != nil {
		return nil, err
	}
	c := &Contents{Update: u}
	if c.Kind() != KindOS {
		return c, nil
	}
	if vp == nil {
		return nil, fmt.Errorf("%s: %w", name, ErrNoOSVendorRoots)
	}
	listed := map[string]update.File{}
	for _, f := range u.Files {
		listed[f.Path] = f
	}
	for _, pkg := range pkgs {
		if err := pkg.check(listed); err != nil {
			return nil, &PackageError{File: name, Path: pkg.entry.Name, Err: err}
		}
		c.Packages = append(c.Packages, Package{Path: pkg.entry.Name, Size: pkg.n, SHA256: pkg.sha256, Signature: pkg.sig})
	}
	if len(c.Packages) == 0 {
		return nil, fmt.Errorf("%s: %w", name, ErrNoVendorPackages)
	}
	return c, nil
}

// ReadUpdate is what ReadContents reads of a cabinet without the OS
// vendor's roots: its structure checked in one pass, and its update.json
// (nil when it has none; a present but invalid one is an
// *UpdateJSONError). The vendor packages of an os-kind cabinet are not
// looked at.
func ReadUpdate(ctx context.Context, name string, r io.ReaderAt, size int64) (*update.Update, error) {
	u, _, err := readContents(ctx, name, r, size, nil)
	return u, err
}

// readContents walks the cabinet once: it keeps update.json and, when vp
// is not nil, hashes and verifies every .cab against *vp as it streams.
// The packages come back in stored order, each with what it was found to
// be; whether that is acceptable is ReadContents's to say.
func readContents(ctx context.Context, name string, r io.ReaderAt, size int64, vp *Policy) (*update.Update, []*vendorPackage, error) {
	cab, err := cabinet.Open(r, size, cabinet.WithName(name))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrMalformed, err) // err names the file and the place
	}
	manifest := slices.IndexFunc(cab.Files(), func(e cabinet.Entry) bool { return strings.EqualFold(e.Name, manifestName) })
	if manifest >= 0 {
		if e := cab.Files()[manifest]; e.Size > maxManifestSize {
			return nil, nil, &UpdateJSONError{File: name, Err: fmt.Errorf("%s is %d bytes, more than %d", manifestName, e.Size, maxManifestSize)}
		}
	}
	var (
		data []byte
		pkgs []*vendorPackage
		bufs *iox.Buffers
	)
	if vp != nil {
		bufs = iox.NewBuffers(hashBuffers, hashBufferSize)
	}
	err = cab.Walk(ctx, func(i int, e cabinet.Entry, rd io.Reader) error {
		var err error
		switch {
		case i == manifest:
			data, err = io.ReadAll(rd) // e.Size, bounded above
		case vp != nil && strings.EqualFold(path.Ext(e.Name), ".cab"):
			pkg := verifyPackage(name, i, e, rd, bufs, *vp)
			pkgs = append(pkgs, pkg)
			err = pkg.readErr
		}
		return err
	})
	for _, pkg := range pkgs {
		<-pkg.done // no goroutine outlives the call
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, fmt.Errorf("%w: %w", ErrMalformed, err) // err names the file and the place
	}
	slices.SortFunc(pkgs, func(a, b *vendorPackage) int { return cmp.Compare(a.index, b.index) })
	if manifest < 0 {
		return nil, pkgs, nil
	}
	u, err := update.ParseJSON(name+"!"+manifestName, data)
	if err != nil {
		return nil, nil, &UpdateJSONError{File: name, Err: err}
	}
	return u, pkgs, nil
}

// vendorPackage is a .cab inside a cabinet as it was found: its size and
// SHA-256, and its verified signature or why it was refused. Its fields
// are set when done is closed.
type vendorPackage struct {
	index   int
	entry   cabinet.Entry
	n       int64
	sha256  string
	sig     *Result
	sigErr  error // the refusal of its Authenticode signature
	readErr error // the outer cabinet's data could not be read
	done    chan struct{}
}

// verifyPackage reads one package from rd, feeding its SHA-256 and its
// Authenticode digest on their own goroutines from bufs, and returns
// without waiting for them: its signature is verified against vp once
// both are done (then done is closed), while the walk goes on to the next
// package.
func verifyPackage(cabName string, i int, e cabinet.Entry, rd io.Reader, bufs *iox.Buffers, vp Policy) *vendorPackage {
	pkg := &vendorPackage{index: i, entry: e, done: make(chan struct{})}
	sum, imp := sha256.New(), newImprinter(cabName+"!"+e.Name, e.Size)
	w := bufs.Writer(sum, imp)
	pkg.n, pkg.readErr = w.ReadFrom(rd)
	go func() {
		defer close(pkg.done)
		_ = w.Close() // the imprinter's refusal is its Sum's
		pkg.sha256 = hex.EncodeToString(sum.Sum(nil))
		if pkg.readErr != nil {
			return
		}
		digest, blob, err := imp.Sum()
		if err != nil {
			pkg.sigErr = err
			return
		}
		pkg.sig, pkg.sigErr = VerifyBlob(imp.name, blob, digest, vp)
	}()
	return pkg
}

// check applies, in order, the rules a vendor package of an os-kind
// cabinet obeys: within its bound, listed in update.json with its size and
// SHA-256, and signed by the vendor.
func (p *vendorPackage) check(listed map[string]update.File) error {
	if p.entry.Size > MaxVendorPackageSize {
		return fmt.Errorf("%w: %d bytes, more than %d", ErrMalformed, p.entry.Size, int64(MaxVendorPackageSize))
	}
	f, ok := listed[p.entry.Name]
	if !ok {
		return fmt.Errorf("%w: not listed in %s", ErrMalformed, manifestName)
	}
	if p.n != p.entry.Size || p.n != f.Size || p.sha256 != f.SHA256 {
		return fmt.Errorf("%w: %d bytes with SHA-256 %s, %s records %d bytes with %s", ErrDigestMismatch, p.n, p.sha256, manifestName, f.Size, f.SHA256)
	}
	return p.sigErr
}
