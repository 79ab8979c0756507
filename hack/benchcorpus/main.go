// Command benchcorpus writes the cabinet benchmark's input: a
// deterministic corpus of about -size bytes shaped like an update payload,
// about 70% compressible (copies of this machine's shared libraries, and
// generated text: logs, INF-like settings, JSON) and 30% random (already
// compressed firmware, media). The same machine and flags give the same
// files; another machine's libraries give another, similar corpus.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

func main() {
	out := flag.String("o", "", "output directory (created; must not exist)")
	size := flag.Int64("size", 300<<20, "approximate corpus size in bytes")
	libs := flag.String("libs", "/usr/lib/x86_64-linux-gnu", "directory whose shared libraries are copied")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "usage: benchcorpus -o DIR [-size BYTES] [-libs DIR]")
		os.Exit(2)
	}
	if err := run(*out, *size, *libs); err != nil {
		fmt.Fprintln(os.Stderr, "benchcorpus:", err)
		os.Exit(1)
	}
}

func run(out string, size int64, libDir string) error {
	if err := os.Mkdir(out, 0o755); err != nil {
		return err
	}
	libBudget, textBudget := size*45/100, size*25/100
	randBudget := size - libBudget - textBudget

	// Shared libraries, in name order, until the budget is spent.
	var libs []string
	err := filepath.WalkDir(libDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable corners of /usr/lib are skipped
		}
		if d.Type().IsRegular() && strings.Contains(d.Name(), ".so") {
			libs = append(libs, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	slices.Sort(libs)
	var n int64
	for i, p := range libs {
		if n >= libBudget {
			break
		}
		st, err := os.Stat(p)
		if err != nil || st.Size() > libBudget-n+(1<<20) {
			continue
		}
		if err := copyFile(filepath.Join(out, "drivers", fmt.Sprintf("%04d-%s", i, filepath.Base(p))), p); err != nil {
			return err
		}
		n += st.Size()
	}

	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; textBudget > 0; i++ {
		sz := min(textBudget, int64(64<<10+r.IntN(4<<20)))
		if err := writeGen(filepath.Join(out, "settings", fmt.Sprintf("log-%03d.txt", i)), sz, func(w *bufio.Writer) { text(w, r, sz) }); err != nil {
			return err
		}
		textBudget -= sz
	}
	cc := rand.NewChaCha8([32]byte{42})
	for i := 0; randBudget > 0; i++ {
		sz := min(randBudget, int64(1<<20+r.IntN(16<<20)))
		if err := writeGen(filepath.Join(out, "firmware", fmt.Sprintf("blob-%03d.bin", i)), sz, func(w *bufio.Writer) {
			_, _ = io.CopyN(w, cc, sz)
		}); err != nil {
			return err
		}
		randBudget -= sz
	}
	return nil
}

var words = strings.Fields(`device update driver firmware cabinet toaster contoso service registry
	HKLM SOFTWARE Microsoft Windows CurrentVersion install version 10.0.17763.615 error warning info
	success failed retry timeout network storage partition volume boot loader signature catalog
	hardware id SMBIOS manufacturer product family sku baseboard ring preview early adopter general`)

// text writes log-like lines: timestamps, levels, key=value pairs, words.
func text(w *bufio.Writer, r *rand.Rand, size int64) {
	levels := []string{"INFO", "WARN", "ERROR", "DEBUG"}
	var n int64
	for n < size {
		line := fmt.Sprintf("2024-%02d-%02dT%02d:%02d:%02d.%03dZ %-5s pid=%d ", 1+r.IntN(12), 1+r.IntN(28),
			r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(1000), levels[r.IntN(4)], 1000+r.IntN(500))
		for k := 3 + r.IntN(12); k > 0; k-- {
			line += words[r.IntN(len(words))]
			if r.IntN(5) == 0 {
				line += fmt.Sprintf("=%#x", r.Uint32()&0xFFFF)
			}
			line += " "
		}
		line += "\r\n"
		if int64(len(line)) > size-n {
			line = line[:size-n]
		}
		_, _ = w.WriteString(line)
		n += int64(len(line))
	}
}

func writeGen(path string, _ int64, gen func(*bufio.Writer)) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	gen(w)
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func copyFile(dst, src string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}
