package main

import (
	"crypto/x509"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/signer/devpki"
)

func newKeysCmd(o *cli.Output) *cobra.Command {
	return cli.Group("keys", "Manage signing keys and certificates", newKeysDevPKICmd(o), newKeysCSRCmd(o))
}

// devPKIReport is `keys dev-pki`.
type devPKIReport struct {
	cli.Status
	Directory string `json:"directory"`
	TestOnly  bool   `json:"test_only"`
	EV        bool   `json:"ev"`
	Root      string `json:"root"`
	Chain     string `json:"chain"`
	Key       string `json:"key"`
}

func newKeysDevPKICmd(o *cli.Output) *cobra.Command {
	var (
		rsa, nonEV bool
		commonName string
	)
	c := &cobra.Command{
		Use:   "dev-pki DIR",
		Short: "Write a TEST-ONLY EV-style code-signing chain (root.pem, chain.pem, leaf.key) for demos and tests",
		Long: `Writes a TEST-ONLY EV-style code-signing PKI to DIR:
  DIR/root.pem   the root CA (trust it only in tests and demos)
  DIR/chain.pem  the leaf (EV policy 2.23.140.1.3, code-signing EKU,
                 digitalSignature) then the intermediate
  DIR/leaf.key   the leaf's private key, PKCS#8 PEM (mode 0600)
Every subject says "` + devpki.Label + `". Devices must never trust it.
Existing files are not overwritten. --common-name (which must contain
TEST-ONLY) and --non-ev make a second, distinct chain, such as a demo OS
vendor's, whose certificates are not EV.`,
		Args: cli.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			var opts []devpki.Option
			if rsa {
				opts = append(opts, devpki.WithRSA(3072))
			}
			if commonName != "" {
				if !strings.Contains(commonName, "TEST-ONLY") {
					return cli.Usagef("--common-name %q must say TEST-ONLY: this chain must never be mistaken for a real one", commonName)
				}
				opts = append(opts, devpki.WithLeafCommonName(commonName))
			}
			if nonEV {
				opts = append(opts, devpki.WithLeafEdit(func(c *x509.Certificate) { c.Policies, c.PolicyIdentifiers = nil, nil }))
			}
			dir := args[0]
			err := devpki.Generate(cmd.Context(), dir, opts...)
			rep := &devPKIReport{Directory: dir, TestOnly: true, EV: !nonEV,
				Root: filepath.Join(dir, "root.pem"), Chain: filepath.Join(dir, "chain.pem"), Key: filepath.Join(dir, "leaf.key")}
			return cli.Single(o, rep, err, func(w io.Writer, r *devPKIReport) error {
				style := "EV-style"
				if !r.EV {
					style = "non-EV"
				}
				_, err := fmt.Fprintf(w, "TEST-ONLY %s code-signing chain (never trust it on devices):\n  root  %s\n  chain %s\n  key   %s\n", style, r.Root, r.Chain, r.Key)
				return err
			})
		},
	}
	c.Flags().BoolVar(&rsa, "rsa", false, "use RSA-3072 keys instead of ECDSA P-256")
	c.Flags().BoolVar(&nonEV, "non-ev", false, "leave the EV policy out of the leaf (as an OS vendor's certificate: signing with it needs --insecure-allow-non-ev)")
	c.Flags().StringVar(&commonName, "common-name", "", "the leaf's common `NAME`, which must contain TEST-ONLY (e.g. a demo OS vendor's; default \"devupdate TEST-ONLY Code Signing\")")
	return c
}
