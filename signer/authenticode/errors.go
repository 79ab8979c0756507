package authenticode

import (
	"errors"
	"fmt"
)

// Sentinels for the ways a signed cabinet or a certificate is refused.
// Every error this package returns wraps one of them (test with errors.Is);
// policy refusals are also a *PolicyError naming the rule and certificate.
var (
	// ErrMalformed: the cabinet's header area is not one signer can read
	// (wrapped in a *CabinetError with the offset and rule).
	ErrMalformed = errors.New("malformed cabinet")
	// ErrNotSigned: the cabinet carries no Authenticode signature.
	ErrNotSigned = errors.New("cabinet is not signed")
	// ErrBadSignature: the PKCS#7 signature or its timestamp does not verify.
	ErrBadSignature = errors.New("invalid signature")
	// ErrDigestMismatch: the cabinet's bytes are not the ones that were signed.
	ErrDigestMismatch = errors.New("cabinet digest does not match its signature")
	// ErrUnsupportedDigest: the signature uses a digest other than SHA-256.
	ErrUnsupportedDigest = errors.New("signature digest is not SHA-256")
	// ErrInvalidUpdateJSON: the cabinet's update.json is present but not a
	// valid update manifest (wrapped in an *UpdateJSONError).
	ErrInvalidUpdateJSON = errors.New("invalid update.json")
	// ErrNoOSVendorRoots: an os-kind cabinet was signed or verified without
	// the OS vendor's roots, which its vendor packages are checked against.
	ErrNoOSVendorRoots = errors.New("os-kind cabinet needs the OS vendor's roots to verify its vendor packages")
	// ErrVendorPackage: a vendor package (.cab) inside an os-kind cabinet
	// does not verify (wrapped in a *PackageError with the reason).
	ErrVendorPackage = errors.New("OS vendor package refused")
	// ErrNoVendorPackages: an os-kind cabinet holds no vendor .cab package.
	ErrNoVendorPackages = errors.New("os-kind cabinet holds no vendor .cab package")
	// ErrSubjectMismatch: the signer is not the subject the policy requires.
	ErrSubjectMismatch = errors.New("signer subject does not match the required subject")
	// ErrTimestamp: the timestamp authority could not be reached or its
	// answer is not a valid RFC 3161 token for this signature.
	ErrTimestamp = errors.New("timestamp failed")
	// ErrUnsupportedAlgorithm: the signature uses an algorithm this
	// verifier does not accept (only RSA PKCS #1 v1.5 and ECDSA with
	// SHA-256, SHA-384 or SHA-512).
	ErrUnsupportedAlgorithm = errors.New("unsupported signature algorithm")

	// ErrPolicy is wrapped by every certificate policy refusal below.
	ErrPolicy = errors.New("certificate policy")
	// ErrNotCodeSigning: the leaf lacks the code-signing EKU 1.3.6.1.5.5.7.3.3.
	ErrNotCodeSigning = fmt.Errorf("%w: no code-signing extended key usage", ErrPolicy)
	// ErrNoDigitalSignature: the leaf lacks the digitalSignature key usage.
	ErrNoDigitalSignature = fmt.Errorf("%w: no digitalSignature key usage", ErrPolicy)
	// ErrExpired: a certificate's notAfter is before the time checked.
	ErrExpired = fmt.Errorf("%w: certificate expired", ErrPolicy)
	// ErrNotYetValid: a certificate's notBefore is after the time checked.
	ErrNotYetValid = fmt.Errorf("%w: certificate not yet valid", ErrPolicy)
	// ErrNotEV: the leaf lacks the EV code-signing policy OID 2.23.140.1.3.
	ErrNotEV = fmt.Errorf("%w: not an EV code-signing certificate (policy 2.23.140.1.3)", ErrPolicy)
	// ErrWeakKey: the key is not RSA >= 3072 bits or ECDSA P-256/P-384.
	ErrWeakKey = fmt.Errorf("%w: key must be RSA >= 3072 bits or ECDSA P-256/P-384", ErrPolicy)
	// ErrKeyMismatch: the signing key is not the certificate's key.
	ErrKeyMismatch = fmt.Errorf("%w: key does not match the certificate", ErrPolicy)
	// ErrUntrustedChain: the chain does not build to the given roots.
	ErrUntrustedChain = fmt.Errorf("%w: chain does not build to the given roots", ErrPolicy)
)

// Rule names a certificate policy rule; it is what a refusal reports.
type Rule string

// The certificate policy rules, in the order they are checked.
const (
	RuleCodeSigningEKU   Rule = "code-signing-eku"
	RuleDigitalSignature Rule = "digital-signature-ku"
	RuleValidity         Rule = "validity-period"
	RuleEV               Rule = "ev-policy"
	RuleKeyStrength      Rule = "key-strength"
	RuleKeyMatch         Rule = "key-matches-certificate"
	RuleChain            Rule = "chain-to-roots"
)

// PolicyError is a certificate policy refusal: which rule, which
// certificate, why. It unwraps to one of the ErrNot…/ErrExpired/… sentinels
// (and through them to ErrPolicy).
type PolicyError struct {
	Rule    Rule
	Subject string // the certificate the rule refused
	Reason  string
	err     error
}

func (e *PolicyError) Error() string {
	return fmt.Sprintf("certificate %q: rule %s: %s", e.Subject, e.Rule, e.Reason)
}

func (e *PolicyError) Unwrap() error { return e.err }

// CabinetError locates a malformed cabinet: file, byte offset, the
// structure there when known, and rule.
type CabinetError struct {
	File      string
	Offset    int64
	Structure string // "CFHEADER", or "" when the place is the cabinet at large
	Rule      string
}

// Error is FILE:OFFSET: STRUCTURE: RULE, the form of every binary input's
// problem.
func (e *CabinetError) Error() string {
	if e.Structure == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Offset, e.Rule)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Offset, e.Structure, e.Rule)
}

func (e *CabinetError) Unwrap() error { return ErrMalformed }

// UpdateJSONError: the update.json of File is present but invalid. It
// unwraps to ErrInvalidUpdateJSON and to the manifest's problems (a
// problem.List, itself wrapping problem.ErrInvalid).
type UpdateJSONError struct {
	File string
	Err  error
}

func (e *UpdateJSONError) Error() string {
	return fmt.Sprintf("%s: %s: %v", e.File, ErrInvalidUpdateJSON, e.Err)
}

func (e *UpdateJSONError) Unwrap() []error { return []error{ErrInvalidUpdateJSON, e.Err} }

// PackageError: the vendor package Path inside the os-kind cabinet File is
// refused. It unwraps to ErrVendorPackage and to the reason (a policy
// refusal, ErrDigestMismatch, ErrNotSigned, ...).
type PackageError struct {
	File string
	Path string
	Err  error
}

func (e *PackageError) Error() string {
	return fmt.Sprintf("%s: vendor package %s: %v", e.File, e.Path, e.Err)
}

func (e *PackageError) Unwrap() []error { return []error{ErrVendorPackage, e.Err} }

// SignatureError locates a malformed or invalid signature blob: which
// structure (SignedData, SignerInfo, the RFC 3161 token, ...) and why. It
// unwraps to its sentinel (ErrBadSignature, ErrTimestamp,
// ErrUnsupportedDigest, ErrUnsupportedAlgorithm).
type SignatureError struct {
	File      string
	Structure string
	Reason    string
	Err       error
}

func (e *SignatureError) Error() string {
	return fmt.Sprintf("%s: %v: %s: %s", e.File, e.Err, e.Structure, e.Reason)
}

func (e *SignatureError) Unwrap() error { return e.Err }
