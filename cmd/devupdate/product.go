package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/smbios"
	"github.com/devupdate/devupdate/smbios/product"
)

func newProductCmd(o *cli.Output) *cobra.Command {
	return cli.Group("product", "Validate product definitions (SMBIOS targeting)",
		newProductValidateCmd(o))
}

// productResult is one product file in `product validate`.
type productResult struct {
	cli.Item
	Name        string             `json:"name,omitempty"`
	TargetingID *smbios.HardwareID `json:"targeting_id,omitempty"`
	Targets     []smbios.CHID      `json:"targets,omitempty"`
	Rings       []string           `json:"rings,omitempty"`
}

func newProductValidateCmd(o *cli.Output) *cobra.Command {
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
		Args: cli.Args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			var opts []product.Option
			if cmd.Flags().Changed("dmi") {
				if golden == "" {
					return cli.Usagef("--dmi needs a path")
				}
				opts = append(opts, product.WithGoldenDump(golden))
			}
			products, err := product.ValidateFiles(cmd.Context(), args, opts...)
			probs := problem.As(err)
			if err != nil && probs == nil {
				return err
			}
			return cli.Batch(o, productResults(args, products, probs), err, func(w io.Writer, r *productResult) error {
				fmt.Fprintf(w, "%s: %s: ok\n", r.File, r.Name)
				fmt.Fprintf(w, "  targeted by %s {%s}    <- %s\n", r.TargetingID.Name, r.TargetingID.GUID, strings.Join(r.TargetingID.Fields, " + "))
				for _, c := range r.Targets[1:] {
					fmt.Fprintf(w, "  and by {%s}\n", c)
				}
				_, err := fmt.Fprintf(w, "  rings: %s\n", strings.Join(r.Rings, ", "))
				return err
			})
		},
	}
	cmd.Flags().StringVar(&golden, "dmi", "", "golden device SMBIOS: a dmidecode --dump-bin `FILE` that must match the products")
	return cmd
}

// productResults are the results of product files: each file's problems
// (in probs), or its product.
func productResults(files []string, products []*product.Product, probs problem.List) []*productResult {
	loaded := map[string]*product.Product{}
	for _, p := range products {
		loaded[p.File] = p
	}
	items := make([]*productResult, len(files))
	for i, file := range files {
		r := &productResult{Item: cli.Item{File: file, Err: probs.In(file)}}
		if p := loaded[file]; p != nil {
			h, _ := p.TargetingID()
			r.Name, r.TargetingID, r.Targets, r.Rings = p.Name, &h, p.Targets(), p.Rings
		}
		items[i] = r
	}
	return items
}
