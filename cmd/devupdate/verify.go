package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/signer"
)

func newVerifyCmd(o *cli.Output) *cobra.Command {
	var (
		roots          rootFlags
		requireEV      bool
		requireSubject string
	)
	c := &cobra.Command{
		Use:   "verify CAB... --roots ROOTS.pem [--os-vendor-roots ROOTS.pem] [--require-ev] [--require-subject SUBJECT]",
		Short: "Verify the Authenticode signatures of cabinets (exit 0 all valid, 1 any not)",
		Long: `Verifies each cabinet's Authenticode signature: the digest over the cabinet,
the PKCS#7 signature, an RFC 3161 timestamp if present, and the certificate
policy (code-signing EKU, digitalSignature, validity at the timestamp or now,
key strength, chain to --roots). For an os-kind cabinet (update.json "kind":
"os"), whose own signature is the OEM's like any other, every OS vendor
package (.cab) inside it must also verify against --os-vendor-roots (required
for os-kind cabinets; EV, --require-ev and --require-subject apply to the
OEM's signature only). Each cabinet is reported (signer, EV, validity,
timestamp, Authenticode digest, kind, vendor packages), every one checked.`,
		Args: cli.Args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if roots.roots == "" {
				return cli.Missing("--roots", "the PEM roots the signers must chain to")
			}
			policy, err := roots.policy(cmd.Context())
			if err != nil {
				return err
			}
			policy.RequireEV, policy.RequireSubject = requireEV, requireSubject
			reports, _ := signer.VerifyCabinets(cmd.Context(), args, policy)
			items := make([]*signedCabinet, len(reports))
			for i, r := range reports {
				items[i] = newSignedCabinet(r)
			}
			return cli.Batch(o, items, nil, func(w io.Writer, c *signedCabinet) error {
				return printSignature(w, "OK", c)
			})
		},
	}
	f := c.Flags()
	roots.register(f, "PEM `FILE` of the roots signers must chain to (required)")
	f.BoolVar(&requireEV, "require-ev", false, "refuse signers without the EV policy 2.23.140.1.3")
	f.StringVar(&requireSubject, "require-subject", "", "refuse signers whose subject (CN or full DN) is not `SUBJECT`")
	return c
}
