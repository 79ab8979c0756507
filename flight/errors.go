package flight

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every refusal of a change wraps one of them, so the CLI
// and tests classify with errors.Is.
var (
	ErrNotInitialised   = errors.New("flight rings are not initialised in this store (run devupdate flight init)")
	ErrConfig           = errors.New("invalid flight configuration")
	ErrUnknownRing      = errors.New("unknown ring")
	ErrUnknownProduct   = errors.New("no registered product")
	ErrCorrupt          = errors.New("flight metadata in the store is corrupt or not signed by the ring's keys")
	ErrVersionNotHigher = errors.New("version not higher than every version added before")
	ErrDuplicateVersion = errors.New("version already added with other bytes")
	ErrNotInRing        = errors.New("update not in ring")
	ErrHalted           = errors.New("update is halted")
	ErrSoak             = errors.New("soak time in the previous ring not over")
	ErrTransition       = errors.New("invalid transition")
	ErrNotPublished     = errors.New("cabinet not published in the store")
	ErrNoReason         = errors.New("a change needs a reason (--reason)")
	ErrConflict         = errors.New("too many concurrent changes; gave up")
	ErrExpiring         = errors.New("metadata that needs an offline key expires soon")
)

// ChangeError is a refused change to one update in one ring: which, and why
// (Err is one of the sentinels).
type ChangeError struct {
	Ring, Name, Version string
	Err                 error
}

func (e *ChangeError) Error() string {
	return fmt.Sprintf("%s %s in %s: %v", e.Name, e.Version, e.Ring, e.Err)
}

func (e *ChangeError) Unwrap() error { return e.Err }
