// Package report is the agent's record of each install attempt: written to
// the state directory's outbox (crash-safely, one file per attempt) and,
// when a report URL is configured, POSTed there (bounded, retried, after
// the install and never in its way); a report the server accepted moves to
// sent/. Reports read back (to send or show) are parsed strictly.
package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/devupdate/devupdate/internal/agent/jsondoc"
	"github.com/devupdate/devupdate/internal/iox"
	"github.com/devupdate/devupdate/manifest/update"
)

// ErrInvalid is wrapped by every problem of a report file.
var ErrInvalid = errors.New("invalid report")

// ErrRejected: the report server answered with a client error; the report
// stays in the outbox.
var ErrRejected = errors.New("report rejected by the server")

// MaxSize bounds one report.
const MaxSize = 256 << 10

// Schema is the report format's version.
const Schema = 1

// Outcome is how an attempt ended.
type Outcome string

// The outcomes.
const (
	// Installed: the handler succeeded.
	Installed Outcome = "installed"
	// PendingReboot: the handler succeeded and asked for a reboot.
	PendingReboot Outcome = "pending_reboot"
	// AlreadyInstalled: the is-it-installed check found it installed (an
	// install a crash interrupted after the handler finished).
	AlreadyInstalled Outcome = "already_installed"
	// Failed: the download, the verification or the handler failed.
	Failed Outcome = "failed"
	// Abandoned: an interrupted install whose update is no longer offered.
	Abandoned Outcome = "abandoned"
)

var outcomes = []Outcome{Installed, PendingReboot, AlreadyInstalled, Failed, Abandoned}

// Error is a failure's machine-readable code and message.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Timings are the durations of an attempt's steps, in milliseconds.
type Timings struct {
	DownloadMS int64 `json:"download_ms"`
	VerifyMS   int64 `json:"verify_ms"`
	InstallMS  int64 `json:"install_ms"`
}

// Handler is what the handler did.
type Handler struct {
	ExitCode int    `json:"exit_code"`
	Output   string `json:"output,omitempty"`
}

// Report is one install attempt.
type Report struct {
	DeviceID string         `json:"device_id"`
	Ring     string         `json:"ring"`
	Name     string         `json:"name"`
	Version  update.Version `json:"version"`
	Kind     update.Kind    `json:"kind"`
	SHA256   string         `json:"sha256"`
	Outcome  Outcome        `json:"outcome"`
	Error    *Error         `json:"error,omitempty"`
	Started  time.Time      `json:"started"`
	Finished time.Time      `json:"finished"`
	Timings  Timings        `json:"timings"`
	Handler  *Handler       `json:"handler,omitempty"`
}

// Encode returns the report's JSON.
func (r *Report) Encode() ([]byte, error) {
	return json.Marshal(struct {
		Schema int `json:"schema"`
		*Report
	}{Schema, r})
}

var topKeys = []string{"schema", "device_id", "ring", "name", "version", "kind", "sha256", "outcome", "error", "started", "finished", "timings", "handler"}

func known(segs []string) bool {
	switch {
	case len(segs) == 1:
		return slices.Contains(topKeys, segs[0])
	case len(segs) == 2 && segs[0] == "error":
		return segs[1] == "code" || segs[1] == "message"
	case len(segs) == 2 && segs[0] == "timings":
		return segs[1] == "download_ms" || segs[1] == "verify_ms" || segs[1] == "install_ms"
	case len(segs) == 2 && segs[0] == "handler":
		return segs[1] == "exit_code" || segs[1] == "output"
	}
	return false
}

