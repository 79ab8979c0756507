package main

import (
	"os"
	"testing"
)

// envRunCLI makes the test binary act as devupdate-agent, so tests can
// start real agent processes (signals) without a separate build.
const envRunCLI = "DEVUPDATE_AGENT_TEST_RUN_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(envRunCLI) == "1" {
		ctx, stop := signalContext()
		code := Execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}
