package update

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

// ErrProductName is wrapped by every product name error.
var ErrProductName = errors.New("product name must be 1-64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit")

// CheckProductName checks a product's name (the name: of product.yaml,
// listed under products in update.json) against the rule of
// ErrProductName.
func CheckProductName(name string) error {
	if name == "" || len(name) > 64 {
		return ErrProductName
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return ErrProductName
		}
	}
	return nil
}
