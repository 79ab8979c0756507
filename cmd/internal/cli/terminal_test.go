package cli

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestPrintable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"drivers/toaster.inf", "drivers/toaster.inf"},
		{`drivers\toaster.inf`, `drivers\toaster.inf`},
		{"Grüße.txt", "Grüße.txt"},
		{"\x1b[2J", `\x1b[2J`},
		{"a\tb\nc", `a\tb\nc`},
		{"a\u202eb\u200bc", `a\u202eb\u200bc`},
		{"\xff", `\xff`},
	}
	for _, tt := range tests {
		if got := Printable(tt.in); got != tt.want {
			t.Errorf("Printable(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestTerminalSafe: controls are escaped even when a character is split
// across two writes, and a JSON document keeps its meaning.
func TestTerminalSafe(t *testing.T) {
	var b bytes.Buffer
	w := &terminalSafe{w: &b}
	for _, p := range []string{"ok\r\n\t", "\x1b[2J", "\xc2", "\x9b", "é"[:1], "é"[1:], "\u202e", "\xff"} {
		if n, err := w.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", p, n, err)
		}
	}
	if _, err := w.Write([]byte("\xe2\x80")); err != nil { // never completed
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if want := "ok\r\n\t\\u001b[2J\\u009bé\\u202e\\xff\\xe2\\x80"; b.String() != want {
		t.Errorf("wrote %q, want %q", b.String(), want)
	}

	b.Reset()
	doc := map[string]string{"name": "a\u009b\u202e\x7fb"}
	raw, _ := json.Marshal(doc)
	w = &terminalSafe{w: &b}
	if _, err := w.Write(raw); err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(b.Bytes(), &got); err != nil || got["name"] != doc["name"] {
		t.Errorf("JSON through the writer: %s decodes to %q, %v", b.Bytes(), got, err)
	}
}
