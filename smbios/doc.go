// Package smbios reads a machine's SMBIOS and computes the computer hardware
// IDs (CHIDs) Windows derives from it. The OEM side (product validation) and
// the device agent both use it, so a device computes exactly the IDs updates
// were aimed at.
//
// Sources: a `dmidecode --dump-bin` file (DecodeDump, ReadDump; 32-bit _SM_,
// 64-bit _SM3_ and legacy _DMI_ entry points), the Linux pair
// /sys/firmware/dmi/tables/{smbios_entry_point,DMI} (DecodeTable,
// ReadSysfsTables), the values the kernel decoded into /sys/class/dmi/id
// (ReadDMIID), a YAML or JSON fields file (ReadFieldsFile), and the running
// machine (ReadRunningMachine: the tables, else /sys/class/dmi/id). Every
// input is size-bounded (MaxInputSize) before it is parsed.
//
// Decoding follows the SMBIOS reference specification (DMTF DSP0134) for
// structure types 0 (BIOS), 1 (System), 2 (Baseboard) and 3 (Chassis), using
// the first structure of each type: each structure's formatted length is
// checked before any field is read (a field beyond it is absent, as in older
// SMBIOS versions), string index 0 is absent, and an index past the string
// set is an error. Every decoding error is a *StructureError, reported as
// FILE:OFFSET: STRUCTURE: RULE (the offset in bytes in the dump, the sysfs
// file or the RawSMBIOSData blob), and wraps ErrMalformed; the decoder never
// panics (FuzzDecode).
//
// CHIDs (Fields.HardwareIDs) follow Windows: SHA-1 name-based GUIDs under the
// namespace 70ffd812-4c7f-4c7d-0000-000000000000 over the UTF-16LE values
// joined with '&'; strings lose leading spaces and trailing whitespace;
// release bytes are two-digit lower-case hex; the enclosure type is unpadded
// lower-case hex of the raw byte, chassis-lock bit included (see
// Fields.Value for the source); an ID whose fields are not all present is not
// generated. The results are checked against fwupd's and systemd's published
// vectors and real ComputerHardwareIds.exe output.
//
// The package does not know about products, updates or rings (see
// smbios/product, manifest and flight), and it never prints.
package smbios
