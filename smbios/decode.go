package smbios

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Sentinel errors. Every decoding error wraps ErrMalformed, plus a more
// precise sentinel where one applies.
var (
	ErrMalformed      = errors.New("malformed SMBIOS")
	ErrTooLarge       = errors.New("input larger than the limit")
	ErrEntryPoint     = errors.New("no valid SMBIOS entry point")
	ErrChecksum       = errors.New("entry point checksum mismatch")
	ErrTruncated      = errors.New("truncated")
	ErrStringIndex    = errors.New("string index out of range")
	ErrNoSMBIOS       = errors.New("no SMBIOS source available")
	ErrUnknownVersion = errors.New("SMBIOS version unknown for this source")
)

// MaxInputSize bounds every SMBIOS input (dump, entry point plus table,
// fields file) before it is parsed. Real tables are a few KiB to a few
// hundred KiB; a 32-bit entry point cannot describe more than 64 KiB.
const MaxInputSize = 4 << 20

// Version is an SMBIOS specification version.
type Version struct {
	Major, Minor, Docrev uint8
}

// String formats the version as "major.minor", the form of the JSON report.
// The zero Version (unknown) formats as "".
func (v Version) String() string {
	if v == (Version{}) {
		return ""
	}
	return fmt.Sprintf("%d.%d", v.Major, v.Minor)
}

// AtLeast reports whether v is major.minor or later.
func (v Version) AtLeast(major, minor uint8) bool {
	return v.Major > major || v.Major == major && v.Minor >= minor
}

// StructureError locates a problem inside one SMBIOS structure.
type StructureError struct {
	Type   uint8
	Handle uint16
	Offset int // byte offset in the structure table (of the structure, or of the field)
	Field  string
	Err    error
}

func (e *StructureError) Error() string {
	s := fmt.Sprintf("SMBIOS structure type %d handle 0x%04X at table offset 0x%X", e.Type, e.Handle, e.Offset)
	if e.Field != "" {
		s += " (" + e.Field + ")"
	}
	return s + ": " + e.Err.Error()
}

func (e *StructureError) Unwrap() []error { return []error{e.Err, ErrMalformed} }

// EntryPoint is what an SMBIOS entry point says about its table.
type EntryPoint struct {
	Version      Version
	TableAddress uint64 // physical address (or file offset in a dump)
	TableLength  uint32 // exact length (2.x) or maximum length (3.x)
	Is64Bit      bool   // _SM3_
}

// ParseEntryPoint decodes a 32-bit (_SM_), 64-bit (_SM3_) or legacy (_DMI_)
// entry point at the start of b and verifies its checksum.
func ParseEntryPoint(b []byte) (EntryPoint, error) {
	bad := func(format string, args ...any) (EntryPoint, error) {
		return EntryPoint{}, fmt.Errorf("%w: %w: "+format, append([]any{ErrMalformed, ErrEntryPoint}, args...)...)
	}
	switch {
	case bytes.HasPrefix(b, []byte("_SM3_")):
		if len(b) < 0x18 {
			return bad("_SM3_ entry point is %d bytes, needs 24", len(b))
		}
		n := int(b[6])
		if n < 0x18 || n > len(b) {
			return bad("_SM3_ entry point length %d is outside 24..%d", n, len(b))
		}
		if sum(b[:n]) != 0 {
			return EntryPoint{}, fmt.Errorf("%w: %w: _SM3_", ErrMalformed, ErrChecksum)
		}
		return EntryPoint{
			Version:      Version{b[7], b[8], b[9]},
			TableLength:  binary.LittleEndian.Uint32(b[0x0C:]),
			TableAddress: binary.LittleEndian.Uint64(b[0x10:]),
			Is64Bit:      true,
		}, nil
	case bytes.HasPrefix(b, []byte("_SM_")):
		if len(b) < 0x1F {
			return bad("_SM_ entry point is %d bytes, needs 31", len(b))
		}
		n := int(b[5])
		// 0x1E is a known firmware bug (SMBIOS 2.1 said 0x1E); dmidecode accepts it.
		if n < 0x1E || n > len(b) {
			return bad("_SM_ entry point length %d is outside 30..%d", n, len(b))
		}
		if sum(b[:n]) != 0 {
			return EntryPoint{}, fmt.Errorf("%w: %w: _SM_", ErrMalformed, ErrChecksum)
		}
		if !bytes.Equal(b[0x10:0x15], []byte("_DMI_")) {
			return bad("_SM_ entry point lacks its intermediate _DMI_ anchor")
		}
		if sum(b[0x10:0x1F]) != 0 {
			return EntryPoint{}, fmt.Errorf("%w: %w: intermediate _DMI_", ErrMalformed, ErrChecksum)
		}
		v := Version{Major: b[6], Minor: b[7]}
		// Some firmware reports 2.33/2.51 meaning 2.3/2.6 (dmidecode fixes these up).
		switch {
		case v.Major == 2 && v.Minor == 0x1F:
			v.Minor = 3
		case v.Major == 2 && v.Minor == 0x21:
			v.Minor = 3
		case v.Major == 2 && v.Minor == 0x33:
			v.Minor = 6
		}
		return EntryPoint{
			Version:      v,
			TableLength:  uint32(binary.LittleEndian.Uint16(b[0x16:])),
			TableAddress: uint64(binary.LittleEndian.Uint32(b[0x18:])),
		}, nil
	case bytes.HasPrefix(b, []byte("_DMI_")):
		if len(b) < 0x0F {
			return bad("_DMI_ entry point is %d bytes, needs 15", len(b))
		}
		if sum(b[:0x0F]) != 0 {
			return EntryPoint{}, fmt.Errorf("%w: %w: _DMI_", ErrMalformed, ErrChecksum)
		}
		return EntryPoint{
			Version:      Version{Major: b[0x0E] >> 4, Minor: b[0x0E] & 0x0F},
			TableLength:  uint32(binary.LittleEndian.Uint16(b[6:])),
			TableAddress: uint64(binary.LittleEndian.Uint32(b[8:])),
		}, nil
	}
	return bad("no _SM_, _SM3_ or _DMI_ anchor")
}

