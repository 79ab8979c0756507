// Command testsummary reads `go test -json` on stdin and prints what a person
// needs: one line per package (as plain go test does), the output of every
// failing test, and a closing count "tests: N passed, N failed, N skipped".
// It exits 1 when any test or package failed (build errors included), so
// `make test` cannot pass on a broken package.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

type counts struct{ passed, failed, skipped, badPackages int }

func main() {
	out := flag.String("o", "", "also write the closing count line to this file")
	flag.Parse()
	c, err := summarize(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(1)
	}
	line := fmt.Sprintf("tests: %d passed, %d failed, %d skipped", c.passed, c.failed, c.skipped)
	fmt.Println(line)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(line+"\n"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "testsummary:", err)
			os.Exit(1)
		}
	}
	if c.failed > 0 || c.badPackages > 0 {
		os.Exit(1)
	}
}

func summarize(r io.Reader, w io.Writer) (counts, error) {
	var c counts
	output := map[string]*strings.Builder{} // by package + "\x00" + test
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil {
			// go test prints build errors as plain text when it cannot
			// build a package; pass them through.
			fmt.Fprintln(w, string(line))
			continue
		}
		key := e.Package + "\x00" + e.Test
		switch e.Action {
		case "output", "build-output":
			b := output[key]
			if b == nil {
				b = &strings.Builder{}
				output[key] = b
			}
			b.WriteString(e.Output)
		case "pass", "fail", "skip":
			if e.Test != "" {
				switch e.Action {
				case "pass":
					c.passed++
				case "fail":
					c.failed++
					if b := output[key]; b != nil {
						fmt.Fprint(w, b.String())
					}
				case "skip":
					c.skipped++
				}
				delete(output, key)
				continue
			}
			switch e.Action {
			case "pass":
				fmt.Fprintf(w, "ok  \t%s\t%.3fs\n", e.Package, e.Elapsed)
			case "fail":
				c.badPackages++
				if b := output[key]; b != nil {
					fmt.Fprint(w, b.String())
				}
				fmt.Fprintf(w, "FAIL\t%s\n", e.Package)
			case "skip":
				fmt.Fprintf(w, "?   \t%s\t[no test files]\n", e.Package)
			}
			delete(output, key)
		case "build-fail":
			c.badPackages++
			if b := output[key]; b != nil {
				fmt.Fprint(w, b.String())
			}
			fmt.Fprintf(w, "FAIL\t%s [build failed]\n", e.Package)
		}
	}
	return c, sc.Err()
}
