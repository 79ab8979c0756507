package agent

import (
	"time"

	"golang.org/x/sys/windows"
)

var procGetTickCount64 = windows.NewLazySystemDLL("kernel32.dll").NewProc("GetTickCount64")

// bootTime is when the system started: now less GetTickCount64 (the
// milliseconds since boot).
func bootTime() (time.Time, bool) {
	if err := procGetTickCount64.Find(); err != nil {
		return time.Time{}, false
	}
	ms, _, _ := procGetTickCount64.Call()
	return time.Now().Add(-time.Duration(ms) * time.Millisecond), true
}
