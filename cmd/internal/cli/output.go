package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Output reports one run: in text, results on Stdout and failures on
// Stderr; with --output json, one JSON document on Stdout.
type Output struct {
	App            *App
	Stdout, Stderr io.Writer
	format         string // --output: "text" or "json"
}

// JSON reports whether --output json was given.
func (o *Output) JSON() bool { return o.format == "json" }

// Error is the JSON error object.
type Error struct {
	// Code is machine-readable and stable (see Codes).
	Code string `json:"code"`
	// Message is for people: what went wrong and what to change.
	Message string `json:"message"`
}

// Status opens every JSON report. OK is true exactly when the exit status
// is 0. Error is the failure of the command as a whole (not of one input:
// see Item). Problems is every problem found in the inputs, each naming
// its file, line, column, field and rule.
type Status struct {
	OK       bool   `json:"ok"`
	Error    *Error `json:"error,omitempty"`
	Problems any    `json:"problems,omitempty"`
}

func (s *Status) status() *Status { return s }

// Subject is the file a single-subject report is about (`cab list CAB`).
// Embedded beside Status, it is the report's "file", and a failure's text
// line starts with it, as a batch command's does: "x.cab: file exists",
// then the summary line.
type Subject struct {
	File string `json:"file"`
}

func (s *Subject) subject() string { return s.File }

// Item opens the report of one input of a command that takes several. File
// is the path of the file the item describes; OK and Error are that
// input's outcome; Err is the error Batch turns into Error.
type Item struct {
	File  string `json:"file"`
	OK    bool   `json:"ok"`
	Error *Error `json:"error,omitempty"`
	Err   error  `json:"-"`
}

func (i *Item) item() *Item { return i }

// Itemer is a per-input result type: a struct embedding Item.
type Itemer interface{ item() *Item }

// Statuser is a single-subject result type: a struct embedding Status.
type Statuser interface{ status() *Status }

// Batch reports a command over several inputs: items, one per input in
// the order given, and err, the failure of the command as a whole (nil
// when only inputs failed). In JSON: {"ok", "error"?, "problems"?,
// "results": [...]}. In text: text(Stdout, item) for each input that
// succeeded and "FILE: message" on Stderr for each that failed, then err
// on Stderr, or the summary line "N of M failed".
//
// Validators pass every problem found as err (a Lister: the top-level
// "problems") and, as each input's Err, its own problems (the item's
// error then says how many); in text those are printed once, by err.
// It returns the error that sets the exit status.
func Batch[T Itemer](o *Output, items []T, err error, text func(w io.Writer, item T) error) error {
	failed := 0
	for _, it := range items {
		i := it.item()
		i.OK = i.Err == nil
		i.Error = nil
		if i.Err != nil {
			failed++
			i.Error = o.errorOf(i.Err)
		}
	}
	if items == nil {
		items = []T{}
	}
	if o.JSON() {
		rep := struct {
			Status
			Results []T `json:"results"`
		}{Status{OK: err == nil && failed == 0, Error: o.errorOf(err), Problems: listerOf(err)}, items}
		if werr := o.writeJSON(rep); werr != nil {
			return werr
		}
	} else {
		for _, it := range items {
			i := it.item()
			switch {
			case i.Err == nil:
				if werr := text(o.Stdout, it); werr != nil {
					return werr
				}
			case listerOf(i.Err) == nil || listerOf(err) == nil:
				fmt.Fprintln(o.Stderr, Describe(i.File, i.Err))
			}
		}
		if err != nil {
			o.printError(err)
		} else if failed > 0 {
			fmt.Fprintf(o.Stderr, "%s: %d of %d failed\n", o.App.Name, failed, len(items))
		}
	}
	switch {
	case err != nil:
		return &ReportedError{err}
	case failed > 0:
		return &ReportedError{fmt.Errorf("%d of %d failed", failed, len(items))}
	}
	return nil
}

// Single reports a command about one subject: v, whose type embeds
// Status, and err, its failure. In JSON: v with "ok", "error" and
// "problems" filled in. In text: text(Stdout, v) when err is nil, else
// err on Stderr.
func Single[T Statuser](o *Output, v T, err error, text func(w io.Writer, v T) error) error {
	if o.JSON() {
		s := v.status()
		*s = Status{OK: err == nil, Error: o.errorOf(err), Problems: listerOf(err)}
		if werr := o.writeJSON(v); werr != nil {
			return werr
		}
		if err != nil {
			return &ReportedError{err}
		}
		return nil
	}
	if err != nil {
		var fp FileProblem
		if sub, ok := any(v).(interface{ subject() string }); ok && sub.subject() != "" && listerOf(err) == nil && !errors.As(err, &fp) {
			fmt.Fprintln(o.Stderr, Describe(sub.subject(), err))
			fmt.Fprintf(o.Stderr, "%s: 1 of 1 failed\n", o.App.Name)
		} else {
			o.printError(err)
		}
		return &ReportedError{err}
	}
	return text(o.Stdout, v)
}

// Describe is the one-line text of an input's failure: the message, which
// names the file once. Library errors name the file they are about; a
// message that does not (a cancellation, say) gets it in front.
func Describe(file string, err error) string {
	msg := err.Error()
	if file == "" || strings.Contains(msg, file+":") {
		return msg
	}
	return file + ": " + msg
}

// errorOf is the JSON error object for err (nil for nil).
func (o *Output) errorOf(err error) *Error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if l := listerOf(err); l != nil {
		msg = l.Summary()
	}
	return &Error{Code: o.App.Codes.Of(err), Message: msg}
}

// listerOf returns the findings in err, or nil.
func listerOf(err error) Lister {
	var l Lister
	if errors.As(err, &l) {
		return l
	}
	return nil
}

// printError prints a failure on Stderr: each finding of a Lister on its
// own line followed by its summary; a problem in one input file (a
// FileProblem whose message starts with its file) as it is, followed by
// the summary line; anything else as "NAME: message".
func (o *Output) printError(err error) {
	if l := listerOf(err); l != nil {
		for _, line := range l.Lines() {
			fmt.Fprintln(o.Stderr, line)
		}
		fmt.Fprintf(o.Stderr, "%s: %s\n", o.App.Name, l.Summary())
		return
	}
	var fp FileProblem
	if errors.As(err, &fp) && fp.ProblemFile() != "" && strings.HasPrefix(err.Error(), fp.ProblemFile()+":") {
		fmt.Fprintln(o.Stderr, err)
		fmt.Fprintf(o.Stderr, "%s: 1 problem in 1 file\n", o.App.Name)
		return
	}
	fmt.Fprintf(o.Stderr, "%s: %v\n", o.App.Name, err)
}

// WriteJSON prints v as the run's JSON document: indented, one per run.
func (o *Output) writeJSON(v any) error {
	enc := json.NewEncoder(o.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
