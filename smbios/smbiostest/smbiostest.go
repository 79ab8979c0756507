// Package smbiostest builds SMBIOS tables and dmidecode-style dumps for
// tests, fuzz seeds and the example golden device. It writes what a firmware
// would, so the decoder in package smbios and Debian's dmidecode can both be
// checked against it; it does not import package smbios, so that package's own
// tests can use it.
package smbiostest

import "encoding/binary"

// Structure returns one SMBIOS structure: the 4-byte header (type, length,
// handle), the formatted area after the header, then the string set (each
// string NUL-terminated, the set closed by a further NUL; an empty set is two
// NULs).
func Structure(typ uint8, handle uint16, formatted []byte, strs ...string) []byte {
	b := []byte{typ, byte(4 + len(formatted)), 0, 0}
	binary.LittleEndian.PutUint16(b[2:], handle)
	b = append(b, formatted...)
	for _, s := range strs {
		b = append(append(b, s...), 0)
	}
	if len(strs) == 0 {
		b = append(b, 0)
	}
	return append(b, 0)
}

// EndOfTable is the type 127 structure that closes a table.
func EndOfTable(handle uint16) []byte { return Structure(127, handle, nil) }

// Dump wraps a structure table in a 64-bit (_SM3_) entry point as
// `dmidecode --dump-bin` writes it: the 24-byte entry point zero-padded to
// 0x20 bytes, its table address rewritten to 0x20, then the table.
func Dump(major, minor, docrev uint8, table []byte) []byte {
	ep := make([]byte, 0x20)
	copy(ep, "_SM3_")
	ep[6] = 0x18
	ep[7], ep[8], ep[9] = major, minor, docrev
	ep[0x0A] = 1 // entry point revision 3.0
	binary.LittleEndian.PutUint32(ep[0x0C:], uint32(len(table)))
	binary.LittleEndian.PutUint64(ep[0x10:], 0x20)
	var s byte
	for _, c := range ep[:0x18] {
		s += c
	}
	ep[5] = -s
	return append(ep, table...)
}

// Machine is what a firmware reports in SMBIOS types 0 to 3 that hardware
// IDs are derived from, plus the few other values a real table carries.
type Machine struct {
	BIOSVendor, BIOSVersion, BIOSDate  string
	BIOSMajorRelease, BIOSMinorRelease uint8
	Manufacturer, ProductName, Version string
	Serial, SKU, Family                string
	UUID                               [16]byte
	BaseboardManufacturer              string
	BaseboardProduct, BaseboardVersion string
	ChassisManufacturer                string
	EnclosureType                      uint8
}

// strtab hands out string numbers for a structure's string set; an empty
// string is absent (number 0) and takes no entry.
type strtab []string

func (t *strtab) ref(s string) byte {
	if s == "" {
		return 0
	}
	*t = append(*t, s)
	return byte(len(*t))
}

// Table returns the structures of types 0, 1, 2 and 3 for m, at their
// SMBIOS 3.x lengths, followed by the end-of-table structure.
func Table(m Machine) []byte {
	var table []byte

	var s0 strtab
	t0 := make([]byte, 0x1A-4)
	t0[0x04-4] = s0.ref(m.BIOSVendor)
	t0[0x05-4] = s0.ref(m.BIOSVersion)
	binary.LittleEndian.PutUint16(t0[0x06-4:], 0xF000) // starting address segment
	t0[0x08-4] = s0.ref(m.BIOSDate)
	t0[0x09-4] = 0xFF                                     // ROM size: see extended size
	binary.LittleEndian.PutUint64(t0[0x0A-4:], 1<<3|1<<7) // characteristics: not supported | PCI
	t0[0x14-4], t0[0x15-4] = m.BIOSMajorRelease, m.BIOSMinorRelease
	t0[0x16-4], t0[0x17-4] = 0xFF, 0xFF            // no embedded controller
	binary.LittleEndian.PutUint16(t0[0x18-4:], 16) // extended ROM size: 16 MB
	table = append(table, Structure(0, 0x0000, t0, s0...)...)

	var s1 strtab
	t1 := make([]byte, 0x1B-4)
	t1[0x04-4] = s1.ref(m.Manufacturer)
	t1[0x05-4] = s1.ref(m.ProductName)
	t1[0x06-4] = s1.ref(m.Version)
	t1[0x07-4] = s1.ref(m.Serial)
	copy(t1[0x08-4:], m.UUID[:])
	t1[0x18-4] = 6 // wake-up type: power switch
	t1[0x19-4] = s1.ref(m.SKU)
	t1[0x1A-4] = s1.ref(m.Family)
	table = append(table, Structure(1, 0x0001, t1, s1...)...)

	var s2 strtab
	t2 := make([]byte, 0x0F-4)
	t2[0x04-4] = s2.ref(m.BaseboardManufacturer)
	t2[0x05-4] = s2.ref(m.BaseboardProduct)
	t2[0x06-4] = s2.ref(m.BaseboardVersion)
	t2[0x09-4] = 1 // feature flags: hosting board
	binary.LittleEndian.PutUint16(t2[0x0B-4:], 0x0003)
	t2[0x0D-4] = 0x0A // board type: motherboard
	table = append(table, Structure(2, 0x0002, t2, s2...)...)

	var s3 strtab
	t3 := make([]byte, 0x15-4)
	t3[0x04-4] = s3.ref(m.ChassisManufacturer)
	t3[0x05-4] = m.EnclosureType
	t3[0x09-4], t3[0x0A-4], t3[0x0B-4], t3[0x0C-4] = 3, 3, 3, 3 // safe states, no security
	table = append(table, Structure(3, 0x0003, t3, s3...)...)

	return append(table, EndOfTable(0xFEFF)...)
}
