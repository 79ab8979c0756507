package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/smbios"
	"github.com/devupdate/devupdate/smbios/smbiosyaml"
)

func newSmbiosCmd(g *globalOptions) *cobra.Command {
	return newGroupCmd("smbios", "Read SMBIOS and show the computer hardware IDs (CHIDs)",
		newSmbiosShowCmd(g))
}

func newSmbiosShowCmd(g *globalOptions) *cobra.Command {
	var dmi, sysfs, dmiID, fields string
	cmd := &cobra.Command{
		Use:   "show [--dmi FILE | --sysfs DIR | --dmi-id DIR | --fields FILE]",
		Short: "Show SMBIOS fields and the 15 computer hardware IDs, like ComputerHardwareIds.exe",
		Long: `Show the SMBIOS fields Windows derives computer hardware IDs from, and the IDs.

Without a flag the running machine is read: /sys/firmware/dmi/tables (needs
root on most systems), else /sys/class/dmi/id. --dmi reads a dmidecode
--dump-bin file, --sysfs a directory holding smbios_entry_point and DMI,
--dmi-id a /sys/class/dmi/id-like directory, --fields a YAML or JSON file
with the keys manufacturer, family, product_name, sku, bios_vendor,
bios_version, bios_major_release, bios_minor_release, enclosure_type,
baseboard_manufacturer and baseboard_product.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			src := smbios.Source{Kind: smbios.RunningMachine}
			set := 0
			for _, f := range []struct {
				path string
				kind smbios.Kind
			}{{dmi, smbios.Dump}, {sysfs, smbios.SysfsTables}, {dmiID, smbios.DMIID}, {fields, smbios.FieldsFile}} {
				if cmd.Flags().Changed(flagName(f.kind)) {
					set++
					src = smbios.Source{Kind: f.kind, Path: f.path}
				}
			}
			if set > 1 {
				return usageErrorf("--dmi, --sysfs, --dmi-id and --fields are mutually exclusive")
			}
			if src.Kind != smbios.RunningMachine && src.Path == "" {
				return usageErrorf("--%s needs a path", flagName(src.Kind))
			}
			info, err := smbiosyaml.Read(cmd.Context(), src)
			if err != nil {
				return printProblems(cmd, g, err)
			}
			if g.json() {
				return writeJSON(cmd.OutOrStdout(), smbios.NewReport(info))
			}
			return smbios.WriteText(cmd.OutOrStdout(), info)
		},
	}
	cmd.Flags().StringVar(&dmi, flagName(smbios.Dump), "", "read a `dmidecode --dump-bin` FILE")
	cmd.Flags().StringVar(&sysfs, flagName(smbios.SysfsTables), "", "read DIR/smbios_entry_point and DIR/DMI")
	cmd.Flags().StringVar(&dmiID, flagName(smbios.DMIID), "", "read a /sys/class/dmi/id-like DIR")
	cmd.Flags().StringVar(&fields, flagName(smbios.FieldsFile), "", "read a YAML or JSON fields FILE")
	return cmd
}

func flagName(k smbios.Kind) string {
	switch k {
	case smbios.Dump:
		return "dmi"
	case smbios.SysfsTables:
		return "sysfs"
	case smbios.DMIID:
		return "dmi-id"
	case smbios.FieldsFile:
		return "fields"
	}
	return ""
}

// printProblems prints the problems in err (one FILE:LINE:COL: FIELD: RULE
// line each, or a JSON report) and returns an error that only sets the exit
// status. Errors that are not problem lists are returned unchanged.
func printProblems(cmd *cobra.Command, g *globalOptions, err error) error {
	list := problem.As(err)
	if list == nil {
		return err
	}
	if g.json() {
		if werr := writeJSON(cmd.OutOrStdout(), struct {
			Valid    bool         `json:"valid"`
			Problems problem.List `json:"problems"`
		}{false, list}); werr != nil {
			return errors.Join(err, werr)
		}
		return &reportedError{err}
	}
	for _, p := range list {
		cmd.PrintErrln(p.String())
	}
	return &reportedError{err}
}
