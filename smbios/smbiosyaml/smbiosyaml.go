// Package smbiosyaml reads SMBIOS fields files written in YAML (or JSON,
// which YAML includes) for the OEM side: `devupdate smbios show --fields`
// and the example products. Package smbios reads JSON fields files only,
// so the device agent links no YAML parser; this package adds YAML on top
// of it and knows nothing else of SMBIOS.
package smbiosyaml

import (
	"context"

	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/internal/problem/yamlpos"
	"github.com/devupdate/devupdate/smbios"
)

// ReadFieldsFile reads a YAML or JSON fields file with the keys of
// smbios.Fields. Unknown keys are refused; problems come back as a
// problem.List.
func ReadFieldsFile(ctx context.Context, path string) (*smbios.Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := problem.ReadFileBounded(ctx, path, smbios.MaxFieldsFileSize)
	if err != nil {
		return nil, err
	}
	f, err := ParseFields(path, data)
	if err != nil {
		return nil, err
	}
	return &smbios.Info{Source: path, Fields: f}, nil
}

// ParseFields decodes the contents of a YAML or JSON fields file named
// name.
func ParseFields(name string, data []byte) (smbios.Fields, error) {
	var f smbios.Fields
	if _, err := yamlpos.Decode(name, data, &f); err != nil {
		return smbios.Fields{}, err
	}
	return f, nil
}

// Read is smbios.Read, with fields files read as YAML or JSON.
func Read(ctx context.Context, src smbios.Source) (*smbios.Info, error) {
	if src.Kind == smbios.FieldsFile {
		return ReadFieldsFile(ctx, src.Path)
	}
	return smbios.Read(ctx, src)
}
