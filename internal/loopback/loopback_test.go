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
