package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
)

var errThing = errors.New("the thing is broken")

// findings is a Lister as problem.List is one.
type findings []string

func (f findings) Error() string   { return strings.Join(f, "\n") }
func (f findings) Lines() []string { return f }
func (f findings) Summary() string { return fmt.Sprintf("%d problems", len(f)) }

type fileResult struct {
	Item
	Size int64 `json:"size,omitempty"`
}

type inspectResult struct {
	Status
	Subject
}

type showResult struct {
	Status
	Name string `json:"name,omitempty"`
}

// testApp has a batch command (check), a single-subject one (show) and a
// group (grp) with one subcommand.
func testApp() *App {
	return &App{
		Name:    "tool",
		Version: "v1.2.3",
		Codes:   Codes{Is(errThing, "thing_broken")},
		Commands: func(o *Output) []*cobra.Command {
			check := &cobra.Command{
				Use:  "check FILE...",
				Args: Args(cobra.MinimumNArgs(1)),
				RunE: func(cmd *cobra.Command, args []string) error {
					var items []*fileResult
					for _, a := range args {
						r := &fileResult{Item: Item{File: a}}
						switch a {
						case "broken":
							r.Err = fmt.Errorf("%s: %w", a, errThing)
						case "missing":
							r.Err = &fs.PathError{Op: "open", Path: a, Err: fs.ErrNotExist}
						case "cancel":
							r.Err = context.Canceled
						default:
							r.Size = int64(len(a))
						}
						items = append(items, r)
					}
					var fatal error
					if cmd.Flags().Changed("fatal") {
						fatal = findings{"a:1:2: x: bad", "b:3: y: worse"}
					}
					return Batch(o, items, fatal, func(w io.Writer, r *fileResult) error {
						_, err := fmt.Fprintf(w, "%s %d\n", r.File, r.Size)
						return err
					})
				},
			}
			check.Flags().Bool("fatal", false, "fail as a whole")
			show := &cobra.Command{
				Use:  "show",
				Args: Args(cobra.NoArgs),
				RunE: func(cmd *cobra.Command, args []string) error {
					var err error
					if cmd.Flags().Changed("fail") {
						err = errThing
					}
					return Single(o, &showResult{Name: "x"}, err, func(w io.Writer, r *showResult) error {
						_, err := fmt.Fprintln(w, "name", r.Name)
						return err
					})
				},
			}
			show.Flags().Bool("fail", false, "fail")
			plain := &cobra.Command{
				Use:  "plain",
				Args: Args(cobra.NoArgs),
				RunE: func(cmd *cobra.Command, args []string) error { return errThing },
			}
			need := &cobra.Command{
				Use:  "need",
				Args: Args(cobra.NoArgs),
				RunE: func(cmd *cobra.Command, args []string) error {
					return Missing("--key", "the signing key", "TOOL_KEY")
				},
			}
			// serve reports that it is ready, then fails (its listener
			// breaking), as a long-running server can.
			serve := &cobra.Command{
				Use:  "serve",
				Args: Args(cobra.NoArgs),
				RunE: func(cmd *cobra.Command, args []string) error {
					_ = Single(o, &showResult{Name: "ready"}, nil, func(w io.Writer, r *showResult) error {
						_, err := fmt.Fprintln(w, "serving")
						return err
					})
					return errThing
				},
			}
			// inspect reports on one file, and fails.
			inspect := &cobra.Command{
				Use:  "inspect FILE",
				Args: Args(cobra.ExactArgs(1)),
				RunE: func(cmd *cobra.Command, args []string) error {
					return Single(o, &inspectResult{Subject: Subject{File: args[0]}}, errThing, func(io.Writer, *inspectResult) error { return nil })
				},
			}
			return []*cobra.Command{check, show, plain, need, serve, inspect, Group("grp", "a group", &cobra.Command{Use: "build", Run: func(*cobra.Command, []string) {}})}
		},
	}
}

