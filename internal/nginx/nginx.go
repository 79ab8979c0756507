// Package nginx runs Debian's nginx as the CDN in front of an origin, with
// the repository's example configuration (examples/cdn/nginx.conf) changed
// only where a test or a simulation must: the port it listens on (a free
// loopback port), the origin it proxies to, its worker count, and the user
// its workers run as (the caller's). Tests, benchmarks and the fleet
// simulator start nginx this one way. It knows nothing of devupdate's
// stores or metadata.
package nginx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devupdate/devupdate/internal/loopback"
	"github.com/devupdate/devupdate/internal/testtool"
)

// ExampleConfig is the example configuration, relative to the repository.
const ExampleConfig = "examples/cdn/nginx.conf"

// The lines of the example configuration that Config replaces.
const (
	listenLine   = "listen 127.0.0.1:8080;"
	upstreamLine = "server 127.0.0.1:8000;"
	workersLine  = "worker_processes auto;"
)

// errConfigChanged: the example configuration no longer holds a line that
// Config replaces (a test's and a benchmark's failure, not a CLI's).
var errConfigChanged = errors.New("the example nginx configuration changed")

// Config returns example (the text of examples/cdn/nginx.conf) listening
// on 127.0.0.1:port, proxying to origin (host:port), with workers worker
// processes running as the current user and group.
func Config(example string, port int, origin string, workers int) (string, error) {
	u, err := user.Current()
	if err != nil {
		return "", err
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		return "", err
	}
	text := example
	for _, r := range []struct{ old, repl string }{
		{listenLine, fmt.Sprintf("listen 127.0.0.1:%d;", port)},
		{upstreamLine, "server " + origin + ";"},
		{workersLine, fmt.Sprintf("worker_processes %d;\nuser %s %s;", workers, u.Username, g.Name)},
	} {
		if !strings.Contains(text, r.old) {
			return "", fmt.Errorf("%w: %q is gone", errConfigChanged, r.old)
		}
		text = strings.Replace(text, r.old, r.repl, 1)
	}
	return text, nil
}

// Options of Start.
type Options struct {
	// Bin is the nginx executable.
	Bin string
	// Example is the path of examples/cdn/nginx.conf.
	Example string
	// Origin is the host:port nginx proxies to.
	Origin string
	// Dir is nginx's prefix: its configuration, logs and cache.
	Dir string
	// Workers is the number of worker processes (default 1).
	Workers int
}

// Server is a running nginx.
type Server struct {
	// URL is http://127.0.0.1:PORT, without a trailing slash.
	URL string
	// Dir is the prefix: access.log, error.log, cache/.
	Dir string
	p   *loopback.Process
}

// Start runs nginx with the example configuration on a free loopback port
// and waits until it accepts connections. A free port is found by
// listening and closing; another is tried if someone takes it first.
func Start(ctx context.Context, o Options) (*Server, error) {
	example, err := os.ReadFile(o.Example)
	if err != nil {
		return nil, err
	}
	if o.Workers <= 0 {
		o.Workers = 1
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	var lastErr error
	for range 5 {
		port, err := loopback.FreePort()
		if err != nil {
			return nil, err
		}
		text, err := Config(string(example), port, o.Origin, o.Workers)
		if err != nil {
			return nil, err
		}
		s, err := start(ctx, o, port, text)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func start(ctx context.Context, o Options, port int, conf string) (*Server, error) {
	cpath := filepath.Join(o.Dir, "nginx.conf")
	pidFile := filepath.Join(o.Dir, "nginx.pid")
	_ = os.Remove(pidFile)
	if err := os.WriteFile(cpath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	p, err := loopback.Start(exec.Command(o.Bin, "-p", o.Dir+"/", "-c", cpath, "-e", filepath.Join(o.Dir, "error.log"), "-g", "daemon off;"))
	if err != nil {
		return nil, fmt.Errorf("starting nginx: %w", err)
	}
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Dir: o.Dir, p: p}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	err = p.WaitReady(ctx, 15*time.Second, 20*time.Millisecond, func() bool {
		// nginx writes its pid file once it holds its listening socket:
		// whoever answers on the port is then this nginx.
		if _, err := os.Stat(pidFile); err != nil {
			return false
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("nginx on %s: %w\n%s", addr, err, s.ErrorLog())
	}
	return s, nil
}

// Stop shuts nginx down (SIGINT: fast shutdown; SIGKILL after 5s) and
// waits for it.
func (s *Server) Stop() { s.p.Stop(syscall.SIGINT) }

// ErrorLog returns nginx's error.log.
func (s *Server) ErrorLog() string {
	data, _ := os.ReadFile(filepath.Join(s.Dir, "error.log"))
	return string(data)
}

// AccessLog returns nginx's access.log.
func (s *Server) AccessLog() string {
	data, _ := os.ReadFile(filepath.Join(s.Dir, "access.log"))
	return string(data)
}

// StartT starts nginx for a test in front of origin (host:port), with the
// repository's example configuration, and stops it when the test ends
// (logging its output and logs if the test failed). Missing nginx skips
// the test on a developer's machine and fails it under make test and CI
// (testtool.Need).
func StartT(t testing.TB, origin string) *Server {
	t.Helper()
	bin := testtool.Need(t, "nginx")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Start(ctx, Options{Bin: bin, Example: filepath.Join(testtool.RepoRoot(t), ExampleConfig), Origin: origin, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("nginx output:\n%s\nerror.log:\n%s", s.p.Output(), s.ErrorLog())
		}
	})
	return s
}

// CPU returns the processor time nginx's master and worker processes have
// used so far.
func (s *Server) CPU() (time.Duration, error) { return s.p.CPU() }
