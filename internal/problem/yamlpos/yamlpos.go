// Package yamlpos decodes the YAML input files devupdate reads (update.yaml,
// product.yaml, SMBIOS fields files) with unknown keys refused, reports YAML
// errors as problem.List entries naming the file and line, and finds the
// position of a value for a problem. It is the only place in devupdate that
// imports a YAML parser, so the device side, which reads none, stays free of
// it (internal/archtest checks that).
package yamlpos

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/devupdate/devupdate/internal/problem"
)

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// Decode parses data (the contents of file) into v with unknown keys
// refused, and returns the document node so callers can report positions.
// A syntax or type error comes back as a List naming the file and line.
func Decode(file string, data []byte, v any) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlErr(file, err)
	}
	if doc.Kind == 0 {
		return nil, problem.List{{File: file, Rule: "file is empty"}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlErr(file, err)
	}
	return &doc, nil
}

func yamlErr(file string, err error) error {
	var l problem.List
	var te *yaml.TypeError
	if errors.As(err, &te) {
		for _, msg := range te.Errors {
			l = append(l, yamlMsg(file, msg))
		}
		return l.Err()
	}
	return problem.List{yamlMsg(file, err.Error())}
}

func yamlMsg(file, msg string) problem.Problem {
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return problem.Problem{File: file, Line: n, Rule: "yaml: " + m[2]}
	}
	return problem.Problem{File: file, Rule: "yaml: " + msg}
}

// Pos is a place in a YAML file.
type Pos struct{ Line, Col int }

// Find follows path (mapping keys, or decimal sequence indexes) from the
// document node and returns the position of the value found there. When the
// path stops early, it returns the position of the deepest node reached and
// false. For a key, Find returns the position of the value, which is where a
// reader looks for what is wrong with it.
func Find(doc *yaml.Node, path ...string) (Pos, bool) {
	n := doc
	if n == nil {
		return Pos{}, false
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, step := range path {
		next := child(n, step)
		if next == nil {
			return Pos{n.Line, n.Column}, false
		}
		n = next
	}
	return Pos{n.Line, n.Column}, true
}

// KeyPos returns the position of the key (not the value) at path, falling
// back like Find.
func KeyPos(doc *yaml.Node, path ...string) (Pos, bool) {
	if len(path) == 0 {
		return Find(doc)
	}
	parentPos, ok := Find(doc, path[:len(path)-1]...)
	if !ok {
		return parentPos, false
	}
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, step := range path[:len(path)-1] {
		n = child(n, step)
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == path[len(path)-1] {
				return Pos{n.Content[i].Line, n.Content[i].Column}, true
			}
		}
	}
	return parentPos, false
}

func child(n *yaml.Node, step string) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == step {
				return n.Content[i+1]
			}
		}
	case yaml.SequenceNode:
		i, err := strconv.Atoi(step)
		if err == nil && i >= 0 && i < len(n.Content) {
			return n.Content[i]
		}
	}
	return nil
}
