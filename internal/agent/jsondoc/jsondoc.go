// Package jsondoc reads the JSON documents the agent keeps or is given (its
// configuration, its state record, its reports) the one way every parser of
// the agent must: bounded before parsing, one strict object (no duplicate
// keys, nothing after it), no key the schema does not know, each value of
// its type, and every problem reported as FILE:LINE:COL: FIELD: RULE
// (problem.List, wrapping problem.ErrInvalid and the caller's sentinel). It
// knows none of the documents' schemas: the caller states which paths
// exist and checks the values' rules.
package jsondoc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/internal/strictjson"
	"github.com/devupdate/devupdate/manifest/update"
)

// Doc is one document being read.
type Doc struct {
	File string
	Data []byte
	pos  map[string]int64
	// Problems found so far.
	Problems problem.List
	sentinel error
}

// ruleError carries a rule's text and the sentinel it wraps.
type ruleError struct {
	msg string
	err error
}

func (e *ruleError) Error() string { return e.msg }
func (e *ruleError) Unwrap() error { return e.err }

// Parse checks data (named file) as one strict JSON object of at most
// limit bytes whose every value's path is accepted by known (the path
// split by Split), then decodes it into v. Every problem
// wraps sentinel. A document that is not one object, too large, or not
// decodable into v returns the problems at once; otherwise the caller
// goes on checking rules with Add and ends with Err.
func Parse(file string, data []byte, limit int64, sentinel error, known func(segs []string) bool, v any) (*Doc, error) {
	d := &Doc{File: file, Data: data, sentinel: sentinel}
	if int64(len(data)) > limit {
		d.Add("", fmt.Errorf("%d bytes, over the %d-byte limit", len(data), limit))
		return d, d.Err()
	}
	if _, err := strictjson.Object(data); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			d.addAt(se.Offset, "", err)
		} else {
			d.Add("", err)
		}
		return d, d.Err()
	}
	d.pos = strictjson.Positions(data)
	paths := make([]string, 0, len(d.pos))
	for p := range d.pos {
		if p != "" && !known(Split(p)) {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	for _, p := range paths {
		// Report an unknown object once, not each value inside it.
		if i := slices.IndexFunc(paths, func(q string) bool { return strings.HasPrefix(p, q+".") || strings.HasPrefix(p, q+"[") }); i >= 0 {
			continue
		}
		d.Add(p, errors.New("unknown key"))
	}
	if len(d.Problems) > 0 {
		return d, d.Err()
	}
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			// The value is the last one starting before the decoder's
			// offset inside te.Field (which leaves out map keys).
			field, off := te.Field, int64(-1)
			for p, o := range d.pos {
				if o <= te.Offset && o > off && (te.Field == "" || p == te.Field || strings.HasPrefix(p, te.Field+".") || strings.HasPrefix(p, te.Field+"[")) {
					field, off = p, o
				}
			}
			if off < 0 {
				off = te.Offset
			}
			d.addAt(off, field, fmt.Errorf("must be %s, not a JSON %s", jsonType(te.Type.Kind().String()), te.Value))
		} else {
			d.Add("", err)
		}
		return d, d.Err()
	}
	return d, nil
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	case "bool":
		return "true or false"
	case "ptr", "interface":
		return "a value of another type"
	}
	return "a number"
}

// Has reports whether the document holds a value at path.
func (d *Doc) Has(path string) bool {
	_, ok := d.pos[path]
	return ok
}

// Add records that the value at path breaks a rule; err says which (its
// sentinel, if any, stays reachable through errors.Is).
func (d *Doc) Add(path string, err error) {
	off, ok := d.pos[path]
	if !ok {
		d.Problems.Add(problem.Problem{File: d.File, Field: path, Rule: err.Error(), Err: &ruleError{err.Error(), errors.Join(d.sentinel, err)}})
		return
	}
	d.addAt(off, path, err)
}

// Addf is Add with a formatted rule.
func (d *Doc) Addf(path, format string, args ...any) { d.Add(path, fmt.Errorf(format, args...)) }

func (d *Doc) addAt(off int64, path string, err error) {
	line, col := strictjson.LineCol(d.Data, off)
	d.Problems.Add(problem.Problem{File: d.File, Line: line, Col: col, Field: path, Rule: err.Error(), Err: &ruleError{err.Error(), errors.Join(d.sentinel, err)}})
}

// Err returns the problems found (a problem.List) or nil.
func (d *Doc) Err() error { return d.Problems.Err() }

// Key is the path of key inside the object at path: path.key, or
// path["key"] for a key holding '.', brackets or quotes (package names).
func Key(path, key string) string { return strictjson.JoinKey(path, key) }

// Split splits a path into its keys; an array index is the segment "[]":
// `installed["A.B"].version` is [installed A.B version], "mirrors[2]" is
// [mirrors []].
func Split(path string) []string {
	var segs []string
	for path != "" {
		switch {
		case strings.HasPrefix(path, `["`):
			end := 2
			for end < len(path) && !(path[end] == '"' && path[end-1] != '\\') {
				end++
			}
			key, err := strconv.Unquote(path[1:min(end+1, len(path))])
			if err != nil {
				key = path[2:end]
			}
			segs = append(segs, key)
			path = strings.TrimPrefix(path[min(end+1, len(path)):], "]")
		case path[0] == '[':
			i := strings.IndexByte(path, ']')
			if i < 0 {
				i = len(path) - 1
			}
			segs = append(segs, "[]")
			path = path[i+1:]
		case path[0] == '.':
			path = path[1:]
		default:
			i := strings.IndexAny(path, ".[")
			if i < 0 {
				i = len(path)
			}
			segs = append(segs, path[:i])
			path = path[i:]
		}
	}
	return segs
}

// Version parses the package version s found at path; a malformed or
// missing one (0.0.0.0) is a problem there.
func (d *Doc) Version(path, s string) update.Version {
	v, err := update.ParseVersion(s)
	if err != nil {
		d.Add(path, err)
	} else if v == (update.Version{}) {
		d.Addf(path, "required, not 0.0.0.0")
	}
	return v
}

// Time parses the RFC 3339 time s found at path; a malformed or missing
// one is a problem there.
func (d *Doc) Time(path, s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		d.Addf(path, "%q is not an RFC 3339 time", s)
	}
	return t
}
