package main

import (
	"errors"
	"slices"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/cdn/azure"
	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/cmd/internal/smbioscodes"
	"github.com/devupdate/devupdate/flight"
	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/internal/iox"
	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/internal/strictjson"
	"github.com/devupdate/devupdate/internal/verifycodes"
	"github.com/devupdate/devupdate/manifest"
	"github.com/devupdate/devupdate/manifest/build"
	"github.com/devupdate/devupdate/manifest/update"
	"github.com/devupdate/devupdate/packager/cabinet"
	"github.com/devupdate/devupdate/signer"
)

// codes are the machine-readable error codes of devupdate's libraries, in
// the order they are tried: the first match wins, so an error wrapping
// several sentinels gets the most precise code (a vendor package refused
// for an expired certificate is vendor_package_refused; the message says
// why). The SMBIOS codes (cmd/internal/smbioscodes, shared with the agent)
// come last, then cli.Common. The README lists them.
var codes = slices.Concat(cli.Codes{
	// flighting
	cli.Is(flight.ErrNotInitialised, "not_initialised"),
	cli.Is(flight.ErrUnknownRing, "unknown_ring"),
	cli.Is(flight.ErrUnknownProduct, "unknown_product"),
	cli.Is(flight.ErrVersionNotHigher, "version_not_higher"),
	cli.Is(flight.ErrDuplicateVersion, "duplicate_version"),
	cli.Is(flight.ErrNotInRing, "not_in_ring"),
	cli.Is(flight.ErrHalted, "halted"),
	cli.Is(flight.ErrSoak, "soak_not_over"),
	cli.Is(flight.ErrTransition, "invalid_transition"),
	cli.Is(flight.ErrNotPublished, "not_published"),
	cli.Is(flight.ErrConflict, "conflict"),
	cli.Is(flight.ErrExpiring, "expiring"),
	cli.Is(catalog.ErrWrongRepository, "wrong_repository"),
	cli.Is(flight.ErrCorrupt, "corrupt_metadata"),
	cli.Is(flight.ErrConfig, "invalid_config"),
	cli.Is(flight.ErrKey, "key_unusable"),
	cli.Is(flight.ErrNoReason, "no_reason"),
	cli.Is(catalog.ErrInvalidEntry, "invalid_catalog_entry"),
	// keys and tokens
	// A PIN in the URI, a missing PIN, module or chain are usage errors
	// (exit 2, no JSON: see keyUsage); the codes name them for library
	// callers and the table's completeness.
	cli.Is(signer.ErrPINInURI, "pin_in_uri"),
	cli.Is(signer.ErrWrongPIN, "wrong_pin"),
	cli.Is(signer.ErrNoPIN, "no_pin"),
	cli.Is(signer.ErrTokenNotFound, "token_not_found"),
	cli.Is(signer.ErrKeyNotFound, "key_not_found"),
	cli.Is(signer.ErrNoCgo, "no_pkcs11"),
	cli.Is(signer.ErrNoModule, "no_pkcs11_module"),
	cli.Is(signer.ErrNoPFXPassword, "no_pfx_password"),
	cli.Is(signer.ErrNoChain, "no_chain"),
	cli.Is(signer.ErrSubject, "invalid_subject"),
	cli.Is(signer.ErrKey, "key_unusable"),
	// signatures and cabinets (internal/verifycodes, shared with the
	// agent; signer's and packager's sentinels are those libraries')
	cli.Is(signer.ErrAlreadySigned, "already_signed"),
}, cli.Table(verifycodes.Codes), cli.Codes{
	cli.Is(build.ErrExists, "exists"),
	cli.Is(build.ErrPayloadChanged, "payload_changed"),
	cli.Is(build.ErrNotBuilt, "not_built"),
	// stores
	cli.Is(azure.ErrNoCredentials, "no_credentials"),
	cli.Is(cdn.ErrDigestMismatch, "digest_mismatch"),
	cli.Is(cdn.ErrExists, "exists"),
	cli.Is(cdn.ErrPreconditionFailed, "precondition_failed"),
	cli.Is(cdn.ErrNotFound, "not_found"),
	cli.Is(cdn.ErrInvalidURL, "invalid_url"),
	cli.Is(cdn.ErrInvalidBaseURL, "invalid_url"),
	cli.Is(cdn.ErrInvalidKey, "invalid_key"),
	cli.Is(cdn.ErrInvalidRange, "invalid_range"),
	cli.As[*cdn.StatusError]("store_error"),
	// input files, SMBIOS and bounded reads
	cli.Is(update.ErrJSONSyntax, "invalid_update_json"),
	cli.Is(update.ErrSchema, "invalid_update_json"),
	cli.Is(problem.ErrInvalid, cli.CodeInvalidInput),
	cli.Is(iox.ErrTooLarge, "too_large"),
	cli.Is(iox.ErrNotExpected, "digest_mismatch"), // a stream that is not the bytes hashed before
	// The rules of an input file. They reach a person inside a problem
	// list (invalid_input, each problem naming its rule); alone, they are
	// the same kind of failure.
	cli.Is(strictjson.ErrNotObject, cli.CodeInvalidInput),
	cli.Is(manifest.ErrPattern, cli.CodeInvalidInput),
	inputRules(update.ErrRequired, update.ErrKind, update.ErrZeroVersion, update.ErrTextTooLong,
		update.ErrControlCharacter, update.ErrNoTargets, update.ErrZeroTarget, update.ErrDuplicate,
		update.ErrRequiresSelf, update.ErrNoFiles, update.ErrReservedPath, update.ErrPathConflict,
		update.ErrSize, update.ErrDigest, update.ErrKindField, update.ErrNotInPayload,
		update.ErrOnlyForKind, update.ErrName, update.ErrProductName, update.ErrVersion,
		update.ErrPathAbsolute, update.ErrPathEscape, update.ErrPathBackslash, update.ErrPathSegment,
		update.ErrPathName, update.ErrPathLong, cabinet.ErrPathEncoding, cabinet.ErrPathCollision),
}, smbioscodes.Codes)

// inputRules is the invalid_input code for errors wrapping any of rules.
func inputRules(rules ...error) cli.Code {
	return cli.Code{Code: cli.CodeInvalidInput, Match: func(err error) bool {
		for _, r := range rules {
			if errors.Is(err, r) {
				return true
			}
		}
		return false
	}}
}
