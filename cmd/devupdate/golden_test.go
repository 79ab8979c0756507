package main

import "strings"

// streams is what a golden file of a text command holds: stdout, then
// stderr, each under its own heading (a JSON report: stdout alone).
func streams(stdout, stderr string) string {
	if stderr == "" && strings.HasPrefix(stdout, "{") {
		return stdout
	}
	return "--- stdout\n" + stdout + "--- stderr\n" + stderr
}
