package main

import (
	"errors"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/signer"
)

func newSignCmd(o *cli.Output) *cobra.Command {
	var (
		req          signer.SignRequest
		keys         keyFlags
		timestampURL string
		allowNonEV   bool
	)
	c := &cobra.Command{
		Use:   "sign CAB... --key URI --cert CHAIN.pem [--os-vendor-roots ROOTS.pem] [--timestamp-url URL] [-o OUT]",
		Short: "Authenticode-sign cabinets (SHA-256) with an EV code-signing key, in place unless -o",
		Long: `Signs each cabinet with Authenticode (SHA-256), verifies the result, and only
then replaces it (or writes -o OUT, never overwriting an existing file). A
cabinet that fails does not stop the others; each is reported.

--key is pkcs11:token=…;object=… (RFC 7512; module from module-path=,
--pkcs11-module or DEVUPDATE_PKCS11_MODULE; PIN from DEVUPDATE_PKCS11_PIN or
pin-source=file:PATH), file:PATH or PATH (PEM/PKCS#8 key; .pfx/.p12 is
PKCS#12 with the password from DEVUPDATE_PFX_PASSWORD or --pfx-password-file).
Secrets are never taken from the command line.

The certificate must be an EV code-signing certificate (policy 2.23.140.1.3)
with the code-signing EKU and digitalSignature, RSA >= 3072 or ECDSA
P-256/P-384, valid now, matching the key and building to --roots (default:
the system roots).

Re-running is safe: a cabinet already signed by the same certificate under
the same policy is reported as already_signed and left as it is. Any other
signature is refused: signatures are never replaced. An os-kind update
(update.json "kind": "os") is signed like any other, but first every OS
vendor package (.cab) inside it must verify against --os-vendor-roots
(required for os-kind cabinets; the vendor's certificate need not be EV);
those packages are never modified.`,
		Args: cli.Args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Key = keys.key
			if req.Key == "" {
				return cli.Missing("--key", "the signing key: a pkcs11: URI, file:PATH or PATH")
			}
			if req.Output != "" && len(args) != 1 {
				return cli.Usagef("-o names one signed cabinet but %d cabinets were given: sign them in place (leave out -o), or one at a time", len(args))
			}
			lower := strings.ToLower(req.Key)
			if req.CertFile == "" && !strings.HasSuffix(lower, ".pfx") && !strings.HasSuffix(lower, ".p12") {
				return cli.Missing("--cert", "the PEM certificate chain, leaf first (only a .pfx/.p12 key carries its own)")
			}
			req.Files = args
			req.KeyOptions = keys.options()
			if timestampURL != "" {
				req.Options = append(req.Options, signer.WithTimestampURL(timestampURL, nil))
			}
			if allowNonEV {
				req.Options = append(req.Options, signer.WithUnsafeAllowNonEV())
			}
			reports, err := signer.SignCabinets(cmd.Context(), req)
			if reports != nil {
				err = nil // each cabinet's error is in its report
			}
			if err != nil {
				return nameFlag(keyUsage(err), flagFile{"--key", req.Key}, flagFile{"--cert", req.CertFile}, flagFile{"--roots", req.RootsFile},
					flagFile{"--os-vendor-roots", req.OSVendorRootsFile}, flagFile{"--timestamp-roots", req.TimestampRootsFile}, flagFile{"--pfx-password-file", keys.pfxPassFile})
			}
			items := make([]*signedCabinet, len(reports))
			for i, r := range reports {
				items[i] = newSignedCabinet(r)
				items[i].Source = r.Source
				if r.Err == nil {
					items[i].State = "signed"
					if r.AlreadySigned {
						items[i].State = "already_signed"
					}
				}
			}
			return cli.Batch(o, items, nil, func(w io.Writer, c *signedCabinet) error {
				verb := "signed"
				if c.State == "already_signed" {
					verb = "already signed"
				}
				return printSignature(w, verb, c)
			})
		},
	}
	f := c.Flags()
	keys.register(f)
	f.StringVar(&req.CertFile, "cert", "", "PEM certificate chain `FILE`, leaf first (default: the chain in a .pfx key)")
	f.StringVar(&req.RootsFile, "roots", "", "PEM `FILE` of the roots the chain must build to (default: system roots)")
	f.StringVar(&req.OSVendorRootsFile, "os-vendor-roots", "", "PEM `FILE` of the OS vendor's roots, which the packages inside os-kind cabinets must verify against")
	f.StringVarP(&req.Output, "out", "o", "", "write the signed cabinet to `FILE` instead of in place (one CAB only)")
	f.StringVar(&timestampURL, "timestamp-url", "", "RFC 3161 timestamp authority `URL`")
	f.StringVar(&req.TimestampRootsFile, "timestamp-roots", "", "PEM `FILE` of the timestamp authority's roots (default: system roots)")
	f.StringVar(&req.OSVendorTimestampRootsFile, "os-vendor-timestamp-roots", "", "PEM `FILE` of the OS vendor's timestamp authority's roots, for the packages inside os-kind cabinets (default: system roots)")
	f.BoolVar(&allowNonEV, "insecure-allow-non-ev", false, "INSECURE: sign with a certificate lacking the EV policy (devices refuse it)")
	return c
}

// keyUsage turns a key source's "nothing given" errors into usage errors
// naming the flag or variable that supplies it, and a secret given as an
// argument (a PIN in the key URI) into a usage error naming where it goes
// instead.
func keyUsage(err error) error {
	switch {
	case errors.Is(err, signer.ErrPINInURI):
		return cli.Usagef("--key: the key URI carries the PIN (pin-value=), where the process list and the shell history show it: remove it and set %s, or add pin-source=file:PATH to the URI", signer.EnvPKCS11PIN)
	case errors.Is(err, signer.ErrNoChain):
		return cli.Missing("--cert", "the PEM certificate chain, leaf first")
	case errors.Is(err, signer.ErrNoPFXPassword):
		return cli.Missing("--pfx-password-file", "a file holding the PKCS#12 password", signer.EnvPFXPassword)
	case errors.Is(err, signer.ErrNoPIN):
		return cli.Usagef("the token's PIN is required: set %s, or add pin-source=file:PATH to the key URI", signer.EnvPKCS11PIN)
	case errors.Is(err, signer.ErrNoModule):
		return cli.Missing("--pkcs11-module", "the PKCS#11 module's path (or module-path= in the key URI)", signer.EnvPKCS11Module)
	}
	return err
}
