// Package cli is the command-line contract shared by devupdate's binaries
// (cmd/devupdate, cmd/devupdate-agent): exit statuses, usage and
// already-reported errors, the JSON report (one document per run: the
// status, the per-input results, the error object {code, message} and the
// problems), the text rendering of failures on stderr with one summary
// line, and the mapping from error trees to machine-readable codes.
//
// It owns how a command reports, not what it does: commands call one
// library function and hand its results to Batch or Single. It imports no
// domain package (so the device agent does not link the publishing side);
// each binary passes its own Codes for its libraries' sentinels. Errors
// that carry several findings (problem.List) are recognised through the
// Lister interface. See "Output and exit status" in the README.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Exit statuses. They are part of the contract CI pipelines rely on.
const (
	ExitOK     = 0 // everything succeeded
	ExitFailed = 1 // invalid input, a failed check, or an input that failed
	ExitUsage  = 2 // the command line itself is wrong; nothing was done
)

// UsageError is a wrong command line (exit status 2): an unknown command
// or flag, a missing or extra argument, conflicting flags. Its message names
// the flag or argument to change; Execute adds where the help is.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a *UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{fmt.Errorf(format, args...)}
}

// Missing is the usage error for a required flag left out: it names the
// flag and, when the value can also come from the environment, the
// variable.
func Missing(flag, what string, envVars ...string) error {
	if len(envVars) > 0 {
		return Usagef("%s is required: give %s (or set %s)", flag, what, strings.Join(envVars, " or "))
	}
	return Usagef("%s is required: give %s", flag, what)
}

// ReportedError is returned by a command that has already reported its
// failure (on stdout as JSON, or on stderr): Execute only sets exit status
// 1 and prints nothing more.
type ReportedError struct{ Err error }

func (e *ReportedError) Error() string { return e.Err.Error() }
func (e *ReportedError) Unwrap() error { return e.Err }

// Lister is an error made of independent findings, such as every problem
// found in a set of input files (problem.List implements it). In text they
// are printed one per line, followed by Summary; in JSON the error value
// itself is the "problems" array, so it must marshal to one.
type Lister interface {
	error
	Lines() []string
	Summary() string
}

// FileProblem is an error about one place in one input file, such as a
// binary input's FILE:OFFSET: STRUCTURE: RULE (packager/cabinet's
// FormatError, smbios's StructureError): its message starts with the file,
// so a failure line is that message, without the program's name.
type FileProblem interface {
	error
	ProblemFile() string
}

// App is one binary's command line.
type App struct {
	// Name is the program name used in messages ("devupdate").
	Name string
	// Short and Long are the root command's help.
	Short, Long string
	// Version is printed by --version and the version command.
	Version string
	// Codes classify the errors of the binary's libraries; Common is
	// consulted after them.
	Codes Codes
	// Commands returns the root's subcommands, built for this run.
	Commands func(o *Output) []*cobra.Command
}

// Execute runs the command line args and returns the exit status. main
// adds only os.Args and a signal-aware context; tests call it in-process.
func (a *App) Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o := &Output{App: a, Stdout: stdout, Stderr: stderr, format: "text"}
	root := a.newRoot(o)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	var ue *UsageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "%s: %v\n", a.Name, err)
		if cmd == nil {
			cmd = root
		}
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return ExitUsage
	}
	var rep *ReportedError
	if errors.As(err, &rep) {
		return ExitFailed
	}
	if o.JSON() {
		// A command that failed before reporting still prints one
		// document. A long-running one (serve) printed its document when
		// it became ready; a failure after that is a second, closing
		// document, so stdout stays the only stream a script reads.
		_ = o.writeJSON(Status{Error: o.errorOf(err), Problems: listerOf(err)})
		return ExitFailed
	}
	o.printError(err)
	return ExitFailed
}

func (a *App) newRoot(o *Output) *cobra.Command {
	root := &cobra.Command{
		Use:           a.Name,
		Short:         a.Short,
		Long:          a.Long,
		Version:       a.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          groupArgs,
		RunE:          needSubcommand,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			switch o.format {
			case "text", "json":
				return nil
			}
			return Usagef("--output must be text or json, not %q", o.format)
		},
	}
	root.SetVersionTemplate(a.Name + " {{.Version}}\n")
	root.PersistentFlags().StringVarP(&o.format, "output", "O", "text", "report `FORMAT`: text or json")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &UsageError{err} })
	root.AddCommand(a.Commands(o)...)
	return root
}

// Args makes a positional-argument check report a usage error (exit 2)
// that shows the arguments the command takes.
func Args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &UsageError{fmt.Errorf("%w; usage: %s", err, cmd.UseLine())}
		}
		return nil
	}
}

// Group returns a command that only groups subcommands. Called alone it
// fails as a usage error naming them; called with an unknown
// subcommand it suggests the nearest ones.
func Group(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Args: groupArgs, RunE: needSubcommand}
	c.AddCommand(subs...)
	return c
}

// groupArgs refuses arguments to a command group: the first one is a
// mistyped subcommand.
func groupArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return &UsageError{errors.New(msg)}
}

// needSubcommand is the usage error of a group called alone: it names the
// subcommands (stdout stays empty, as for every usage error).
func needSubcommand(cmd *cobra.Command, args []string) error {
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() && c.Name() != "help" && c.Name() != "completion" {
			names = append(names, c.Name())
		}
	}
	return Usagef("%s needs a subcommand: %s", cmd.CommandPath(), strings.Join(names, ", "))
}
