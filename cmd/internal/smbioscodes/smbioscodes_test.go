package smbioscodes

import (
	"fmt"
	"strings"
	"testing"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/cmd/internal/cli/clitest"
	"github.com/devupdate/devupdate/smbios"
)

var sentinels = map[string]error{
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

// Every sentinel of package smbios has a code other than "failed"; a new
// one fails this test until it has.
func TestEverySMBIOSSentinelHasACode(t *testing.T) {
	n := 0
	for _, name := range clitest.Sentinels(t, "../../..", "cmd", "hack") {
		if !strings.HasPrefix(name, "smbios.") {
			continue
		}
		n++
		err, ok := sentinels[name]
		if !ok {
			t.Errorf("%s is not in sentinels: list it and give it a code", name)
			continue
		}
		if code := Codes.Of(fmt.Errorf("context: %w", err)); code == cli.CodeFailed {
			t.Errorf("%s has no error code", name)
		}
	}
	if n != len(sentinels) {
		t.Errorf("found %d sentinels in smbios, %d listed", n, len(sentinels))
	}
	if err := Codes.Check(); err != nil {
		t.Error(err)
	}
}
