// Package inf reads the parts of a Windows driver setup information (.inf)
// file that decide which files a driver package must carry: the catalog
// files named by CatalogFile* in [Version], the files listed in
// [SourceDisksFiles*] (placed through [SourceDisksNames*]), and the files
// named by CopyFiles directives. It owns INF syntax (sections, quoting,
// comments, line continuation, %strkey% substitution, UTF-16LE/UTF-8/ANSI
// encodings); it does not know where the payload lives: the manifest
// package checks the references against the payload.
package inf

import (
	"bytes"
	"fmt"
	"path"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/devupdate/devupdate/internal/problem"
)

// MaxSize bounds the INF files Parse accepts. The largest inbox INFs are a
// few MiB in UTF-16; anything larger is refused before it is decoded.
const MaxSize = 8 << 20

// Ref is one file an INF names, with where it names it.
type Ref struct {
	// Path is slash-separated and relative to the INF's own directory
	// (INF subdirectories use backslashes; they are converted).
	Path string
	// Line and Col locate the name in the INF (1-based).
	Line, Col int
	// Field says which directive named the file, for example
	// "[Version] CatalogFile.NTamd64" or "[SourceDisksFiles.amd64]".
	Field string
}

// File is what Parse learns from an INF.
type File struct {
	// Catalogs are the catalog (.cat) files named by CatalogFile* keys.
	Catalogs []Ref
	// Files are the files listed in [SourceDisksFiles*] or copied by a
	// CopyFiles directive, each once (first mention kept), in the order
	// they appear.
	Files []Ref
}

// All returns the catalogs followed by the files.
func (f *File) All() []Ref {
	return append(append([]Ref(nil), f.Catalogs...), f.Files...)
}

// Parse reads the INF named name (used in problems) from data. Every
// problem found is returned at once as a problem.List naming name and the
// line; a File is returned whenever the text could be decoded, so callers
// can check what was understood even when some lines are wrong.
func Parse(name string, data []byte) (*File, error) {
	var probs problem.List
	if len(data) > MaxSize {
		probs.Addf(name, 0, 0, "", "INF file is larger than the %d-byte limit", MaxSize)
		return nil, probs.Err()
	}
	text, ok := decode(name, data, &probs)
	if !ok {
		return nil, probs.Err()
	}
	p := &parser{name: name, probs: &probs, sections: map[string]*section{}}
	p.lex(text)
	f := p.resolve()
	return f, probs.Err()
}

// decode turns the INF bytes into text: UTF-16LE with a byte-order mark,
// UTF-8 (with or without a BOM), or otherwise ANSI, read as Latin-1, which
// keeps ASCII file names exact.
func decode(name string, data []byte, probs *problem.List) (string, bool) {
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		body := data[2:]
		if len(body)%2 != 0 {
			probs.Addf(name, 0, 0, "", "UTF-16LE INF file has an odd number of bytes")
			return "", false
		}
		u := make([]uint16, len(body)/2)
		for i := range u {
			u[i] = uint16(body[2*i]) | uint16(body[2*i+1])<<8
		}
		return string(utf16.Decode(u)), true
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		probs.Addf(name, 0, 0, "", "INF file is UTF-16 big-endian; Windows reads only UTF-16LE, UTF-8 or ANSI INF files")
		return "", false
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		data = data[3:]
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		probs.Addf(name, 1+bytes.Count(data[:i], []byte{'\n'}), 0, "",
			"INF file contains NUL bytes: a UTF-16 INF file needs its byte-order mark")
		return "", false
	}
	if utf8.Valid(data) {
		return string(data), true
	}
	r := make([]rune, len(data))
	for i, b := range data {
		r[i] = rune(b)
	}
	return string(r), true
}

type pos struct{ line, col int }

// token is one value of an entry, unquoted, with the place it starts.
type token struct {
	text string
	pos  pos
}

// entry is one logical line of a section: key = v1, v2, ... or just values.
type entry struct {
	key    token // text empty when the line has no '='
	hasKey bool
	values []token
	pos    pos
}

type section struct {
	name    string // as first written
	pos     pos    // of its first header
	entries []entry
}

type parser struct {
	name     string
	probs    *problem.List
	sections map[string]*section // by lower-case name; repeated sections merge
	order    []*section
}

