package manifest

import (
	"errors"
	"strings"
)

// ErrName is wrapped by every package name error.
var ErrName = errors.New("name must be Owner.Component or Owner.Component.SubComponent: " +
	"2 or 3 dot-separated parts, each an ASCII letter followed by letters, digits or underscores, " +
	"at most 64 characters per part")

// maxNamePart bounds each part of a package name.
const maxNamePart = 64

// CheckName checks a package name against the rule of ErrName:
// Owner.Component[.SubComponent], each part matching [A-Za-z][A-Za-z0-9_]{0,63}.
// Names compare case-sensitively but a name differing from another only in
// case is the same package to Windows, so publishers should keep one
// spelling; the flight side enforces that, not this check.
func CheckName(name string) error {
	parts := strings.Split(name, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return ErrName
	}
	for _, p := range parts {
		if !identifier(p) {
			return ErrName
		}
	}
	return nil
}

func identifier(p string) bool {
	if p == "" || len(p) > maxNamePart {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case i > 0 && (c >= '0' && c <= '9' || c == '_'):
		default:
			return false
		}
	}
	return true
}
