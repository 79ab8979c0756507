// Package problem reports what is wrong with an input file in the one shape
// every devupdate parser uses: FILE:LINE:COL: FIELD: RULE. It owns the
// error types shared by every parser (the YAML decoding and position
// lookup are in internal/problem/yamlpos, so this package pulls in no YAML
// parser); it does not know any of their rules.
package problem

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/devupdate/devupdate/internal/iox"
)

// ErrInvalid is the sentinel every validation failure wraps, so callers can
// tell "the input is wrong" (exit status 1) from I/O trouble.
var ErrInvalid = errors.New("invalid input")

// Problem is one violated rule at one place in one file. Line and Col are
// 1-based; zero means the place is the whole file (for example a rule that
// spans several files, or a field that is missing).
type Problem struct {
	File  string `json:"file"`
	Line  int    `json:"line,omitempty"`
	Col   int    `json:"col,omitempty"`
	Field string `json:"field,omitempty"`
	Rule  string `json:"rule"`
	// Err is the typed rule violation behind Rule, when the parser has one
	// (for example an update rule sentinel); List unwraps to it, so callers
	// test with errors.Is/As. It is not part of the report.
	Err error `json:"-"`
}

// String formats the problem as FILE:LINE:COL: FIELD: RULE, leaving out the
// parts that are unknown.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
		if p.Col > 0 {
			fmt.Fprintf(&b, ":%d", p.Col)
		}
	}
	b.WriteString(": ")
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Rule)
	return b.String()
}

// AtOffset formats a problem in a binary input: FILE:OFFSET: STRUCTURE: RULE,
// the offset in bytes from the start of the file, in decimal. The cabinet
// reader and the SMBIOS decoders report their problems in this one form.
func AtOffset(file string, offset int64, structure, rule string) string {
	return fmt.Sprintf("%s:%d: %s: %s", file, offset, structure, rule)
}

// List is every problem found in one run. It is an error when not empty.
type List []Problem

// Error joins the problems one per line.
func (l List) Error() string { return strings.Join(l.Lines(), "\n") }

// Lines returns the problems one per line, FILE:LINE:COL: FIELD: RULE.
func (l List) Lines() []string {
	lines := make([]string, len(l))
	for i, p := range l {
		lines[i] = p.String()
	}
	return lines
}

// Summary is the one line that closes a report: "3 problems in 2 files".
func (l List) Summary() string {
	files := map[string]bool{}
	for _, p := range l {
		files[p.File] = true
	}
	return plural(len(l), "problem") + " in " + plural(len(files), "file")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// Unwrap makes errors.Is(l, ErrInvalid) true, and errors.Is/As true for
// the typed error of every problem that has one.
func (l List) Unwrap() []error {
	errs := []error{ErrInvalid}
	for _, p := range l {
		if p.Err != nil {
			errs = append(errs, p.Err)
		}
	}
	return errs
}

// Sort orders problems by file, line, column, field and rule, so reports are
// stable whatever order the checks ran in.
func (l List) Sort() {
	slices.SortStableFunc(l, func(a, b Problem) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Col, b.Col),
			cmp.Compare(a.Field, b.Field),
			cmp.Compare(a.Rule, b.Rule),
		)
	})
}

// Err returns nil for an empty list and the sorted list otherwise.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	l.Sort()
	return l
}

// In returns the problems of file, nil when it has none.
func (l List) In(file string) error { return problemsIn(l, file).Err() }

// Refers is the Err of a problem that stands for the problems of another
// file its file refers to (the product.yaml an update.yaml lists): Of
// counts them with the problem's file.
type Refers struct {
	File  string // the file referred to, as its problems name it
	Count int    // its problems
}

func (r *Refers) Error() string {
	return plural(r.Count, "problem") + " in " + r.File
}

// Of returns the problems of file together with those of the files its
// problems refer to (see Refers), nil when there are none. Its Summary
// names the files: "1 problem in update.yaml and 2 in product.yaml, which
// it refers to".
func (l List) Of(file string) error {
	var own List
	var referred []string
	for _, p := range l {
		if p.File != file {
			continue
		}
		own = append(own, p)
		var r *Refers
		if errors.As(p.Err, &r) && r.File != file && !slices.Contains(referred, r.File) {
			referred = append(referred, r.File)
		}
	}
	if len(own) == 0 {
		return nil
	}
	all := slices.Clone(own)
	for _, f := range referred {
		all = append(all, problemsIn(l, f)...)
	}
	all.Sort()
	return &FileProblems{List: all, File: file, Referred: referred}
}

func problemsIn(l List, file string) List {
	var in List
	for _, p := range l {
		if p.File == file {
			in = append(in, p)
		}
	}
	return in
}

// FileProblems are the problems of one file and of the files it refers
// to, as List.Of returns them.
type FileProblems struct {
	List
	File     string
	Referred []string
}

// Summary names the file and each file it refers to with its count.
func (f *FileProblems) Summary() string {
	s := plural(len(problemsIn(f.List, f.File)), "problem") + " in " + f.File
	for i, r := range f.Referred {
		if i == 0 {
			s += " and "
		} else {
			s += ", "
		}
		s += fmt.Sprintf("%d in %s", len(problemsIn(f.List, r)), r)
	}
	if len(f.Referred) > 0 {
		s += ", which it refers to"
	}
	return s
}

// Unwrap gives the List, so problem.As and errors.Is(err, ErrInvalid)
// see through it.
func (f *FileProblems) Unwrap() error { return f.List }

// Add appends a problem.
func (l *List) Add(p Problem) { *l = append(*l, p) }

// Addf appends a problem whose rule is formatted.
func (l *List) Addf(file string, line, col int, field, format string, args ...any) {
	l.Add(Problem{File: file, Line: line, Col: col, Field: field, Rule: fmt.Sprintf(format, args...)})
}

// As returns the problems in err, or nil when err holds none.
func As(err error) List {
	var l List
	if errors.As(err, &l) {
		return l
	}
	return nil
}

// MaxYAMLSize bounds every YAML document devupdate reads. Manifests and
// product files are small; anything larger is a mistake or an attack, and is
// refused before the parser sees it.
const MaxYAMLSize = 1 << 20

// ReadFileBounded reads at most limit bytes of path and fails with a Problem
// naming the file when it is larger.
func ReadFileBounded(path string, limit int64) ([]byte, error) {
	data, err := iox.ReadFile(context.Background(), path, limit)
	if errors.Is(err, iox.ErrTooLarge) {
		return nil, List{{File: path, Rule: fmt.Sprintf("file is larger than the %d-byte limit", limit)}}
	}
	return data, err
}
