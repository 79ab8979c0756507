package signer

import (
	"context"
	"crypto"
	"crypto/x509"
	"io"
	"time"

	"github.com/devupdate/devupdate/signer/authenticode"
)

// Verification is package authenticode's, the one verifier (the device
// agent imports it without relic, PKCS #11 or this signer). These names
// keep signer's API for its callers.
type (
	// Policy is authenticode.Policy.
	Policy = authenticode.Policy
	// Result is authenticode.Result.
	Result = authenticode.Result
	// Package is authenticode.Package.
	Package = authenticode.Package
)

// KindOS is authenticode.KindOS.
const KindOS = authenticode.KindOS

// OIDEVCodeSigning and MinRSABits are authenticode's.
var OIDEVCodeSigning = authenticode.OIDEVCodeSigning

// MinRSABits is authenticode.MinRSABits.
const MinRSABits = authenticode.MinRSABits

// MaxSignatureSize and MaxVendorPackageSize are authenticode's bounds.
const (
	MaxSignatureSize     = authenticode.MaxSignatureSize
	MaxVendorPackageSize = authenticode.MaxVendorPackageSize
)

// Verify is authenticode.Verify.
func Verify(ctx context.Context, path string, policy Policy) (*Result, error) {
	return authenticode.Verify(ctx, path, policy)
}

// VerifyReaderAt is authenticode.VerifyReaderAt.
func VerifyReaderAt(ctx context.Context, name string, r io.ReaderAt, size int64, policy Policy) (*Result, error) {
	return authenticode.VerifyReaderAt(ctx, name, r, size, policy)
}

// IsEV is authenticode.IsEV.
func IsEV(cert *x509.Certificate) bool { return authenticode.IsEV(cert) }

// CheckCertificate is authenticode.CheckCertificate.
func CheckCertificate(leaf *x509.Certificate, intermediates []*x509.Certificate, key crypto.PublicKey, roots *x509.CertPool, at time.Time, requireEV bool) error {
	return authenticode.CheckCertificate(leaf, intermediates, key, roots, at, requireEV)
}
