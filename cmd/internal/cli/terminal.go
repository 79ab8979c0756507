package cli

import (
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Printable returns s with every character a terminal would not show as
// itself escaped, as Go writes it in a quoted string (\x1b, \n, \u202e,
// \xff for a byte that is not UTF-8): control characters (escape
// sequences can clear the screen or set the window title), line breaks
// and tabs (which would forge lines or columns of a listing), format
// characters such as bidirectional overrides and zero-width spaces (which
// make a name read as another), and invalid UTF-8. Names read from files
// (cabinets, manifests, catalogs) go through it before they are printed
// in text; JSON escapes them by its own rules.
func Printable(s string) string {
	if printable(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsPrint(r):
			b.WriteString(s[i : i+n])
		default:
			q := fmt.Sprintf("%+q", string(r)) // "\u202e", "\x1b", "\n"
			b.WriteString(q[1 : len(q)-1])
		}
		i += n
	}
	return b.String()
}

func printable(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// terminalSafe is the last line of defence for everything a command
// prints: control characters other than line feed, tab and carriage
// return (the progress bar), bidirectional controls and invalid UTF-8 are
// written escaped, so no text from a file can reach a terminal as an
// escape sequence, even where a command prints it without Printable.
// Escapes of characters are JSON's (\u001b), so a JSON document keeps its
// meaning; invalid UTF-8 (which encoding/json never writes) is \xNN.
type terminalSafe struct {
	w       io.Writer
	pending []byte // the start of a character split across writes
}

func (t *terminalSafe) Write(p []byte) (int, error) {
	n := len(p)
	if len(t.pending) > 0 {
		p = append(t.pending, p...)
		t.pending = nil
	}
	var out []byte
	start := 0
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRune(p[i:])
		if r == utf8.RuneError && size == 1 && !utf8.FullRune(p[i:]) {
			t.pending = append([]byte(nil), p[i:]...) // completed by the next write
			p = p[:i]
			break
		}
		if esc := escapeFor(r, size, p[i]); esc != "" {
			out = append(append(out, p[start:i]...), esc...)
			start = i + size
		}
		i += size
	}
	if out == nil {
		_, err := t.w.Write(p)
		return n, err
	}
	_, err := t.w.Write(append(out, p[start:]...))
	return n, err
}

// Flush writes what is pending: a character that was never completed.
func (t *terminalSafe) Flush() error {
	if len(t.pending) == 0 {
		return nil
	}
	var out []byte
	for _, c := range t.pending {
		out = fmt.Appendf(out, `\x%02x`, c)
	}
	t.pending = nil
	_, err := t.w.Write(out)
	return err
}

func escapeFor(r rune, size int, b byte) string {
	switch {
	case r == utf8.RuneError && size == 1:
		return fmt.Sprintf(`\x%02x`, b)
	case r == '\n' || r == '\t' || r == '\r':
		return ""
	case unicode.IsControl(r), r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return fmt.Sprintf(`\u%04x`, r)
	}
	return ""
}
