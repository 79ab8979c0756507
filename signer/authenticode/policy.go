package authenticode

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"slices"
	"time"
)

// OIDEVCodeSigning is the CA/Browser Forum EV code-signing certificate
// policy 2.23.140.1.3.
var OIDEVCodeSigning = asn1.ObjectIdentifier{2, 23, 140, 1, 3}

// MinRSABits is the smallest RSA modulus the policy accepts.
const MinRSABits = 3072

// Policy is what a signature must satisfy to be accepted. It is a required
// argument of Verify (and of signer.New, which signs under it): there is no
// default trust.
type Policy struct {
	// Roots the signer's chain must build to. Required.
	Roots *x509.CertPool
	// OSVendorRoots verify the vendor packages (.cab) inside an os-kind
	// cabinet (see VendorPolicy); the os-kind cabinet itself is signed by
	// the OEM and verified against Roots like any other. Default nil: an
	// os-kind cabinet is refused with ErrNoOSVendorRoots.
	OSVendorRoots *x509.CertPool
	// TimestampRoots verify the chain of the timestamp authority of the
	// signature under check (the OEM's). Default nil: Roots are used, or
	// the system roots with SystemTimestampRoots.
	TimestampRoots *x509.CertPool
	// SystemTimestampRoots makes a nil TimestampRoots stand for the system
	// roots, loaded only when a timestamp is checked (parsing the system
	// store costs more than verifying a small cabinet). Default false.
	SystemTimestampRoots bool
	// OSVendorTimestampRoots verify the chain of the timestamp authority
	// of the vendor packages' signatures inside an os-kind cabinet: the OS
	// vendor timestamps with its own authority, not the OEM's, so the
	// OEM's TimestampRoots are not trusted for them. Default nil: the
	// system roots, loaded only when a vendor package is timestamped.
	OSVendorTimestampRoots *x509.CertPool
	// RequireEV refuses a signer without the EV policy OID on verify.
	// Default false on verify; signing always requires EV unless
	// WithUnsafeAllowNonEV is given.
	RequireEV bool
	// RequireSubject, when not empty, must equal the signer's subject
	// common name or its whole RFC 2253 subject. Default: any subject.
	RequireSubject string
	// RequireSubjects lists further accepted subjects (each a common name
	// or a whole RFC 2253 subject), so that the certificate an EV
	// renewal brings can be rolled out while the old one is still in use:
	// with RequireSubject, the signer must match one of them. Default:
	// none.
	RequireSubjects []string
	// CurrentTime is the time an untimestamped signature is checked at.
	// Default zero: the time of the check.
	CurrentTime time.Time
}

// timestampRoots are the roots a timestamp must chain to.
func (p *Policy) timestampRoots() (*x509.CertPool, error) {
	switch {
	case p.TimestampRoots != nil:
		return p.TimestampRoots, nil
	case p.SystemTimestampRoots:
		return x509.SystemCertPool()
	}
	return p.Roots, nil
}

// Now is the time an untimestamped signature is checked at:
// CurrentTime, or the time of the call.
func (p *Policy) Now() time.Time {
	if p.CurrentTime.IsZero() {
		return time.Now()
	}
	return p.CurrentTime
}

// subjects returns every subject the policy accepts (none: any).
func (p *Policy) subjects() []string {
	var out []string
	if p.RequireSubject != "" {
		out = append(out, p.RequireSubject)
	}
	return append(out, p.RequireSubjects...)
}

// VendorPolicy is the policy the vendor packages inside an os-kind
// cabinet are verified against, derived from p: their chain must build to
// p.OSVendorRoots, with the code-signing EKU, digitalSignature, key
// strength and validity (at the vendor's timestamp, or p.CurrentTime)
// rules, but without EV (an OS vendor signs with its own, non-EV
// certificates) or the required subjects (which name the OEM). Timestamps
// chain to p.OSVendorTimestampRoots, or to the system roots when that is
// nil; never to the OEM's p.TimestampRoots.
func (p Policy) VendorPolicy() Policy {
	return Policy{Roots: p.OSVendorRoots, TimestampRoots: p.OSVendorTimestampRoots, SystemTimestampRoots: true, CurrentTime: p.CurrentTime}
}

func refuse(rule Rule, cert *x509.Certificate, sentinel error, format string, args ...any) error {
	return &PolicyError{Rule: rule, Subject: cert.Subject.String(), Reason: fmt.Sprintf(format, args...), err: sentinel}
}

// IsEV reports whether the certificate carries the EV code-signing policy.
func IsEV(cert *x509.Certificate) bool {
	if slices.ContainsFunc(cert.PolicyIdentifiers, OIDEVCodeSigning.Equal) {
		return true
	}
	return slices.ContainsFunc(cert.Policies, func(o x509.OID) bool { return o.EqualASN1OID(OIDEVCodeSigning) })
}

// CheckCertificate applies the certificate policy to leaf (signing checks
// its key and chain with it before signing, verification checks the
// signer with it), in order: the
// code-signing EKU, the digitalSignature key usage, validity at time at
// (leaf and intermediates), the EV policy when requireEV, key strength, that
// key (when not nil) is the leaf's key, and that the chain builds to roots.
// The first refusal is returned as a *PolicyError.
func CheckCertificate(leaf *x509.Certificate, intermediates []*x509.Certificate, key crypto.PublicKey, roots *x509.CertPool, at time.Time, requireEV bool) error {
	if !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageCodeSigning) {
		return refuse(RuleCodeSigningEKU, leaf, ErrNotCodeSigning, "extended key usage lacks codeSigning (1.3.6.1.5.5.7.3.3)")
	}
	if leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return refuse(RuleDigitalSignature, leaf, ErrNoDigitalSignature, "key usage lacks digitalSignature")
	}
	for _, c := range append([]*x509.Certificate{leaf}, intermediates...) {
		if at.Before(c.NotBefore) {
			return refuse(RuleValidity, c, ErrNotYetValid, "valid from %s, checked at %s", c.NotBefore.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
		}
		if at.After(c.NotAfter) {
			return refuse(RuleValidity, c, ErrExpired, "expired %s, checked at %s", c.NotAfter.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
		}
	}
	if requireEV && !IsEV(leaf) {
		return refuse(RuleEV, leaf, ErrNotEV, "certificate policies lack %s", OIDEVCodeSigning)
	}
	switch pub := leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < MinRSABits {
			return refuse(RuleKeyStrength, leaf, ErrWeakKey, "RSA key of %d bits", pub.N.BitLen())
		}
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() && pub.Curve != elliptic.P384() {
			return refuse(RuleKeyStrength, leaf, ErrWeakKey, "ECDSA curve %s", pub.Curve.Params().Name)
		}
	default:
		return refuse(RuleKeyStrength, leaf, ErrWeakKey, "key type %T", leaf.PublicKey)
	}
	if key != nil {
		k, ok := key.(interface{ Equal(crypto.PublicKey) bool })
		if !ok || !k.Equal(leaf.PublicKey) {
			return refuse(RuleKeyMatch, leaf, ErrKeyMismatch, "the signing key's public half is not the certificate's")
		}
	}
	if roots == nil {
		return refuse(RuleChain, leaf, ErrUntrustedChain, "no roots given")
	}
	pool := x509.NewCertPool()
	for _, c := range intermediates {
		pool.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: pool,
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	})
	if err != nil {
		return refuse(RuleChain, leaf, ErrUntrustedChain, "%v", err)
	}
	return nil
}
