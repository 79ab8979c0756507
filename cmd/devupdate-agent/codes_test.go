package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/cmd/internal/cli/clitest"
	"github.com/devupdate/devupdate/smbios"
)

// smbiosSentinels are the sentinels of package smbios, the agent's library.
var smbiosSentinels = map[string]error{
	"smbios.ErrBadCHID":        smbios.ErrBadCHID,
	"smbios.ErrChecksum":       smbios.ErrChecksum,
	"smbios.ErrEntryPoint":     smbios.ErrEntryPoint,
	"smbios.ErrFieldsFile":     smbios.ErrFieldsFile,
	"smbios.ErrMalformed":      smbios.ErrMalformed,
	"smbios.ErrNoSMBIOS":       smbios.ErrNoSMBIOS,
	"smbios.ErrStringIndex":    smbios.ErrStringIndex,
	"smbios.ErrTooLarge":       smbios.ErrTooLarge,
	"smbios.ErrTruncated":      smbios.ErrTruncated,
	"smbios.ErrUnknownVersion": smbios.ErrUnknownVersion,
}

// Every sentinel of package smbios has an agent error code other than
// "failed"; a new one fails this test until it has.
func TestEverySMBIOSSentinelHasACode(t *testing.T) {
	n := 0
	for _, name := range clitest.Sentinels(t, "../..", "cmd", "hack") {
		if !strings.HasPrefix(name, "smbios.") {
			continue
		}
		n++
		err, ok := smbiosSentinels[name]
		if !ok {
			t.Errorf("%s is not in smbiosSentinels: list it and give it a code", name)
			continue
		}
		if code := codes.Of(fmt.Errorf("context: %w", err)); code == cli.CodeFailed {
			t.Errorf("%s has no error code", name)
		}
	}
	if n != len(smbiosSentinels) {
		t.Errorf("found %d sentinels in smbios, %d listed", n, len(smbiosSentinels))
	}
}
