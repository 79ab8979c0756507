package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// The summary of real go test -json output from a tiny module with a
// passing, a failing and a skipped test.
func TestSummarizeRealGoTest(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		cmd := exec.Command("sh", "-c", "cat > "+name)
		cmd.Dir = dir
		cmd.Stdin = strings.NewReader(src)
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/m\n\ngo 1.22\n")
	write("m_test.go", `package m

import "testing"

func TestPass(t *testing.T) {}
func TestFail(t *testing.T) { t.Log("the reason it failed") ; t.Fail() }
func TestSkip(t *testing.T) { t.Skip("not here") }
func TestSub(t *testing.T) { t.Run("a", func(t *testing.T) {}) }
`)
	cmd := exec.Command("go", "test", "-json", "./...")
	cmd.Dir = dir
	js, _ := cmd.Output() // exits 1: a test fails
	var out bytes.Buffer
	c, err := summarize(bytes.NewReader(js), &out)
	if err != nil {
		t.Fatal(err)
	}
	want := counts{passed: 3, failed: 1, skipped: 1, badPackages: 1} // TestPass, TestSub, TestSub/a
	if c != want {
		t.Errorf("counts = %+v, want %+v", c, want)
	}
	if !strings.Contains(out.String(), "the reason it failed") || !strings.Contains(out.String(), "FAIL\texample.com/m") {
		t.Errorf("failure output missing:\n%s", out.String())
	}
}

func TestSummarizeBuildFailure(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("sh", "-c", `printf 'module example.com/b\n\ngo 1.22\n' > go.mod && printf 'package b\nfunc broken( {\n' > b.go`)
	cmd.Dir = dir
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	test := exec.Command("go", "test", "-json", "./...")
	test.Dir = dir
	js, _ := test.CombinedOutput()
	c, err := summarize(bytes.NewReader(js), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.badPackages == 0 {
		t.Errorf("a package that does not build was not counted as failed: %+v\n%s", c, js)
	}
}
