package smbios

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
)

// ErrBadCHID is wrapped by every error from ParseCHID and UnmarshalText.
var ErrBadCHID = errors.New("not a CHID")

// CHID is a computer hardware ID: a name-based (version 5 layout) GUID in
// its big-endian (RFC 4122) byte order, the order it is printed in.
type CHID [16]byte

// chidNamespace is the namespace Windows hashes every CHID under,
// 70ffd812-4c7f-4c7d-0000-000000000000.
var chidNamespace = CHID{0x70, 0xff, 0xd8, 0x12, 0x4c, 0x7f, 0x4c, 0x7d}

// NewCHID returns the CHID of the given field values: SHA-1 over the
// namespace followed by the UTF-16LE bytes of the values joined with '&'
// (no terminator), cut to 16 bytes, with the version nibble set to 5 and the
// RFC 4122 variant. The values are hashed exactly as given; HardwareIDs does
// the trimming and formatting Windows applies first.
func NewCHID(values ...string) CHID {
	h := sha1.New()
	h.Write(chidNamespace[:])
	joined := strings.Join(values, "&")
	units := utf16.Encode([]rune(joined))
	buf := make([]byte, 2*len(units))
	for i, u := range units {
		buf[2*i] = byte(u)
		buf[2*i+1] = byte(u >> 8)
	}
	h.Write(buf)
	var c CHID
	copy(c[:], h.Sum(nil))
	c[6] = c[6]&0x0f | 0x50
	c[8] = c[8]&0x3f | 0x80
	return c
}

// String formats c as lower-case 8-4-4-4-12 hex, without braces.
func (c CHID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], c[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], c[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], c[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], c[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], c[10:16])
	return string(b[:])
}

// IsZero reports whether c is the all-zero GUID.
func (c CHID) IsZero() bool { return c == CHID{} }

// MarshalText implements encoding.TextMarshaler (the String form).
func (c CHID) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseCHID's rules.
func (c *CHID) UnmarshalText(b []byte) error {
	v, err := ParseCHID(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// ParseCHID parses a GUID in 8-4-4-4-12 form, with or without surrounding
// braces, in any letter case.
func ParseCHID(s string) (CHID, error) {
	in := s
	if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") && len(s) >= 2 {
		s = s[1 : len(s)-1]
	}
	var c CHID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return c, fmt.Errorf("%q: %w: want xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", in, ErrBadCHID)
	}
	hexpart := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(c[:], []byte(hexpart)); err != nil {
		return CHID{}, fmt.Errorf("%q: %w: not hexadecimal", in, ErrBadCHID)
	}
	return c, nil
}
