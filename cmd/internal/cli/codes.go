package cli

import (
	"context"
	"errors"
	"io/fs"
	"regexp"

	"github.com/devupdate/devupdate/internal/verifycodes"
)

// Code classifies errors into one machine-readable code: a stable,
// snake_case identifier that scripts can compare (the message is for
// people and may change).
type Code struct {
	Code  string
	Match func(error) bool
}

// Is matches errors whose tree holds target (errors.Is).
func Is(target error, code string) Code {
	return Code{Code: code, Match: func(err error) bool { return errors.Is(err, target) }}
}

// As matches errors whose tree holds an error of type T (errors.As).
func As[T error](code string) Code {
	return Code{Code: code, Match: func(err error) bool {
		var t T
		return errors.As(err, &t)
	}}
}

// Codes is an ordered table: the first match wins, so more precise codes
// come before the general ones they imply.
type Codes []Code

// Table is an ordered errors.Is table of a library (internal/verifycodes,
// agent.Codes) as Codes, in its order.
func Table(t []verifycodes.Code) Codes {
	cs := make(Codes, 0, len(t))
	for _, c := range t {
		cs = append(cs, Is(c.Err, c.Code))
	}
	return cs
}

// CodeFailed is the code of an error no table entry matches.
const CodeFailed = "failed"

// CodeInvalidInput is the code of an error carrying problems (a Lister).
const CodeInvalidInput = "invalid_input"

// CodeUsage is the code of a usage error; it is never printed in a JSON
// report (a usage error prints nothing on stdout) but lets tables and
// documentation name it.
const CodeUsage = "usage"

// Common are the codes every binary shares, consulted after its own.
var Common = Codes{
	As[*UsageError](CodeUsage),
	As[Lister](CodeInvalidInput),
	Is(context.Canceled, "canceled"),
	Is(context.DeadlineExceeded, "timeout"),
	Is(fs.ErrNotExist, "not_found"),
	Is(fs.ErrExist, "exists"),
	Is(fs.ErrPermission, "permission_denied"),
}

var codeRE = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// Of returns the code of err: the first entry of cs, then of Common, that
// matches, else CodeFailed.
func (cs Codes) Of(err error) string {
	for _, table := range []Codes{cs, Common} {
		for _, c := range table {
			if c.Match(err) {
				return c.Code
			}
		}
	}
	return CodeFailed
}

// Check reports the first entry whose code is not snake_case; tests call it
// so a typo never becomes part of the contract.
func (cs Codes) Check() error {
	for _, c := range cs {
		if !codeRE.MatchString(c.Code) {
			return errors.New("error code " + c.Code + " is not snake_case")
		}
	}
	return nil
}
