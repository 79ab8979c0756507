package smbios

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/devupdate/devupdate/internal/iox"
	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/internal/strictjson"
)

// Linux locations read for the running machine.
const (
	SysfsTablesDir = "/sys/firmware/dmi/tables"
	DMIIDDir       = "/sys/class/dmi/id"
)

// Kind names where SMBIOS is read from.
type Kind int

// The sources Read understands.
const (
	RunningMachine Kind = iota // SysfsTables, falling back to DMIID; Path is a root prefix ("" = "/")
	Dump                       // a `dmidecode --dump-bin` file
	SysfsTables                // a directory holding smbios_entry_point and DMI
	DMIID                      // a /sys/class/dmi/id-like directory
	FieldsFile                 // a JSON fields file (YAML too through smbios/smbiosyaml)
)

// Source says where Read finds SMBIOS.
type Source struct {
	Kind Kind
	Path string
}

// Read reads SMBIOS from src and returns the decoded fields.
func Read(ctx context.Context, src Source) (*Info, error) {
	switch src.Kind {
	case Dump:
		return ReadDump(ctx, src.Path)
	case SysfsTables:
		return ReadSysfsTables(ctx, src.Path)
	case DMIID:
		return ReadDMIID(ctx, src.Path)
	case FieldsFile:
		return ReadFieldsFile(ctx, src.Path)
	case RunningMachine:
		return ReadRunningMachine(ctx, src.Path)
	}
	return nil, fmt.Errorf("unknown SMBIOS source kind %d", src.Kind)
}

// ReadRunningMachine reads the SMBIOS of the machine it runs on. On
// Windows (root "") that is GetSystemFirmwareTable('RSMB') (DecodeRSMB).
// Elsewhere, the raw tables in /sys/firmware/dmi/tables (root-only on most
// systems), else the world-readable values the kernel decoded into
// /sys/class/dmi/id. root is prefixed to both paths ("" for the real ones)
// so tests can use fixtures.
func ReadRunningMachine(ctx context.Context, root string) (*Info, error) {
	if root == "" {
		if info, ok, err := readFirmwareTable(ctx); ok {
			return info, err
		}
	}
	tables := filepath.Join(root, SysfsTablesDir)
	info, errTables := ReadSysfsTables(ctx, tables)
	if errTables == nil {
		return info, nil
	}
	if errors.Is(errTables, ErrMalformed) || ctx.Err() != nil {
		return nil, errTables
	}
	info, errID := ReadDMIID(ctx, filepath.Join(root, DMIIDDir))
	if errID == nil {
		return info, nil
	}
	return nil, fmt.Errorf("%w: %w; %w", ErrNoSMBIOS, errTables, errID)
}

// readBounded reads at most MaxInputSize bytes of path, refusing larger
// files before anything parses them.
func readBounded(ctx context.Context, path string, limit int64) ([]byte, error) {
	data, err := iox.ReadFile(ctx, path, limit)
	if errors.Is(err, iox.ErrTooLarge) {
		return nil, tooLarge(path, limit)
	}
	return data, err
}

// ReadDump reads a `dmidecode --dump-bin` file.
func ReadDump(ctx context.Context, path string) (*Info, error) {
	data, err := readBounded(ctx, path, MaxInputSize)
	if err != nil {
		return nil, err
	}
	info, err := DecodeDump(data)
	if err != nil {
		return nil, named(err, func(string) string { return path })
	}
	info.Source = path
	return info, nil
}

// named renames the input a *StructureError is in (the Decode functions
// know only bytes) and returns err.
func named(err error, name func(decoded string) string) error {
	var se *StructureError
	if errors.As(err, &se) {
		se.File = name(se.File)
	}
	return err
}

// ReadSysfsTables reads dir/smbios_entry_point and dir/DMI, the pair Linux
// exports in /sys/firmware/dmi/tables.
func ReadSysfsTables(ctx context.Context, dir string) (*Info, error) {
	entry, err := readBounded(ctx, filepath.Join(dir, "smbios_entry_point"), 64)
	if err != nil {
		return nil, err
	}
	table, err := readBounded(ctx, filepath.Join(dir, "DMI"), MaxInputSize)
	if err != nil {
		return nil, err
	}
	info, err := DecodeTable(entry, table)
	if err != nil {
		return nil, named(err, func(file string) string { return filepath.Join(dir, file) })
	}
	info.Source = dir
	return info, nil
}

