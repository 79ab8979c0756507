//go:build windows

package smbios

import (
	"context"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// rsmb is the GetSystemFirmwareTable provider signature 'RSMB'.
const rsmb = 'R'<<24 | 'S'<<16 | 'M'<<8 | 'B'

var procGetSystemFirmwareTable = windows.NewLazySystemDLL("kernel32.dll").NewProc("GetSystemFirmwareTable")

// readFirmwareTable reads the running machine's SMBIOS through
// GetSystemFirmwareTable('RSMB', 0) and decodes it with DecodeRSMB.
func readFirmwareTable(ctx context.Context) (*Info, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, true, err
	}
	if err := procGetSystemFirmwareTable.Find(); err != nil {
		return nil, true, fmt.Errorf("%w: %w", ErrNoSMBIOS, err)
	}
	// The first call returns the size needed; the table may change size
	// between the calls (it does not in practice), so the second call's
	// answer is checked too.
	size, _, callErr := procGetSystemFirmwareTable.Call(rsmb, 0, 0, 0)
	if size == 0 {
		return nil, true, fmt.Errorf("%w: GetSystemFirmwareTable('RSMB'): %w", ErrNoSMBIOS, callErr)
	}
	if size > MaxInputSize {
		return nil, true, fmt.Errorf("%w: %w: GetSystemFirmwareTable('RSMB') needs %d bytes (limit %d)", ErrMalformed, ErrTooLarge, size, MaxInputSize)
	}
	buf := make([]byte, size)
	n, _, callErr := procGetSystemFirmwareTable.Call(rsmb, 0, uintptr(unsafe.Pointer(&buf[0])), size)
	if n == 0 || n > size {
		return nil, true, fmt.Errorf("%w: GetSystemFirmwareTable('RSMB'): %d bytes of %d: %w", ErrNoSMBIOS, n, size, callErr)
	}
	info, err := DecodeRSMB(buf[:n])
	if err != nil {
		return nil, true, fmt.Errorf("GetSystemFirmwareTable('RSMB'): %w", err)
	}
	info.Source = "GetSystemFirmwareTable('RSMB')"
	return info, true, nil
}
