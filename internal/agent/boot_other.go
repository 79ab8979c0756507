//go:build !linux && !windows

package agent

import "time"

// bootTime is unknown here: pending reboots are not cleared.
func bootTime() (time.Time, bool) { return time.Time{}, false }
