// Package azurite starts and stops a real Azurite blob server (the npm
// package pinned in package.json) on a free loopback port, for the tests and
// benchmarks of the Azure store. It does not know about azblob.
package azurite

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devupdate/devupdate/internal/loopback"
	"github.com/devupdate/devupdate/internal/testtool"
)

// The well-known development account every Azurite accepts (published in
// Azurite's documentation; not a secret).
const (
	Account = "devstoreaccount1"
	Key     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Server is a running azurite-blob process.
type Server struct {
	Endpoint string // http://127.0.0.1:PORT/devstoreaccount1
	Port     int
	p        *loopback.Process
}

// ConnectionString returns a connection string for the development account.
func (s *Server) ConnectionString() string {
	return "DefaultEndpointsProtocol=http;AccountName=" + Account + ";AccountKey=" + Key + ";BlobEndpoint=" + s.Endpoint + ";"
}

// Output returns what Azurite printed so far (for failure reports).
func (s *Server) Output() string { return s.p.Output() }

// Start runs the azurite-blob executable bin with its data in dir (or in
// memory when dir is empty: --inMemoryPersistence), on a free
// loopback port, and waits until it answers HTTP. Extra arguments (such as
// --inMemoryPersistence) are passed through. Azurite cannot listen on port 0,
// so a free port is found by listening and closing, and another is tried if
// Azurite loses it to someone else meanwhile.
func Start(ctx context.Context, bin, dir string, extra ...string) (*Server, error) {
	var lastErr error
	for range 5 {
		port, err := loopback.FreePort()
		if err != nil {
			return nil, err
		}
		s, err := start(ctx, bin, dir, port, extra)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func start(ctx context.Context, bin, dir string, port int, extra []string) (*Server, error) {
	args := []string{
		"--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port),
		"--skipApiVersionCheck", "--disableTelemetry", "--loose",
	}
	if dir == "" {
		args = append(args, "--inMemoryPersistence")
	} else {
		args = append(args, "--location", dir)
	}
	args = append(args, extra...)
	p, err := loopback.Start(exec.Command(bin, args...))
	if err != nil {
		return nil, fmt.Errorf("starting azurite: %w", err)
	}
	s := &Server{Endpoint: fmt.Sprintf("http://127.0.0.1:%d/%s", port, Account), Port: port, p: p}
	client := &http.Client{Timeout: time.Second}
	err = p.WaitReady(ctx, 60*time.Second, 100*time.Millisecond, func() bool {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/%s?comp=list", port, Account))
		if err != nil {
			return false
		}
		resp.Body.Close()
		// Another process could own the port: insist that ours is alive.
		return strings.Contains(p.Output(), "successfully listens")
	})
	if err != nil {
		return nil, fmt.Errorf("azurite on port %d: %w", port, err)
	}
	return s, nil
}

// Stop terminates Azurite (SIGTERM, then SIGKILL after 5s) and waits for it.
func (s *Server) Stop() { s.p.Stop(syscall.SIGTERM) }

// StartT starts Azurite for a test, with its data in a temporary directory,
// and stops it when the test ends. Missing Azurite skips the test on a
// developer's machine and fails it under make test and CI (testtool.Need).
func StartT(t testing.TB, extra ...string) *Server {
	t.Helper()
	bin := testtool.Need(t, "azurite-blob")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s, err := Start(ctx, bin, t.TempDir(), extra...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("azurite output:\n%s", s.Output())
		}
	})
	return s
}
