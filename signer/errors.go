package signer

import (
	"errors"
	"fmt"

	"github.com/devupdate/devupdate/signer/authenticode"
)

// Verification errors are package authenticode's (the one verifier, which
// the device side imports without this signer); these names keep signer's
// API. Every error either package returns wraps one of these sentinels.
var (
	ErrMalformed            = authenticode.ErrMalformed
	ErrNotSigned            = authenticode.ErrNotSigned
	ErrBadSignature         = authenticode.ErrBadSignature
	ErrDigestMismatch       = authenticode.ErrDigestMismatch
	ErrUnsupportedDigest    = authenticode.ErrUnsupportedDigest
	ErrUnsupportedAlgorithm = authenticode.ErrUnsupportedAlgorithm
	ErrInvalidUpdateJSON    = authenticode.ErrInvalidUpdateJSON
	ErrNoOSVendorRoots      = authenticode.ErrNoOSVendorRoots
	ErrVendorPackage        = authenticode.ErrVendorPackage
	ErrNoVendorPackages     = authenticode.ErrNoVendorPackages
	ErrSubjectMismatch      = authenticode.ErrSubjectMismatch
	ErrTimestamp            = authenticode.ErrTimestamp

	ErrPolicy             = authenticode.ErrPolicy
	ErrNotCodeSigning     = authenticode.ErrNotCodeSigning
	ErrNoDigitalSignature = authenticode.ErrNoDigitalSignature
	ErrExpired            = authenticode.ErrExpired
	ErrNotYetValid        = authenticode.ErrNotYetValid
	ErrNotEV              = authenticode.ErrNotEV
	ErrWeakKey            = authenticode.ErrWeakKey
	ErrKeyMismatch        = authenticode.ErrKeyMismatch
	ErrUntrustedChain     = authenticode.ErrUntrustedChain
)

// Signing errors.
var (
	// ErrAlreadySigned: the cabinet handed to sign already carries an
	// Authenticode signature that is not the signer's own (another
	// certificate, or one that fails the signer's policy). A signature is
	// never replaced: a vendor's signed package stays the vendor's.
	ErrAlreadySigned = errors.New("cabinet already carries an Authenticode signature (never re-signed)")
	// ErrNoChain: signing was asked without a certificate chain (the key is
	// not a PKCS#12 file carrying one, and no PEM chain was given).
	ErrNoChain = errors.New("no certificate chain given")
	// ErrKey: a key could not be loaded or used.
	ErrKey = errors.New("signing key unusable")
	// ErrWrongPIN: the token refused the PIN (or the PKCS#12 password).
	ErrWrongPIN = errors.New("wrong PIN or password")
	// ErrTokenNotFound: no PKCS#11 token matches the URI.
	ErrTokenNotFound = errors.New("no PKCS#11 token matches")
	// ErrKeyNotFound: the token holds no key matching the URI.
	ErrKeyNotFound = errors.New("no key matches")
	// ErrNoPIN: a PIN or password is needed and none was provided.
	ErrNoPIN = errors.New("no PIN or password provided")
	// ErrNoPFXPassword: a PKCS#12 key file needs a password and none was
	// provided (it is also ErrNoPIN).
	ErrNoPFXPassword = fmt.Errorf("%w: no PKCS#12 password", ErrNoPIN)
	// ErrNoModule: a pkcs11: key needs a PKCS#11 module and none was named
	// (it is also ErrKey).
	ErrNoModule = fmt.Errorf("%w: no PKCS#11 module", ErrKey)
	// ErrPINInURI: the key URI carries the PIN itself (pin-value=), which
	// would leak it through process listings and shell history.
	ErrPINInURI = errors.New("pkcs11 URI must not carry pin-value (use DEVUPDATE_PKCS11_PIN or pin-source=file:PATH)")
	// ErrNoCgo: this binary was built without cgo and cannot load PKCS#11.
	ErrNoCgo = errors.New("PKCS#11 needs a binary built with cgo")
)

// Rule, the policy rules and the typed errors are authenticode's.
type (
	Rule            = authenticode.Rule
	PolicyError     = authenticode.PolicyError
	CabinetError    = authenticode.CabinetError
	UpdateJSONError = authenticode.UpdateJSONError
	PackageError    = authenticode.PackageError
	SignatureError  = authenticode.SignatureError
)

// The certificate policy rules (see authenticode.Rule).
const (
	RuleCodeSigningEKU   = authenticode.RuleCodeSigningEKU
	RuleDigitalSignature = authenticode.RuleDigitalSignature
	RuleValidity         = authenticode.RuleValidity
	RuleEV               = authenticode.RuleEV
	RuleKeyStrength      = authenticode.RuleKeyStrength
	RuleKeyMatch         = authenticode.RuleKeyMatch
	RuleChain            = authenticode.RuleChain
)
