package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/smbios"
	"github.com/devupdate/devupdate/smbios/product"
)

func newProductCmd(g *globalOptions) *cobra.Command {
	return newGroupCmd("product", "Validate product definitions (SMBIOS targeting)",
		newProductValidateCmd(g))
}

// productReport is one validated product in `product validate --output json`.
type productReport struct {
	File        string            `json:"file"`
	Name        string            `json:"name"`
	TargetingID smbios.HardwareID `json:"targeting_id"`
	Targets     []smbios.CHID     `json:"targets"`
	Rings       []string          `json:"rings"`
}

func newProductValidateCmd(g *globalOptions) *cobra.Command {
	var golden string
	cmd := &cobra.Command{
		Use:   "validate FILE... [--dmi GOLDEN.bin]",
		Short: "Check product.yaml files against the Device Update Center rules and each other",
		Long: `Check product files: the five required SMBIOS fields (baseboard_manufacturer
may be left out), at most 64 characters, no leading or trailing spaces, no
control or invisible characters, no factory placeholders, valid extra CHIDs and
ring names, and no two products targeted by the same CHID. With --dmi, the
golden device's SMBIOS (a dmidecode --dump-bin file) must match every product
given. Every problem is printed as FILE:LINE:COL: FIELD: RULE; exit status 1.`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			var opts []product.Option
			if cmd.Flags().Changed("dmi") {
				if golden == "" {
					return usageErrorf("--dmi needs a path")
				}
				opts = append(opts, product.WithGoldenDump(golden))
			}
			products, err := product.ValidateFiles(args, opts...)
			if err != nil && problem.As(err) == nil {
				return err
			}
			out := cmd.OutOrStdout()
			if g.json() {
				rep := struct {
					Valid    bool            `json:"valid"`
					Products []productReport `json:"products"`
					Problems problem.List    `json:"problems"`
				}{Valid: err == nil, Products: []productReport{}, Problems: problem.As(err)}
				if rep.Problems == nil {
					rep.Problems = problem.List{}
				}
				for _, p := range products {
					h, _ := p.TargetingID()
					rep.Products = append(rep.Products, productReport{p.File, p.Name, h, p.Targets(), p.Rings})
				}
				if werr := writeJSON(out, rep); werr != nil {
					return werr
				}
			} else {
				for _, p := range problem.As(err) {
					fmt.Fprintln(out, p.String())
				}
				if err == nil {
					for _, p := range products {
						h, _ := p.TargetingID()
						fmt.Fprintf(out, "%s: %s: ok\n", p.File, p.Name)
						fmt.Fprintf(out, "  targeted by %s {%s}    <- %s\n", h.Name, h.GUID, strings.Join(h.Fields, " + "))
						for _, c := range p.Targets()[1:] {
							fmt.Fprintf(out, "  and by {%s}\n", c)
						}
						fmt.Fprintf(out, "  rings: %s\n", strings.Join(p.Rings, ", "))
					}
				} else {
					fmt.Fprintf(out, "%d problem(s) in %d file(s)\n", len(problem.As(err)), len(args))
				}
			}
			if err != nil {
				return &reportedError{err}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&golden, "dmi", "", "golden device SMBIOS: a `dmidecode --dump-bin` FILE that must match the products")
	return cmd
}
