package main

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/internal/agent"
	"github.com/devupdate/devupdate/internal/agent/config"
)

// EnvConfig names the configuration file when --config is not given.
const EnvConfig = "DEVUPDATE_AGENT_CONFIG"

// agentFlags are the flags of every command that acts as the device: the
// configuration file and the settings that override it.
type agentFlags struct {
	configPath string
	over       config.Overrides
}

func (af *agentFlags) register(c *cobra.Command) {
	f := c.Flags()
	f.StringVar(&af.configPath, "config", "", "the agent's configuration `FILE` (default $"+EnvConfig+", else "+config.DefaultPath()+")")
	f.StringVar(&af.over.Server, "server", "", "base `URL` of the CDN, overriding the file's server")
	f.StringArrayVar(&af.over.Mirrors, "mirror", nil, "further base `URL`s tried when the server cannot be reached (repeatable; replaces the file's mirrors)")
	f.StringVar(&af.over.Ring, "ring", "", "the device's `RING`, overriding the file's")
	f.StringVar(&af.over.StateDir, "state-dir", "", "state `DIR`ectory, overriding the file's")
	f.StringVar(&af.over.SMBIOS, "smbios", "", "read a dmidecode --dump-bin or JSON fields `FILE` instead of this machine's SMBIOS")
	f.StringVar(&af.over.ProductCHID, "product-chid", "", "target this product `CHID` instead of the one computed from SMBIOS")
}

// path is the configuration file to read, and whether it was asked for
// (by flag or environment) rather than the default.
func (af *agentFlags) path(cmd *cobra.Command) (string, bool, error) {
	if cmd.Flags().Changed("config") {
		if af.configPath == "" {
			return "", false, cli.Usagef("--config needs a path")
		}
		return af.configPath, true, nil
	}
	if p := os.Getenv(EnvConfig); p != "" {
		return p, true, nil
	}
	return config.DefaultPath(), false, nil
}

// load reads the configuration and applies the flags; a bad flag value is
// a usage error naming it.
func (af *agentFlags) load(cmd *cobra.Command) (*config.Config, error) {
	p, _, err := af.path(cmd)
	if err != nil {
		return nil, err
	}
	if cmd.Flags().Changed("smbios") && af.over.SMBIOS == "" {
		return nil, cli.Usagef("--smbios needs a path")
	}
	if !cmd.Flags().Changed("mirror") {
		af.over.Mirrors = nil
	}
	cfg, err := config.Load(cmd.Context(), p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &configMissing{path: p, err: err}
	}
	if err != nil {
		return nil, err
	}
	if err := cfg.Override(af.over); err != nil {
		var oe *config.OverrideError
		if errors.As(err, &oe) {
			return nil, cli.Usagef("%s", oe)
		}
		return nil, err
	}
	return cfg, nil
}

// configMissing says where the configuration was looked for.
type configMissing struct {
	path string
	err  error
}

func (e *configMissing) Error() string {
	return e.path + ": no agent configuration (give --config FILE or set " + EnvConfig + ")"
}

func (e *configMissing) Unwrap() error { return e.err }

// open loads the configuration and makes the agent.
func (af *agentFlags) open(cmd *cobra.Command, logger *slog.Logger) (*agent.Agent, error) {
	cfg, err := af.load(cmd)
	if err != nil {
		return nil, err
	}
	return af.openWith(cmd, cfg, logger)
}

// openWith makes the agent of a loaded configuration.
func (af *agentFlags) openWith(cmd *cobra.Command, cfg *config.Config, logger *slog.Logger) (*agent.Agent, error) {
	return agent.New(cmd.Context(), cfg, agent.WithLogger(logger), agent.WithUserAgent("devupdate-agent/"+cli.Version(buildVersion)))
}

// logger is what the agent logs through: stderr in text mode; nothing in
// JSON mode (stdout is the one document, stderr stays empty).
func logger(o *cli.Output) *slog.Logger {
	if o.JSON() {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(o.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// quiet is the logger of commands that print their own result.
func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }
