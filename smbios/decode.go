package smbios

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/devupdate/devupdate/internal/problem"
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

// StructureError is a problem at one place of a binary SMBIOS input (a
// dmidecode dump, the sysfs entry point or table, a RawSMBIOSData blob). Its
// message is FILE:OFFSET: STRUCTURE: RULE, the form of every binary input's
// problem (as packager/cabinet's FormatError). Every decoding error is one.
type StructureError struct {
	// File is the input: its path once a Read function names it, else
	// what the Decode function was given ("dump", "smbios_entry_point",
	// "DMI", "RawSMBIOSData").
	File string
	// Offset is the byte offset in File of the structure, or of the field
	// the rule is about.
	Offset int
	// Structure names what is at Offset: "_SM3_ entry point",
	// "RawSMBIOSData header", "structure table", "structure type 1
	// handle 0x0012 (SKU number)".
	Structure string
	// Type, Handle and Field are set for a structure of the table.
	Type   uint8
	Handle uint16
	Field  string
	// Err is the rule broken; it wraps the precise sentinel (ErrTruncated,
	// ErrStringIndex, ErrEntryPoint, ErrChecksum, ErrTooLarge) where one
	// applies. ErrMalformed is wrapped by every StructureError.
	Err error

	inTable bool // Offset is still relative to the structure table
}

func (e *StructureError) Error() string {
	return problem.AtOffset(e.File, int64(e.Offset), e.Structure, e.Err.Error())
}

func (e *StructureError) Unwrap() []error { return []error{e.Err, ErrMalformed} }

// ProblemFile is the input the problem is in (its message starts with it).
func (e *StructureError) ProblemFile() string { return e.File }

// rule is the text of a broken rule and the sentinels it stands for.
type rule struct {
	msg string
	is  []error
}

func (r *rule) Error() string   { return r.msg }
func (r *rule) Unwrap() []error { return r.is }

func ruleErr(is []error, format string, args ...any) error {
	return &rule{msg: fmt.Sprintf(format, args...), is: is}
}

// at is a StructureError at off of the input, outside the table.
func at(off int, structure string, is []error, format string, args ...any) *StructureError {
	return &StructureError{Offset: off, Structure: structure, Err: ruleErr(is, format, args...)}
}

// inStructure is a StructureError about structure s, at off in the table.
func inStructure(s *Structure, off int, field string, is []error, format string, args ...any) *StructureError {
	name := fmt.Sprintf("structure type %d handle 0x%04X", s.Type, s.Handle)
	if field != "" {
		name += " (" + field + ")"
	}
	return &StructureError{Offset: off, Structure: name, Type: s.Type, Handle: s.Handle, Field: field,
		Err: ruleErr(is, format, args...), inTable: true}
}

// locate names the input err is in and turns table offsets into offsets
// of the input, the table starting at tableOff; it returns err.
func locate(err error, file string, tableOff int) error {
	var se *StructureError
	if errors.As(err, &se) {
		if se.File == "" {
			se.File = file
		}
		if se.inTable {
			se.Offset += tableOff
			se.inTable = false
		}
	}
	return err
}

// tooLarge is the problem of an input over limit bytes.
func tooLarge(file string, limit int64) *StructureError {
	e := at(int(limit), "file", []error{ErrTooLarge}, "larger than the %d-byte limit", limit)
	e.File = file
	return e
}

// EntryPoint is what an SMBIOS entry point says about its table.
type EntryPoint struct {
	Version      Version
	TableAddress uint64 // physical address (or file offset in a dump)
	TableLength  uint32 // exact length (2.x) or maximum length (3.x)
	Is64Bit      bool   // _SM3_

	anchor string // _SM3_, _SM_ or _DMI_
}

// ParseEntryPoint decodes a 32-bit (_SM_), 64-bit (_SM3_) or legacy (_DMI_)
// entry point at the start of b and verifies its checksum.
func ParseEntryPoint(b []byte) (EntryPoint, error) {
	bad := func(off int, anchor string, is error, format string, args ...any) (EntryPoint, error) {
		return EntryPoint{}, at(off, anchor+" entry point", []error{ErrEntryPoint, is}, format, args...)
	}
	switch {
	case bytes.HasPrefix(b, []byte("_SM3_")):
		if len(b) < 0x18 {
			return bad(0, "_SM3_", ErrTruncated, "%d bytes, needs 24", len(b))
		}
		n := int(b[6])
		if n < 0x18 || n > len(b) {
			return bad(6, "_SM3_", nil, "length %d is outside 24..%d", n, len(b))
		}
		if sum(b[:n]) != 0 {
			return EntryPoint{}, at(5, "_SM3_ entry point", []error{ErrChecksum}, "checksum does not add up to 0")
		}
		return EntryPoint{
			Version:      Version{b[7], b[8], b[9]},
			TableLength:  binary.LittleEndian.Uint32(b[0x0C:]),
			TableAddress: binary.LittleEndian.Uint64(b[0x10:]),
			Is64Bit:      true,
			anchor:       "_SM3_",
		}, nil
	case bytes.HasPrefix(b, []byte("_SM_")):
		if len(b) < 0x1F {
			return bad(0, "_SM_", ErrTruncated, "%d bytes, needs 31", len(b))
		}
		n := int(b[5])
		// 0x1E is a known firmware bug (SMBIOS 2.1 said 0x1E); dmidecode accepts it.
		if n < 0x1E || n > len(b) {
			return bad(5, "_SM_", nil, "length %d is outside 30..%d", n, len(b))
		}
		if sum(b[:n]) != 0 {
			return EntryPoint{}, at(4, "_SM_ entry point", []error{ErrChecksum}, "checksum does not add up to 0")
		}
		if !bytes.Equal(b[0x10:0x15], []byte("_DMI_")) {
			return bad(0x10, "_SM_", nil, "lacks its intermediate _DMI_ anchor")
		}
		if sum(b[0x10:0x1F]) != 0 {
			return EntryPoint{}, at(0x15, "_SM_ entry point", []error{ErrChecksum}, "intermediate _DMI_ checksum does not add up to 0")
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
			anchor:       "_SM_",
		}, nil
	case bytes.HasPrefix(b, []byte("_DMI_")):
		if len(b) < 0x0F {
			return bad(0, "_DMI_", ErrTruncated, "%d bytes, needs 15", len(b))
		}
		if sum(b[:0x0F]) != 0 {
			return EntryPoint{}, at(5, "_DMI_ entry point", []error{ErrChecksum}, "checksum does not add up to 0")
		}
		return EntryPoint{
			Version:      Version{Major: b[0x0E] >> 4, Minor: b[0x0E] & 0x0F},
			TableLength:  uint32(binary.LittleEndian.Uint16(b[6:])),
			TableAddress: uint64(binary.LittleEndian.Uint32(b[8:])),
			anchor:       "_DMI_",
		}, nil
	}
	return bad(0, "SMBIOS", nil, "no _SM_, _SM3_ or _DMI_ anchor")
}

