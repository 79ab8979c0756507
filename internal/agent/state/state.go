// Package state is what a device remembers between runs: the installed-state
// record (what is installed, the install in progress, failures, the last
// scan) and the device's generated identity. The record sits behind a
// small Store interface: a file written crash-safely on a device (write,
// sync, rename: a power cut leaves the old record or the new one), memory
// in the fleet simulator. The record file is parsed strictly; a malformed
// one is refused with the file, the place and the rule, and never
// overwritten.
package state

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/devupdate/devupdate/internal/agent/jsondoc"
	"github.com/devupdate/devupdate/manifest/update"
)

// ErrCorrupt is wrapped by every problem of a state record or identity file.
var ErrCorrupt = errors.New("corrupt agent state")

// MaxSize bounds the record file.
const MaxSize = 4 << 20

// Schema is the record's format version.
const Schema = 1

// Phase is how far the install in progress got.
type Phase string

// The phases of an attempt, in order.
const (
	// Downloading: the cabinet is being fetched and verified.
	Downloading Phase = "downloading"
	// Installing: the handler was started; whether it finished is not
	// known until it is checked (or run again).
	Installing Phase = "installing"
)

// Record is the installed-state record.
type Record struct {
	// Installed maps package names to what the agent installed.
	Installed map[string]Installed `json:"installed"`
	// Attempt is the install in progress, nil when none: set before the
	// download starts, moved to Installing before the handler runs, and
	// cleared in the same write that records the result.
	Attempt *Attempt `json:"attempt,omitempty"`
	// Failures counts failed installs per update (FailureKey).
	Failures map[string]Failure `json:"failures"`
	// LastScan is the last scan's outcome.
	LastScan *Scan `json:"last_scan,omitempty"`
}

// Installed is one package the agent installed.
type Installed struct {
	Version     update.Version `json:"version"`
	Kind        update.Kind    `json:"kind"`
	SHA256      string         `json:"sha256"`
	Ring        string         `json:"ring"`
	InstalledAt time.Time      `json:"installed_at"`
	// PendingReboot: the handler asked for a reboot (exit 3010); it is
	// installed, and complete once the device restarts.
	PendingReboot bool `json:"pending_reboot,omitempty"`
}

// Attempt is an install in progress.
type Attempt struct {
	Name    string         `json:"name"`
	Version update.Version `json:"version"`
	Kind    update.Kind    `json:"kind"`
	SHA256  string         `json:"sha256"`
	Length  int64          `json:"length"`
	Ring    string         `json:"ring"`
	Phase   Phase          `json:"phase"`
	Started time.Time      `json:"started"`
}

// Failure counts the failed installs of one update.
type Failure struct {
	Count   int       `json:"count"`
	Last    time.Time `json:"last"`
	Code    string    `json:"code"`
	Message string    `json:"message"`
}

// FailureKey is the Failures key of an update: name@version.
func FailureKey(name string, v update.Version) string { return name + "@" + v.String() }

// Scan is the outcome of a scan.
type Scan struct {
	Time    time.Time `json:"time"`
	Ring    string    `json:"ring"`
	OK      bool      `json:"ok"`
	Code    string    `json:"code,omitempty"`
	Message string    `json:"message,omitempty"`
	// Offered is how many updates applied.
	Offered int `json:"offered"`
	// TargetsVersion is the version of the ring's targets metadata read.
	TargetsVersion int64 `json:"targets_version,omitempty"`
}

// New returns an empty record.
func New() *Record {
	return &Record{Installed: map[string]Installed{}, Failures: map[string]Failure{}}
}

// Clone returns a deep copy.
func (r *Record) Clone() *Record {
	c := &Record{Installed: maps.Clone(r.Installed), Failures: maps.Clone(r.Failures)}
	if c.Installed == nil {
		c.Installed = map[string]Installed{}
	}
	if c.Failures == nil {
		c.Failures = map[string]Failure{}
	}
	if r.Attempt != nil {
		a := *r.Attempt
		c.Attempt = &a
	}
	if r.LastScan != nil {
		s := *r.LastScan
		c.LastScan = &s
	}
	return c
}

// Encode returns the record's file contents.
func (r *Record) Encode() ([]byte, error) {
	w := struct {
		Schema int `json:"schema"`
		*Record
	}{Schema, r}
	return json.MarshalIndent(w, "", "  ")
}

var (
	sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)
	fields   = map[string][]string{
		"installed": {"version", "kind", "sha256", "ring", "installed_at", "pending_reboot"},
		"attempt":   {"name", "version", "kind", "sha256", "length", "ring", "phase", "started"},
		"failures":  {"count", "last", "code", "message"},
		"last_scan": {"time", "ring", "ok", "code", "message", "offered", "targets_version"},
	}
)

// known: schema; attempt.F and last_scan.F; installed.NAME.F and
// failures.KEY.F (NAME and KEY are checked as rules).
func known(segs []string) bool {
	f, ok := fields[segs[0]]
	switch {
	case !ok:
		return len(segs) == 1 && segs[0] == "schema"
	case len(segs) == 1:
		return true
	case segs[0] == "attempt" || segs[0] == "last_scan":
		return len(segs) == 2 && slices.Contains(f, segs[1])
	}
	return len(segs) == 2 || len(segs) == 3 && slices.Contains(f, segs[2])
}

