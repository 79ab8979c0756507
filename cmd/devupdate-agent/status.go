package main

import (
	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/smbios"
)

func newStatusCmd(g *globalOptions) *cobra.Command {
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
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			var info *smbios.Info
			var err error
			if cmd.Flags().Changed("smbios") {
				if smbiosFile == "" {
					return usageErrorf("--smbios needs a path")
				}
				info, err = smbios.ReadFile(cmd.Context(), smbiosFile)
			} else {
				info, err = smbios.ReadRunningMachine(cmd.Context(), "")
			}
			if err != nil {
				return err
			}
			if g.json() {
				return writeJSON(cmd.OutOrStdout(), struct {
					OK     bool   `json:"ok"`
					Source string `json:"source"`
					smbios.Report
				}{true, info.Source, smbios.NewReport(info)})
			}
			return smbios.WriteText(cmd.OutOrStdout(), info)
		},
	}
	c.Flags().StringVar(&smbiosFile, "smbios", "", "read a dmidecode --dump-bin FILE or a JSON fields FILE instead of this machine")
	return c
}
