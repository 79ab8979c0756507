package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/cdn/azure"
	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/cmd/internal/cli/clitest"
	"github.com/devupdate/devupdate/flight"
	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/internal/iox"
	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/internal/strictjson"
	"github.com/devupdate/devupdate/manifest"
	"github.com/devupdate/devupdate/manifest/build"
	"github.com/devupdate/devupdate/manifest/update"
	"github.com/devupdate/devupdate/packager"
	"github.com/devupdate/devupdate/packager/cabinet"
	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/signer/authenticode"
)

// sentinels are the exported sentinel errors of devupdate's libraries, by
// package directory and name. TestEverySentinelHasACode finds them in the
// source: a new sentinel fails it until it is listed here with its code
// in codes.go.
var sentinels = map[string]error{
	"flight.ErrConfig":                            flight.ErrConfig,
	"flight.ErrConflict":                          flight.ErrConflict,
	"flight.ErrCorrupt":                           flight.ErrCorrupt,
	"flight.ErrDuplicateVersion":                  flight.ErrDuplicateVersion,
	"flight.ErrExpiring":                          flight.ErrExpiring,
	"flight.ErrHalted":                            flight.ErrHalted,
	"flight.ErrKey":                               flight.ErrKey,
	"flight.ErrNoReason":                          flight.ErrNoReason,
	"flight.ErrNotInRing":                         flight.ErrNotInRing,
	"flight.ErrNotInitialised":                    flight.ErrNotInitialised,
	"flight.ErrNotPublished":                      flight.ErrNotPublished,
	"flight.ErrSoak":                              flight.ErrSoak,
	"flight.ErrTransition":                        flight.ErrTransition,
	"flight.ErrUnknownProduct":                    flight.ErrUnknownProduct,
	"flight.ErrUnknownRing":                       flight.ErrUnknownRing,
	"flight.ErrVersionNotHigher":                  flight.ErrVersionNotHigher,
	"flight/catalog.ErrInvalidEntry":              catalog.ErrInvalidEntry,
	"flight/catalog.ErrWrongRepository":           catalog.ErrWrongRepository,
	"cdn.ErrDigestMismatch":                       cdn.ErrDigestMismatch,
	"cdn.ErrExists":                               cdn.ErrExists,
	"cdn.ErrInvalidBaseURL":                       cdn.ErrInvalidBaseURL,
	"cdn.ErrInvalidKey":                           cdn.ErrInvalidKey,
	"cdn.ErrInvalidRange":                         cdn.ErrInvalidRange,
	"cdn.ErrInvalidURL":                           cdn.ErrInvalidURL,
	"cdn.ErrNotFound":                             cdn.ErrNotFound,
	"cdn.ErrPreconditionFailed":                   cdn.ErrPreconditionFailed,
	"cdn/azure.ErrNoCredentials":                  azure.ErrNoCredentials,
	"internal/iox.ErrTooLarge":                    iox.ErrTooLarge,
	"internal/problem.ErrInvalid":                 problem.ErrInvalid,
	"internal/strictjson.ErrNotObject":            strictjson.ErrNotObject,
	"manifest.ErrName":                            manifest.ErrName,
	"manifest.ErrPathAbsolute":                    manifest.ErrPathAbsolute,
	"manifest.ErrPathBackslash":                   manifest.ErrPathBackslash,
	"manifest.ErrPathEscape":                      manifest.ErrPathEscape,
	"manifest.ErrPathLong":                        manifest.ErrPathLong,
	"manifest.ErrPathName":                        manifest.ErrPathName,
	"manifest.ErrPathSegment":                     manifest.ErrPathSegment,
	"manifest.ErrPattern":                         manifest.ErrPattern,
	"manifest.ErrVersion":                         manifest.ErrVersion,
	"manifest/build.ErrExists":                    build.ErrExists,
	"manifest/build.ErrNotBuilt":                  build.ErrNotBuilt,
	"manifest/build.ErrPayloadChanged":            build.ErrPayloadChanged,
	"manifest/update.ErrControlCharacter":         update.ErrControlCharacter,
	"manifest/update.ErrDigest":                   update.ErrDigest,
	"manifest/update.ErrDuplicate":                update.ErrDuplicate,
	"manifest/update.ErrJSONSyntax":               update.ErrJSONSyntax,
	"manifest/update.ErrKind":                     update.ErrKind,
	"manifest/update.ErrKindField":                update.ErrKindField,
	"manifest/update.ErrName":                     update.ErrName,
	"manifest/update.ErrNoFiles":                  update.ErrNoFiles,
	"manifest/update.ErrNoTargets":                update.ErrNoTargets,
	"manifest/update.ErrNotInPayload":             update.ErrNotInPayload,
	"manifest/update.ErrOnlyForKind":              update.ErrOnlyForKind,
	"manifest/update.ErrPathAbsolute":             update.ErrPathAbsolute,
	"manifest/update.ErrPathBackslash":            update.ErrPathBackslash,
	"manifest/update.ErrPathConflict":             update.ErrPathConflict,
	"manifest/update.ErrPathEscape":               update.ErrPathEscape,
	"manifest/update.ErrPathLong":                 update.ErrPathLong,
	"manifest/update.ErrPathName":                 update.ErrPathName,
	"manifest/update.ErrPathSegment":              update.ErrPathSegment,
	"manifest/update.ErrProductName":              update.ErrProductName,
	"manifest/update.ErrRequired":                 update.ErrRequired,
	"manifest/update.ErrRequiresSelf":             update.ErrRequiresSelf,
	"manifest/update.ErrReservedPath":             update.ErrReservedPath,
	"manifest/update.ErrSchema":                   update.ErrSchema,
	"manifest/update.ErrSize":                     update.ErrSize,
	"manifest/update.ErrTextTooLong":              update.ErrTextTooLong,
	"manifest/update.ErrVersion":                  update.ErrVersion,
	"manifest/update.ErrZeroTarget":               update.ErrZeroTarget,
	"manifest/update.ErrZeroVersion":              update.ErrZeroVersion,
	"packager.ErrChecksum":                        packager.ErrChecksum,
	"packager.ErrExists":                          packager.ErrExists,
	"packager.ErrInvalidName":                     packager.ErrInvalidName,
	"packager.ErrInvalidOption":                   packager.ErrInvalidOption,
	"packager.ErrLimit":                           packager.ErrLimit,
	"packager.ErrMalformed":                       packager.ErrMalformed,
	"packager.ErrNoFiles":                         packager.ErrNoFiles,
	"packager.ErrNotFound":                        packager.ErrNotFound,
	"packager.ErrSizeMismatch":                    packager.ErrSizeMismatch,
	"packager.ErrTooLarge":                        packager.ErrTooLarge,
	"packager.ErrUnsupported":                     packager.ErrUnsupported,
	"packager/cabinet.ErrChecksum":                cabinet.ErrChecksum,
	"packager/cabinet.ErrExists":                  cabinet.ErrExists,
	"packager/cabinet.ErrInvalidName":             cabinet.ErrInvalidName,
	"packager/cabinet.ErrInvalidOption":           cabinet.ErrInvalidOption,
	"packager/cabinet.ErrLimit":                   cabinet.ErrLimit,
	"packager/cabinet.ErrMalformed":               cabinet.ErrMalformed,
	"packager/cabinet.ErrNoFiles":                 cabinet.ErrNoFiles,
	"packager/cabinet.ErrNotFound":                cabinet.ErrNotFound,
	"packager/cabinet.ErrSizeMismatch":            cabinet.ErrSizeMismatch,
	"packager/cabinet.ErrTooLarge":                cabinet.ErrTooLarge,
	"packager/cabinet.ErrUnsupported":             cabinet.ErrUnsupported,
	"signer.ErrAlreadySigned":                     signer.ErrAlreadySigned,
	"signer.ErrBadSignature":                      signer.ErrBadSignature,
	"signer.ErrDigestMismatch":                    signer.ErrDigestMismatch,
	"signer.ErrExpired":                           signer.ErrExpired,
	"signer.ErrInvalidUpdateJSON":                 signer.ErrInvalidUpdateJSON,
	"signer.ErrKey":                               signer.ErrKey,
	"signer.ErrKeyMismatch":                       signer.ErrKeyMismatch,
	"signer.ErrKeyNotFound":                       signer.ErrKeyNotFound,
	"signer.ErrMalformed":                         signer.ErrMalformed,
	"signer.ErrNoCgo":                             signer.ErrNoCgo,
	"signer.ErrNoChain":                           signer.ErrNoChain,
	"signer.ErrNoDigitalSignature":                signer.ErrNoDigitalSignature,
	"signer.ErrNoModule":                          signer.ErrNoModule,
	"signer.ErrNoOSVendorRoots":                   signer.ErrNoOSVendorRoots,
	"signer.ErrNoPFXPassword":                     signer.ErrNoPFXPassword,
	"signer.ErrNoPIN":                             signer.ErrNoPIN,
	"signer.ErrNoVendorPackages":                  signer.ErrNoVendorPackages,
	"signer.ErrNotCodeSigning":                    signer.ErrNotCodeSigning,
	"signer.ErrNotEV":                             signer.ErrNotEV,
	"signer.ErrNotSigned":                         signer.ErrNotSigned,
	"signer.ErrNotYetValid":                       signer.ErrNotYetValid,
	"signer.ErrPINInURI":                          signer.ErrPINInURI,
	"signer.ErrPolicy":                            signer.ErrPolicy,
	"signer.ErrSubject":                           signer.ErrSubject,
	"signer.ErrSubjectMismatch":                   signer.ErrSubjectMismatch,
	"signer.ErrTimestamp":                         signer.ErrTimestamp,
	"signer.ErrTokenNotFound":                     signer.ErrTokenNotFound,
	"signer.ErrUnsupportedAlgorithm":              signer.ErrUnsupportedAlgorithm,
	"signer.ErrUnsupportedDigest":                 signer.ErrUnsupportedDigest,
	"signer.ErrUntrustedChain":                    signer.ErrUntrustedChain,
	"signer.ErrVendorPackage":                     signer.ErrVendorPackage,
	"signer.ErrWeakKey":                           signer.ErrWeakKey,
	"signer.ErrWrongPIN":                          signer.ErrWrongPIN,
	"signer/authenticode.ErrBadSignature":         authenticode.ErrBadSignature,
	"signer/authenticode.ErrDigestMismatch":       authenticode.ErrDigestMismatch,
	"signer/authenticode.ErrExpired":              authenticode.ErrExpired,
	"signer/authenticode.ErrInvalidUpdateJSON":    authenticode.ErrInvalidUpdateJSON,
	"signer/authenticode.ErrKeyMismatch":          authenticode.ErrKeyMismatch,
	"signer/authenticode.ErrMalformed":            authenticode.ErrMalformed,
	"signer/authenticode.ErrNoDigitalSignature":   authenticode.ErrNoDigitalSignature,
	"signer/authenticode.ErrNoOSVendorRoots":      authenticode.ErrNoOSVendorRoots,
	"signer/authenticode.ErrNoVendorPackages":     authenticode.ErrNoVendorPackages,
	"signer/authenticode.ErrNotCodeSigning":       authenticode.ErrNotCodeSigning,
	"signer/authenticode.ErrNotEV":                authenticode.ErrNotEV,
	"signer/authenticode.ErrNotSigned":            authenticode.ErrNotSigned,
	"signer/authenticode.ErrNotYetValid":          authenticode.ErrNotYetValid,
	"signer/authenticode.ErrPolicy":               authenticode.ErrPolicy,
	"signer/authenticode.ErrSubjectMismatch":      authenticode.ErrSubjectMismatch,
	"signer/authenticode.ErrTimestamp":            authenticode.ErrTimestamp,
	"signer/authenticode.ErrUnsupportedAlgorithm": authenticode.ErrUnsupportedAlgorithm,
	"signer/authenticode.ErrUnsupportedDigest":    authenticode.ErrUnsupportedDigest,
	"signer/authenticode.ErrUntrustedChain":       authenticode.ErrUntrustedChain,
	"signer/authenticode.ErrVendorPackage":        authenticode.ErrVendorPackage,
	"signer/authenticode.ErrWeakKey":              authenticode.ErrWeakKey,
}

