package catalog

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrVersion is wrapped by every version syntax error.
var ErrVersion = errors.New("version must be four dot-separated numbers a.b.c.d, each 0-65535, without leading zeros")

// Version is a four-part package version a.b.c.d compared numerically part
// by part, as update.json spells it. Entries carry versions as strings and
// ParseVersion is the one place that reads them.
//
// TODO(manifest/update): becomes an alias of update.Version once the
// device-safe wire package lands.
type Version [4]uint16

// ParseVersion parses a.b.c.d (each part 0-65535, decimal digits only, no
// leading zeros, so every version has one spelling).
func ParseVersion(s string) (Version, error) {
	var v Version
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return v, fmt.Errorf("%q: %w", s, ErrVersion)
	}
	for i, p := range parts {
		if p == "" || len(p) > 5 || (len(p) > 1 && p[0] == '0') || strings.TrimLeft(p, "0123456789") != "" {
			return v, fmt.Errorf("%q: %w", s, ErrVersion)
		}
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			return v, fmt.Errorf("%q: %w", s, ErrVersion)
		}
		v[i] = uint16(n)
	}
	return v, nil
}

// String formats a.b.c.d.
func (v Version) String() string { return fmt.Sprintf("%d.%d.%d.%d", v[0], v[1], v[2], v[3]) }

// Compare returns -1, 0 or +1 as v is lower than, equal to or higher than w.
func (v Version) Compare(w Version) int {
	for i := range v {
		switch {
		case v[i] < w[i]:
			return -1
		case v[i] > w[i]:
			return 1
		}
	}
	return 0
}

// MarshalText encodes a.b.c.d.
func (v Version) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText parses a.b.c.d.
func (v *Version) UnmarshalText(b []byte) error {
	p, err := ParseVersion(string(b))
	if err != nil {
		return err
	}
	*v = p
	return nil
}

// checkName applies update.json's package name rule:
// Owner.Component[.SubComponent], each part [A-Za-z][A-Za-z0-9_]{0,63}.
//
// TODO(manifest/update): call update.CheckName once it lands.
func checkName(name string) bool {
	parts := strings.Split(name, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 64 || !(p[0] >= 'A' && p[0] <= 'Z' || p[0] >= 'a' && p[0] <= 'z') {
			return false
		}
		for _, c := range []byte(p) {
			if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
				return false
			}
		}
	}
	return true
}
