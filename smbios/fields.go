package smbios

import (
	"fmt"
	"strconv"
	"strings"
)

// Fields are the SMBIOS values Windows derives computer hardware IDs from.
// The tags are the keys of a fields file (YAML or JSON) and of the "fields"
// object in `devupdate smbios show --output json`.
//
// A string that is empty after trimming is absent (SMBIOS string index 0); a
// nil byte is absent (the structure is too short to hold it, or it is not in
// the input). Strings are kept as read; HardwareIDs trims them the way
// Windows does before hashing.
type Fields struct {
	Manufacturer          string `yaml:"manufacturer,omitempty" json:"manufacturer,omitempty"`
	Family                string `yaml:"family,omitempty" json:"family,omitempty"`
	ProductName           string `yaml:"product_name,omitempty" json:"product_name,omitempty"`
	SKU                   string `yaml:"sku,omitempty" json:"sku,omitempty"`
	BIOSVendor            string `yaml:"bios_vendor,omitempty" json:"bios_vendor,omitempty"`
	BIOSVersion           string `yaml:"bios_version,omitempty" json:"bios_version,omitempty"`
	BIOSMajorRelease      *uint8 `yaml:"bios_major_release,omitempty" json:"bios_major_release,omitempty"`
	BIOSMinorRelease      *uint8 `yaml:"bios_minor_release,omitempty" json:"bios_minor_release,omitempty"`
	EnclosureType         *uint8 `yaml:"enclosure_type,omitempty" json:"enclosure_type,omitempty"`
	BaseboardManufacturer string `yaml:"baseboard_manufacturer,omitempty" json:"baseboard_manufacturer,omitempty"`
	BaseboardProduct      string `yaml:"baseboard_product,omitempty" json:"baseboard_product,omitempty"`
}

// The field names used in HardwareID.Fields, in the words of the Windows
// documentation ("Specifying hardware IDs for a computer").
const (
	FieldManufacturer          = "Manufacturer"
	FieldFamily                = "Family"
	FieldProductName           = "ProductName"
	FieldSKU                   = "SKU"
	FieldBIOSVendor            = "BiosVendor"
	FieldBIOSVersion           = "BiosVersion"
	FieldBIOSMajorRelease      = "BiosMajorRelease"
	FieldBIOSMinorRelease      = "BiosMinorRelease"
	FieldEnclosureType         = "EnclosureType"
	FieldBaseboardManufacturer = "BaseboardManufacturer"
	FieldBaseboardProduct      = "BaseboardProduct"
)

// HardwareID is one computer hardware ID with the fields that fed it.
type HardwareID struct {
	ID     int      `json:"id"`
	Name   string   `json:"name"` // "HardwareID-<ID>"
	Fields []string `json:"fields"`
	GUID   CHID     `json:"guid"`
}

// hardwareIDFields is the Windows 10 numbering of the 15 CHIDs.
var hardwareIDFields = [15][]string{
	{FieldManufacturer, FieldFamily, FieldProductName, FieldSKU, FieldBIOSVendor, FieldBIOSVersion, FieldBIOSMajorRelease, FieldBIOSMinorRelease},
	{FieldManufacturer, FieldFamily, FieldProductName, FieldBIOSVendor, FieldBIOSVersion, FieldBIOSMajorRelease, FieldBIOSMinorRelease},
	{FieldManufacturer, FieldProductName, FieldBIOSVendor, FieldBIOSVersion, FieldBIOSMajorRelease, FieldBIOSMinorRelease},
	{FieldManufacturer, FieldFamily, FieldProductName, FieldSKU, FieldBaseboardManufacturer, FieldBaseboardProduct},
	{FieldManufacturer, FieldFamily, FieldProductName, FieldSKU},
	{FieldManufacturer, FieldFamily, FieldProductName},
	{FieldManufacturer, FieldSKU, FieldBaseboardManufacturer, FieldBaseboardProduct},
	{FieldManufacturer, FieldSKU},
	{FieldManufacturer, FieldProductName, FieldBaseboardManufacturer, FieldBaseboardProduct},
	{FieldManufacturer, FieldProductName},
	{FieldManufacturer, FieldFamily, FieldBaseboardManufacturer, FieldBaseboardProduct},
	{FieldManufacturer, FieldFamily},
	{FieldManufacturer, FieldEnclosureType},
	{FieldManufacturer, FieldBaseboardManufacturer, FieldBaseboardProduct},
	{FieldManufacturer},
}

