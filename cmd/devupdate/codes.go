package main

import (
	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/cdn/azure"
	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/internal/iox"
	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/manifest/build"
	"github.com/devupdate/devupdate/packager"
	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/smbios"
)

// codes are the machine-readable error codes of devupdate's libraries, in
// the order they are tried: the first match wins, so an error wrapping
// several sentinels gets the most precise code (a vendor package refused
// for an expired certificate is vendor_package_refused; the message says
// why). cli.Common follows. The README lists them.
var codes = cli.Codes{
	// keys and tokens
	cli.Is(signer.ErrPINInURI, "pin_in_uri"),
	cli.Is(signer.ErrWrongPIN, "wrong_pin"),
	cli.Is(signer.ErrNoPIN, "no_pin"),
	cli.Is(signer.ErrTokenNotFound, "token_not_found"),
	cli.Is(signer.ErrKeyNotFound, "key_not_found"),
	cli.Is(signer.ErrNoCgo, "no_pkcs11"),
	cli.Is(signer.ErrNoModule, "no_pkcs11_module"),
	cli.Is(signer.ErrNoChain, "no_chain"),
	cli.Is(signer.ErrSubject, "invalid_subject"),
	cli.Is(signer.ErrKey, "key_unusable"),
	// signatures
	cli.Is(signer.ErrVendorPackage, "vendor_package_refused"),
	cli.Is(signer.ErrNoVendorPackages, "no_vendor_packages"),
	cli.Is(signer.ErrNoOSVendorRoots, "no_os_vendor_roots"),
	cli.Is(signer.ErrInvalidUpdateJSON, "invalid_update_json"),
	cli.Is(signer.ErrAlreadySigned, "already_signed"),
	cli.Is(signer.ErrNotSigned, "not_signed"),
	cli.Is(signer.ErrDigestMismatch, "digest_mismatch"),
	cli.Is(signer.ErrUnsupportedDigest, "unsupported_digest"),
	cli.Is(signer.ErrTimestamp, "timestamp_failed"),
	cli.Is(signer.ErrBadSignature, "bad_signature"),
	cli.Is(signer.ErrSubjectMismatch, "subject_mismatch"),
	cli.Is(signer.ErrNotCodeSigning, "certificate_not_code_signing"),
	cli.Is(signer.ErrNoDigitalSignature, "certificate_no_digital_signature"),
	cli.Is(signer.ErrExpired, "certificate_expired"),
	cli.Is(signer.ErrNotYetValid, "certificate_not_yet_valid"),
	cli.Is(signer.ErrNotEV, "certificate_not_ev"),
	cli.Is(signer.ErrWeakKey, "certificate_weak_key"),
	cli.Is(signer.ErrKeyMismatch, "key_certificate_mismatch"),
	cli.Is(signer.ErrUntrustedChain, "certificate_untrusted"),
	cli.Is(signer.ErrMalformed, "malformed_cabinet"),
	// cabinets
	cli.Is(packager.ErrChecksum, "checksum_mismatch"),
	cli.Is(packager.ErrTooLarge, "too_large"),
	cli.Is(packager.ErrLimit, "format_limit"),
	cli.Is(packager.ErrInvalidName, "invalid_name"),
	cli.Is(packager.ErrSizeMismatch, "size_mismatch"),
	cli.Is(packager.ErrUnsupported, "unsupported_cabinet"),
	cli.Is(packager.ErrMalformed, "malformed_cabinet"),
	cli.Is(packager.ErrNoFiles, "no_files"),
	cli.Is(packager.ErrExists, "exists"),
	cli.Is(build.ErrExists, "exists"),
	cli.Is(build.ErrPayloadChanged, "payload_changed"),
	// stores
	cli.Is(azure.ErrNoCredentials, "no_credentials"),
	cli.Is(cdn.ErrDigestMismatch, "digest_mismatch"),
	cli.Is(cdn.ErrExists, "exists"),
	cli.Is(cdn.ErrPreconditionFailed, "precondition_failed"),
	cli.Is(cdn.ErrNotFound, "not_found"),
	cli.Is(cdn.ErrInvalidURL, "invalid_url"),
	cli.As[*cdn.StatusError]("store_error"),
	// input files, SMBIOS and bounded reads
	cli.Is(problem.ErrInvalid, cli.CodeInvalidInput),
	cli.Is(smbios.ErrNoSMBIOS, "no_smbios"),
	cli.Is(smbios.ErrMalformed, "malformed_smbios"),
	cli.Is(iox.ErrTooLarge, "too_large"),
}
