package fleetsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/devupdate/devupdate/internal/agent/agenttest"
	"github.com/devupdate/devupdate/internal/loopback"
)

// BuildDevupdate builds this repository's devupdate command (go build
// ./cmd/devupdate in the repository holding the working directory) into a
// temporary directory of t and returns its path: the `devupdate serve` of
// a simulation (Config.Devupdate).
func BuildDevupdate(ctx context.Context, t agenttest.TB) (string, error) {
	bin := filepath.Join(t.TempDir(), "devupdate")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/devupdate")
	cmd.Dir = agenttest.Repo(t, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/devupdate: %w\n%s", err, out)
	}
	return bin, nil
}

// originServer is the `devupdate serve` process nginx proxies to, and
// what its access log says reached it.
type originServer struct {
	p *loopback.Process
	// addr is where it listens (host:port).
	addr string
	log  *accessLog
}

// startOrigin runs bin serve on the directory store dir, on a free
// loopback port, with timestamp.json and 404s given maxAge, and waits for
// the line saying where it listens. Its access log is read as it is
// written; stop ends it.
func startOrigin(ctx context.Context, bin, dir string, maxAge time.Duration) (*originServer, error) {
	log := &accessLog{}
	cmd := exec.Command(bin, "serve", "--store", dir, "--addr", "127.0.0.1:0",
		"--timestamp-max-age", maxAge.String(), "--not-found-max-age", maxAge.String(), "--output", "json")
	cmd.Stderr = log
	p, err := loopback.Start(cmd)
	if err != nil {
		return nil, fmt.Errorf("starting devupdate serve: %w", err)
	}
	// serve prints one JSON document once it listens.
	var ready struct {
		OK  bool   `json:"ok"`
		URL string `json:"url"`
	}
	err = p.WaitReady(ctx, time.Minute, 20*time.Millisecond, func() bool {
		return json.NewDecoder(strings.NewReader(p.Output())).Decode(&ready) == nil && ready.OK
	})
	if err != nil {
		p.Stop(syscall.SIGTERM)
		return nil, fmt.Errorf("devupdate serve: %w\n%s", err, log.other())
	}
	addr, ok := strings.CutPrefix(ready.URL, "http://")
	if !ok {
		p.Stop(syscall.SIGTERM)
		return nil, fmt.Errorf("devupdate serve reported %q, not an http:// URL", ready.URL)
	}
	return &originServer{p: p, addr: addr, log: log}, nil
}

// stop ends serve (SIGTERM, as a service manager would) and waits for it:
// every request it logged has then been read.
func (o *originServer) stop() { o.p.Stop(syscall.SIGTERM) }

// accessLog is serve's standard error: one JSON line per request (see
// cdn/origin's WithAccessLog), kept as the requests that reached the
// origin; any other line is kept for the message of a failed start.
type accessLog struct {
	mu      sync.Mutex
	partial []byte
	reqs    []originRequest
	rest    bytes.Buffer
}

// logLine is what the simulation reads of an access log line.
type logLine struct {
	Time   time.Time `json:"time"`
	Msg    string    `json:"msg"`
	Path   string    `json:"path"`
	Status int       `json:"status"`
	Bytes  int64     `json:"bytes"`
}

func (l *accessLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		line, rest, ok := bytes.Cut(l.partial, []byte("\n"))
		if !ok {
			break
		}
		l.line(line)
		l.partial = rest
	}
	return len(p), nil
}

func (l *accessLog) line(line []byte) {
	var e logLine
	if json.Unmarshal(line, &e) != nil || e.Msg != "request" {
		if l.rest.Len() < 64<<10 {
			l.rest.Write(line)
			l.rest.WriteByte('\n')
		}
		return
	}
	ring, chid, kind := classify(e.Path)
	l.reqs = append(l.reqs, originRequest{at: e.Time, ring: ring, chid: chid, kind: kind, status: e.Status, bytes: e.Bytes})
}

// requests returns the requests read so far.
func (l *accessLog) requests() []originRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]originRequest(nil), l.reqs...)
}

// other returns what serve wrote to its standard error that is not a
// request line.
func (l *accessLog) other() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rest.String()
}
