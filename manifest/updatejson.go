package manifest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/smbios"
)

// UpdateJSONName is the name of the update manifest inside every cabinet.
const UpdateJSONName = "update.json"

// MaxUpdateJSONSize bounds update.json. A manifest listing the 65,535 files
// a cabinet can hold stays below it.
const MaxUpdateJSONSize = 16 << 20

// Schema is the update.json schema version this package writes and reads.
const Schema = 1

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
// keys sorted (unknown keys kept from ParseUpdateJSON included), files
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
		return cmp.Or(cmp.Compare(foldPath(a.Path), foldPath(b.Path)), cmp.Compare(a.Path, b.Path))
	})
	known, err := marshal(w)
	if err != nil {
		return nil, err
	}
	fields := map[string]json.RawMessage{}
	if err := json.Unmarshal(known, &fields); err != nil {
		return nil, err
	}
	for k, v := range u.Extra {
		if knownKeys[k] {
			return nil, fmt.Errorf("update.json: extra field %q is a known field", k)
		}
		if !json.Valid(v) {
			return nil, fmt.Errorf("update.json: extra field %q is not valid JSON", k)
		}
		fields[k] = v
	}
	return marshal(fields) // encoding/json sorts map keys
}

func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}

// ReadUpdateJSON reads update.json from r, at most MaxUpdateJSONSize bytes,
// and parses it with ParseUpdateJSON. name is used in problems.
func ReadUpdateJSON(name string, r io.Reader) (*Update, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxUpdateJSONSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return ParseUpdateJSON(name, data)
}