// lex splits the text into sections and entries.
func (p *parser) lex(text string) {
	lines := strings.Split(text, "\n")
	var cur *section
	// Reused for every logical line.
	var runes []rune
	var places []pos
	for i := 0; i < len(lines); i++ {
		// Gather one logical line: a trailing backslash (outside a comment)
		// continues it on the next physical line.
		runes, places = runes[:0], places[:0]
		for {
			line := strings.TrimSuffix(lines[i], "\r")
			body, cont := splitComment(line)
			if strings.TrimSpace(body) == "" && !cont && len(runes) == 0 {
				break // blank or comment-only: most lines of a real INF
			}
			col := 1
			for _, r := range body {
				runes = append(runes, r)
				places = append(places, pos{i + 1, col})
				col++
			}
			if !cont || i+1 >= len(lines) {
				break
			}
			// Drop the backslash and go on with the next line.
			for len(runes) > 0 && (runes[len(runes)-1] == ' ' || runes[len(runes)-1] == '\t') {
				runes, places = runes[:len(runes)-1], places[:len(places)-1]
			}
			runes, places = runes[:len(runes)-1], places[:len(places)-1]
			i++
		}
		first := pos{i + 1, 1}
		if len(places) > 0 {
			first = places[0]
		}
		trimmed := strings.TrimSpace(string(runes))
		if trimmed == "" {
			continue
		}
		if strings.HasPrefix(trimmed, "[") {
			end := strings.IndexByte(trimmed, ']')
			if end < 0 {
				p.probs.Addf(p.name, first.line, first.col, "", "section header %q has no closing ]", trimmed)
				cur = nil
				continue
			}
			name := strings.TrimSpace(trimmed[1:end])
			if name == "" {
				p.probs.Addf(p.name, first.line, first.col, "", "section header has an empty name")
				cur = nil
				continue
			}
			key := strings.ToLower(name)
			cur = p.sections[key]
			if cur == nil {
				cur = &section{name: name, pos: first}
				p.sections[key] = cur
				p.order = append(p.order, cur)
			}
			continue
		}
		if cur == nil {
			p.probs.Addf(p.name, first.line, first.col, "", "line is outside any [section]")
			continue
		}
		e, ok := p.entry(runes, places, first)
		if ok {
			cur.entries = append(cur.entries, e)
		}
	}
}

// splitComment cuts a physical line at the first ';' outside quotes and
// reports whether what is left ends in a continuation backslash.
func splitComment(line string) (string, bool) {
	inQuote := false
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '"':
			inQuote = !inQuote
		case ';':
			if !inQuote {
				line = line[:i]
				i = len(line)
			}
		}
	}
	t := strings.TrimRight(line, " \t")
	return line, strings.HasSuffix(t, "\\")
}

// entry splits a logical line into key and comma-separated values, honouring
// double quotes ("" inside quotes is one quote character).
func (p *parser) entry(runes []rune, places []pos, first pos) (entry, bool) {
	e := entry{pos: first}
	var cur []rune
	var start pos
	started := false
	inQuote := false
	flush := func() token {
		t := token{text: strings.TrimSpace(string(cur)), pos: start}
		if !started {
			t.pos = first
		}
		cur, started = nil, false
		return t
	}
	for i := 0; i < len(runes); i++ {
		r := runes[i]
		if !started && r != ' ' && r != '\t' {
			start, started = places[i], true
		}
		switch {
		case r == '"':
			if inQuote && i+1 < len(runes) && runes[i+1] == '"' {
				cur = append(cur, '"')
				i++
				continue
			}
			inQuote = !inQuote
		case inQuote:
			cur = append(cur, r)
		case r == '=' && !e.hasKey && len(e.values) == 0:
			e.key, e.hasKey = flush(), true
		case r == ',':
			e.values = append(e.values, flush())
		default:
			cur = append(cur, r)
		}
	}
	if inQuote {
		p.probs.Addf(p.name, first.line, first.col, "", "quoted string is not closed")
		return e, false
	}
	e.values = append(e.values, flush())
	return e, true
}

// sectionsWithPrefix returns, in file order, the sections named prefix or
// prefix followed by a '.' decoration (for example SourceDisksFiles.amd64).
func (p *parser) sectionsWithPrefix(prefix string) []*section {
	var out []*section
	lp := strings.ToLower(prefix)
	for _, s := range p.order {
		n := strings.ToLower(s.name)
		if n == lp || strings.HasPrefix(n, lp+".") {
			out = append(out, s)
		}
	}
	return out
}

// decoration returns what follows the first '.' of a section name, lower-case.
func decoration(name string) string {
	if i := strings.IndexByte(name, '.'); i >= 0 {
		return strings.ToLower(name[i+1:])
	}
	return ""
}