// Every exported sentinel of every library has an error code other than
// "failed", so a script can tell each failure apart; the list above is
// checked against the source, so a new sentinel cannot be forgotten.
func TestEverySentinelHasACode(t *testing.T) {
	// Package smbios's sentinels are cmd/internal/smbioscodes' (both
	// binaries link it), checked there; the device agent's (which
	// devupdate does not link) are cmd/devupdate-agent's.
	var found []string
	for _, name := range clitest.Sentinels(t, "../..", "cmd", "hack", "internal/agent") {
		if !strings.HasPrefix(name, "smbios.") {
			found = append(found, name)
		}
	}
	var listed []string
	for name := range sentinels {
		listed = append(listed, name)
	}
	slices.Sort(listed)
	for _, name := range found {
		if _, ok := sentinels[name]; !ok {
			t.Errorf("%s is not in sentinels: list it and give it a code in codes.go", name)
		}
	}
	for _, name := range listed {
		if !slices.Contains(found, name) {
			t.Errorf("%s is listed but not declared in the source", name)
		}
		if code := codes.Of(fmt.Errorf("context: %w", sentinels[name])); code == cli.CodeFailed {
			t.Errorf("%s has no error code (it would be reported as %q): add one to codes.go and the README", name, code)
		}
	}
	if err := append(codes, cli.Common...).Check(); err != nil {
		t.Error(err)
	}
}
