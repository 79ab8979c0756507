package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/cmd/internal/cli/clitest"
	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/internal/agent"
	"github.com/devupdate/devupdate/internal/agent/config"
	"github.com/devupdate/devupdate/internal/agent/fetch"
	"github.com/devupdate/devupdate/internal/agent/handler"
	"github.com/devupdate/devupdate/internal/agent/report"
	"github.com/devupdate/devupdate/internal/agent/state"
	"github.com/devupdate/devupdate/packager/cabinet"
	"github.com/devupdate/devupdate/signer/authenticode"
)

// sentinels are the exported sentinel errors of the agent's packages and
// of the device-side libraries whose errors reach the agent's reports (the
// verifier, the cabinet reader, the catalog), by package directory and
// name; TestEverySentinelHasACode finds them in the source. (SMBIOS's are
// cmd/internal/smbioscodes'.)
var sentinels = map[string]error{
	"internal/agent.ErrBusy":                      agent.ErrBusy,
	"internal/agent.ErrCabinetMismatch":           agent.ErrCabinetMismatch,
	"internal/agent.ErrGaveUp":                    agent.ErrGaveUp,
	"internal/agent.ErrNoTargetingCHID":           agent.ErrNoTargetingCHID,
	"internal/agent.ErrRequirementFailed":         agent.ErrRequirementFailed,
	"internal/agent/config.ErrInvalid":            config.ErrInvalid,
	"internal/agent/config.ErrNoRingRoot":         config.ErrNoRingRoot,
	"internal/agent/fetch.ErrDigestMismatch":      fetch.ErrDigestMismatch,
	"internal/agent/fetch.ErrNotFound":            fetch.ErrNotFound,
	"internal/agent/fetch.ErrTooLong":             fetch.ErrTooLong,
	"internal/agent/fetch.ErrTruncated":           fetch.ErrTruncated,
	"internal/agent/fetch.ErrUnreachable":         fetch.ErrUnreachable,
	"internal/agent/handler.ErrFailed":            handler.ErrFailed,
	"internal/agent/handler.ErrNoHandler":         handler.ErrNoHandler,
	"internal/agent/handler.ErrTimeout":           handler.ErrTimeout,
	"internal/agent/report.ErrInvalid":            report.ErrInvalid,
	"internal/agent/report.ErrRejected":           report.ErrRejected,
	"internal/agent/state.ErrCorrupt":             state.ErrCorrupt,
	"internal/agent/state.ErrLocked":              state.ErrLocked,
	"flight/catalog.ErrInvalidEntry":              catalog.ErrInvalidEntry,
	"flight/catalog.ErrWrongRepository":           catalog.ErrWrongRepository,
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

// sentinelDirs are the packages whose sentinels sentinels must list.
var sentinelDirs = []string{"internal/agent", "flight/catalog", "packager/cabinet", "signer/authenticode"}

// TestEverySentinelHasACode: every sentinel of the agent's packages and of
// the device-side libraries that reach its reports has a code other than
// "failed", checked against the source so a new one cannot be forgotten.
func TestEverySentinelHasACode(t *testing.T) {
	var found []string
	for _, name := range clitest.Sentinels(t, "../..", "cmd", "hack") {
		dir, _, _ := strings.Cut(name, ".")
		if slices.ContainsFunc(sentinelDirs, func(d string) bool { return dir == d || strings.HasPrefix(dir, d+"/") }) {
			found = append(found, name)
		}
	}
	for _, name := range found {
		if _, ok := sentinels[name]; !ok {
			t.Errorf("%s is not in sentinels: list it and give it a code in agent.Codes", name)
		}
	}
	for name, err := range sentinels {
		if !slices.Contains(found, name) {
			t.Errorf("%s is listed but not declared in the source", name)
		}
		if code := codes.Of(fmt.Errorf("context: %w", err)); code == cli.CodeFailed {
			t.Errorf("%s has no error code: add one to agent.Codes and the README", name)
		}
	}
	if err := append(codes, cli.Common...).Check(); err != nil {
		t.Error(err)
	}
}
