// Package yamlpos decodes the YAML input files devupdate reads (update.yaml,
// product.yaml, SMBIOS fields files), reports unknown keys (with the nearest
// known one), values of the wrong type and syntax errors as problem.List
// entries naming the file, line, column and field, and finds the
// position of a value for a problem. yaml.v3 decodes; its errors name a
// line at best, so the types are checked on the decoded nodes here, and a
// syntax error is placed by goccy/go-yaml's parser, which keeps the line and
// column of every token. It is the only place in devupdate that imports a
// YAML parser, so the device side, which reads none, stays free of them
// (internal/archtest checks that).
package yamlpos

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	goyaml "github.com/goccy/go-yaml"
	goyamlparser "github.com/goccy/go-yaml/parser"
	"gopkg.in/yaml.v3"

	"github.com/devupdate/devupdate/internal/problem"
)

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// Decode parses data (the contents of file) into v and returns the
// document node so callers can report positions. A syntax error comes back
// as a problem.List naming the file, line, column and the field being
// written, with a nil node: nothing can be checked further. Unknown keys
// (each with the nearest known key: "did you mean description?"),
// duplicate keys and values of the wrong type come back as a problem.List
// together with the node and v decoded as far as it goes, so a caller can
// go on checking and report every problem at once; each names the line and
// column of the key or value it is about and its field (a.b[2].c). A
// field with such a problem keeps its zero value in v: callers ask
// Reported before finding it missing or empty (see Reported).
func Decode(file string, data []byte, v any) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, syntaxErr(file, data, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, problem.List{{File: file, Rule: "file is empty"}}
	}
	derr := doc.Decode(v)
	var l problem.List
	w := &walker{file: file, l: &l, budget: maxVisits}
	w.check(doc.Content[0], reflect.TypeOf(v), "")
	var te *yaml.TypeError
	if derr != nil && len(l) == 0 {
		// yaml.v3 refused something the walk accepts: keep its words,
		// which name only the line. FuzzDecode holds that this does not
		// happen.
		l = problem.As(yamlErr(file, derr))
	}
	if derr != nil && !errors.As(derr, &te) {
		return nil, l.Err() // v is not decoded: nothing more to check
	}
	return &doc, l.Err()
}

// Reported reports whether probs (as Decode returned them) hold a problem
// about field or about a field containing it ("files" contains
// "files[2].dest"): such a field was present but unusable, so it is not
// also reported as missing or empty.
func Reported(probs problem.List, field string) bool {
	for _, p := range probs {
		if p.Field == field || strings.HasPrefix(field, p.Field+".") || strings.HasPrefix(field, p.Field+"[") {
			return true
		}
	}
	return false
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

// syntaxErr places a YAML syntax error, which yaml.v3 reports with a line
// at best. The place is, in order: the first byte no YAML document may hold
// (invalid UTF-8, a control character), which both parsers refuse; else the
// token goccy/go-yaml's parser stops at, with its words (it reads the same
// YAML and keeps the line and column of every token); else, where it finds
// nothing wrong, yaml.v3's line and the first token on it. The field is the
// key path leading to that line, read from the indentation of the lines
// above (a document that does not parse has no tree to take it from).
func syntaxErr(file string, data []byte, err error) error {
	p := yamlMsg(file, err.Error())
	if line, col, rule, ok := badByte(data); ok {
		p.Line, p.Col, p.Rule = line, col, "yaml: "+rule
	} else if line, col, rule, ok := goccyPos(data); ok {
		p.Line, p.Col, p.Rule = line, col, "yaml: "+rule
	}
	lines := strings.Split(string(data), "\n")
	if p.Line < 1 || p.Line > len(lines) {
		p.Line = 1
	}
	if p.Col < 1 {
		text := lines[p.Line-1]
		p.Col = utf8.RuneCountInString(text) - utf8.RuneCountInString(strings.TrimLeft(text, " \t")) + 1
	}
	p.Field = fieldAt(lines[:p.Line])
	return problem.List{p}
}

// goccyPos asks goccy/go-yaml's parser where data stops being YAML.
func goccyPos(data []byte) (line, col int, rule string, ok bool) {
	_, err := goyamlparser.ParseBytes(data, 0)
	var se *goyaml.SyntaxError
	if !errors.As(err, &se) || se.Token == nil || se.Token.Position == nil || se.Token.Position.Line < 1 {
		return 0, 0, "", false
	}
	return se.Token.Position.Line, max(se.Token.Position.Column, 1), se.Message, true
}

// badByte finds the first byte of data that is not valid UTF-8 or is a
// control character YAML does not allow (only tab, line feed, carriage
// return and next line are; a byte order mark may open the document), and its line and
// column (in characters, as yaml.v3 counts them).
func badByte(data []byte) (line, col int, rule string, ok bool) {
	line, col = 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return line, col, fmt.Sprintf("invalid UTF-8 (byte 0x%02x)", data[i]), true
		case r == '\n':
			line, col = line+1, 0
		case r == '\t' || r == '\r' || r == 0x85 || r == 0xFEFF && i == 0:
		case r < 0x20 || r >= 0x7F && r <= 0x9F || r == 0xFFFE || r == 0xFFFF:
			return line, col, fmt.Sprintf("control character %U is not allowed", r), true
		}
		i += size
		col++
	}
	return 0, 0, "", false
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

