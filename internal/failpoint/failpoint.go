//go:build !failpoint

// Package failpoint marks the points where a crash test kills the process
// (SIGKILL) to check that what it leaves behind is consistent. In a
// release build (without the failpoint build tag) Hit is an empty function
// the compiler removes: nothing of this package is in the binary's code
// paths. Built with -tags failpoint (tests only, Unix), the environment
// chooses a point to die at; see failpoint_on.go.
package failpoint

// Enabled reports whether the binary was built with failpoints.
const Enabled = false

// Hit marks a point named name; it does nothing in a release build.
func Hit(name string) {}
