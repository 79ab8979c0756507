package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/devupdate/devupdate/internal/strictjson"
	"github.com/devupdate/devupdate/smbios"
)

// State is where an update stands inside one ring.
type State string

// The rollout states (SPEC.md, "Rings").
const (
	// Active: offered to the devices inside the rollout percentage.
	Active State = "active"
	// Paused: withheld from every device that has not installed it;
	// resuming restores the percentage.
	Paused State = "paused"
	// Halted: pulled from the ring for good.
	Halted State = "halted"
)

// Limits of one entry. They bound what a device parses.
const (
	// MaxEntrySize bounds the encoded custom field of one target entry.
	MaxEntrySize = 64 << 10
	// MaxTargets bounds the CHIDs one update targets.
	MaxTargets = 256
	// MaxRequires bounds an update's requirements.
	MaxRequires = 64
	// MaxText bounds the actor and reason of a change.
	MaxText = 1024
)

// Rollout is an update's rollout inside a ring: its state and the percentage
// of devices (1-100) it reaches while active. A paused or halted update keeps
// its percentage, so resuming restores it.
type Rollout struct {
	State   State `json:"state"`
	Percent int   `json:"percent"`
}

// Requirement names another package that must be installed at MinVersion or
// higher.
type Requirement struct {
	Name       string  `json:"name"`
	MinVersion Version `json:"min_version"`
}

// Action names what a change did.
type Action string

// The actions recorded in Change.
const (
	ActionAdd     Action = "add"
	ActionPromote Action = "promote"
	ActionRollout Action = "rollout"
	ActionPause   Action = "pause"
	ActionResume  Action = "resume"
	ActionHalt    Action = "halt"
)

var actions = []Action{ActionAdd, ActionPromote, ActionRollout, ActionPause, ActionResume, ActionHalt}

// Change is the last change made to an entry: what, by whom, when and why.
// Every signed targets version keeps the entries' last changes, so the
// sequence of versions is the audit trail.
type Change struct {
	Action Action    `json:"action"`
	Actor  string    `json:"actor"`
	Time   time.Time `json:"time"`
	Reason string    `json:"reason"`
	// From is the ring an update was promoted from (ActionPromote only).
	From string `json:"from,omitempty"`
}

// Entry is the custom field of one target entry in a ring's targets
// metadata: what a device needs to decide whether the update applies to it.
// It is covered by the targets role's signature.
type Entry struct {
	Kind     string        `json:"kind"`
	Name     string        `json:"name"`
	Version  Version       `json:"version"`
	Targets  []smbios.CHID `json:"targets"`
	Requires []Requirement `json:"requires,omitempty"`
	Rollout  Rollout       `json:"rollout"`
	// Downgrade marks an update that may replace a higher installed
	// version: the only way a device installs a lower version.
	Downgrade bool `json:"downgrade,omitempty"`
	// Since is when the update entered this ring (soak times count from it).
	Since  time.Time `json:"since"`
	Change Change    `json:"change"`

	// Extra holds fields this version does not know; they survive a
	// decode/encode round trip.
	Extra map[string]json.RawMessage `json:"-"`
}

// TargetPath is the TUF target path of the entry: <name>_<version>.cab, the
// cabinet's own file name.
func (e *Entry) TargetPath() string { return TargetPath(e.Name, e.Version) }

// ErrInvalidEntry is wrapped by every *EntryError.
var ErrInvalidEntry = errors.New("invalid catalog entry")

// EntryError is an entry that breaks a rule: File is the metadata document
// (or "" when unknown), Target the target path, Field the JSON field, Reason
// the rule.
type EntryError struct {
	File, Target, Field, Reason string
}

func (e *EntryError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File + ": ")
	}
	fmt.Fprintf(&b, "target %q", e.Target)
	if e.Field != "" {
		b.WriteString(": " + e.Field)
	}
	b.WriteString(": " + e.Reason)
	return b.String()
}

func (e *EntryError) Unwrap() error { return ErrInvalidEntry }

