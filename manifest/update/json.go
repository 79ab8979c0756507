package update

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"unicode/utf8"

	"github.com/devupdate/devupdate/internal/iox"
	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/internal/strictjson"
	"github.com/devupdate/devupdate/smbios"
)

// JSONName is the name of the update manifest inside every cabinet.
const JSONName = "update.json"

// MaxJSONSize bounds update.json. A manifest listing the 65,535 files a
// cabinet can hold stays below it.
const MaxJSONSize = 16 << 20

// Schema is the update.json schema version this package writes and reads.
const Schema = 1

// Errors of update.json itself, besides the rules of Validate.
var (
	// ErrJSONSyntax: update.json is not UTF-8, not one JSON object without
	// duplicate keys, or a field is not of its JSON type.
	ErrJSONSyntax = errors.New("update.json syntax")
	// ErrSchema: update.json is of a schema this version does not read.
	ErrSchema = errors.New("update.json schema not supported")
)

// wireOut is the encoded shape of update.json. Keys end up sorted (see
// EncodeJSON), so the field order here does not matter.
type wireOut struct {
	Schema       int           `json:"schema"`
	Name         string        `json:"name"`
	Kind         Kind          `json:"kind"`
	Version      Version       `json:"version"`
	Description  string        `json:"description,omitempty"`
	ReleaseNotes string        `json:"release_notes,omitempty"`
	Products     []string      `json:"products,omitempty"`
	Targets      []smbios.CHID `json:"targets"`
	Requires     []Requirement `json:"requires,omitempty"`
	Files        []File        `json:"files"`
	INF          string        `json:"inf,omitempty"`
	Package      string        `json:"package,omitempty"`
	OSBuild      string        `json:"os_build,omitempty"`
	VendorSigned bool          `json:"vendor_signed,omitempty"`
}

// knownKeys are the top-level keys of schema 1.
var knownKeys = map[string]bool{
	"schema": true, "name": true, "kind": true, "version": true, "description": true,
	"release_notes": true, "products": true, "targets": true, "requires": true, "files": true,
	"inf": true, "package": true, "os_build": true, "vendor_signed": true,
}

