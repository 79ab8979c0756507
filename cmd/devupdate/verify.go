package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/signer"
)

func newVerifyCmd(g *globalOptions) *cobra.Command {
	var (
		policy                                             signer.Policy
		rootsFile, osRootsFile, tsRootsFile, osTSRootsFile string
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
OEM's signature only). --output json prints, per cabinet: file, valid,
subject, issuer, ev, not_before, not_after, timestamp, digest, kind,
packages (path, size, sha256 and the vendor's signature), error.`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if rootsFile == "" {
				return usageErrorf("--roots is required")
			}
			var err error
			if policy.Roots, err = signer.LoadRoots(cmd.Context(), rootsFile); err != nil {
				return err
			}
			if osRootsFile != "" {
				if policy.OSVendorRoots, err = signer.LoadRoots(cmd.Context(), osRootsFile); err != nil {
					return err
				}
			}
			if tsRootsFile != "" {
				if policy.TimestampRoots, err = signer.LoadRoots(cmd.Context(), tsRootsFile); err != nil {
					return err
				}
			}
			if osTSRootsFile != "" {
				if policy.OSVendorTimestampRoots, err = signer.LoadRoots(cmd.Context(), osTSRootsFile); err != nil {
					return err
				}
			}
			reports, verr := signer.VerifyCabinets(cmd.Context(), args, policy)
			w := cmd.OutOrStdout()
			if g.json() {
				if err := writeJSON(w, reports); err != nil {
					return err
				}
			} else {
				for _, r := range reports {
					if !r.Valid {
						hint := ""
						if errors.Is(r.Err, signer.ErrNoOSVendorRoots) {
							hint = " (give --os-vendor-roots ROOTS.pem)"
						}
						fmt.Fprintf(w, "INVALID %s: %v%s\n", r.File, r.Err, hint)
						continue
					}
					ts := "no timestamp"
					if r.Timestamp != nil {
						ts = "timestamp " + r.Timestamp.Format(time.RFC3339)
					}
					fmt.Fprintf(w, "OK %s: signed by %q (EV %t, %s, %s)\n", r.File, r.SubjectCN, r.EV, ts, r.Digest)
					printPackages(w, r.Packages)
				}
			}
			if verr != nil {
				return &reportedError{verr}
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&rootsFile, "roots", "", "PEM roots signers must chain to (required)")
	f.StringVar(&osRootsFile, "os-vendor-roots", "", "PEM roots of the OS vendor, for the packages inside os-kind cabinets")
	f.StringVar(&tsRootsFile, "timestamp-roots", "", "PEM roots of timestamp authorities (default: --roots)")
	f.StringVar(&osTSRootsFile, "os-vendor-timestamp-roots", "", "PEM roots of the OS vendor's timestamp authority, for the packages inside os-kind cabinets (default: system roots)")
	f.BoolVar(&policy.RequireEV, "require-ev", false, "refuse signers without the EV policy 2.23.140.1.3")
	f.StringVar(&policy.RequireSubject, "require-subject", "", "refuse signers whose subject (CN or full DN) differs")
	return c
}
