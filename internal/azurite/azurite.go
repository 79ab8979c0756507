// Package azurite starts and stops a real Azurite blob server (the npm
// package pinned in package.json) on a free loopback port, for the tests and
// benchmarks of the Azure store. It does not know about azblob.
package azurite

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

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
	cmd      *exec.Cmd
	out      *syncBuffer
	done     chan struct{}
}

// ConnectionString returns a connection string for the development account.
func (s *Server) ConnectionString() string {
	return "DefaultEndpointsProtocol=http;AccountName=" + Account + ";AccountKey=" + Key + ";BlobEndpoint=" + s.Endpoint + ";"
}

// Output returns what Azurite printed so far (for failure reports).
func (s *Server) Output() string { return s.out.String() }

// Start runs the azurite-blob executable bin with its data in dir (or in
// memory when dir is empty: --inMemoryPersistence), on a free
// loopback port, and waits until it answers HTTP. Extra arguments (such as
// --inMemoryPersistence) are passed through. Azurite cannot listen on port 0,
// so a free port is found by listening and closing, and another is tried if
// Azurite loses it to someone else meanwhile.
func Start(ctx context.Context, bin, dir string, extra ...string) (*Server, error) {
	var lastErr error
	for range 5 {
		port, err := freePort()
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

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
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
	cmd := exec.Command(bin, args...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting azurite: %w", err)
	}
	s := &Server{Endpoint: fmt.Sprintf("http://127.0.0.1:%d/%s", port, Account), Port: port, cmd: cmd, out: out, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()

	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-s.done:
			return nil, fmt.Errorf("azurite exited before listening on port %d: %s", port, out.String())
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		default:
		}
		if resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/%s?comp=list", port, Account)); err == nil {
			resp.Body.Close()
			// Another process could own the port: insist that ours is alive.
			if bytes.Contains([]byte(out.String()), []byte("successfully listens")) {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("azurite did not answer on port %d within 60s: %s", port, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop terminates Azurite (SIGTERM, then SIGKILL after 5s) and waits for it.
func (s *Server) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
}

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

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b.Len() > 1<<20 { // keep the head; Azurite's debug output is not needed
		return len(p), nil
	}
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
