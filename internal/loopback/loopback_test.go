package loopback

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestFreePortCanBeListenedOn(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("port %d: %v", port, err)
	}
	l.Close()
}

// TestProcess: a process that exits before answering is errExited with its
// output; one that answers is ready, and Stop ends it and waits for it.
func TestProcess(t *testing.T) {
	p, err := Start(exec.Command("sh", "-c", "echo cannot bind; exit 3"))
	if err != nil {
		t.Fatal(err)
	}
	err = p.WaitReady(context.Background(), 10*time.Second, 10*time.Millisecond, func() bool { return false })
	if !errors.Is(err, errExited) || !strings.Contains(err.Error(), "cannot bind") {
		t.Errorf("exited process: %v, want errExited with its output", err)
	}

	p, err = Start(exec.Command("sleep", "60"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WaitReady(context.Background(), 10*time.Second, 10*time.Millisecond, func() bool { return true }); err != nil {
		t.Fatal(err)
	}
	p.Stop(syscall.SIGTERM)
	if err := syscall.Kill(p.PID(), 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process %d after Stop: %v, want gone (exited and reaped)", p.PID(), err)
	}
}

// TestProcessStderrToCaller: a Stderr the caller set gets the standard
// error, all of it once Stop returns, and Output keeps the standard
// output alone.
func TestProcessStderrToCaller(t *testing.T) {
	var log strings.Builder
	cmd := exec.Command("sh", "-c", "echo ready; i=0; while [ $i -lt 1000 ]; do echo line $i >&2; i=$((i+1)); done; sleep 60")
	cmd.Stderr = &log
	p, err := Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WaitReady(context.Background(), 10*time.Second, 10*time.Millisecond, func() bool { return p.Output() == "ready\n" }); err != nil {
		t.Fatal(err)
	}
	p.Stop(syscall.SIGTERM)
	lines := strings.Split(strings.TrimSuffix(log.String(), "\n"), "\n")
	if len(lines) != 1000 || lines[999] != "line 999" {
		t.Errorf("the caller's Stderr got %d lines, the last %q; want 1000, the last \"line 999\"", len(lines), lines[len(lines)-1])
	}
	if got := p.Output(); got != "ready\n" {
		t.Errorf("Output %q, want the standard output alone", got)
	}
}

// TestProcessCPUCountsChildren: the processor time of a process includes
// its live children's (nginx's workers): here the parent only waits and
// its child does the work.
func TestProcessCPUCountsChildren(t *testing.T) {
	p, err := Start(exec.Command("sh", "-c", `sh -c 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; echo done; sleep 60' & wait`))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(syscall.SIGTERM)
	if err := p.WaitReady(context.Background(), time.Minute, 10*time.Millisecond, func() bool { return p.Output() == "done\n" }); err != nil {
		t.Fatal(err)
	}
	cpu, err := p.CPU()
	if err != nil {
		t.Fatal(err)
	}
	if cpu <= 0 {
		t.Errorf("CPU %s after the child counted to 200,000; want the child's time counted", cpu)
	}
}
