package local_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/devupdate/devupdate/cdn"
	"github.com/devupdate/devupdate/cdn/local"
	"github.com/devupdate/devupdate/internal/testtool"
)

// The writer a kill test runs as a child process: which operation, on
// which store directory.
const (
	envKillOp  = "LOCALTEST_KILL_OP"
	envKillDir = "LOCALTEST_KILL_DIR"
)

var (
	oldData  = bytes.Repeat([]byte("old "), 50000)
	newData  = bytes.Repeat([]byte("new!"), 60000)
	oldProps = cdn.Props{ContentType: "text/plain", CacheControl: "no-cache", Metadata: map[string]string{"sha256": "old"}}
	newProps = cdn.Props{ContentType: cdn.CabinetContentType, CacheControl: cdn.ImmutableCacheControl, Metadata: map[string]string{"sha256": "new"}}
)

const (
	killKey  = "blobs/sha256/k"
	copySrc  = "blobs/sha256/src"
	copyDest = "targets/k.cab"
)

// killChild performs one write on the store named by the environment;
// the parent runs it under strace, which kills it at a chosen system call.
func killChild(op, dir string) error {
	s, err := local.New(dir)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := context.Background()
	switch op {
	case "create":
		_, err = s.Create(ctx, killKey, bytes.NewReader(newData), newProps)
	case "replace":
		var info cdn.Info
		if info, err = s.Stat(ctx, killKey); err == nil {
			_, err = s.Replace(ctx, killKey, bytes.NewReader(newData), newProps, info.ETag)
		}
	case "copy":
		_, err = s.Copy(ctx, copySrc, copyDest)
	default:
		err = errors.New("unknown operation " + op)
	}
	return err
}

// TestKilledAtEachStep kills a writer (this test binary, re-run under
// strace) at every system call of a Create, a Replace and a Copy that
// makes a change durable or visible (fsync, renameat, linkat, unlinkat),
// one occurrence after the other, and checks what it leaves: the old
// state or the new one, never data without its properties; a re-run of
// the write succeeds; and the temporary files it left are removed by the
// first write into their directory once they are old enough to belong to
// no live writer.
func TestKilledAtEachStep(t *testing.T) {
	if op := os.Getenv(envKillOp); op != "" {
		if err := killChild(op, os.Getenv(envKillDir)); err != nil {
			t.Fatal(err)
		}
		return
	}
	strace := testtool.Need(t, "strace")
	for _, op := range []string{"create", "replace", "copy"} {
		for _, sc := range []string{"fsync", "renameat", "linkat", "unlinkat"} {
			for when := 1; ; when++ {
				dir := t.TempDir()
				seedKillStore(t, op, dir)
				cmd := exec.Command(strace, "-f", "-qq", "-o", "/dev/null", "-e", "trace="+sc,
					"-e", "inject="+sc+":signal=SIGKILL:when="+strconv.Itoa(when),
					os.Args[0], "-test.run", "^TestKilledAtEachStep$", "-test.count=1")
				cmd.Env = append(os.Environ(), envKillOp+"="+op, envKillDir+"="+dir)
				out, err := cmd.CombinedOutput()
				if err == nil {
					break // the write made fewer such calls: every one was tried
				}
				var ee *exec.ExitError
				if !errors.As(err, &ee) || !killed(ee) {
					t.Fatalf("%s killed at %s #%d: %v, want SIGKILL\n%s", op, sc, when, err, out)
				}
				t.Run(op+"/"+sc+"#"+strconv.Itoa(when), func(t *testing.T) { checkAfterKill(t, op, dir) })
			}
		}
	}
}

func killed(ee *exec.ExitError) bool {
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// seedKillStore prepares what the child's operation starts from.
func seedKillStore(t *testing.T, op, dir string) {
	t.Helper()
	s, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	switch op {
	case "replace":
		if _, err := s.Create(t.Context(), killKey, bytes.NewReader(oldData), oldProps); err != nil {
			t.Fatal(err)
		}
	case "copy":
		if _, err := s.Create(t.Context(), copySrc, bytes.NewReader(newData), newProps); err != nil {
			t.Fatal(err)
		}
	}
}

// checkAfterKill checks the store a killed writer left in dir.
func checkAfterKill(t *testing.T, op, dir string) {
	s, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	key := killKey
	if op == "copy" {
		key = copyDest
	}
	states := []struct {
		data  []byte
		props cdn.Props
	}{{newData, newProps}}
	if op == "replace" {
		states = append(states, struct {
			data  []byte
			props cdn.Props
		}{oldData, oldProps})
	}
	got, info, err := get(t, s, key)
	switch {
	case errors.Is(err, cdn.ErrNotFound) && op != "replace":
	case err != nil:
		t.Fatalf("after the kill: Get(%s): %v", key, err)
	default:
		found := false
		for _, st := range states {
			if bytes.Equal(got, st.data) {
				found = true
				if diff := cmp.Diff(st.props, info.Props); diff != "" {
					t.Errorf("after the kill, %s holds its data with other properties (-want +got):\n%s", key, diff)
				}
			}
		}
		if !found {
			t.Errorf("after the kill, %s holds %d bytes that were never written", key, len(got))
		}
	}

	// The write, run again, succeeds.
	ctx := t.Context()
	switch op {
	case "create":
		_, err = s.Create(ctx, key, bytes.NewReader(newData), newProps)
	case "replace":
		if bytes.Equal(got, oldData) {
			_, err = s.Replace(ctx, key, bytes.NewReader(newData), newProps, info.ETag)
		}
	case "copy":
		_, err = s.Copy(ctx, copySrc, copyDest)
	}
	if err != nil && !errors.Is(err, cdn.ErrExists) {
		t.Fatalf("re-run of %s: %v", op, err)
	}
	if got, info, err := get(t, s, key); err != nil || !bytes.Equal(got, newData) || !cmp.Equal(info.Props, newProps) {
		t.Fatalf("after the re-run: %d bytes, properties %+v, error %v; want the new blob", len(got), info.Props, err)
	}

	// What the killed writer left is removed by a later run's first write
	// into that directory, once old enough.
	leftovers, _ := filepath.Glob(filepath.Join(dir, filepath.Dir(key), ".tmp-*"))
	old := time.Now().Add(-2 * time.Hour)
	for _, p := range leftovers {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	s2, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.Create(ctx, filepath.Dir(key)+"/later", strings.NewReader("later"), cdn.Props{}); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, filepath.Dir(key), ".tmp-*")); len(left) != 0 {
		t.Errorf("temporary files left after a later write: %q (before it: %q)", left, leftovers)
	}
}

func get(t *testing.T, s cdn.Store, key string) ([]byte, cdn.Info, error) {
	t.Helper()
	rc, info, err := s.Get(t.Context(), key, cdn.Range{})
	if err != nil {
		return nil, cdn.Info{}, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	return data, info, err
}
