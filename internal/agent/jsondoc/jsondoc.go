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
	"strings"

	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/internal/strictjson"
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
// limit bytes whose every value's path is accepted by known (see
// strictjson.Positions for paths), then decodes it into v. Every problem
// wraps sentinel. A document that is not one object, too large, or not
// decodable into v returns the problems at once; otherwise the caller
// goes on checking rules with Add and ends with Err.
func Parse(file string, data []byte, limit int64, sentinel error, known func(path string) bool, v any) (*Doc, error) {
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
		if p != "" && !known(p) {
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
			off, ok := d.pos[te.Field]
			if !ok {
				off = te.Offset
			}
			d.addAt(off, te.Field, fmt.Errorf("must be %s, not a JSON %s", jsonType(te.Type.Kind().String()), te.Value))
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
