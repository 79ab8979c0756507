package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/internal/agent/service"
)

// ServiceName is the agent's Windows service name.
const ServiceName = "devupdate-agent"

// runReport is `run` once it stopped.
type runReport struct {
	cli.Status
	Stopped bool `json:"stopped"`
}

func newRunCmd(o *cli.Output) *cobra.Command {
	var af agentFlags
	c := &cobra.Command{
		Use:   "run [--config FILE]",
		Short: "The service loop: install what applies every scan interval, until stopped",
		Long: `Runs install now, then every scan_interval plus a random part of jitter,
backing off (from a minute up to the interval) after a failed run. SIGTERM or
SIGINT stops it cleanly after the step in progress (a download resumes next
time; a running handler finishes). Started by the Windows Service Control
Manager it runs as the service ` + ServiceName + ` (sc.exe create ` + ServiceName + `
binPath= "...\devupdate-agent.exe run --config ..."), logging to
<state_dir>\agent.log; elsewhere it logs to stderr (nothing with --output json,
which prints {"ok", "stopped"} when it stops).`,
		Args: cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := af.load(cmd)
			if err != nil {
				return err
			}
			isService, err := service.IsService()
			if err != nil {
				return err
			}
			log := logger(o)
			if isService {
				f, err := openLog(cfg.StateDir)
				if err != nil {
					return err
				}
				defer f.Close()
				log = slog.New(slog.NewTextHandler(f, nil))
			}
			a, err := af.openWith(cmd, cfg, log)
			if err != nil {
				return err
			}
			if isService {
				return service.Run(ServiceName, a.Run)
			}
			err = a.Run(cmd.Context())
			return cli.Single(o, &runReport{Stopped: err == nil}, err, func(w io.Writer, _ *runReport) error {
				_, err := fmt.Fprintln(w, "stopped")
				return err
			})
		},
	}
	af.register(c)
	return c
}

// openLog opens <state>/agent.log for appending, starting it over past
// 8 MiB.
func openLog(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p := filepath.Join(dir, "agent.log")
	if st, err := os.Stat(p); err == nil && st.Size() > 8<<20 {
		_ = os.Rename(p, p+".1")
	}
	return os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
}