// ParseUpdateJSON parses and checks an update.json (named name in
// problems) as the signer and the device side read it from a cabinet: at
// most MaxUpdateJSONSize bytes, UTF-8, one object without duplicate keys,
// schema 1, and the same rules Load applies to what it can see without the
// payload (names, versions, targets, cabinet paths, digests, per-kind
// fields). Unknown top-level fields are kept in Extra and written back by
// EncodeJSON; unknown fields inside files or requires entries are refused,
// because an entry only partly understood could change what is installed.
// Every problem is returned at once as a problem.List.
func ParseUpdateJSON(name string, data []byte) (*Update, error) {
	var ps problem.List
	add := func(field, format string, args ...any) { ps.Addf(name, 0, 0, field, format, args...) }
	if len(data) > MaxUpdateJSONSize {
		add("", "update.json is larger than the %d-byte limit", MaxUpdateJSONSize)
		return nil, ps.Err()
	}
	if !utf8.Valid(data) {
		add("", "update.json is not valid UTF-8")
		return nil, ps.Err()
	}
	fields, err := topLevel(data)
	if err != nil {
		line, col := 0, 0
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col = lineCol(data, se.Offset)
		}
		ps.Addf(name, line, col, "", "%v", err)
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
			add(key, "%v", err)
			return false
		}
		return true
	}

	var schema int
	if !get("schema", &schema) {
		if _, ok := fields["schema"]; !ok {
			add("schema", "required")
		}
	} else if schema != Schema {
		add("schema", "%d is not supported (this version reads schema %d)", schema, Schema)
		return nil, ps.Err()
	}

	get("name", &u.Name)
	if err := CheckName(u.Name); err != nil {
		add("name", "%q: %v", u.Name, err)
	}
	var kind string
	get("kind", &kind)
	u.Kind = Kind(kind)
	if !u.Kind.valid() {
		add("kind", "%q is not a kind: one of os, driver, app, ocp", kind)
	}
	var version string
	get("version", &version)
	if v, err := ParseVersion(version); err != nil {
		add("version", "%v", err)
	} else {
		u.Version = v
	}
	get("description", &u.Description)
	get("release_notes", &u.ReleaseNotes)
	get("products", &u.Products)

	var targets []string
	get("targets", &targets)
	if len(targets) == 0 {
		add("targets", "an update needs at least one target CHID")
	}
	seenT := map[smbios.CHID]bool{}
	for i, s := range targets {
		c, err := smbios.ParseCHID(s)
		switch {
		case err != nil:
			add(fmt.Sprintf("targets[%d]", i), "%v", err)
		case seenT[c]:
			add(fmt.Sprintf("targets[%d]", i), "%s is listed twice", c)
		default:
			seenT[c] = true
			u.Targets = append(u.Targets, c)
		}
	}

	var reqs []struct {
		Name       string `json:"name"`
		MinVersion string `json:"min_version"`
	}
	get("requires", &reqs)
	seenR := map[string]bool{}
	for i, r := range reqs {
		f := fmt.Sprintf("requires[%d]", i)
		v, verr := ParseVersion(r.MinVersion)
		switch {
		case CheckName(r.Name) != nil:
			add(f+".name", "%q: %v", r.Name, ErrName)
		case seenR[strings.ToUpper(r.Name)]:
			add(f+".name", "%s is required twice", r.Name)
		case verr != nil:
			add(f+".min_version", "%v", verr)
		default:
			seenR[strings.ToUpper(r.Name)] = true
			u.Requires = append(u.Requires, Requirement{Name: r.Name, MinVersion: v})
		}
	}

	var files []struct {
		Path   string `json:"path"`
		Size   *int64 `json:"size"`
		SHA256 string `json:"sha256"`
	}
	get("files", &files)
	if len(files) == 0 {
		add("files", "an update needs at least one file")
	}
	cab := map[string]string{}
	for i, f := range files {
		field := fmt.Sprintf("files[%d]", i)
		ok := true
		if err := checkCabPath(f.Path); err != nil || strings.HasSuffix(f.Path, "/") {
			if err == nil {
				err = ErrPathSegment
			}
			add(field+".path", "%q: %v", f.Path, err)
			ok = false
		} else if reservedPaths[foldPath(f.Path)] {
			add(field+".path", "%q is reserved for the update manifest", f.Path)
			ok = false
		} else if _, dup := cab[foldPath(f.Path)]; dup {
			add(field+".path", "%q is listed twice (Windows paths ignore case)", f.Path)
			ok = false
		}
		if f.Size == nil || *f.Size < 0 {
			add(field+".size", "required, and must not be negative")
			ok = false
		}
		if !isSHA256(f.SHA256) {
			add(field+".sha256", "must be 64 lower-case hexadecimal digits")
			ok = false
		}
		if ok {
			cab[foldPath(f.Path)] = f.Path
			u.Files = append(u.Files, File{Path: f.Path, Size: *f.Size, SHA256: f.SHA256})
		}
	}
	for _, f := range u.Files {
		for d := f.Path; ; {
			i := strings.LastIndexByte(d, '/')
			if i < 0 {
				break
			}
			d = d[:i]
			if other, ok := cab[foldPath(d)]; ok {
				add("files", "cabinet path %q is a file, but %q needs it as a directory", other, f.Path)
			}
		}
	}

	get("inf", &u.INF)
	get("package", &u.Package)
	var osBuild string
	get("os_build", &osBuild)
	get("vendor_signed", &u.VendorSigned)
	inPayload := func(field, p string) {
		if _, ok := cab[foldPath(p)]; !ok || cab[foldPath(p)] != p {
			add(field, "%q is not one of the files", p)
		}
	}
	switch u.Kind {
	case KindDriver:
		if u.INF == "" {
			add("inf", "a driver update must name its .inf")
		} else {
			inPayload("inf", u.INF)
		}
	case KindApp:
		if u.Package == "" {
			add("package", "an app update must name its package file")
		} else {
			inPayload("package", u.Package)
		}
	case KindOS:
		if !u.VendorSigned {
			add("vendor_signed", "an OS update is signed by its vendor: vendor_signed must be true")
		}
		if v, err := ParseVersion(osBuild); err != nil {
			add("os_build", "%v", err)
		} else {
			u.OSBuild = v
		}
	}
	if u.Kind != KindDriver && u.INF != "" {
		add("inf", "is only for kind driver")
	}
	if u.Kind != KindApp && u.Package != "" {
		add("package", "is only for kind app")
	}
	if u.Kind != KindOS && osBuild != "" {
		add("os_build", "is only for kind os")
	}
	if u.Kind != KindOS && u.VendorSigned {
		add("vendor_signed", "is only for kind os")
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

// topLevel splits a JSON object into its members, refusing anything that is
// not exactly one object, and duplicate keys, which different readers
// would resolve differently.
func topLevel(data []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("update.json must be a JSON object")
	}
	fields := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("update.json: object key expected")
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		if _, dup := fields[key]; dup {
			return nil, fmt.Errorf("key %q appears twice", key)
		}
		fields[key] = raw
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("update.json has data after its object")
	}
	return fields, nil
}

func lineCol(data []byte, off int64) (int, int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line := 1 + bytes.Count(before, []byte{'\n'})
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