// EncodeJSON returns the canonical update.json: one JSON object with its
// keys sorted (unknown keys kept from ParseJSON included), files
// sorted by cabinet path, targets by their string form, requirements by
// name, two-space indentation, no HTML escaping, a final newline. It holds
// no host-dependent data: no host paths, times or user names. The same
// Update always encodes to the same bytes.
func (u *Update) EncodeJSON() ([]byte, error) {
	compact, err := u.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, compact, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// MarshalJSON encodes the canonical form without indentation.
func (u *Update) MarshalJSON() ([]byte, error) {
	w := wireOut{
		Schema: Schema, Name: u.Name, Kind: u.Kind, Version: u.Version,
		Description: u.Description, ReleaseNotes: u.ReleaseNotes,
		Products: slices.Sorted(slices.Values(u.Products)),
		Targets:  slices.Clone(u.Targets), Requires: slices.Clone(u.Requires), Files: slices.Clone(u.Files),
		INF: u.INF, Package: u.Package, VendorSigned: u.VendorSigned,
	}
	if w.Targets == nil {
		w.Targets = []smbios.CHID{}
	}
	if w.Files == nil {
		w.Files = []File{}
	}
	if !u.OSBuild.IsZero() {
		w.OSBuild = u.OSBuild.String()
	}
	slices.SortFunc(w.Targets, func(a, b smbios.CHID) int { return cmp.Compare(a.String(), b.String()) })
	slices.SortFunc(w.Requires, func(a, b Requirement) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(w.Files, func(a, b File) int {
		return cmp.Or(cmp.Compare(FoldPath(a.Path), FoldPath(b.Path)), cmp.Compare(a.Path, b.Path))
	})
	for k := range u.Extra {
		if knownKeys[k] {
			return nil, fmt.Errorf("update.json: extra field %q is a known field", k)
		}
	}
	data, err := strictjson.Canonical(w, u.Extra)
	if xe := (*strictjson.ExtraError)(nil); errors.As(err, &xe) {
		return nil, fmt.Errorf("update.json: %w", err)
	}
	return data, err
}

// ReadJSON reads update.json from r, at most MaxJSONSize bytes, and parses
// it with ParseJSON. name is used in problems.
func ReadJSON(name string, r io.Reader) (*Update, error) {
	data, err := iox.ReadAll(r, name, MaxJSONSize)
	if errors.Is(err, iox.ErrTooLarge) {
		return nil, problem.List{{File: name, Rule: fmt.Sprintf("update.json is larger than the %d-byte limit", MaxJSONSize), Err: err}}
	}
	if err != nil {
		return nil, err
	}
	return ParseJSON(name, data)
}

// ParseJSON parses and checks an update.json (named name in problems) as
// the signer, flight and the device side read it from a cabinet: at most
// MaxJSONSize bytes, UTF-8, one object without duplicate keys, schema 1,
// each field of its JSON type and syntax, and then every rule of Validate,
// the same rules manifest.Load applies to update.yaml. Unknown top-level
// fields are kept in Extra and written back by EncodeJSON; unknown fields
// inside files or requires entries are refused, because an entry only
// partly understood could change what is installed. Every problem is
// returned at once as a problem.List, which unwraps to each rule's
// sentinel (errors.Is(err, ErrZeroVersion), ...).
func ParseJSON(name string, data []byte) (*Update, error) {
	var ps problem.List
	// reported holds the fields whose syntax was already refused, so that
	// Validate does not report them a second time as empty.
	reported := map[string]bool{}
	add := func(field string, err error) {
		reported[field] = true
		ps.Add(problem.Problem{File: name, Field: field, Rule: err.Error(), Err: err})
	}
	if len(data) > MaxJSONSize {
		add("", &iox.TooLargeError{Name: name, Limit: MaxJSONSize})
		return nil, ps.Err()
	}
	if !utf8.Valid(data) {
		add("", rulef(ErrJSONSyntax, "update.json is not valid UTF-8"))
		return nil, ps.Err()
	}
	fields, err := strictjson.Object(data)
	if err != nil {
		line, col := 0, 0
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col = strictjson.LineCol(data, se.Offset)
		}
		ps.Add(problem.Problem{File: name, Line: line, Col: col, Rule: err.Error(), Err: &ruleError{msg: err.Error(), err: ErrJSONSyntax}})
		return nil, ps.Err()
	}

	u := &Update{}
	get := func(key string, v any) bool {
		raw, ok := fields[key]
		if !ok {
			return false
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			// Forget what was decoded before the error.
			reflect.ValueOf(v).Elem().SetZero()
			add(key, &ruleError{msg: err.Error(), err: ErrJSONSyntax})
			return false
		}
		return true
	}
	version := func(field, s string) Version {
		v, err := ParseVersion(s)
		if err != nil {
			add(field, err)
		}
		return v
	}

	var schema int
	if !get("schema", &schema) {
		if _, ok := fields["schema"]; !ok {
			add("schema", ErrRequired)
		}
	} else if schema != Schema {
		add("schema", rulef(ErrSchema, "%d is not supported (this version reads schema %d)", schema, Schema))
		return nil, ps.Err()
	}

	get("name", &u.Name)
	var kind string
	get("kind", &kind)
	u.Kind = Kind(kind)
	var v string
	if get("version", &v) {
		u.Version = version("version", v)
	} else if _, ok := fields["version"]; !ok {
		add("version", rulef(ErrRequired, "required (a.b.c.d, each 0-65535)"))
	}
	get("description", &u.Description)
	get("release_notes", &u.ReleaseNotes)
	get("products", &u.Products)

	var targets []string
	get("targets", &targets)
	for i, s := range targets {
		c, err := smbios.ParseCHID(s)
		if err != nil {
			add(fmt.Sprintf("targets[%d]", i), err)
		}
		u.Targets = append(u.Targets, c)
	}

	var reqs []struct {
		Name       string `json:"name"`
		MinVersion string `json:"min_version"`
	}
	get("requires", &reqs)
	for i, r := range reqs {
		u.Requires = append(u.Requires, Requirement{Name: r.Name, MinVersion: version(fmt.Sprintf("requires[%d].min_version", i), r.MinVersion)})
	}

	var files []struct {
		Path   string `json:"path"`
		Size   *int64 `json:"size"`
		SHA256 string `json:"sha256"`
	}
	get("files", &files)
	for i, f := range files {
		var size int64
		if f.Size == nil {
			add(fmt.Sprintf("files[%d].size", i), ErrRequired)
		} else {
			size = *f.Size
		}
		u.Files = append(u.Files, File{Path: f.Path, Size: size, SHA256: f.SHA256})
	}

	get("inf", &u.INF)
	get("package", &u.Package)
	var osBuild string
	if get("os_build", &osBuild) {
		u.OSBuild = version("os_build", osBuild)
	}
	get("vendor_signed", &u.VendorSigned)

	for _, fe := range u.Validate() {
		if !reported[fe.Field] {
			ps.Add(problem.Problem{File: name, Field: fe.Field, Rule: fe.Err.Error(), Err: fe.Err})
		}
	}
	for k, v := range fields {
		if !knownKeys[k] {
			if u.Extra == nil {
				u.Extra = map[string]json.RawMessage{}
			}
			u.Extra[k] = v
		}
	}
	if err := ps.Err(); err != nil {
		return nil, err
	}
	return u, nil
}