// entryFields are the offsets of the table address and the table length
// in each kind of entry point.
var entryFields = map[string]struct{ address, length int }{
	"_SM3_": {0x10, 0x0C},
	"_SM_":  {0x18, 0x16},
	"_DMI_": {0x08, 0x06},
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
		return "", inStructure(s, s.Offset+off, field, []error{ErrStringIndex}, "string index %d is past the %d strings of the structure", idx, len(s.Strings))
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
		return nil, at(MaxInputSize, "structure table", []error{ErrTooLarge}, "larger than the %d-byte limit", MaxInputSize)
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
			e := at(off, "structure table", []error{ErrTruncated}, "%d stray bytes, too few for a structure header", len(rest))
			e.inTable = true
			return nil, e
		}
		s := Structure{Type: rest[0], Handle: binary.LittleEndian.Uint16(rest[2:]), Offset: off}
		length := int(rest[1])
		if length < 4 {
			return nil, inStructure(&s, off, "", nil, "formatted length %d is shorter than the 4-byte header", length)
		}
		if length > len(rest) {
			return nil, inStructure(&s, off, "", []error{ErrTruncated}, "formatted length %d runs past the table end (%d bytes left)", length, len(rest))
		}
		s.Formatted = rest[:length]
		end := bytes.Index(rest[length:], []byte{0, 0})
		if end < 0 {
			return nil, inStructure(&s, off, "", []error{ErrTruncated}, "string set has no double-NUL terminator before the table end")
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
// separately, as Linux exports them in /sys/firmware/dmi/tables. A problem
// names the file it is in: "smbios_entry_point" or "DMI".
func DecodeTable(entry, table []byte) (*Info, error) {
	if len(entry)+len(table) > MaxInputSize {
		return nil, tooLarge("DMI", MaxInputSize)
	}
	ep, err := ParseEntryPoint(entry)
	if err != nil {
		return nil, locate(err, "smbios_entry_point", 0)
	}
	if !ep.Is64Bit && uint64(len(table)) < uint64(ep.TableLength) {
		return nil, locate(at(len(table), "structure table", []error{ErrTruncated}, "the %s entry point gives a %d-byte table, the file holds %d bytes", ep.anchor, ep.TableLength, len(table)), "DMI", 0)
	}
	if uint64(len(table)) > uint64(ep.TableLength) {
		table = table[:ep.TableLength]
	}
	info, err := decodeStructures(ep.Version, table)
	return info, locate(err, "DMI", 0)
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
// the table (0x20). A problem names the file "dump" (ReadDump names it by
// its path).
func DecodeDump(data []byte) (*Info, error) {
	if len(data) > MaxInputSize {
		return nil, tooLarge("dump", MaxInputSize)
	}
	ep, err := ParseEntryPoint(data)
	if err != nil {
		return nil, locate(err, "dump", 0)
	}
	if ep.TableAddress > uint64(len(data)) {
		return nil, locate(at(entryFields[ep.anchor].address, ep.anchor+" entry point", []error{ErrTruncated}, "table address 0x%X is past the end of the %d-byte file", ep.TableAddress, len(data)), "dump", 0)
	}
	table := data[ep.TableAddress:]
	switch {
	case uint64(len(table)) >= uint64(ep.TableLength):
		table = table[:ep.TableLength]
	case !ep.Is64Bit:
		// A 2.x entry point states the exact length; 3.x only a maximum.
		return nil, locate(at(entryFields[ep.anchor].length, ep.anchor+" entry point", []error{ErrTruncated}, "table length %d at 0x%X runs past the end of the file (%d bytes there)", ep.TableLength, ep.TableAddress, len(table)), "dump", 0)
	}
	info, err := decodeStructures(ep.Version, table)
	return info, locate(err, "dump", int(ep.TableAddress))
}
