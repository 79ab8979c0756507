// Package verifycodes holds the error codes of the libraries that check
// cabinets, which both binaries link: the Authenticode verifier
// (signer/authenticode, which devupdate's signer re-exports) and the
// cabinet reader (packager/cabinet, re-exported by packager). devupdate's
// code table and the agent's (and so its reports) are built from it, so a
// script sees one vocabulary for one failure, whichever binary met it.
package verifycodes

import (
	"github.com/devupdate/devupdate/packager/cabinet"
	"github.com/devupdate/devupdate/signer/authenticode"
)

// Code names an error: the first entry of a table whose Err errors.Is
// matches gives the code.
type Code struct {
	Err  error
	Code string
}

// Codes, most precise first: a vendor package refused for an expired
// certificate is vendor_package_refused (the message says why); a cabinet
// the verifier refuses is also authenticode.ErrMalformed, tried after the
// cabinet reader's reasons, which are more precise. The cabinet reader's
// path-rule sentinels are left to each binary: devupdate reports them as
// invalid_input of a manifest, the agent as an invalid_name in a cabinet.
var Codes = []Code{
	// signatures
	{authenticode.ErrVendorPackage, "vendor_package_refused"},
	{authenticode.ErrNoVendorPackages, "no_vendor_packages"},
	{authenticode.ErrNoOSVendorRoots, "no_os_vendor_roots"},
	{authenticode.ErrInvalidUpdateJSON, "invalid_update_json"},
	{authenticode.ErrNotSigned, "not_signed"},
	{authenticode.ErrDigestMismatch, "digest_mismatch"},
	{authenticode.ErrUnsupportedDigest, "unsupported_digest"},
	{authenticode.ErrUnsupportedAlgorithm, "unsupported_algorithm"},
	{authenticode.ErrTimestamp, "timestamp_failed"},
	{authenticode.ErrBadSignature, "bad_signature"},
	{authenticode.ErrSubjectMismatch, "subject_mismatch"},
	{authenticode.ErrNotCodeSigning, "certificate_not_code_signing"},
	{authenticode.ErrNoDigitalSignature, "certificate_no_digital_signature"},
	{authenticode.ErrExpired, "certificate_expired"},
	{authenticode.ErrNotYetValid, "certificate_not_yet_valid"},
	{authenticode.ErrNotEV, "certificate_not_ev"},
	{authenticode.ErrWeakKey, "certificate_weak_key"},
	{authenticode.ErrKeyMismatch, "key_certificate_mismatch"},
	{authenticode.ErrUntrustedChain, "certificate_untrusted"},
	{authenticode.ErrPolicy, "certificate_policy"},
	// cabinets
	{cabinet.ErrChecksum, "checksum_mismatch"},
	{cabinet.ErrTooLarge, "too_large"},
	{cabinet.ErrLimit, "format_limit"},
	{cabinet.ErrInvalidName, "invalid_name"},
	{cabinet.ErrSizeMismatch, "size_mismatch"},
	{cabinet.ErrUnsupported, "unsupported_cabinet"},
	{cabinet.ErrMalformed, "malformed_cabinet"},
	{cabinet.ErrNoFiles, "no_files"},
	{cabinet.ErrExists, "exists"},
	{cabinet.ErrNotFound, "not_found"},
	{cabinet.ErrInvalidOption, "invalid_option"},
	{authenticode.ErrMalformed, "malformed_cabinet"},
}