// NumHardwareIDs is how many hardware IDs Windows defines (0 to 14).
const NumHardwareIDs = len(hardwareIDFields)

// HardwareIDFields returns the field names that feed HardwareID-id, or nil
// for an id outside 0..14.
func HardwareIDFields(id int) []string {
	if id < 0 || id >= NumHardwareIDs {
		return nil
	}
	return append([]string(nil), hardwareIDFields[id]...)
}

// Trim applies Windows' trimming to an SMBIOS string: leading spaces and
// trailing whitespace are removed; inner spaces stay ("GJET75WW (2.25 )").
func Trim(s string) string {
	s = strings.TrimLeft(s, " ")
	return strings.TrimRight(s, " \t\n\v\f\r")
}

// Value returns the text Windows hashes for the named field and whether the
// field is present: trimmed strings, release bytes as two-digit lower-case
// hex, the enclosure type as unpadded lower-case hex.
//
// The enclosure byte is hashed as read, chassis-lock bit 7 included: fwupd,
// whose CHIDs are checked against ComputerHardwareIds.exe, formats the raw
// type-3 byte at offset 05h with "%x" (libfwupdplugin/fu-context-hwid-smbios.c,
// fu_context_hwid_smbios_convert_integer_cb), and so do systemd's and u-boot's
// implementations. See EnclosureType for the masked chassis type.
func (f Fields) Value(name string) (string, bool) {
	str := func(s string) (string, bool) {
		s = Trim(s)
		return s, s != ""
	}
	hexByte := func(b *uint8, format string) (string, bool) {
		if b == nil {
			return "", false
		}
		return fmt.Sprintf(format, *b), true
	}
	switch name {
	case FieldManufacturer:
		return str(f.Manufacturer)
	case FieldFamily:
		return str(f.Family)
	case FieldProductName:
		return str(f.ProductName)
	case FieldSKU:
		return str(f.SKU)
	case FieldBIOSVendor:
		return str(f.BIOSVendor)
	case FieldBIOSVersion:
		return str(f.BIOSVersion)
	case FieldBIOSMajorRelease:
		return hexByte(f.BIOSMajorRelease, "%02x")
	case FieldBIOSMinorRelease:
		return hexByte(f.BIOSMinorRelease, "%02x")
	case FieldEnclosureType:
		return hexByte(f.EnclosureType, "%x")
	case FieldBaseboardManufacturer:
		return str(f.BaseboardManufacturer)
	case FieldBaseboardProduct:
		return str(f.BaseboardProduct)
	}
	return "", false
}

// HardwareID computes HardwareID-id. ok is false when id is outside 0..14
// or when one of its fields is absent: Windows does not generate that ID.
func (f Fields) HardwareID(id int) (HardwareID, bool) {
	names := HardwareIDFields(id)
	if names == nil {
		return HardwareID{}, false
	}
	values := make([]string, len(names))
	for i, n := range names {
		v, ok := f.Value(n)
		if !ok {
			return HardwareID{}, false
		}
		values[i] = v
	}
	return HardwareID{ID: id, Name: "HardwareID-" + strconv.Itoa(id), Fields: names, GUID: NewCHID(values...)}, true
}

// HardwareIDs returns every hardware ID Windows would generate from f, in
// ID order; an ID whose fields are not all present is left out.
func (f Fields) HardwareIDs() []HardwareID {
	var out []HardwareID
	for id := range NumHardwareIDs {
		if h, ok := f.HardwareID(id); ok {
			out = append(out, h)
		}
	}
	return out
}

// TargetingID returns the hardware ID a product (and so a device) is
// targeted by: HardwareID-3 (no BIOS fields, so a BIOS update does not change
// it), or HardwareID-4 when the baseboard manufacturer is absent and
// HardwareID-3 cannot be formed. ok is false when neither applies (a
// baseboard manufacturer without a baseboard product, or a missing
// Manufacturer, Family, ProductName or SKU). Publishers and devices use this
// one rule, so a device finds its product's ring catalog on its own.
func (f Fields) TargetingID() (HardwareID, bool) {
	if h, ok := f.HardwareID(3); ok {
		return h, true
	}
	if _, ok := f.Value(FieldBaseboardManufacturer); ok {
		return HardwareID{}, false // baseboard product missing: no fallback
	}
	return f.HardwareID(4)
}

// U8 returns a pointer to v, for filling the byte fields of Fields.
func U8(v uint8) *uint8 { return &v }
