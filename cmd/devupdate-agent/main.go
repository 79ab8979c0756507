// Command devupdate-agent is the device side of devupdate: it runs on the
// device (Windows IoT on amd64 and arm64, Linux), computes the device's
// CHIDs from its SMBIOS and, as it grows, finds, fetches, verifies and
// installs the updates meant for it. It links none of the publishing side
// (no cloud SDK, no PKCS #11, no relic, no YAML, no manifest loading, no
// cabinet writer): internal/archtest checks that. Every subcommand only
// wires flags to a library call.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signalContext()
	code := Execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// signalContext is cancelled by SIGINT or SIGTERM: the agent stops cleanly.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
