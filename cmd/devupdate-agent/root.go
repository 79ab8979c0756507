package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Exit statuses, as for devupdate (see "Output and exit status" in the
// README): 0 ok, 1 a failed check or invalid input, 2 a usage error.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// usageError marks an error in how the command was invoked (exit status 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// Execute runs the agent's command line with args and returns the exit
// status: the testable entry point; main adds os.Args and the signals.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := &globalOptions{}
	root := newRootCmd(g)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "devupdate-agent: %v\nRun 'devupdate-agent --help' for usage.\n", err)
		return exitUsage
	}
	if g.json() {
		_ = writeJSON(stdout, map[string]any{"ok": false, "error": map[string]string{"message": err.Error()}})
	} else {
		fmt.Fprintf(stderr, "devupdate-agent: %v\n", err)
	}
	return exitFailed
}

// globalOptions are the flags every subcommand shares.
type globalOptions struct {
	output string // "text" or "json"
}

func (g *globalOptions) json() bool { return g.output == "json" }

func newRootCmd(g *globalOptions) *cobra.Command {
	root := &cobra.Command{
		Use:           "devupdate-agent",
		Short:         "Find, fetch, verify and install the updates meant for this device",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			_ = cmd.Help()
			return usageErrorf("devupdate-agent needs a subcommand")
		},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if g.output != "text" && g.output != "json" {
				return usageErrorf("--output must be text or json, not %q", g.output)
			}
			return nil
		},
	}
	root.PersistentFlags().StringVarP(&g.output, "output", "O", "text", "report format: text or json")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	root.AddCommand(newVersionCmd(g), newStatusCmd(g))
	return root
}

// usageArgs makes a positional-argument check a usage error (exit 2).
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &usageError{err}
		}
		return nil
	}
}

// writeJSON prints v as one indented JSON document.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