// ReadDMIID reads the values the Linux kernel decoded into a
// /sys/class/dmi/id directory. A missing file is an absent field. The
// kernel does not export the SMBIOS version, so Info.Version is zero, and it
// masks the chassis-lock bit out of chassis_type, so HardwareID-12 differs
// from the raw tables on a chassis that reports a lock.
func ReadDMIID(ctx context.Context, dir string) (*Info, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", dir)
	}
	var f Fields
	var found bool
	read := func(name string) (string, bool, error) {
		data, err := readBounded(ctx, filepath.Join(dir, name), 4096)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return "", false, nil
		}
		if err != nil {
			return "", false, err
		}
		found = true
		return strings.TrimSuffix(string(data), "\n"), true, nil
	}
	for _, s := range []struct {
		name string
		dst  *string
	}{
		{"sys_vendor", &f.Manufacturer},
		{"product_family", &f.Family},
		{"product_name", &f.ProductName},
		{"product_sku", &f.SKU},
		{"bios_vendor", &f.BIOSVendor},
		{"bios_version", &f.BIOSVersion},
		{"board_vendor", &f.BaseboardManufacturer},
		{"board_name", &f.BaseboardProduct},
	} {
		v, _, err := read(s.name)
		if err != nil {
			return nil, err
		}
		*s.dst = v
	}
	// bios_release is "major.minor" in decimal (absent when the BIOS says 0xFF).
	if v, ok, err := read("bios_release"); err != nil {
		return nil, err
	} else if ok {
		major, minor, okSplit := strings.Cut(strings.TrimSpace(v), ".")
		a, errA := strconv.ParseUint(major, 10, 8)
		b, errB := strconv.ParseUint(minor, 10, 8)
		if !okSplit || errA != nil || errB != nil {
			return nil, fmt.Errorf("%s: %w: bios_release %q is not MAJOR.MINOR", dir, ErrMalformed, v)
		}
		f.BIOSMajorRelease, f.BIOSMinorRelease = U8(uint8(a)), U8(uint8(b))
	}
	if v, ok, err := read("chassis_type"); err != nil {
		return nil, err
	} else if ok {
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 8)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: chassis_type %q is not a byte", dir, ErrMalformed, v)
		}
		f.EnclosureType = U8(uint8(n))
	}
	if !found {
		return nil, fmt.Errorf("%s: %w: no DMI id files", dir, ErrNoSMBIOS)
	}
	info := &Info{Source: dir, Fields: f}
	// product_uuid is readable by root only; the kernel prints it in the
	// byte order DecodeTable uses.
	if v, ok, err := read("product_uuid"); err != nil {
		return nil, err
	} else if ok {
		u, err := ParseUUID(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("%s: product_uuid: %w", dir, err)
		}
		info.SystemUUID = &u
	}
	return info, nil
}

// ReadFieldsFile reads a JSON fields file: one object with the keys of
// Fields. Unknown keys are refused; problems come back as a problem.List.
// (The CLI also reads YAML fields files, through smbios/smbiosyaml; the
// device side reads JSON only and links no YAML parser.)
func ReadFieldsFile(ctx context.Context, path string) (*Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := problem.ReadFileBounded(path, MaxFieldsFileSize)
	if err != nil {
		return nil, err
	}
	f, err := ParseFields(path, data)
	if err != nil {
		return nil, err
	}
	return &Info{Source: path, Fields: f}, nil
}

// MaxFieldsFileSize bounds a fields file.
const MaxFieldsFileSize = 1 << 20

// ParseFields decodes the contents of a JSON fields file named name:
// exactly one object, no unknown or duplicate keys, each value of its type
// (strings; the release bytes and the enclosure type as integers 0-255).
func ParseFields(name string, data []byte) (Fields, error) {
	var f Fields
	if err := strictjson.Decode(data, &f); err != nil {
		line, col := 0, 0
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			line, col = strictjson.LineCol(data, se.Offset)
		case errors.As(err, &te):
			line, col = strictjson.LineCol(data, te.Offset)
		}
		return Fields{}, problem.List{{File: name, Line: line, Col: col, Rule: err.Error(), Err: ErrFieldsFile}}
	}
	return f, nil
}

// ErrFieldsFile is wrapped by every fields-file problem.
var ErrFieldsFile = errors.New("invalid fields file")

// ReadFile reads an SMBIOS source file of either kind a device is given
// for tests: a `dmidecode --dump-bin` dump (it starts with an entry point
// anchor, _SM_, _SM3_ or _DMI_) or else a JSON fields file.
func ReadFile(ctx context.Context, path string) (*Info, error) {
	data, err := readBounded(ctx, path, MaxInputSize)
	if err != nil {
		return nil, err
	}
	for _, anchor := range []string{"_SM_", "_SM3_", "_DMI_"} {
		if strings.HasPrefix(string(data[:min(len(data), 5)]), anchor) {
			info, err := DecodeDump(data)
			if err != nil {
				return nil, named(err, func(string) string { return path })
			}
			info.Source = path
			return info, nil
		}
	}
	if len(data) > MaxFieldsFileSize {
		return nil, tooLarge(path, MaxFieldsFileSize)
	}
	f, err := ParseFields(path, data)
	if err != nil {
		return nil, err
	}
	return &Info{Source: path, Fields: f}, nil
}
