package update

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrVersion is wrapped by every version syntax error.
var ErrVersion = errors.New("version must be four dot-separated numbers a.b.c.d, each 0-65535")

// Version is a four-part package version a.b.c.d, each part 0-65535, as
// Windows packages number themselves. Versions compare numerically part by
// part: 1.0.0.10 is higher than 1.0.0.9.
type Version [4]uint16

// ParseVersion parses a.b.c.d. Each part is decimal digits only (no sign, no
// spaces), at most five digits, and at most 65535; leading zeros are refused
// so that every version has one spelling.
func ParseVersion(s string) (Version, error) {
	var v Version
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return v, fmt.Errorf("%q: %w", s, ErrVersion)
	}
	for i, p := range parts {
		if p == "" || len(p) > 5 || (len(p) > 1 && p[0] == '0') {
			return v, fmt.Errorf("%q: %w", s, ErrVersion)
		}
		for _, c := range []byte(p) {
			if c < '0' || c > '9' {
				return v, fmt.Errorf("%q: %w", s, ErrVersion)
			}
		}
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			return v, fmt.Errorf("%q: %w", s, ErrVersion)
		}
		v[i] = uint16(n)
	}
	return v, nil
}

// String formats the version as a.b.c.d.
func (v Version) String() string {
	return fmt.Sprintf("%d.%d.%d.%d", v[0], v[1], v[2], v[3])
}

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

// IsZero reports whether v is 0.0.0.0, which is also the value of an absent
// version.
func (v Version) IsZero() bool { return v == Version{} }

// MarshalText encodes the version as a.b.c.d.
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
