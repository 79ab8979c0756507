package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestProgressBarQuietWhenNotATerminal(t *testing.T) {
	if newProgressBar(&bytes.Buffer{}) != nil {
		t.Error("progress bar on a buffer")
	}
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if newProgressBar(f) != nil {
		t.Error("progress bar on a regular file")
	}
}

func TestProgressBarDraws(t *testing.T) {
	var buf bytes.Buffer
	p := &progressBar{w: &buf}
	p.update("a.cab", 50, 100)
	p.update("a.cab", 100, 100)
	p.update("b.cab", 10, 10)
	p.finish()
	out := buf.String()
	for _, want := range []string{"\ra.cab [", " 50%", "100%", "\n\rb.cab ["} {
		if !strings.Contains(out, want) {
			t.Errorf("progress output %q lacks %q", out, want)
		}
	}
	if !strings.HasSuffix(out, "\n") {
		t.Errorf("progress output %q does not end the line", out)
	}
}