// wire is the record's file shape with versions and times as strings, so
// that a malformed one is reported at its place.
type wire struct {
	Schema    *int `json:"schema"`
	Installed map[string]struct {
		Version       string      `json:"version"`
		Kind          update.Kind `json:"kind"`
		SHA256        string      `json:"sha256"`
		Ring          string      `json:"ring"`
		InstalledAt   string      `json:"installed_at"`
		PendingReboot bool        `json:"pending_reboot"`
	} `json:"installed"`
	Attempt *struct {
		Name    string      `json:"name"`
		Version string      `json:"version"`
		Kind    update.Kind `json:"kind"`
		SHA256  string      `json:"sha256"`
		Length  int64       `json:"length"`
		Ring    string      `json:"ring"`
		Phase   Phase       `json:"phase"`
		Started string      `json:"started"`
	} `json:"attempt"`
	Failures map[string]struct {
		Count   int    `json:"count"`
		Last    string `json:"last"`
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"failures"`
	LastScan *struct {
		Time           string `json:"time"`
		Ring           string `json:"ring"`
		OK             bool   `json:"ok"`
		Code           string `json:"code"`
		Message        string `json:"message"`
		Offered        int    `json:"offered"`
		TargetsVersion int64  `json:"targets_version"`
	} `json:"last_scan"`
}

// Parse reads a record file's contents (named file in problems), checking
// every rule: schema 1, package names and versions, kinds, digests,
// phases, times. Every problem names the file, its line and column, the
// field and the rule (a problem.List wrapping ErrCorrupt).
func Parse(file string, data []byte) (*Record, error) {
	var w wire
	d, err := jsondoc.Parse(file, data, MaxSize, ErrCorrupt, known, &w)
	if err != nil {
		return nil, err
	}
	if w.Schema == nil {
		d.Add("schema", errors.New("required"))
	} else if *w.Schema != Schema {
		d.Addf("schema", "%d is not supported (this agent reads schema %d)", *w.Schema, Schema)
		return nil, d.Err()
	}
	r := New()
	pkg := func(field, name, version string, kind update.Kind, sum string) update.Version {
		if err := update.CheckName(name); err != nil {
			d.Addf(field, "%q is not a package name", name)
		}
		v := d.Version(field+".version", version)
		if !kind.Valid() {
			d.Addf(field+".kind", "%q is not a kind", kind)
		}
		if !sha256RE.MatchString(sum) {
			d.Addf(field+".sha256", "must be 64 lower-case hex digits")
		}
		return v
	}
	for name, in := range w.Installed {
		f := jsondoc.Key("installed", name)
		r.Installed[name] = Installed{
			Version: pkg(f, name, in.Version, in.Kind, in.SHA256), Kind: in.Kind, SHA256: in.SHA256, Ring: in.Ring,
			InstalledAt: d.Time(f+".installed_at", in.InstalledAt), PendingReboot: in.PendingReboot,
		}
	}
	if a := w.Attempt; a != nil {
		r.Attempt = &Attempt{
			Name: a.Name, Version: pkg("attempt", a.Name, a.Version, a.Kind, a.SHA256), Kind: a.Kind, SHA256: a.SHA256,
			Length: a.Length, Ring: a.Ring, Phase: a.Phase, Started: d.Time("attempt.started", a.Started),
		}
		if a.Phase != Downloading && a.Phase != Installing {
			d.Addf("attempt.phase", "must be downloading or installing, not %q", a.Phase)
		}
		if a.Length < 0 {
			d.Addf("attempt.length", "must not be negative")
		}
	}
	for key, f := range w.Failures {
		field := jsondoc.Key("failures", key)
		name, ver, ok := strings.Cut(key, "@")
		if _, err := update.ParseVersion(ver); !ok || err != nil || update.CheckName(name) != nil {
			d.Addf(field, "%q is not NAME@VERSION", key)
		}
		if f.Count < 1 {
			d.Addf(field+".count", "must be at least 1")
		}
		r.Failures[key] = Failure{Count: f.Count, Last: d.Time(field+".last", f.Last), Code: f.Code, Message: f.Message}
	}
	if s := w.LastScan; s != nil {
		r.LastScan = &Scan{Time: d.Time("last_scan.time", s.Time), Ring: s.Ring, OK: s.OK, Code: s.Code,
			Message: s.Message, Offered: s.Offered, TargetsVersion: s.TargetsVersion}
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

// Store keeps the record: a file on a device, memory in a simulator. Load
// of a store that holds nothing yet returns an empty record.
type Store interface {
	Load(ctx context.Context) (*Record, error)
	Save(ctx context.Context, r *Record) error
}

// Memory is a Store in memory (a copy is kept, so the caller may go on
// changing the record it saved).
type Memory struct {
	mu sync.Mutex
	r  *Record
}

// Load returns a copy of the record saved last, or an empty one.
func (m *Memory) Load(ctx context.Context) (*Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.r == nil {
		return New(), nil
	}
	return m.r.Clone(), nil
}

// Save keeps a copy of r.
func (m *Memory) Save(ctx context.Context, r *Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.r = r.Clone()
	return nil
}
