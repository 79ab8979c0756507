// Command benchtool measures the benchmark steps of hack/bench.d: it runs a
// command and prints its wall time, throughput over a file and peak RSS, or
// makes one Go SHA-256 pass over a file (the physical limit of signing:
// the file must be hashed once). Output is one line of key=value pairs.
//
//	benchtool run FILE -- CMD ARGS...   # time, MB/s over FILE, peak RSS and CPU time of CMD
//	benchtool sha256 FILE               # one streaming SHA-256 pass, in process
//	benchtool mkcab OUT FILE...         # a cabinet with our packager (signature reserve)
package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/devupdate/devupdate/packager"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "benchtool:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: benchtool run FILE -- CMD... | benchtool sha256 FILE")
	}
	if args[0] == "mkcab" {
		return mkcab(args[1], args[2:])
	}
	st, err := os.Stat(args[1])
	if err != nil {
		return err
	}
	mb := float64(st.Size()) / 1e6
	switch args[0] {
	case "sha256":
		f, err := os.Open(args[1])
		if err != nil {
			return err
		}
		defer f.Close()
		start := time.Now()
		h := sha256.New()
		if _, err := io.CopyBuffer(h, f, make([]byte, 256<<10)); err != nil {
			return err
		}
		d := time.Since(start)
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		fmt.Printf("seconds=%.3f mb_per_s=%.1f peak_rss_mb=%.1f\n", d.Seconds(), mb/d.Seconds(), float64(ru.Maxrss)/1024)
		return nil
	case "run":
		if len(args) < 4 || args[2] != "--" {
			return fmt.Errorf("usage: benchtool run FILE -- CMD ARGS")
		}
		cmd := exec.Command(args[3], args[4:]...)
		cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
		start := time.Now()
		err := cmd.Run()
		d := time.Since(start)
		if err != nil {
			return fmt.Errorf("%s: %w", args[3], err)
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		fmt.Printf("seconds=%.3f mb_per_s=%.1f peak_rss_mb=%.1f cpu_time=%.3f\n", d.Seconds(), mb/d.Seconds(), float64(ru.Maxrss)/1024, cpu.Seconds())
		return nil
	}
	return fmt.Errorf("unknown subcommand %q", args[0])
}

func mkcab(out string, paths []string) error {
	var files []packager.File
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		files = append(files, packager.File{Name: filepath.Base(p), Size: st.Size(), Open: func() (io.ReadCloser, error) { return os.Open(p) }})
	}
	_, err := packager.WriteFile(context.Background(), out, files)
	return err
}