// maxVisits bounds the nodes one walk visits: aliases can make a small
// document stand for a huge one, and yaml.v3's own bound on them does not
// apply to the walk.
const maxVisits = 1 << 20

// walker checks a decoded document against the Go type it was decoded
// into, adding a problem to l for each finding.
type walker struct {
	file   string
	l      *problem.List
	budget int
}

func (w *walker) add(n *yaml.Node, field, rule string) {
	w.l.Add(problem.Problem{File: w.file, Line: n.Line, Col: n.Column, Field: field, Rule: rule})
}

// check walks n beside the Go type t it is decoded into (with yaml.v3's
// rules: the yaml tag's name, else the field name in lower case; inline
// structs; types with their own UnmarshalYAML are not looked into) and adds
// a problem for every unknown key, naming the nearest known key, every key
// given twice, and every value of the wrong kind, at the key or value it
// is about. A value of the wrong kind is not looked into.
func (w *walker) check(n *yaml.Node, t reflect.Type, path string) {
	if w.budget--; w.budget == 0 {
		w.add(n, path, fmt.Sprintf("too many values: aliases expand the document to more than %d", maxVisits))
	}
	if w.budget <= 0 {
		return
	}
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) || t.Kind() == reflect.Interface {
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // the zero value, as yaml.v3 decodes it
	}
	if want, ok := kindOK(n, t); !ok {
		w.add(n, path, "want "+want+", not "+describe(n))
		return
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		var fields map[string]reflect.Type
		if t.Kind() == reflect.Struct {
			fields = map[string]reflect.Type{}
			structFields(t, fields)
		}
		seen := map[string]int{} // key -> line it was first given at
		w.pairs(n, path, func(k, v *yaml.Node, merged bool) {
			sub := join(path, k.Value)
			var ft reflect.Type
			if fields != nil {
				var ok bool
				if ft, ok = fields[k.Value]; !ok {
					w.add(k, sub, unknownRule(k.Value, fields))
					return
				}
			} else {
				ft = t.Elem()
				w.check(k, t.Key(), sub)
			}
			if !merged {
				if line, dup := seen[k.Value]; dup {
					w.add(k, sub, fmt.Sprintf("key given twice (first at line %d)", line))
					return
				}
				seen[k.Value] = k.Line
			}
			w.check(v, ft, sub)
		})
	case reflect.Slice, reflect.Array:
		for i, c := range n.Content {
			w.check(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

// pairs calls fn for each key and value of the mapping n, then for those
// brought in by its merge keys (<<: *anchor, or a list of them), which the
// mapping's own keys override.
func (w *walker) pairs(n *yaml.Node, path string, fn func(k, v *yaml.Node, merged bool)) {
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		fn(k, v, false)
	}
	for _, m := range merges {
		for m.Kind == yaml.AliasNode && m.Alias != nil {
			m = m.Alias
		}
		srcs := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			srcs = m.Content
		}
		for _, src := range srcs {
			for src.Kind == yaml.AliasNode && src.Alias != nil {
				src = src.Alias
			}
			if src.Kind != yaml.MappingNode {
				w.add(src, path, "a merge (<<) takes a mapping or a list of mappings, not "+describe(src))
				continue
			}
			if w.budget -= len(src.Content); w.budget <= 0 {
				return
			}
			w.pairs(src, path, func(k, v *yaml.Node, _ bool) { fn(k, v, true) })
		}
	}
}

// kindOK reports whether the node n can be decoded into a value of type t
// (not a pointer) and, when not, what t wants in words.
func kindOK(n *yaml.Node, t reflect.Type) (string, bool) {
	scalar := n.Kind == yaml.ScalarNode
	switch t.Kind() {
	case reflect.String:
		return "a string", scalar
	case reflect.Bool:
		return "true or false", scalar && n.ShortTag() == "!!bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		shift := 64 - t.Bits()
		want := fmt.Sprintf("an integer %d-%d", math.MinInt64>>shift, math.MaxInt64>>shift)
		if t.Kind() >= reflect.Uint {
			want = fmt.Sprintf("an integer 0-%d", uint64(math.MaxUint64)>>shift)
		}
		return want, scalar && n.ShortTag() == "!!int" && n.Decode(reflect.New(t).Interface()) == nil
	case reflect.Float32, reflect.Float64:
		return "a number", scalar && (n.ShortTag() == "!!int" || n.ShortTag() == "!!float")
	case reflect.Slice, reflect.Array:
		return "a list", n.Kind == yaml.SequenceNode
	case reflect.Struct, reflect.Map:
		return "a mapping (key: value)", n.Kind == yaml.MappingNode
	}
	return t.String(), n.Decode(reflect.New(t).Interface()) == nil
}

// describe names what a node is, for "want X, not Y".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:40] + "..."
	}
	return strconv.Quote(v)
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
