// Command devupdate is the OEM and release-engineer side of devupdate: it
// validates SMBIOS targeting, builds and signs update cabinets, publishes them
// and manages flighting rings. Every subcommand only wires flags to a library
// call; the work lives in the library packages.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
