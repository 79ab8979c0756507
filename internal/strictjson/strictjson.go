// Package strictjson splits a JSON document that must be exactly one
// object into its members, refusing what readers of a signed or targeting
// document must not guess about: invalid UTF-8, anything but one object,
// duplicate keys (which different readers resolve differently) and data
// after the object; and writes the canonical form of such an object
// (Canonical). It is shared by the update.json, catalog entry and SMBIOS
// fields-file code; it knows none of the formats.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// ErrNotObject: the document is not exactly one JSON object.
var ErrNotObject = errors.New("must be one JSON object")

// Object returns the members of the one JSON object in data. Syntax errors
// are encoding/json's (*json.SyntaxError carries the offset; see LineCol).
func Object(data []byte) (map[string]json.RawMessage, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: not valid UTF-8", ErrNotObject)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, ErrNotObject
	}
	fields := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("%w: object key expected", ErrNotObject)
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
		return nil, fmt.Errorf("%w: data after the object", ErrNotObject)
	}
	return fields, nil
}

// Decode decodes the one JSON object in data into v, refusing unknown
// fields as well as everything Object refuses.
func Decode(data []byte, v any) error {
	if _, err := Object(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// LineCol turns a byte offset in data into a 1-based line and column.
func LineCol(data []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line = 1 + bytes.Count(before, []byte{'\n'})
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// ExtraError is an extra member Canonical refused: Reason says why.
type ExtraError struct {
	Key    string
	Reason string
}

func (e *ExtraError) Error() string { return fmt.Sprintf("extra field %q %s", e.Key, e.Reason) }

// Canonical encodes known (a struct or map) with the extra members added as
// one JSON object in canonical form: its keys sorted, no HTML escaping,
// no trailing newline, each extra member's value kept as given (compacted);
// the same value always gives the same bytes (what signed documents need). An extra member that is not valid JSON, or that
// repeats one of known's, is refused with an *ExtraError.
func Canonical(known any, extra map[string]json.RawMessage) ([]byte, error) {
	data, err := compact(known)
	if err != nil {
		return nil, err
	}
	fields := map[string]json.RawMessage{}
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, err
	}
	for k, v := range extra {
		if _, ok := fields[k]; ok {
			return nil, &ExtraError{Key: k, Reason: "is a known field"}
		}
		if !json.Valid(v) {
			return nil, &ExtraError{Key: k, Reason: "is not valid JSON"}
		}
		fields[k] = v
	}
	return compact(fields) // encoding/json sorts map keys
}

func compact(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}
