package smbios

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// UUID is the system UUID of SMBIOS structure type 1 (offset 08h), in the
// RFC 4122 byte order it is printed in: the table stores the first three
// fields little-endian from SMBIOS 2.6 on (DSP0134 7.2.1), and DecodeTable
// swaps them, as dmidecode and the Linux kernel do.
type UUID [16]byte

// String prints the UUID as lower-case 8-4-4-4-12 hex, as dmidecode does.
func (u UUID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// MarshalText is String.
func (u UUID) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// ParseUUID reads the 8-4-4-4-12 hex form (either case).
func ParseUUID(s string) (UUID, error) {
	var u UUID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, fmt.Errorf("%w: UUID %q is not 8-4-4-4-12 hex", ErrMalformed, s)
	}
	if _, err := hex.Decode(u[:], []byte(strings.ReplaceAll(s, "-", ""))); err != nil {
		return u, fmt.Errorf("%w: UUID %q: %v", ErrMalformed, s, err)
	}
	return u, nil
}

// placeholderUUIDs are UUIDs firmware ships unchanged on many machines:
// AMI's "To be filled by O.E.M." UUID in both byte orders, and the byte
// sequences 00..0F and 01..10.
var placeholderUUIDs = []string{
	"03000200-0400-0500-0006-000700080009",
	"00020003-0004-0005-0006-000700080009",
	"00010203-0405-0607-0809-0a0b0c0d0e0f",
	"01020304-0506-0708-090a-0b0c0d0e0f10",
}

// Placeholder reports whether u identifies no machine: every byte the same
// (all zeros is "not settable", all FFh "not present" in DSP0134; any
// other repeated byte is as common a factory fill), or one of the
// well-known factory UUIDs that many machines share. A device must not use
// such a UUID as its identity.
func (u UUID) Placeholder() bool {
	same := true
	for _, c := range u[1:] {
		if c != u[0] {
			same = false
			break
		}
	}
	if same {
		return true
	}
	s := u.String()
	for _, p := range placeholderUUIDs {
		if s == p {
			return true
		}
	}
	return false
}

// offSysUUID is the system UUID in the type 1 structure (SMBIOS 2.1+).
const offSysUUID = 0x08

// uuidFromStructures returns the system UUID of the first type 1
// structure, or nil when there is none or it is too short to hold one.
func uuidFromStructures(v Version, structs []Structure) *UUID {
	for i := range structs {
		s := &structs[i]
		if s.Type != 1 {
			continue
		}
		if len(s.Formatted) < offSysUUID+16 {
			return nil
		}
		var u UUID
		copy(u[:], s.Formatted[offSysUUID:offSysUUID+16])
		// A table without a version (RSMB of an old BIOS, a bare table)
		// is read as 2.6+, the byte order of every current machine.
		if v == (Version{}) || v.AtLeast(2, 6) {
			u[0], u[1], u[2], u[3] = u[3], u[2], u[1], u[0]
			u[4], u[5] = u[5], u[4]
			u[6], u[7] = u[7], u[6]
		}
		return &u
	}
	return nil
}