// Parse reads a report file's contents (named file in problems).
func Parse(file string, data []byte) (*Report, error) {
	var w struct {
		Schema   *int        `json:"schema"`
		DeviceID string      `json:"device_id"`
		Ring     string      `json:"ring"`
		Name     string      `json:"name"`
		Version  string      `json:"version"`
		Kind     update.Kind `json:"kind"`
		SHA256   string      `json:"sha256"`
		Outcome  Outcome     `json:"outcome"`
		Error    *Error      `json:"error"`
		Started  string      `json:"started"`
		Finished string      `json:"finished"`
		Timings  Timings     `json:"timings"`
		Handler  *Handler    `json:"handler"`
	}
	d, err := jsondoc.Parse(file, data, MaxSize, ErrInvalid, known, &w)
	if err != nil {
		return nil, err
	}
	if w.Schema == nil || *w.Schema != Schema {
		d.Addf("schema", "must be %d", Schema)
	}
	r := &Report{DeviceID: w.DeviceID, Ring: w.Ring, Name: w.Name, Kind: w.Kind, SHA256: w.SHA256, Outcome: w.Outcome,
		Error: w.Error, Timings: w.Timings, Handler: w.Handler}
	if strings.TrimSpace(r.DeviceID) == "" {
		d.Addf("device_id", "required")
	}
	if update.CheckName(r.Name) != nil {
		d.Addf("name", "%q is not a package name", r.Name)
	}
	r.Version = d.Version("version", w.Version)
	if !r.Kind.Valid() {
		d.Addf("kind", "%q is not a kind", r.Kind)
	}
	if !slices.Contains(outcomes, r.Outcome) {
		d.Addf("outcome", "%q is not an outcome", r.Outcome)
	}
	if (r.Outcome == Failed || r.Outcome == Abandoned) != (r.Error != nil) {
		d.Addf("error", "present exactly when the outcome is failed or abandoned")
	}
	r.Started = d.Time("started", w.Started)
	r.Finished = d.Time("finished", w.Finished)
	if r.Finished.Before(r.Started) {
		d.Addf("finished", "before started")
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

// Outbox is the reports directory of a state directory: outbox/ holds
// what is not sent yet, sent/ the last reports the server accepted.
type Outbox struct {
	Dir string
	// URL receives each report by POST ("" keeps them in the outbox).
	URL    string
	Client *http.Client
	Logger *slog.Logger
	// Attempts per report per Flush (default 3).
	Attempts int
}

// MaxKept bounds the reports kept in sent/ (and, by dropping the oldest,
// in outbox/ when nothing can be sent for a long time).
const MaxKept = 200

func (o *Outbox) dir(sub string) string { return filepath.Join(o.Dir, sub) }

// Write puts r in the outbox: a new file, written whole or not at all.
func (o *Outbox) Write(ctx context.Context, r *Report) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	data, err := r.Encode()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(o.dir("outbox"), 0o700); err != nil {
		return "", err
	}
	name := fmt.Sprintf("%s-%s_%s.json", r.Finished.UTC().Format("20060102T150405.000000000Z"), r.Name, r.Version)
	p := filepath.Join(o.dir("outbox"), name)
	err = iox.CreateNew(p, 0o600, func(f *os.File) error { _, err := f.Write(data); return err })
	if err != nil {
		return "", err
	}
	prune(o.dir("outbox"))
	return p, nil
}

// Pending lists the outbox's reports, oldest first.
func (o *Outbox) Pending() ([]string, error) { return list(o.dir("outbox")) }

// Sent lists the reports the server accepted, oldest first.
func (o *Outbox) Sent() ([]string, error) { return list(o.dir("sent")) }

func list(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".json") && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	slices.Sort(out)
	return out, nil
}

func prune(dir string) {
	files, _ := list(dir)
	for len(files) > MaxKept {
		_ = os.Remove(files[0])
		files = files[1:]
	}
}

// Read reads and checks a report file.
func Read(ctx context.Context, path string) (*Report, error) {
	data, err := iox.ReadFile(ctx, path, MaxSize)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Flush POSTs every report in the outbox to URL, oldest first, each
// retried a few times with a short backoff; accepted ones (2xx) move to
// sent/. A malformed report is moved aside (bad/) rather than sent. It
// returns how many were sent and the first error; it stops at the first
// report the server cannot take, keeping the rest for the next Flush.
func (o *Outbox) Flush(ctx context.Context) (int, error) {
	if o.URL == "" {
		return 0, nil
	}
	files, err := o.Pending()
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, p := range files {
		data, err := iox.ReadFile(ctx, p, MaxSize)
		if err == nil {
			_, err = Parse(p, data)
		}
		if err != nil {
			if ctx.Err() != nil {
				return sent, ctx.Err()
			}
			o.logger().Warn("report unreadable; moved aside", "file", p, "error", err)
			_ = os.MkdirAll(o.dir("bad"), 0o700)
			_ = os.Rename(p, filepath.Join(o.dir("bad"), filepath.Base(p)))
			continue
		}
		if err := o.post(ctx, data); err != nil {
			return sent, err
		}
		if err := os.MkdirAll(o.dir("sent"), 0o700); err != nil {
			return sent, err
		}
		if err := os.Rename(p, filepath.Join(o.dir("sent"), filepath.Base(p))); err != nil {
			return sent, err
		}
		sent++
	}
	prune(o.dir("sent"))
	return sent, nil
}

func (o *Outbox) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (o *Outbox) post(ctx context.Context, data []byte) error {
	client := o.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	attempts := o.Attempts
	if attempts < 1 {
		attempts = 3
	}
	var last error
	for i := range attempts {
		if i > 0 {
			if err := iox.Sleep(ctx, iox.Backoff(i, time.Second, 10*time.Second)); err != nil {
				return err
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.URL, bytes.NewReader(data))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			last = err
			continue
		}
		// The answer is read (bounded) only so the connection is reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		switch {
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			return nil
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
			last = fmt.Errorf("POST %s: %s", o.URL, resp.Status)
		default:
			return fmt.Errorf("POST %s: %w: %s", o.URL, ErrRejected, resp.Status)
		}
	}
	return fmt.Errorf("sending reports: %w", last)
}
