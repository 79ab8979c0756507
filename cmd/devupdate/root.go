package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Exit statuses. They are part of the CLI contract that CI pipelines rely on.
const (
	exitOK      = 0
	exitFailed  = 1 // invalid input or a failed check
	exitUsage   = 2 // the command line itself is wrong
	exitUnknown = exitFailed
)

// usageError marks an error in how the command was invoked (exit status 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// reportedError is returned after a command has already printed its findings
// (for example every validation problem, or a JSON report): Execute only sets
// the exit status and does not print it again.
type reportedError struct{ err error }

func (e *reportedError) Error() string { return e.err.Error() }
func (e *reportedError) Unwrap() error { return e.err }

// Execute runs the devupdate command line with args and returns the process
// exit status. It is the testable entry point: main only adds os.Args and the
// signal-aware context.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var rep *reportedError
	if !errors.As(err, &rep) {
		fmt.Fprintf(stderr, "devupdate: %v\n", err)
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, "Run 'devupdate --help' for usage.")
		return exitUsage
	}
	return exitUnknown
}

// globalOptions are the flags shared by every subcommand.
type globalOptions struct {
	output string // "text" or "json"
}

func (g *globalOptions) json() bool { return g.output == "json" }

func newRootCmd() *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:           "devupdate",
		Short:         "Validate, package, sign, publish and flight device updates",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          usageArgs(cobra.NoArgs),
		RunE:          needSubcommand,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			switch g.output {
			case "text", "json":
				return nil
			}
			return usageErrorf("--output must be text or json, not %q", g.output)
		},
	}
	root.PersistentFlags().StringVarP(&g.output, "output", "O", "text", "report format: text or json")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	root.AddCommand(
		newVersionCmd(g),
		newSmbiosCmd(g),
		newProductCmd(g),
		newBuildCmd(g),
		newManifestCmd(g),
		newCabCmd(g),
		newKeysCmd(g),
		newSignCmd(g),
		newVerifyCmd(g),
		newPublishCmd(g),
		newServeCmd(g),
		newFlightCmd(g),
	)
	return root
}

// usageArgs makes a positional-argument check report a usage error (exit 2).
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &usageError{err}
		}
		return nil
	}
}

// needSubcommand is the RunE of a command group: called without a
// subcommand it prints help and fails as a usage error.
func needSubcommand(cmd *cobra.Command, args []string) error {
	_ = cmd.Help()
	return usageErrorf("%s needs a subcommand", cmd.CommandPath())
}

// newGroupCmd returns a command that only groups subcommands.
func newGroupCmd(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  usageArgs(cobra.NoArgs),
		RunE:  needSubcommand,
	}
	c.AddCommand(subs...)
	return c
}
