package smbios

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// chassisTypes are the enclosure type names of DSP0134 7.4.1, spelled as
// dmidecode prints them, indexed by the type byte with bit 7 (lock) cleared.
var chassisTypes = [...]string{
	1: "Other", 2: "Unknown", 3: "Desktop", 4: "Low Profile Desktop", 5: "Pizza Box",
	6: "Mini Tower", 7: "Tower", 8: "Portable", 9: "Laptop", 10: "Notebook",
	11: "Hand Held", 12: "Docking Station", 13: "All In One", 14: "Sub Notebook",
	15: "Space-saving", 16: "Lunch Box", 17: "Main Server Chassis", 18: "Expansion Chassis",
	19: "Sub Chassis", 20: "Bus Expansion Chassis", 21: "Peripheral Chassis", 22: "RAID Chassis",
	23: "Rack Mount Chassis", 24: "Sealed-case PC", 25: "Multi-system", 26: "CompactPCI",
	27: "AdvancedTCA", 28: "Blade", 29: "Blade Enclosing", 30: "Tablet", 31: "Convertible",
	32: "Detachable", 33: "IoT Gateway", 34: "Embedded PC", 35: "Mini PC", 36: "Stick PC",
}

// ChassisTypeName names an enclosure type byte (the lock bit ignored), or
// returns "" for a value the specification does not define.
func ChassisTypeName(b uint8) string {
	t := int(b & 0x7F)
	if t < len(chassisTypes) {
		return chassisTypes[t]
	}
	return ""
}

// reportLabels are the field names ComputerHardwareIds.exe prints after "<-".
var reportLabels = map[string]string{
	FieldManufacturer:          "Manufacturer",
	FieldFamily:                "Family",
	FieldProductName:           "ProductName",
	FieldSKU:                   "SKUNumber",
	FieldBIOSVendor:            "BIOS Vendor",
	FieldBIOSVersion:           "BIOS Version",
	FieldBIOSMajorRelease:      "BIOS Major Release",
	FieldBIOSMinorRelease:      "BIOS Minor Release",
	FieldEnclosureType:         "Enclosure Type",
	FieldBaseboardManufacturer: "Baseboard Manufacturer",
	FieldBaseboardProduct:      "Baseboard Product",
}

// WriteText writes info in the layout of ComputerHardwareIds.exe: the
// "Computer Information" block, then one "{guid}    <- Field + Field" line
// per hardware ID generated. Absent values print as "(null)", as the tool
// does. Numbers print in decimal, as in the JSON report and the fields file
// (the CHIDs hash the release bytes and the enclosure type in hex); the
// enclosure type is followed by its name.
func WriteText(w io.Writer, info *Info) error {
	bw := bufio.NewWriter(w)
	f := info.Fields
	str := func(s string) string {
		if v := Trim(s); v != "" {
			return v
		}
		return "(null)"
	}
	dec := func(b *uint8) string {
		if b == nil {
			return "(null)"
		}
		return fmt.Sprint(*b)
	}
	src := info.Source
	if src == "" {
		src = "the given values"
	}
	if v := info.Version.String(); v != "" {
		fmt.Fprintf(bw, "Using SMBIOS %s from %s\n\n", v, src)
	} else {
		fmt.Fprintf(bw, "Using %s\n\n", src)
	}
	fmt.Fprintf(bw, "Computer Information\n--------------------\n\n")
	fmt.Fprintf(bw, "BIOS Vendor: %s\n", str(f.BIOSVendor))
	fmt.Fprintf(bw, "BIOS Version string: %s\n", str(f.BIOSVersion))
	fmt.Fprintf(bw, "System BIOS Major Release: %s\n", dec(f.BIOSMajorRelease))
	fmt.Fprintf(bw, "System BIOS Minor Release: %s\n\n", dec(f.BIOSMinorRelease))
	fmt.Fprintf(bw, "System Manufacturer: %s\n", str(f.Manufacturer))
	fmt.Fprintf(bw, "System Family: %s\n", str(f.Family))
	fmt.Fprintf(bw, "System ProductName: %s\n", str(f.ProductName))
	fmt.Fprintf(bw, "SKU Number: %s\n\n", str(f.SKU))
	if f.EnclosureType == nil {
		fmt.Fprintf(bw, "Enclosure Type: (null)\n\n")
	} else {
		name := ChassisTypeName(*f.EnclosureType)
		if name == "" {
			name = "Unknown"
		}
		fmt.Fprintf(bw, "Enclosure Type: %d %q\n\n", *f.EnclosureType, name)
	}
	fmt.Fprintf(bw, "BaseBoard Manufacturer: %s\n", str(f.BaseboardManufacturer))
	fmt.Fprintf(bw, "BaseBoard Product: %s\n\n\n", str(f.BaseboardProduct))
	fmt.Fprintf(bw, "Hardware IDs\n------------\n")
	for _, h := range f.HardwareIDs() {
		labels := make([]string, len(h.Fields))
		for i, n := range h.Fields {
			labels[i] = reportLabels[n]
		}
		fmt.Fprintf(bw, "{%s}    <- %s\n", h.GUID, strings.Join(labels, " + "))
	}
	return bw.Flush()
}

// Report is the JSON form of `devupdate smbios show --output json`.
type Report struct {
	SMBIOSVersion string       `json:"smbios_version,omitempty"` // "" (left out) when the source does not say
	Fields        Fields       `json:"fields"`
	CHIDs         []HardwareID `json:"chids"`
}

// NewReport builds the JSON report of info.
func NewReport(info *Info) Report {
	ids := info.Fields.HardwareIDs()
	if ids == nil {
		ids = []HardwareID{}
	}
	return Report{SMBIOSVersion: info.Version.String(), Fields: info.Fields, CHIDs: ids}
}
