package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/devupdate/devupdate/flight/catalog"
	"github.com/devupdate/devupdate/internal/agent/config"
	"github.com/devupdate/devupdate/internal/agent/fetch"
	"github.com/devupdate/devupdate/internal/agent/handler"
	"github.com/devupdate/devupdate/internal/agent/report"
	"github.com/devupdate/devupdate/internal/agent/state"
	"github.com/devupdate/devupdate/internal/iox"
	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/internal/verifycodes"
	"github.com/devupdate/devupdate/packager/cabinet"
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
type Code = verifycodes.Code

// Codes are the agent's error codes, most precise first. The CLI's code
// table is built from them, and reports carry them, so a script reading
// either sees one vocabulary (README, "Output and exit status"); the
// verifier's and the cabinet reader's errors have the codes devupdate
// gives them (internal/verifycodes, shared).
var Codes = slices.Concat([]Code{
	// the agent's own refusals
	{Err: ErrNoTargetingCHID, Code: "no_targeting_chid"},
	{Err: ErrCabinetMismatch, Code: "cabinet_mismatch"},
	{Err: ErrBusy, Code: "busy"},
	{Err: state.ErrLocked, Code: "busy"},
	{Err: ErrRequirementFailed, Code: "requirement_failed"},
	{Err: ErrGaveUp, Code: "gave_up"},
	// configuration, state, reports
	{Err: config.ErrNoRingRoot, Code: "no_ring_root"},
	{Err: config.ErrInvalid, Code: "invalid_config"},
	{Err: state.ErrCorrupt, Code: "corrupt_state"},
	{Err: report.ErrRejected, Code: "report_rejected"},
	{Err: report.ErrInvalid, Code: "invalid_report"},
	// TUF metadata (go-tuf's error types match with errors.Is)
	{Err: &metadata.ErrBadVersionNumber{}, Code: "metadata_rollback"},
	{Err: &metadata.ErrExpiredMetadata{}, Code: "metadata_expired"},
	{Err: &metadata.ErrUnsignedMetadata{}, Code: "metadata_unsigned"},
	{Err: &metadata.ErrLengthOrHashMismatch{}, Code: "metadata_mismatch"},
	{Err: &metadata.ErrRepository{}, Code: "metadata_invalid"},
	{Err: catalog.ErrInvalidEntry, Code: "invalid_catalog_entry"},
	{Err: catalog.ErrWrongRepository, Code: "wrong_repository"},
	// downloads
	{Err: fetch.ErrTooLong, Code: "too_long"},
	{Err: fetch.ErrTruncated, Code: "truncated"},
	{Err: fetch.ErrDigestMismatch, Code: "digest_mismatch"},
	{Err: fetch.ErrNotFound, Code: "not_found"},
	{Err: fetch.ErrUnreachable, Code: "unreachable"},
}, verifycodes.Codes, []Code{
	// the cabinet reader's path rules: a name in a cabinet
	{Err: cabinet.ErrPathAbsolute, Code: "invalid_name"},
	{Err: cabinet.ErrPathEscape, Code: "invalid_name"},
	{Err: cabinet.ErrPathBackslash, Code: "invalid_name"},
	{Err: cabinet.ErrPathSegment, Code: "invalid_name"},
	{Err: cabinet.ErrPathName, Code: "invalid_name"},
	{Err: cabinet.ErrPathLong, Code: "invalid_name"},
	{Err: cabinet.ErrPathEncoding, Code: "invalid_name"},
	{Err: cabinet.ErrPathCollision, Code: "invalid_name"},
	// handlers
	{Err: handler.ErrNoHandler, Code: "no_handler"},
	{Err: handler.ErrTimeout, Code: "handler_timeout"},
	{Err: handler.ErrFailed, Code: "handler_failed"},
	// inputs, bounded reads, the usual (SMBIOS errors, which only reading
	// the device gives, are cmd/internal/smbioscodes')
	{Err: problem.ErrInvalid, Code: "invalid_input"},
	{Err: iox.ErrTooLarge, Code: "too_large"},
	{Err: context.Canceled, Code: "canceled"},
	{Err: context.DeadlineExceeded, Code: "timeout"},
	{Err: fs.ErrNotExist, Code: "not_found"},
	{Err: fs.ErrPermission, Code: "permission_denied"},
})

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
