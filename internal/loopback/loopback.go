// Package loopback runs the helper servers that tests, benchmarks and the
// fleet simulation start on this machine (Azurite, nginx, `devupdate
// serve`): a free loopback port, the process in its own process group,
// killed if the caller dies, its output kept, a wait until it answers, the
// processor time it used, and a stop. It knows nothing of the servers
// themselves.
package loopback

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// FreePort returns a loopback port nothing listens on now (found by
// listening and closing). A server started on it may lose it to another
// process first: callers try another.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// errExited: the process exited before it answered (a test's or a
// benchmark's failure, not a CLI's).
var errExited = errors.New("exited before it answered")

// Process is a started server process.
type Process struct {
	cmd  *exec.Cmd
	out  *output
	done chan struct{}
}

// Start starts cmd with its output kept (Output), in its own process
// group, killed when the caller's thread dies. A Stderr the caller set
// gets the standard error instead (a log read as it is written), and
// Output is then the standard output alone; the process is waited for
// (Stop) only once that writer has had everything.
func Start(cmd *exec.Cmd) (*Process, error) {
	p := &Process{cmd: cmd, out: &output{}, done: make(chan struct{})}
	cmd.Stdout = p.out
	if cmd.Stderr == nil {
		cmd.Stderr = p.out
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

// PID is the process's id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Output returns what the process printed (its first MiB).
func (p *Process) Output() string { return p.out.String() }

// WaitReady calls ready every interval until it returns true. It fails
// (and stops the process) when the process exits first (errExited), when
// ctx ends, or after timeout.
func (p *Process) WaitReady(ctx context.Context, timeout, interval time.Duration, ready func() bool) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-p.done:
			return fmt.Errorf("%s %w: %s", p.cmd.Path, errExited, p.Output())
		case <-ctx.Done():
			p.Stop(syscall.SIGTERM)
			return ctx.Err()
		default:
		}
		if ready() {
			return nil
		}
		if time.Now().After(deadline) {
			p.Stop(syscall.SIGTERM)
			return fmt.Errorf("%s did not answer within %s: %s", p.cmd.Path, timeout, p.Output())
		}
		time.Sleep(interval)
	}
}

// Stop sends sig to the process group, SIGKILL after 5 seconds, and waits
// for the process.
func (p *Process) Stop(sig syscall.Signal) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// CPU returns the processor time the process and its children have used
// so far (user and system, from /proc; clock ticks of 1/100 s).
func (p *Process) CPU() (time.Duration, error) {
	pid := p.PID()
	pids := []string{strconv.Itoa(pid)}
	children, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0, err
	}
	pids = append(pids, strings.Fields(string(children))...)
	var ticks int64
	for _, pid := range pids {
		data, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil {
			return 0, err
		}
		// The fields after the command name (which may hold spaces):
		// utime and stime are the 12th and 13th.
		f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
		if len(f) < 13 {
			return 0, fmt.Errorf("/proc/%s/stat: %d fields", pid, len(f))
		}
		for _, v := range f[11:13] {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, err
			}
			ticks += n
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// output keeps the first MiB a process prints.
type output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.b.Len() > 1<<20 {
		return len(p), nil
	}
	return o.b.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}