// knownFields are the JSON fields of Entry, which Extra may not repeat.
var knownFields = map[string]bool{
	"kind": true, "name": true, "version": true, "targets": true, "requires": true,
	"rollout": true, "downgrade": true, "since": true, "change": true,
}

// Validate checks every rule of an entry; target is the target path it is
// stored under (checked against the name and version), file labels errors.
func (e *Entry) Validate(file, target string) error {
	bad := func(field, format string, args ...any) error {
		return &EntryError{File: file, Target: target, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	if !validKind(e.Kind) {
		return bad("kind", "must be os, driver, app or ocp, not %q", e.Kind)
	}
	if !checkName(e.Name) {
		return bad("name", "must be Owner.Component[.SubComponent], each part [A-Za-z][A-Za-z0-9_]{0,63}, not %q", e.Name)
	}
	if e.Version == (Version{}) {
		return bad("version", "must not be 0.0.0.0")
	}
	if want := e.TargetPath(); target != want {
		return bad("", "stored under the wrong target path: want %q for %s %s", want, e.Name, e.Version)
	}
	if len(e.Targets) == 0 || len(e.Targets) > MaxTargets {
		return bad("targets", "must list 1 to %d CHIDs, not %d", MaxTargets, len(e.Targets))
	}
	for i, c := range e.Targets {
		if c.IsZero() {
			return bad(fmt.Sprintf("targets[%d]", i), "the all-zero CHID targets nothing")
		}
		if i > 0 && e.Targets[i-1].String() >= c.String() {
			return bad(fmt.Sprintf("targets[%d]", i), "CHIDs must be sorted and unique")
		}
	}
	if len(e.Requires) > MaxRequires {
		return bad("requires", "at most %d requirements, not %d", MaxRequires, len(e.Requires))
	}
	for i, r := range e.Requires {
		f := fmt.Sprintf("requires[%d]", i)
		if !checkName(r.Name) {
			return bad(f+".name", "must be a package name, not %q", r.Name)
		}
		if r.Name == e.Name {
			return bad(f+".name", "an update cannot require itself")
		}
		if i > 0 && e.Requires[i-1].Name >= r.Name {
			return bad(f+".name", "requirements must be sorted by name and unique")
		}
	}
	switch e.Rollout.State {
	case Active, Paused, Halted:
	default:
		return bad("rollout.state", "must be active, paused or halted, not %q", e.Rollout.State)
	}
	if e.Rollout.Percent < 1 || e.Rollout.Percent > 100 {
		return bad("rollout.percent", "must be 1 to 100, not %d", e.Rollout.Percent)
	}
	if e.Since.IsZero() {
		return bad("since", "missing")
	}
	c := e.Change
	if !slices.Contains(actions, c.Action) {
		return bad("change.action", "unknown action %q", c.Action)
	}
	if c.Time.IsZero() {
		return bad("change.time", "missing")
	}
	if err := checkText(c.Actor, true); err != "" {
		return bad("change.actor", "%s", err)
	}
	if err := checkText(c.Reason, true); err != "" {
		return bad("change.reason", "%s", err)
	}
	if (c.Action == ActionPromote) != (c.From != "") || (c.From != "" && !ValidRing(c.From)) {
		return bad("change.from", "names the ring of a promotion, and only of one: %q", c.From)
	}
	for k := range e.Extra {
		if knownFields[k] {
			return bad(k, "known field repeated in extra fields")
		}
	}
	return nil
}

// checkText returns why s is not acceptable as an actor or reason, or "".
func checkText(s string, required bool) string {
	switch {
	case required && strings.TrimSpace(s) == "":
		return "must not be empty"
	case len(s) > MaxText:
		return fmt.Sprintf("at most %d bytes", MaxText)
	case !utf8.ValidString(s):
		return "must be UTF-8"
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Sprintf("control character %U", r)
		}
	}
	return ""
}

// wireEntry is Entry's JSON shape with the CHIDs as strings, so decoding
// can report which one is malformed.
type wireEntry struct {
	Kind      string        `json:"kind"`
	Name      string        `json:"name"`
	Version   string        `json:"version"`
	Targets   []string      `json:"targets"`
	Requires  []wireRequire `json:"requires,omitempty"`
	Rollout   Rollout       `json:"rollout"`
	Downgrade bool          `json:"downgrade,omitempty"`
	Since     time.Time     `json:"since"`
	Change    Change        `json:"change"`
}

type wireRequire struct {
	Name       string `json:"name"`
	MinVersion string `json:"min_version"`
}

// Encode returns the canonical encoding of e (compact JSON, keys sorted, no
// HTML escaping) after validating it against target.
func (e *Entry) Encode(target string) (json.RawMessage, error) {
	if err := e.Validate("", target); err != nil {
		return nil, err
	}
	w := wireEntry{
		Kind: e.Kind, Name: e.Name, Version: e.Version.String(), Rollout: e.Rollout,
		Downgrade: e.Downgrade, Since: e.Since.UTC(), Change: e.Change,
	}
	w.Change.Time = w.Change.Time.UTC()
	for _, c := range e.Targets {
		w.Targets = append(w.Targets, c.String())
	}
	for _, r := range e.Requires {
		w.Requires = append(w.Requires, wireRequire{r.Name, r.MinVersion.String()})
	}
	data, err := strictjson.Canonical(w, e.Extra)
	if xe := (*strictjson.ExtraError)(nil); errors.As(err, &xe) {
		return nil, &EntryError{Target: target, Field: xe.Key, Reason: "extra field " + xe.Reason}
	}
	return data, err
}

// ParseEntry decodes and validates the custom field data of the target
// entry stored under target in the metadata document file. Unknown fields
// are kept in Extra.
func ParseEntry(file, target string, data []byte) (*Entry, error) {
	bad := func(field, format string, args ...any) error {
		return &EntryError{File: file, Target: target, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	if len(data) > MaxEntrySize {
		return nil, bad("custom", "%d bytes, over the %d-byte limit", len(data), MaxEntrySize)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, bad("custom", "not a JSON object: %v", err)
	}
	var w wireEntry
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&w); err != nil {
		return nil, bad("custom", "%v", err)
	}
	for _, k := range []string{"kind", "name", "version", "targets", "rollout", "since", "change"} {
		if _, ok := fields[k]; !ok {
			return nil, bad(k, "missing")
		}
	}
	e := &Entry{Kind: w.Kind, Name: w.Name, Rollout: w.Rollout, Downgrade: w.Downgrade, Since: w.Since, Change: w.Change}
	var err error
	if e.Version, err = ParseVersion(w.Version); err != nil {
		return nil, bad("version", "%v", err)
	}
	for i, s := range w.Targets {
		c, err := smbios.ParseCHID(s)
		if err != nil {
			return nil, bad(fmt.Sprintf("targets[%d]", i), "%v", err)
		}
		e.Targets = append(e.Targets, c)
	}
	for i, r := range w.Requires {
		v, err := ParseVersion(r.MinVersion)
		if err != nil {
			return nil, bad(fmt.Sprintf("requires[%d].min_version", i), "%v", err)
		}
		e.Requires = append(e.Requires, Requirement{Name: r.Name, MinVersion: v})
	}
	for k, v := range fields {
		if !knownFields[k] {
			if e.Extra == nil {
				e.Extra = map[string]json.RawMessage{}
			}
			e.Extra[k] = v
		}
	}
	if err := e.Validate(file, target); err != nil {
		return nil, err
	}
	return e, nil
}

// FromTarget reads the entry carried by a target of a ring's targets
// metadata (file labels errors). A target without a custom field is refused.
func FromTarget(file string, t *metadata.TargetFiles) (*Entry, error) {
	if t.Custom == nil {
		return nil, &EntryError{File: file, Target: t.Path, Field: "custom", Reason: "missing"}
	}
	return ParseEntry(file, t.Path, *t.Custom)
}
