// Package handler installs a verified, extracted update on the device by
// running the command configured for its kind (Windows defaults: pnputil,
// Add-AppxPackage, DISM; Linux: a configured command): placeholders
// expanded per argument (never through a shell), the values also in the
// environment, a timeout, the output captured (bounded), and the exit
// status deciding: 0 success, a reboot code success pending a reboot,
// anything else failure. An optional "is it installed?" command (Azure
// Device Update's installedCriteria) lets the agent skip a handler that
// already did its work before a crash. It knows nothing of downloads or
// the state record.
package handler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/devupdate/devupdate/internal/agent/config"
)

// Errors (test with errors.Is; *ExitError carries the status and output).
var (
	// ErrFailed: the handler exited with a status that is neither success
	// nor a reboot code.
	ErrFailed = errors.New("handler failed")
	// ErrTimeout: the handler ran longer than its timeout and was killed.
	ErrTimeout = errors.New("handler timed out")
	// ErrNoHandler: no handler is configured for the update's kind.
	ErrNoHandler = errors.New("no handler configured for this kind")
)

// Job is an update to install: its identity, the verified cabinet and the
// directory it was extracted to, with the driver's .inf and the app's
// package as paths inside that directory ("" when not of that kind).
type Job struct {
	Name, Version, Kind string
	Dir, Cab            string
	INF, Package        string
}

// values are the placeholders' values.
func (j Job) values() map[string]string {
	return map[string]string{
		"dir": j.Dir, "cab": j.Cab, "name": j.Name, "version": j.Version,
		"kind": j.Kind, "inf": j.INF, "package": j.Package,
	}
}

// Result is what a handler run did.
type Result struct {
	ExitCode int           `json:"exit_code"`
	Output   string        `json:"output,omitempty"`
	Duration time.Duration `json:"-"`
	// RebootRequired: the exit status was one of the reboot codes.
	RebootRequired bool `json:"reboot_required,omitempty"`
}

// ExitError is a handler that failed: its exit status (-1 when killed)
// and the end of its output.
type ExitError struct {
	Program string
	Code    int
	Output  string
	err     error
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("%s: %v (exit status %d)", e.Program, e.err, e.Code)
}

func (e *ExitError) Unwrap() error { return e.err }

// Installer installs jobs of one kind. Command is the one the agent
// configures from its file; a simulator may give its own.
type Installer interface {
	// Installed runs the "is it installed?" check: checked is false when
	// none is configured.
	Installed(ctx context.Context, j Job) (installed, checked bool, err error)
	// Install runs the handler.
	Install(ctx context.Context, j Job) (*Result, error)
}

// MaxOutput bounds the output kept of one run (its end).
const MaxOutput = 64 << 10

// Command is an Installer running the commands of a config.Handler.
type Command struct {
	config.Handler
}

// Installed runs the configured check; exit status 0 means installed.
func (c Command) Installed(ctx context.Context, j Job) (bool, bool, error) {
	if len(c.Handler.Installed) == 0 {
		return false, false, nil
	}
	res, err := run(ctx, c.Handler.Installed, j, c.Timeout)
	if err != nil {
		var ee *ExitError
		if errors.As(err, &ee) && errors.Is(err, ErrFailed) {
			return false, true, nil
		}
		return false, true, err
	}
	return res.ExitCode == 0, true, nil
}

// Install runs the handler's command. A reboot code is success with
// RebootRequired; any other non-zero status is an *ExitError (ErrFailed),
// running past the timeout ErrTimeout.
func (c Command) Install(ctx context.Context, j Job) (*Result, error) {
	if len(c.Command) == 0 {
		return nil, fmt.Errorf("%s: %w", j.Kind, ErrNoHandler)
	}
	res, err := run(ctx, c.Command, j, c.Timeout)
	var ee *ExitError
	if errors.As(err, &ee) && slices.Contains(c.RebootExitCodes, ee.Code) {
		return &Result{ExitCode: ee.Code, Output: ee.Output, Duration: res.Duration, RebootRequired: true}, nil
	}
	return res, err
}

// Expand replaces the {placeholders} of each argument with j's values.
func Expand(argv []string, j Job) []string {
	vals := j.values()
	out := make([]string, len(argv))
	for i, a := range argv {
		for k, v := range vals {
			a = strings.ReplaceAll(a, "{"+k+"}", v)
		}
		out[i] = a
	}
	return out
}

// env is the handler's environment: the agent's plus DEVUPDATE_<NAME>.
func env(j Job) []string {
	e := os.Environ()
	for k, v := range j.values() {
		e = append(e, "DEVUPDATE_"+strings.ToUpper(k)+"="+v)
	}
	return e
}

// run runs argv for j with a timeout; a non-zero exit is an *ExitError.
// res is set whenever the program ran.
func run(ctx context.Context, argv []string, j Job, timeout time.Duration) (*Result, error) {
	if timeout <= 0 {
		timeout = config.DefaultHandlerTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	args := Expand(argv, j)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = env(j)
	cmd.Dir = j.Dir
	out := &tail{max: MaxOutput}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	setProcessGroup(cmd)
	start := time.Now()
	err := cmd.Run()
	res := &Result{Duration: time.Since(start), Output: out.String()}
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	switch {
	case err == nil:
		return res, nil
	case ctx.Err() == context.DeadlineExceeded:
		return res, &ExitError{Program: args[0], Code: res.ExitCode, Output: res.Output, err: fmt.Errorf("%w after %s", ErrTimeout, timeout)}
	case cmd.ProcessState == nil:
		return nil, fmt.Errorf("%s: %w", args[0], err)
	}
	return res, &ExitError{Program: args[0], Code: res.ExitCode, Output: res.Output, err: ErrFailed}
}

// tail keeps the last max bytes written.
type tail struct {
	max int
	buf bytes.Buffer
	cut bool
}

func (t *tail) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) > t.max {
		p = p[len(p)-t.max:]
		t.cut = true
	}
	if over := t.buf.Len() + len(p) - t.max; over > 0 {
		t.buf.Next(over)
		t.cut = true
	}
	t.buf.Write(p)
	return n, nil
}

func (t *tail) String() string {
	if t.cut {
		return "[...]\n" + t.buf.String()
	}
	return t.buf.String()
}
