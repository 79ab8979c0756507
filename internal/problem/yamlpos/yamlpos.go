// Package yamlpos decodes the YAML input files devupdate reads (update.yaml,
// product.yaml, SMBIOS fields files), reports unknown keys (with the nearest
// known one), values of the wrong type and syntax errors as problem.List
// entries naming the file, line, column and field, and finds the
// position of a value for a problem. It is the only place in devupdate that
// imports a YAML parser, so the device side, which reads none, stays free of
// it (internal/archtest checks that).
package yamlpos

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/devupdate/devupdate/internal/problem"
)

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// Decode parses data (the contents of file) into v and returns the
// document node so callers can report positions. A syntax error comes back
// as a problem.List naming the file, line, column and the field being written, with
// a nil node: nothing can be checked further. Unknown keys (each with the
// nearest known key: "did you mean description?") and values of the wrong
// type come back as a problem.List together with the node and v decoded as far as
// it goes, so a caller can go on checking and report every problem at once.
func Decode(file string, data []byte, v any) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, syntaxErr(file, data, err)
	}
	if doc.Kind == 0 {
		return nil, problem.List{{File: file, Rule: "file is empty"}}
	}
	var l problem.List
	if len(doc.Content) > 0 {
		unknownKeys(file, doc.Content[0], reflect.TypeOf(v), "", &l)
	}
	if err := doc.Decode(v); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, yamlErr(file, err)
		}
		for _, msg := range te.Errors {
			l = append(l, yamlMsg(file, msg))
		}
	}
	return &doc, l.Err()
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

// syntaxErr places a YAML syntax error. The parser gives only the line; the
// column is where the offending token starts on it (the second mapping
// indicator for "mapping values are not allowed", a character no token can
// start with, else the line's first one), and the field is the key path
// leading to that line, read from the indentation of the lines above.
func syntaxErr(file string, data []byte, err error) error {
	p := yamlMsg(file, err.Error())
	lines := strings.Split(string(data), "\n")
	if p.Line < 1 || p.Line > len(lines) {
		return problem.List{p}
	}
	text := strings.TrimRight(lines[p.Line-1], "\r")
	p.Col = tokenCol(text, p.Rule)
	p.Field = fieldAt(lines[:p.Line])
	return problem.List{p}
}

// tokenCol is the 1-based column of the token a syntax error is about.
func tokenCol(text, rule string) int {
	first := len(text) - len(strings.TrimLeft(text, " \t-")) + 1
	switch {
	case strings.Contains(rule, "mapping values are not allowed"):
		seen := 0
		for i := 0; i < len(text); i++ {
			if text[i] == ':' && (i+1 == len(text) || text[i+1] == ' ') {
				if seen++; seen == 2 {
					return i + 1
				}
			}
		}
	case strings.Contains(rule, "cannot start any token"), strings.Contains(rule, "tab character"):
		if i := strings.IndexAny(text, "\t@`"); i >= 0 {
			return i + 1
		}
	}
	return first
}

var keyLineRE = regexp.MustCompile(`^(\s*)(- )?([A-Za-z0-9_.-]+)\s*:(\s|$)`)

// fieldAt is the key path (a.b[2].c) of the last of lines, from the keys
// and sequence items above it at smaller indentation.
func fieldAt(lines []string) string {
	type level struct {
		indent int
		key    string
		item   int // index when the level is a sequence item, else -1
	}
	var stack []level
	items := map[int]int{} // indentation of "- " -> items seen at it
	for _, line := range lines {
		m := keyLineRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		indent := len(m[1])
		for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		for k := range items {
			if k > indent {
				delete(items, k)
			}
		}
		item := -1
		if m[2] != "" {
			item = items[indent]
			items[indent]++
			indent += 2
		}
		stack = append(stack, level{indent, m[3], item})
	}
	var b strings.Builder
	for i, lv := range stack {
		if lv.item >= 0 && i > 0 {
			fmt.Fprintf(&b, "[%d]", lv.item)
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(lv.key)
	}
	return b.String()
}

// unknownKeys adds a problem for every mapping key under n that the Go type
// t (decoded with yaml.v3's rules: the yaml tag's name, else the field name
// in lower case; inline structs; types with their own UnmarshalYAML are
// not looked into) does not know, naming the nearest known key.
func unknownKeys(file string, n *yaml.Node, t reflect.Type, path string, l *problem.List) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) {
		return
	}
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := map[string]reflect.Type{}
		structFields(t, fields)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			ft, ok := fields[k.Value]
			sub := join(path, k.Value)
			if !ok {
				l.Add(problem.Problem{File: file, Line: k.Line, Col: k.Column, Field: sub, Rule: unknownRule(k.Value, fields)})
				continue
			}
			unknownKeys(file, n.Content[i+1], ft, sub, l)
		}
	case (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && n.Kind == yaml.SequenceNode:
		for i, c := range n.Content {
			unknownKeys(file, c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), l)
		}
	}
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

func structFields(t reflect.Type, out map[string]reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			structFields(f.Type, out)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// unknownRule says a key is unknown and which known key is nearest.
func unknownRule(key string, known map[string]reflect.Type) string {
	best, dist := "", -1
	for k := range known {
		if d := editDistance(key, k); dist < 0 || d < dist || d == dist && k < best {
			best, dist = k, d
		}
	}
	if best != "" && dist <= max(1, len(key)/3) {
		return fmt.Sprintf("unknown key %q: did you mean %s?", key, best)
	}
	names := make([]string, 0, len(known))
	for k := range known {
		names = append(names, k)
	}
	slices.Sort(names)
	return fmt.Sprintf("unknown key %q (known: %s)", key, strings.Join(names, ", "))
}

// editDistance is the edit distance between a and b, counting an insertion,
// a deletion, a substitution or a swap of two neighbours as one edit (the
// optimal string alignment distance: "nmae" is one edit from "name").
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
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
