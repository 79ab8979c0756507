package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/internal/agent/config"
	"github.com/devupdate/devupdate/internal/agent/fetch"
	"github.com/devupdate/devupdate/internal/agent/handler"
	"github.com/devupdate/devupdate/internal/agent/report"
	"github.com/devupdate/devupdate/internal/agent/state"
	"github.com/devupdate/devupdate/internal/iox"
	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/packager/cabinet"
	"github.com/devupdate/devupdate/signer/authenticode"
)

// Errors of the agent itself (the libraries it drives have their own; see
// Codes).
var (
	// ErrNoTargetingCHID: the device's SMBIOS gives neither HardwareID-3
	// nor HardwareID-4 and the configuration pins no product CHID.
	ErrNoTargetingCHID = errors.New("SMBIOS gives no targeting CHID (HardwareID-3 or -4); set product_chid")
	// ErrCabinetMismatch: the signed cabinet is not the update its signed
	// metadata names (another name, version or kind), or its own
	// update.json does not target this device.
	ErrCabinetMismatch = errors.New("cabinet is not the update its metadata names")
	// ErrBusy: another agent process is working on the state directory.
	ErrBusy = errors.New("another devupdate-agent is working on this state directory")
	// ErrRequirementFailed: an update this one requires failed to install
	// in the same run.
	ErrRequirementFailed = errors.New("a required update failed to install in this run")
	// ErrGaveUp: an update failed MaxAttempts times and is left alone
	// until a newer version comes.
	ErrGaveUp = errors.New("install failed too many times; waiting for a newer version")
)

// Code names an error for scripts and reports: the first entry whose
// error errors.Is matches gives the code.
type Code struct {
	Err  error
	Code string
}

// Codes are the agent's error codes, most precise first. The CLI's code
// table is built from them, and reports carry them, so a script reading
// either sees one vocabulary (README, "Output and exit status"); the
// verifier's and the cabinet reader's errors have the codes devupdate
// gives them.
var Codes = []Code{
	// the agent's own refusals
	{ErrNoTargetingCHID, "no_targeting_chid"},
	{ErrCabinetMismatch, "cabinet_mismatch"},
	{ErrBusy, "busy"},
	{state.ErrLocked, "busy"},
	{ErrRequirementFailed, "requirement_failed"},
	{ErrGaveUp, "gave_up"},
	// configuration, state, reports
	{config.ErrNoRingRoot, "no_ring_root"},
	{config.ErrInvalid, "invalid_config"},
	{state.ErrCorrupt, "corrupt_state"},
	{report.ErrRejected, "report_rejected"},
	{report.ErrInvalid, "invalid_report"},
	// TUF metadata (go-tuf's error types match with errors.Is)
	{&metadata.ErrBadVersionNumber{}, "metadata_rollback"},
	{&metadata.ErrExpiredMetadata{}, "metadata_expired"},
	{&metadata.ErrUnsignedMetadata{}, "metadata_unsigned"},
	{&metadata.ErrLengthOrHashMismatch{}, "metadata_mismatch"},
	{&metadata.ErrRepository{}, "metadata_invalid"},
	{catalog.ErrInvalidEntry, "invalid_catalog_entry"},
	{catalog.ErrWrongRepository, "wrong_repository"},
	// downloads
	{fetch.ErrTooLong, "too_long"},
	{fetch.ErrTruncated, "truncated"},
	{fetch.ErrDigestMismatch, "digest_mismatch"},
	{fetch.ErrNotFound, "not_found"},
	{fetch.ErrUnreachable, "unreachable"},
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
	{authenticode.ErrUntrustedChain, "certificate_untrusted"},
	{authenticode.ErrKeyMismatch, "key_certificate_mismatch"},
	{authenticode.ErrPolicy, "certificate_policy"},
	{authenticode.ErrMalformed, "malformed_cabinet"},
	// extraction
	{cabinet.ErrChecksum, "checksum_mismatch"},
	{cabinet.ErrTooLarge, "too_large"},
	{cabinet.ErrLimit, "format_limit"},
	{cabinet.ErrInvalidName, "invalid_name"},
	{cabinet.ErrSizeMismatch, "size_mismatch"},
	{cabinet.ErrUnsupported, "unsupported_cabinet"},
	{cabinet.ErrMalformed, "malformed_cabinet"},
	{cabinet.ErrExists, "exists"},
	{cabinet.ErrNotFound, "not_found"},
	{cabinet.ErrNoFiles, "no_files"},
	{cabinet.ErrInvalidOption, "invalid_option"},
	// handlers
	{handler.ErrNoHandler, "no_handler"},
	{handler.ErrTimeout, "handler_timeout"},
	{handler.ErrFailed, "handler_failed"},
	// inputs, bounded reads, the usual (SMBIOS errors, which only reading
	// the device gives, are cmd/internal/smbioscodes')
	{problem.ErrInvalid, "invalid_input"},
	{iox.ErrTooLarge, "too_large"},
	{context.Canceled, "canceled"},
	{context.DeadlineExceeded, "timeout"},
	{fs.ErrNotExist, "not_found"},
	{fs.ErrPermission, "permission_denied"},
}

// CodeOf returns err's code from Codes, or "failed".
func CodeOf(err error) string {
	for _, c := range Codes {
		if errors.Is(err, c.Err) {
			return c.Code
		}
	}
	return "failed"
}

// reportError is the report's error object for err.
func reportError(err error) *report.Error {
	if err == nil {
		return nil
	}
	return &report.Error{Code: CodeOf(err), Message: err.Error()}
}

// mismatch is an ErrCabinetMismatch naming the cabinet and what differs.
func mismatch(cab, format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s", cab, ErrCabinetMismatch, fmt.Sprintf(format, args...))
}
