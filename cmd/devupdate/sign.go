package main

import (
	"errors"
	"fmt"
	"io"
	"time"

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
		Use:   "sign CAB... --key URI --cert CHAIN.pem [--os-vendor-roots ROOTS.pem] [--timestamp-url URL] [-o OUT]",
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
the system roots).

A cabinet that already carries a signature is refused: signatures are never
replaced. An os-kind update (update.json "kind": "os") is signed like any
other, but first every OS vendor package (.cab) inside it must verify
against --os-vendor-roots (required for os-kind cabinets; the vendor's
certificate need not be EV); those packages are never modified.`,
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
			if errors.Is(err, signer.ErrNoOSVendorRoots) {
				err = fmt.Errorf("%w: give them with --os-vendor-roots ROOTS.pem", err)
			}
			if g.json() {
				if jerr := writeJSON(cmd.OutOrStdout(), results); jerr != nil {
					return jerr
				}
			} else {
				for _, r := range results {
					fmt.Fprintf(cmd.OutOrStdout(), "signed %s as %q (%s)\n", r.File, r.SubjectCN, r.Digest)
					printPackages(cmd.OutOrStdout(), r.Packages)
				}
			}
			return err
		},
	}
	f := c.Flags()
	f.StringVar(&req.Key, "key", "", "signing key: pkcs11:URI, file:PATH or PATH")
	f.StringVar(&req.CertFile, "cert", "", "PEM certificate chain, leaf first (default: the chain in a .pfx key)")
	f.StringVar(&req.RootsFile, "roots", "", "PEM roots the chain must build to (default: system roots)")
	f.StringVar(&req.OSVendorRootsFile, "os-vendor-roots", "", "PEM roots of the OS vendor, which the packages inside os-kind cabinets must verify against")
	f.StringVarP(&req.Output, "out", "o", "", "write the signed cabinet here instead of in place (one CAB only)")
	f.StringVar(&timestampURL, "timestamp-url", "", "RFC 3161 timestamp authority URL")
	f.StringVar(&req.TimestampRootsFile, "timestamp-roots", "", "PEM roots of the timestamp authority (default: system roots)")
	f.StringVar(&req.OSVendorTimestampRootsFile, "os-vendor-timestamp-roots", "", "PEM roots of the OS vendor's timestamp authority, for the packages inside os-kind cabinets (default: system roots)")
	f.StringVar(&module, "pkcs11-module", "", "PKCS#11 module path (default: DEVUPDATE_PKCS11_MODULE)")
	f.StringVar(&pfxPassFile, "pfx-password-file", "", "file holding the PKCS#12 password (default: DEVUPDATE_PFX_PASSWORD)")
	f.BoolVar(&allowNonEV, "insecure-allow-non-ev", false, "INSECURE: sign with a certificate lacking the EV policy (devices refuse it)")
	return c
}

// printPackages lists the verified vendor packages of an os-kind cabinet.
func printPackages(w io.Writer, pkgs []signer.Package) {
	for _, p := range pkgs {
		fmt.Fprintf(w, "  vendor package %s: signed by %q (EV %t, valid %s to %s, %s)\n", p.Path, p.Signature.SubjectCN, p.Signature.EV,
			p.Signature.NotBefore.Format(time.RFC3339), p.Signature.NotAfter.Format(time.RFC3339), p.Signature.Digest)
	}
}
