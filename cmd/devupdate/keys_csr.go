package main

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/internal/iox"
	"github.com/devupdate/devupdate/signer"
)

// csrReport is `keys csr`.
type csrReport struct {
	cli.Status
	// File is where the request was written; empty when printed.
	File      string `json:"file,omitempty"`
	Subject   string `json:"subject,omitempty"`
	PublicKey string `json:"public_key,omitempty"`
	PEM       string `json:"pem,omitempty"`
}

func newKeysCSRCmd(o *cli.Output) *cobra.Command {
	var (
		keys    keyFlags
		subject string
		out     string
	)
	c := &cobra.Command{
		Use:   "csr --key URI --subject DN [-o FILE]",
		Short: "Write a certificate signing request (PKCS#10) for a signing key, such as one held in an HSM",
		Long: `Write the PKCS#10 certificate signing request an OEM sends its CA to obtain
the EV code-signing certificate for a key. The key comes from the same sources
as sign --key; a key on a PKCS#11 token (pkcs11:token=…;object=…) signs the
request inside the token and never leaves it. --subject is a distinguished
name as in RFC 4514, for example
  "CN=Contoso Ltd,O=Contoso Ltd,L=Redmond,ST=Washington,C=US,businessCategory=Private Organization,jurisdictionC=US,serialNumber=600413485"
The request is printed (PEM), or written to -o FILE, never overwriting it.
The key must be RSA >= 3072 bits or ECDSA P-256/P-384.`,
		Args: cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if keys.key == "" {
				return cli.Missing("--key", "the key: a pkcs11: URI, file:PATH or PATH")
			}
			if subject == "" {
				return cli.Missing("--subject", `the certificate's subject, such as "CN=Contoso Ltd,O=Contoso Ltd,C=US"`)
			}
			name, err := signer.ParseSubject(subject)
			if err != nil {
				return &cli.UsageError{Err: fmt.Errorf("--subject: %w", err)}
			}
			key, err := signer.OpenKey(cmd.Context(), keys.key, keys.options()...)
			if err != nil {
				return nameFlag(keyUsage(err), flagFile{"--key", keys.key}, flagFile{"--pfx-password-file", keys.pfxPassFile})
			}
			defer key.Close()
			rep := &csrReport{File: out, Subject: name.String(), PublicKey: describeKey(key.Public())}
			pem, err := signer.CreateCSR(cmd.Context(), key, name)
			if err == nil && out != "" {
				err = iox.CreateNew(out, 0o644, func(f *os.File) error {
					_, err := f.Write(pem)
					return err
				})
			}
			if err == nil {
				rep.PEM = string(pem)
			}
			return cli.Single(o, rep, err, func(w io.Writer, r *csrReport) error {
				if r.File == "" {
					_, err := io.WriteString(w, r.PEM)
					return err
				}
				_, err := fmt.Fprintf(w, "wrote %s: certificate request for %q (%s key)\n", r.File, r.Subject, r.PublicKey)
				return err
			})
		},
	}
	f := c.Flags()
	keys.register(f)
	f.StringVar(&subject, "subject", "", "the certificate's subject `DN` (RFC 4514)")
	f.StringVarP(&out, "out", "o", "", "write the request to `FILE` (never overwritten) instead of printing it")
	return c
}

// describeKey names a public key's type and size: "RSA 3072", "ECDSA P-256".
func describeKey(pub any) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	}
	return fmt.Sprintf("%T", pub)
}