// strings collects [Strings] and localized [Strings.xxxx] keys; the first
// definition of a key wins.
func (p *parser) stringTable() map[string]string {
	tab := map[string]string{}
	for _, s := range p.sectionsWithPrefix("Strings") {
		for _, e := range s.entries {
			k := strings.ToLower(e.key.text)
			if !e.hasKey || k == "" {
				continue
			}
			if _, dup := tab[k]; !dup && len(e.values) > 0 {
				tab[k] = e.values[0].text
			}
		}
	}
	return tab
}

// subst replaces %strkey% tokens with their [Strings] values (%% is a
// literal percent sign) and reports undefined keys.
func (p *parser) subst(t token, tab map[string]string, field string) (string, bool) {
	s := t.text
	if !strings.Contains(s, "%") {
		return s, true
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '%')
		if i < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		b.WriteString(s[:i])
		j := strings.IndexByte(s[i+1:], '%')
		if j < 0 {
			p.probs.Addf(p.name, t.pos.line, t.pos.col, field, "%q has an unmatched %%", t.text)
			return "", false
		}
		key := s[i+1 : i+1+j]
		if key == "" {
			b.WriteByte('%')
		} else if v, ok := tab[strings.ToLower(key)]; ok {
			b.WriteString(v)
		} else {
			p.probs.Addf(p.name, t.pos.line, t.pos.col, field, "string %%%s%% is not defined in [Strings]", key)
			return "", false
		}
		s = s[i+2+j:]
	}
}

// relPath turns an INF path (backslash-separated, relative to the INF's
// directory) into a clean slash path, refusing anything that leaves the
// driver package.
func (p *parser) relPath(parts []string, t token, field string) (string, bool) {
	var segs []string
	for _, part := range parts {
		part = strings.ReplaceAll(part, "\\", "/")
		// A single leading backslash means the root of the distribution
		// medium, which is the INF's directory; a UNC path or a drive
		// letter is outside the package.
		if strings.HasPrefix(part, "//") || (len(part) >= 2 && part[1] == ':') {
			p.probs.Addf(p.name, t.pos.line, t.pos.col, field, "path %q is absolute; INF paths are relative to the INF's directory", part)
			return "", false
		}
		for _, seg := range strings.Split(part, "/") {
			switch seg {
			case "", ".":
				continue
			case "..":
				p.probs.Addf(p.name, t.pos.line, t.pos.col, field, "path %q leaves the driver package (..)", part)
				return "", false
			}
			segs = append(segs, seg)
		}
	}
	if len(segs) == 0 {
		p.probs.Addf(p.name, t.pos.line, t.pos.col, field, "file name is empty")
		return "", false
	}
	return path.Join(segs...), true
}

