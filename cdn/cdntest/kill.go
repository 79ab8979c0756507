package cdntest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/devupdate/devupdate/cdn"
)

const childEnv = "CDNTEST_KILL_CHILD"

// stallingReader yields n bytes, announces it on stdout, then blocks
// forever, as an upload whose process is about to be killed.
type stallingReader struct{ n int }

func (s *stallingReader) Read(p []byte) (int, error) {
	if s.n == 0 {
		fmt.Println("STALLED")
		select {}
	}
	k := min(len(p), s.n)
	for i := range p[:k] {
		p[i] = byte(i)
	}
	s.n -= k
	return k, nil
}

// KillMidUpload proves that a writer process killed with SIGKILL in the
// middle of an upload leaves nothing visible in the store, and that a re-run
// succeeds. The test binary re-runs the calling test (named testName) as a
// child process with env set; open builds the store from an environment
// lookup so that parent and child reach the same storage. afterKill (may be
// nil) checks, right after the kill, that the child had really begun writing.
func KillMidUpload(t *testing.T, testName string, env map[string]string, open func(getenv func(string) string) (cdn.Store, error), afterKill func(t *testing.T, key string)) {
	const key = "blobs/sha256/killed"
	if os.Getenv(childEnv) == "1" {
		s, err := open(os.Getenv)
		if err != nil {
			fmt.Println("open:", err)
			os.Exit(3)
		}
		_, err = s.Create(context.Background(), key, &stallingReader{n: 6 << 20}, cdn.Props{})
		fmt.Println("create returned:", err) // never reached while stalled
		os.Exit(4)
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^"+testName+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stalled := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "STALLED" {
				stalled <- true
				_, _ = io.Copy(io.Discard, stdout)
				return
			}
			t.Logf("child: %s", sc.Text())
		}
		stalled <- false
	}()
	select {
	case ok := <-stalled:
		if !ok {
			_ = cmd.Wait()
			t.Fatalf("child exited before stalling: %s", stderr.String())
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child did not reach the middle of its upload: %s", stderr.String())
	}
	time.Sleep(300 * time.Millisecond) // let in-flight blocks land
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	var ee *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &ee) {
		t.Fatalf("child: %v, want killed", err)
	}

	if afterKill != nil {
		afterKill(t, key)
	}
	s, err := open(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, s, key)
	wantNoKeys(t, s)
	data := bytes.Repeat([]byte("whole"), 1<<20)
	create(t, s, key, data, cdn.Props{})
	got, _ := readAll(t, s, key, cdn.Range{})
	if !bytes.Equal(got, data) {
		t.Error("re-run after the killed upload stored other bytes")
	}
}
