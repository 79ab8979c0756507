//go:build unix

package handler

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devupdate/devupdate/internal/agent/config"
)

func job(t *testing.T) Job {
	dir := t.TempDir()
	return Job{Name: "Contoso.Toaster.Driver", Version: "1.0.0.2", Kind: "driver", Dir: dir, Cab: filepath.Join(dir, "x.cab"), INF: filepath.Join(dir, "driver", "t.inf")}
}

func sh(script string) []string { return []string{"/bin/sh", "-c", script, "handler"} }

func TestInstall(t *testing.T) {
	ctx := context.Background()
	j := job(t)
	c := Command{config.Handler{Command: append(sh(`echo "args: $1 $2"; echo "env: $DEVUPDATE_NAME $DEVUPDATE_INF"; pwd; exit 0`), "{name}@{version}", "inf={inf}"), Timeout: 10 * time.Second}}
	res, err := c.Install(ctx, j)
	if err != nil {
		t.Fatal(err)
	}
	want := "args: Contoso.Toaster.Driver@1.0.0.2 inf=" + j.INF + "\nenv: Contoso.Toaster.Driver " + j.INF + "\n" + j.Dir + "\n"
	if res.Output != want || res.ExitCode != 0 || res.RebootRequired {
		t.Errorf("result %+v, want output %q", res, want)
	}
}

func TestExitStatuses(t *testing.T) {
	ctx := context.Background()
	j := job(t)
	c := Command{config.Handler{Command: sh("echo failing >&2; exit 3"), Timeout: 10 * time.Second, RebootExitCodes: []int{194}}}
	_, err := c.Install(ctx, j)
	var ee *ExitError
	if !errors.As(err, &ee) || !errors.Is(err, ErrFailed) || ee.Code != 3 || ee.Output != "failing\n" {
		t.Errorf("exit 3: %v", err)
	}
	c.Command = sh("exit 194")
	res, err := c.Install(ctx, j)
	if err != nil || !res.RebootRequired || res.ExitCode != 194 {
		t.Errorf("reboot code: %+v, %v", res, err)
	}
	c.Command = []string{filepath.Join(t.TempDir(), "missing-program")}
	if _, err := c.Install(ctx, j); err == nil || errors.Is(err, ErrFailed) {
		t.Errorf("missing program: %v", err)
	}
	if _, err := (Command{}).Install(ctx, j); !errors.Is(err, ErrNoHandler) {
		t.Errorf("no command: %v", err)
	}
}

// TestTimeoutKillsTheGroup: a handler past its timeout is killed with what
// it started.
func TestTimeoutKillsTheGroup(t *testing.T) {
	j := job(t)
	marker := filepath.Join(j.Dir, "child-survived")
	c := Command{config.Handler{Command: sh("(sleep 2; touch " + marker + ") & sleep 30"), Timeout: 300 * time.Millisecond}}
	_, err := c.Install(context.Background(), j)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("error %v", err)
	}
	time.Sleep(2500 * time.Millisecond)
	if _, err := os.Stat(marker); err == nil {
		t.Error("the handler's child outlived the timeout")
	}
}

func TestInstalledCheck(t *testing.T) {
	ctx := context.Background()
	j := job(t)
	marker := filepath.Join(j.Dir, "done")
	c := Command{config.Handler{Command: sh("touch " + marker), Installed: sh("test -f " + marker), Timeout: 10 * time.Second}}
	if ok, checked, err := c.Installed(ctx, j); ok || !checked || err != nil {
		t.Errorf("before: %v %v %v", ok, checked, err)
	}
	if _, err := c.Install(ctx, j); err != nil {
		t.Fatal(err)
	}
	if ok, checked, err := c.Installed(ctx, j); !ok || !checked || err != nil {
		t.Errorf("after: %v %v %v", ok, checked, err)
	}
	if _, checked, _ := (Command{config.Handler{Command: sh("true")}}).Installed(ctx, j); checked {
		t.Error("checked without a check configured")
	}
}

func TestTail(t *testing.T) {
	tl := &tail{max: 8}
	tl.Write([]byte("abc"))
	tl.Write([]byte("defgh"))
	if tl.String() != "abcdefgh" {
		t.Errorf("%q", tl.String())
	}
	tl.Write([]byte("ij"))
	if got := tl.String(); got != "[...]\ncdefghij" {
		t.Errorf("%q", got)
	}
	tl.Write([]byte(strings.Repeat("z", 20)))
	if got := tl.String(); got != "[...]\nzzzzzzzz" {
		t.Errorf("%q", got)
	}
}

func TestExpand(t *testing.T) {
	got := Expand([]string{"{dir}/x", "{kind}-{kind}", "{unknown}"}, Job{Dir: "/d", Kind: "app"})
	if strings.Join(got, " ") != "/d/x app-app {unknown}" {
		t.Errorf("%q", got)
	}
}