// resolve extracts the catalogs and files from the lexed sections.
func (p *parser) resolve() *File {
	f := &File{}
	tab := p.stringTable()

	version := p.sections["version"]
	if version == nil {
		p.probs.Addf(p.name, 0, 0, "[Version]", "section is missing")
	} else {
		hasSig := false
		for _, e := range version.entries {
			k := strings.ToLower(e.key.text)
			switch {
			case !e.hasKey:
			case k == "signature":
				hasSig = true
			case k == "catalogfile" || strings.HasPrefix(k, "catalogfile."):
				field := "[Version] " + e.key.text
				name, ok := p.subst(e.values[0], tab, field)
				if !ok {
					continue
				}
				if name == "" || strings.ContainsAny(name, `\/:`) {
					p.probs.Addf(p.name, e.values[0].pos.line, e.values[0].pos.col, field,
						"catalog %q must be a file name without a path", name)
					continue
				}
				if !strings.EqualFold(path.Ext(name), ".cat") {
					p.probs.Addf(p.name, e.values[0].pos.line, e.values[0].pos.col, field,
						"catalog %q must have the .cat extension", name)
					continue
				}
				f.Catalogs = append(f.Catalogs, Ref{Path: name, Line: e.values[0].pos.line, Col: e.values[0].pos.col, Field: field})
			}
		}
		if !hasSig {
			p.probs.Addf(p.name, version.pos.line, version.pos.col, "[Version]", "Signature is missing")
		}
		if len(f.Catalogs) == 0 {
			p.probs.Addf(p.name, version.pos.line, version.pos.col, "[Version]",
				"no CatalogFile: a driver package must name its signed catalog")
		}
	}

	// [SourceDisksNames*]: disk id -> path of that disk, per decoration.
	diskPath := map[string]string{}
	for _, s := range p.sectionsWithPrefix("SourceDisksNames") {
		dec := decoration(s.name)
		for _, e := range s.entries {
			if !e.hasKey {
				continue
			}
			dp := ""
			if len(e.values) >= 4 {
				v, ok := p.subst(e.values[3], tab, "["+s.name+"]")
				if !ok {
					continue
				}
				dp = v
			}
			diskPath[dec+"\x00"+strings.ToLower(e.key.text)] = dp
		}
	}

	seen := map[string]bool{}
	add := func(r Ref) {
		k := strings.ToLower(r.Path)
		if !seen[k] {
			seen[k] = true
			f.Files = append(f.Files, r)
		}
	}

	// [SourceDisksFiles*]: file = diskid[,subdir[,size]].
	located := map[string]string{} // lower-case file name -> path
	for _, s := range p.sectionsWithPrefix("SourceDisksFiles") {
		dec := decoration(s.name)
		field := "[" + s.name + "]"
		for _, e := range s.entries {
			nameTok := e.key
			if !e.hasKey {
				nameTok = e.values[0]
			}
			name, ok := p.subst(nameTok, tab, field)
			if !ok {
				continue
			}
			if name == "" || strings.ContainsAny(name, `\/:`) {
				p.probs.Addf(p.name, nameTok.pos.line, nameTok.pos.col, field, "source file %q must be a file name without a path", name)
				continue
			}
			var dp, sub string
			if e.hasKey {
				disk := strings.ToLower(e.values[0].text)
				if v, ok := diskPath[dec+"\x00"+disk]; ok {
					dp = v
				} else if v, ok := diskPath["\x00"+disk]; ok {
					dp = v
				}
				if len(e.values) >= 2 {
					if sub, ok = p.subst(e.values[1], tab, field); !ok {
						continue
					}
				}
			}
			rel, ok := p.relPath([]string{dp, sub, name}, nameTok, field)
			if !ok {
				continue
			}
			if _, dup := located[strings.ToLower(name)]; !dup {
				located[strings.ToLower(name)] = rel
			}
			add(Ref{Path: rel, Line: nameTok.pos.line, Col: nameTok.pos.col, Field: field})
		}
	}

	// CopyFiles = @file | section[, section...] in any section.
	for _, s := range p.order {
		for _, e := range s.entries {
			if !e.hasKey || !strings.EqualFold(e.key.text, "CopyFiles") {
				continue
			}
			field := "[" + s.name + "] CopyFiles"
			for _, v := range e.values {
				if v.text == "" {
					continue
				}
				if strings.HasPrefix(v.text, "@") {
					t := v
					t.text = strings.TrimSpace(t.text[1:])
					p.copyFile(t, tab, field, located, add)
					continue
				}
				name, ok := p.subst(v, tab, field)
				if !ok {
					continue
				}
				target := p.sections[strings.ToLower(name)]
				if target == nil {
					p.probs.Addf(p.name, v.pos.line, v.pos.col, field, "names section [%s], which does not exist", name)
					continue
				}
				for _, ce := range target.entries {
					// destfile[,sourcefile[,temp[,flags]]]
					vals := ce.values
					if ce.hasKey {
						vals = append([]token{ce.key}, vals...)
					}
					src := vals[0]
					if len(vals) >= 2 && vals[1].text != "" {
						src = vals[1]
					}
					p.copyFile(src, tab, "["+target.name+"]", located, add)
				}
			}
		}
	}
	return f
}

// copyFile records a file copied by CopyFiles: where [SourceDisksFiles]
// places it, or beside the INF when it is not listed there.
func (p *parser) copyFile(t token, tab map[string]string, field string, located map[string]string, add func(Ref)) {
	name, ok := p.subst(t, tab, field)
	if !ok || name == "" {
		if ok {
			p.probs.Addf(p.name, t.pos.line, t.pos.col, field, "file name is empty")
		}
		return
	}
	if strings.ContainsAny(name, `\/:`) {
		p.probs.Addf(p.name, t.pos.line, t.pos.col, field, "copied file %q must be a file name without a path", name)
		return
	}
	rel, ok := located[strings.ToLower(name)]
	if !ok {
		rel = name
	}
	add(Ref{Path: rel, Line: t.pos.line, Col: t.pos.col, Field: field})
}

// String formats a reference for messages.
func (r Ref) String() string { return fmt.Sprintf("%s (line %d)", r.Path, r.Line) }
