package main

import (
	"context"
	"os"
	"testing"
)

// envRunCLI makes the test binary act as the devupdate binary, so that
// tests can start real devupdate processes (concurrency, kills) without a
// separate build.
const envRunCLI = "DEVUPDATE_TEST_RUN_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(envRunCLI) == "1" {
		os.Exit(Execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
