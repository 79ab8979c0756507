package smbios

import (
	"encoding/binary"
)

// rsmbHeaderSize is the fixed part of RawSMBIOSData: Used20CallingMethod,
// SMBIOSMajorVersion, SMBIOSMinorVersion, DmiRevision (one byte each) and
// Length (a little-endian DWORD).
const rsmbHeaderSize = 8

// DecodeRSMB decodes what Windows' GetSystemFirmwareTable('RSMB', 0)
// returns: a RawSMBIOSData header (Used20CallingMethod, major and minor
// version, DMI revision, table length) followed by the structure table. It
// runs on every OS, so the Windows path is tested everywhere; the table is
// bounded by MaxInputSize and by the length the header states.
func DecodeRSMB(data []byte) (*Info, error) {
	if len(data) > MaxInputSize {
		return nil, tooLarge("RawSMBIOSData", MaxInputSize)
	}
	if len(data) < rsmbHeaderSize {
		return nil, locate(at(0, "RawSMBIOSData header", []error{ErrTruncated}, "%d bytes, needs %d", len(data), rsmbHeaderSize), "RawSMBIOSData", 0)
	}
	v := Version{Major: data[1], Minor: data[2], Docrev: data[3]}
	n := binary.LittleEndian.Uint32(data[4:])
	table := data[rsmbHeaderSize:]
	if uint64(n) > uint64(len(table)) {
		return nil, locate(at(4, "RawSMBIOSData header", []error{ErrTruncated}, "Length gives a %d-byte table, only %d bytes follow", n, len(table)), "RawSMBIOSData", 0)
	}
	info, err := decodeStructures(v, table[:n])
	return info, locate(err, "RawSMBIOSData", rsmbHeaderSize)
}

// EncodeRSMB builds a RawSMBIOSData blob from an SMBIOS version and its
// structure table, as Windows returns it. It is DecodeRSMB's inverse, for
// tests and for tools that turn a dump into what a Windows device sees.
func EncodeRSMB(v Version, table []byte) []byte {
	out := make([]byte, rsmbHeaderSize, rsmbHeaderSize+len(table))
	out[1], out[2], out[3] = v.Major, v.Minor, v.Docrev
	binary.LittleEndian.PutUint32(out[4:], uint32(len(table)))
	return append(out, table...)
}
