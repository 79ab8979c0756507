// Command benchtool measures the benchmark steps of hack/bench.d: it runs a
// command and prints its wall time, throughput over a file and peak RSS, or
// makes one Go SHA-256 pass over a file (the physical limit of signing:
// the file must be hashed once). Output is one line of key=value pairs.
//
//	benchtool run FILE -- CMD ARGS...   # time, MB/s over FILE, peak RSS of CMD
//	benchtool sha256 FILE               # one streaming SHA-256 pass, in process
package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
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
			return fmt.Errorf("usage: benchtool run FILE -- CMD ARGS...")
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
		fmt.Printf("seconds=%.3f mb_per_s=%.1f peak_rss_mb=%.1f\n", d.Seconds(), mb/d.Seconds(), float64(ru.Maxrss)/1024)
		return nil
	}
	return fmt.Errorf("unknown subcommand %q", args[0])
}
