// Package smbioscodes holds the error codes of package smbios, which both
// binaries link (devupdate reads SMBIOS for products, the agent for the
// device), so the codes are written once.
package smbioscodes

import (
	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/smbios"
)

// Codes classify package smbios's errors. The precise sentinels share the
// code of what they are (a checksum, a truncation, a string index past the
// set are malformed SMBIOS).
var Codes = cli.Codes{
	cli.Is(smbios.ErrNoSMBIOS, "no_smbios"),
	cli.Is(smbios.ErrUnknownVersion, "smbios_version_unknown"),
	cli.Is(smbios.ErrTooLarge, "too_large"),
	cli.Is(smbios.ErrMalformed, "malformed_smbios"),
	cli.Is(smbios.ErrEntryPoint, "malformed_smbios"),
	cli.Is(smbios.ErrChecksum, "malformed_smbios"),
	cli.Is(smbios.ErrTruncated, "malformed_smbios"),
	cli.Is(smbios.ErrStringIndex, "malformed_smbios"),
	cli.Is(smbios.ErrBadCHID, cli.CodeInvalidInput),
	cli.Is(smbios.ErrFieldsFile, cli.CodeInvalidInput),
}
