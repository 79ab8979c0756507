package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/smbios"
)

// statusReport is `status`.
type statusReport struct {
	cli.Status
	Source string `json:"source,omitempty"`
	smbios.Report
}

func newStatusCmd(o *cli.Output) *cobra.Command {
	var smbiosFile string
	c := &cobra.Command{
		Use:   "status [--smbios FILE]",
		Short: "Show this device's SMBIOS fields and computer hardware IDs (CHIDs)",
		Long: `Shows the SMBIOS fields the device's CHIDs come from, and the CHIDs, which
decide what updates are meant for it. Without --smbios the running machine is
read: on Windows GetSystemFirmwareTable('RSMB'), on Linux
/sys/firmware/dmi/tables (root), else /sys/class/dmi/id. --smbios reads a
dmidecode --dump-bin FILE or a JSON fields FILE instead (for tests).
--output json: {"ok": true, "smbios_version", "source", "fields", "chids"}.`,
		Args: cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			var info *smbios.Info
			var err error
			if cmd.Flags().Changed("smbios") {
				if smbiosFile == "" {
					return cli.Usagef("--smbios needs a path")
				}
				info, err = smbios.ReadFile(cmd.Context(), smbiosFile)
			} else {
				info, err = smbios.ReadRunningMachine(cmd.Context(), "")
			}
			rep := &statusReport{}
			if err == nil {
				rep.Source, rep.Report = info.Source, smbios.NewReport(info)
			}
			return cli.Single(o, rep, err, func(w io.Writer, _ *statusReport) error {
				return smbios.WriteText(w, info)
			})
		},
	}
	c.Flags().StringVar(&smbiosFile, "smbios", "", "read a dmidecode --dump-bin or JSON fields `FILE` instead of this machine")
	return c
}