func sum(b []byte) byte {
	var s byte
	for _, c := range b {
		s += c
	}
	return s
}

// Structure is one decoded SMBIOS structure: its formatted area (header
// included) and its string set.
type Structure struct {
	Type      uint8
	Handle    uint16
	Offset    int    // offset of the structure in the table
	Formatted []byte // the formatted area, Length bytes, header included
	Strings   []string
}

// Byte returns the byte at offset off of the formatted area, and false when
// the structure is too short to hold it.
func (s *Structure) Byte(off int) (uint8, bool) {
	if off < 0 || off >= len(s.Formatted) {
		return 0, false
	}
	return s.Formatted[off], true
}

// String resolves the string-index byte at offset off. A structure too
// short for the field, or index 0, gives "" (absent); an index past the
// string set is an error naming the structure and the offset.
func (s *Structure) String(off int, field string) (string, error) {
	idx, ok := s.Byte(off)
	if !ok || idx == 0 {
		return "", nil
	}
	if int(idx) > len(s.Strings) {
		return "", &StructureError{Type: s.Type, Handle: s.Handle, Offset: s.Offset + off, Field: field,
			Err: fmt.Errorf("%w: string %d of a set of %d", ErrStringIndex, idx, len(s.Strings))}
	}
	return s.Strings[idx-1], nil
}

// maxStructures bounds the structures decoded from one table; a 4 MiB
// table of minimal 6-byte structures stays under it.
const maxStructures = 1 << 20

// ParseTable splits a structure table into structures, checking that each
// header, formatted area and string set lies inside the table. It stops at
// the end-of-table structure (type 127) or at the end of the data.
func ParseTable(table []byte) ([]Structure, error) {
	if len(table) > MaxInputSize {
		return nil, fmt.Errorf("%w: %w: structure table of %d bytes (limit %d)", ErrMalformed, ErrTooLarge, len(table), MaxInputSize)
	}
	var out []Structure
	off := 0
	for off < len(table) && len(out) < maxStructures {
		rest := table[off:]
		if len(rest) < 4 {
			// Trailing padding shorter than a header: dmidecode stops here too.
			if allZero(rest) {
				break
			}
			return nil, fmt.Errorf("%w: %w: %d stray bytes at table offset 0x%X", ErrMalformed, ErrTruncated, len(rest), off)
		}
		s := Structure{Type: rest[0], Handle: binary.LittleEndian.Uint16(rest[2:]), Offset: off}
		length := int(rest[1])
		if length < 4 {
			return nil, &StructureError{Type: s.Type, Handle: s.Handle, Offset: off,
				Err: fmt.Errorf("formatted length %d is shorter than the 4-byte header", length)}
		}
		if length > len(rest) {
			return nil, &StructureError{Type: s.Type, Handle: s.Handle, Offset: off,
				Err: fmt.Errorf("%w: formatted length %d runs past the table end (%d bytes left)", ErrTruncated, length, len(rest))}
		}
		s.Formatted = rest[:length]
		end := bytes.Index(rest[length:], []byte{0, 0})
		if end < 0 {
			return nil, &StructureError{Type: s.Type, Handle: s.Handle, Offset: off,
				Err: fmt.Errorf("%w: string set has no double-NUL terminator before the table end", ErrTruncated)}
		}
		if end > 0 {
			for _, str := range bytes.Split(rest[length:length+end], []byte{0}) {
				s.Strings = append(s.Strings, string(str))
			}
		}
		out = append(out, s)
		off += length + end + 2
		if s.Type == 127 {
			break
		}
	}
	return out, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// Info is what devupdate reads from one SMBIOS source.
type Info struct {
	Source  string  // where it was read from, for messages
	Version Version // zero when the source does not say (dmi/id, fields file)
	Fields  Fields
	// SystemUUID is type 1's UUID, nil when the source has none (a fields
	// file, a structure too short, an unreadable product_uuid). It may be
	// a placeholder (UUID.Placeholder).
	SystemUUID *UUID
}

// HardwareIDs is Fields.HardwareIDs.
func (i *Info) HardwareIDs() []HardwareID { return i.Fields.HardwareIDs() }

// Field offsets of the formatted areas read here (SMBIOS reference
// specification DSP0134: 7.1 BIOS, 7.2 System, 7.3 Baseboard, 7.4 Chassis).
const (
	offBIOSVendor       = 0x04
	offBIOSVersion      = 0x05
	offBIOSMajor        = 0x14 // 2.4+
	offBIOSMinor        = 0x15 // 2.4+
	offSysManufacturer  = 0x04
	offSysProductName   = 0x05
	offSysSKU           = 0x19 // 2.4+
	offSysFamily        = 0x1A // 2.4+
	offBoardManufacture = 0x04
	offBoardProduct     = 0x05
	offChassisType      = 0x05
)

// FieldsFromStructures reads the hardware-ID fields from the first
// structure of types 0, 1, 2 and 3 (the one Windows uses).
func FieldsFromStructures(structs []Structure) (Fields, error) {
	var f Fields
	var seen [4]bool
	for i := range structs {
		s := &structs[i]
		if s.Type > 3 || seen[s.Type] {
			continue
		}
		seen[s.Type] = true
		var err error
		str := func(dst *string, off int, name string) {
			if err != nil {
				return
			}
			*dst, err = s.String(off, name)
		}
		byt := func(dst **uint8, off int) {
			if b, ok := s.Byte(off); ok {
				*dst = U8(b)
			}
		}
		switch s.Type {
		case 0:
			str(&f.BIOSVendor, offBIOSVendor, "BIOS vendor")
			str(&f.BIOSVersion, offBIOSVersion, "BIOS version")
			byt(&f.BIOSMajorRelease, offBIOSMajor)
			byt(&f.BIOSMinorRelease, offBIOSMinor)
		case 1:
			str(&f.Manufacturer, offSysManufacturer, "manufacturer")
			str(&f.ProductName, offSysProductName, "product name")
			str(&f.SKU, offSysSKU, "SKU number")
			str(&f.Family, offSysFamily, "family")
		case 2:
			str(&f.BaseboardManufacturer, offBoardManufacture, "baseboard manufacturer")
			str(&f.BaseboardProduct, offBoardProduct, "baseboard product")
		case 3:
			byt(&f.EnclosureType, offChassisType)
		}
		if err != nil {
			return Fields{}, err
		}
	}
	return f, nil
}

// DecodeTable decodes an entry point and its structure table given
// separately, as Linux exports them in /sys/firmware/dmi/tables.
func DecodeTable(entry, table []byte) (*Info, error) {
	if len(entry)+len(table) > MaxInputSize {
		return nil, fmt.Errorf("%w: %w: %d bytes (limit %d)", ErrMalformed, ErrTooLarge, len(entry)+len(table), MaxInputSize)
	}
	ep, err := ParseEntryPoint(entry)
	if err != nil {
		return nil, err
	}
	if !ep.Is64Bit && uint64(len(table)) < uint64(ep.TableLength) {
		return nil, fmt.Errorf("%w: %w: entry point gives a %d-byte table, only %d bytes present", ErrMalformed, ErrTruncated, ep.TableLength, len(table))
	}
	if uint64(len(table)) > uint64(ep.TableLength) {
		table = table[:ep.TableLength]
	}
	return decodeStructures(ep.Version, table)
}

func decodeStructures(v Version, table []byte) (*Info, error) {
	structs, err := ParseTable(table)
	if err != nil {
		return nil, err
	}
	f, err := FieldsFromStructures(structs)
	if err != nil {
		return nil, err
	}
	return &Info{Version: v, Fields: f, SystemUUID: uuidFromStructures(v, structs)}, nil
}

// DecodeDump decodes a file written by `dmidecode --dump-bin`: the entry
// point at offset 0 with its table address rewritten to the file offset of
// the table (0x20).
func DecodeDump(data []byte) (*Info, error) {
	if len(data) > MaxInputSize {
		return nil, fmt.Errorf("%w: %w: %d bytes (limit %d)", ErrMalformed, ErrTooLarge, len(data), MaxInputSize)
	}
	ep, err := ParseEntryPoint(data)
	if err != nil {
		return nil, err
	}
	if ep.TableAddress > uint64(len(data)) {
		return nil, fmt.Errorf("%w: %w: table offset 0x%X is past the end of the %d-byte dump", ErrMalformed, ErrTruncated, ep.TableAddress, len(data))
	}
	table := data[ep.TableAddress:]
	switch {
	case uint64(len(table)) >= uint64(ep.TableLength):
		table = table[:ep.TableLength]
	case !ep.Is64Bit:
		// A 2.x entry point states the exact length; 3.x only a maximum.
		return nil, fmt.Errorf("%w: %w: entry point gives a %d-byte table at 0x%X, the dump holds %d", ErrMalformed, ErrTruncated, ep.TableLength, ep.TableAddress, len(table))
	}
	return decodeStructures(ep.Version, table)
}
