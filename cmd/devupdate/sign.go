package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/signer/pkcs11"
)

func newSignCmd(g *globalOptions) *cobra.Command {
	var (
		req          signer.SignRequest
		timestampURL string
		module       string
		pfxPassFile  string
		allowNonEV   bool
	)
	c := &cobra.Command{
		Use:   "sign CAB... --key URI --cert CHAIN.pem [--timestamp-url URL] [-o OUT]",
		Short: "Authenticode-sign cabinets (SHA-256) with an EV code-signing key, in place unless -o",
		Long: `Signs each cabinet with Authenticode (SHA-256), verifies the result, and only
then replaces it (or writes -o OUT, never overwriting an existing file).

--key is pkcs11:token=…;object=… (RFC 7512; module from module-path=,
--pkcs11-module or DEVUPDATE_PKCS11_MODULE; PIN from DEVUPDATE_PKCS11_PIN or
pin-source=file:PATH), file:PATH or PATH (PEM/PKCS#8 key; .pfx/.p12 is
PKCS#12 with the password from DEVUPDATE_PFX_PASSWORD or --pfx-password-file).
Secrets are never taken from the command line.

The certificate must be an EV code-signing certificate (policy 2.23.140.1.3)
with the code-signing EKU and digitalSignature, RSA >= 3072 or ECDSA
P-256/P-384, valid now, matching the key and building to --roots (default:
the system roots). os-kind cabinets are refused: their vendor signs them.`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if req.Key == "" {
				return usageErrorf("--key is required")
			}
			req.Files = args
			req.KeyOptions = append(req.KeyOptions, signer.WithPKCS11(pkcs11.Open))
			if module != "" {
				req.KeyOptions = append(req.KeyOptions, signer.WithPKCS11Module(module))
			}
			if pfxPassFile != "" {
				req.KeyOptions = append(req.KeyOptions, signer.WithPFXPasswordFile(pfxPassFile))
			}
			if timestampURL != "" {
				req.Options = append(req.Options, signer.WithTimestampURL(timestampURL, nil))
			}
			if allowNonEV {
				req.Options = append(req.Options, signer.WithUnsafeAllowNonEV())
			}
			results, err := signer.SignCabinets(cmd.Context(), req)
			if g.json() {
				if jerr := writeJSON(cmd.OutOrStdout(), results); jerr != nil {
					return jerr
				}
			} else {
				for _, r := range results {
					fmt.Fprintf(cmd.OutOrStdout(), "signed %s as %q (%s)\n", r.File, r.SubjectCN, r.Digest)
				}
			}
			return err
		},
	}
	f := c.Flags()
	f.StringVar(&req.Key, "key", "", "signing key: pkcs11:URI, file:PATH or PATH")
	f.StringVar(&req.CertFile, "cert", "", "PEM certificate chain, leaf first (default: the chain in a .pfx key)")
	f.StringVar(&req.RootsFile, "roots", "", "PEM roots the chain must build to (default: system roots)")
	f.StringVarP(&req.Output, "out", "o", "", "write the signed cabinet here instead of in place (one CAB only)")
	f.StringVar(&timestampURL, "timestamp-url", "", "RFC 3161 timestamp authority URL")
	f.StringVar(&req.TimestampRootsFile, "timestamp-roots", "", "PEM roots of the timestamp authority (default: system roots)")
	f.StringVar(&module, "pkcs11-module", "", "PKCS#11 module path (default: DEVUPDATE_PKCS11_MODULE)")
	f.StringVar(&pfxPassFile, "pfx-password-file", "", "file holding the PKCS#12 password (default: DEVUPDATE_PFX_PASSWORD)")
	f.BoolVar(&allowNonEV, "insecure-allow-non-ev", false, "INSECURE: sign with a certificate lacking the EV policy (devices refuse it)")
	return c
}