func run(args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := testApp().Execute(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestExecute(t *testing.T) {
	tests := []struct {
		name             string
		args             []string
		wantOut, wantErr string
		wantCode         int
	}{
		{"batch text", []string{"check", "a", "broken", "missing"}, "a 1\n",
			"broken: the thing is broken\nopen missing: file does not exist\ntool: 2 of 3 failed\n", ExitFailed},
		{"batch text ok", []string{"check", "a", "bb"}, "a 1\nbb 2\n", "", ExitOK},
		{"error without the file gets it", []string{"check", "cancel"}, "", "cancel: context canceled\ntool: 1 of 1 failed\n", ExitFailed},
		{"batch json", []string{"check", "a", "broken", "missing", "-O", "json"}, `{
  "ok": false,
  "results": [
    {
      "file": "a",
      "ok": true,
      "size": 1
    },
    {
      "file": "broken",
      "ok": false,
      "error": {
        "code": "thing_broken",
        "message": "broken: the thing is broken"
      }
    },
    {
      "file": "missing",
      "ok": false,
      "error": {
        "code": "not_found",
        "message": "open missing: file does not exist"
      }
    }
  ]
}
`, "", ExitFailed},
		{"batch problems text", []string{"check", "a", "--fatal"}, "a 1\n", "a:1:2: x: bad\nb:3: y: worse\ntool: 2 problems\n", ExitFailed},
		{"batch problems json", []string{"check", "--fatal", "-O", "json", "a"}, `{
  "ok": false,
  "error": {
    "code": "invalid_input",
    "message": "2 problems"
  },
  "problems": [
    "a:1:2: x: bad",
    "b:3: y: worse"
  ],
  "results": [
    {
      "file": "a",
      "ok": true,
      "size": 1
    }
  ]
}
`, "", ExitFailed},
		{"single text", []string{"show"}, "name x\n", "", ExitOK},
		{"single text fails", []string{"show", "--fail"}, "", "tool: the thing is broken\n", ExitFailed},
		{"single json", []string{"show", "-O", "json"}, "{\n  \"ok\": true,\n  \"name\": \"x\"\n}\n", "", ExitOK},
		{"single json fails", []string{"show", "--fail", "--output", "json"},
			"{\n  \"ok\": false,\n  \"error\": {\n    \"code\": \"thing_broken\",\n    \"message\": \"the thing is broken\"\n  },\n  \"name\": \"x\"\n}\n", "", ExitFailed},
		{"unreported error text", []string{"plain"}, "", "tool: the thing is broken\n", ExitFailed},
		{"unreported error json", []string{"plain", "-O", "json"},
			"{\n  \"ok\": false,\n  \"error\": {\n    \"code\": \"thing_broken\",\n    \"message\": \"the thing is broken\"\n  }\n}\n", "", ExitFailed},
		{"failure after ready text", []string{"serve"}, "serving\n", "tool: the thing is broken\n", ExitFailed},
		{"failure after ready json", []string{"serve", "-O", "json"},
			"{\n  \"ok\": true,\n  \"name\": \"ready\"\n}\n{\n  \"ok\": false,\n  \"error\": {\n    \"code\": \"thing_broken\",\n    \"message\": \"the thing is broken\"\n  }\n}\n", "", ExitFailed},
		{"single file fails text", []string{"inspect", "a.bin"}, "", "a.bin: the thing is broken\ntool: 1 of 1 failed\n", ExitFailed},
		{"single file fails json", []string{"inspect", "a.bin", "-O", "json"},
			"{\n  \"ok\": false,\n  \"error\": {\n    \"code\": \"thing_broken\",\n    \"message\": \"the thing is broken\"\n  },\n  \"file\": \"a.bin\"\n}\n", "", ExitFailed},
		{"missing flag", []string{"need"}, "", "tool: --key is required: give the signing key (or set TOOL_KEY)\nRun 'tool need --help' for usage.\n", ExitUsage},
		{"usage error prints no JSON", []string{"need", "-O", "json"}, "", "tool: --key is required: give the signing key (or set TOOL_KEY)\nRun 'tool need --help' for usage.\n", ExitUsage},
		{"no arguments", []string{"check"}, "", "tool: requires at least 1 arg(s), only received 0; usage: tool check FILE... [flags]\nRun 'tool check --help' for usage.\n", ExitUsage},
		{"unknown flag", []string{"show", "--nope"}, "", "tool: unknown flag: --nope\nRun 'tool show --help' for usage.\n", ExitUsage},
		{"bad output", []string{"show", "-O", "xml"}, "", "tool: --output must be text or json, not \"xml\"\nRun 'tool show --help' for usage.\n", ExitUsage},
		{"mistyped command", []string{"chekc"}, "", "tool: unknown command \"chekc\" for \"tool\"; did you mean check?\nRun 'tool --help' for usage.\n", ExitUsage},
		{"mistyped subcommand", []string{"grp", "biuld"}, "", "tool: unknown command \"biuld\" for \"tool grp\"; did you mean build?\nRun 'tool grp --help' for usage.\n", ExitUsage},
		{"version flag", []string{"--version"}, "tool v1.2.3\n", "", ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := run(tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit status %d, want %d", code, tt.wantCode)
			}
			if d := cmp.Diff(tt.wantOut, out); d != "" {
				t.Errorf("stdout (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.wantErr, errOut); d != "" {
				t.Errorf("stderr (-want +got):\n%s", d)
			}
		})
	}
}

func TestGroupAloneIsUsage(t *testing.T) {
	out, errOut, code := run("grp")
	if code != ExitUsage || out != "" || errOut != "tool: tool grp needs a subcommand: build\nRun 'tool grp --help' for usage.\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestCodes(t *testing.T) {
	codes := Codes{Is(errThing, "thing_broken")}
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("wrapped: %w", errThing), "thing_broken"},
		{&os.PathError{Op: "open", Path: "x", Err: fs.ErrNotExist}, "not_found"},
		{fmt.Errorf("x: %w", fs.ErrExist), "exists"},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), "timeout"},
		{findings{"a"}, CodeInvalidInput},
		{Usagef("bad"), CodeUsage},
		{errors.New("anything else"), CodeFailed},
	}
	for _, tt := range tests {
		if got := codes.Of(tt.err); got != tt.want {
			t.Errorf("Of(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
	if err := append(codes, Common...).Check(); err != nil {
		t.Error(err)
	}
	if err := (Codes{Is(errThing, "Thing-Broken")}).Check(); err == nil {
		t.Error("Check accepted a code that is not snake_case")
	}
}
