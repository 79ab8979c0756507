package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/smbios"
	"github.com/devupdate/devupdate/smbios/smbiosyaml"
)

func newSmbiosCmd(o *cli.Output) *cobra.Command {
	return cli.Group("smbios", "Read SMBIOS and show the computer hardware IDs (CHIDs)",
		newSmbiosShowCmd(o))
}

// smbiosReport is `smbios show --output json`.
type smbiosReport struct {
	cli.Status
	// Source is the file or directory read; empty for values given directly.
	Source         string `json:"source,omitempty"`
	*smbios.Report        // nil when the source could not be read
}

func newSmbiosShowCmd(o *cli.Output) *cobra.Command {
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
		Args: cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			src := smbios.Source{Kind: smbios.RunningMachine}
			var set []string
			for _, f := range []struct {
				path string
				kind smbios.Kind
			}{{dmi, smbios.Dump}, {sysfs, smbios.SysfsTables}, {dmiID, smbios.DMIID}, {fields, smbios.FieldsFile}} {
				if cmd.Flags().Changed(flagName(f.kind)) {
					set = append(set, "--"+flagName(f.kind))
					src = smbios.Source{Kind: f.kind, Path: f.path}
				}
			}
			if len(set) > 1 {
				return cli.Usagef("%s and %s name two sources: give one of --dmi, --sysfs, --dmi-id and --fields", set[0], set[1])
			}
			if src.Kind != smbios.RunningMachine && src.Path == "" {
				return cli.Usagef("--%s needs a path", flagName(src.Kind))
			}
			info, err := smbiosyaml.Read(cmd.Context(), src)
			rep := &smbiosReport{}
			if err == nil {
				r := smbios.NewReport(info)
				rep.Source, rep.Report = info.Source, &r
			}
			return cli.Single(o, rep, err, func(w io.Writer, _ *smbiosReport) error {
				return smbios.WriteText(w, info)
			})
		},
	}
	cmd.Flags().StringVar(&dmi, flagName(smbios.Dump), "", "read a dmidecode --dump-bin `FILE`")
	cmd.Flags().StringVar(&sysfs, flagName(smbios.SysfsTables), "", "read `DIR`/smbios_entry_point and DIR/DMI")
	cmd.Flags().StringVar(&dmiID, flagName(smbios.DMIID), "", "read a /sys/class/dmi/id-like `DIR`")
	cmd.Flags().StringVar(&fields, flagName(smbios.FieldsFile), "", "read a YAML or JSON fields `FILE`")
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
