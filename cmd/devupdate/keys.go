package main

import (
	"crypto/x509"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/devupdate/devupdate/signer/devpki"
)

func newKeysCmd(g *globalOptions) *cobra.Command {
	return newGroupCmd("keys", "Manage signing keys and certificates", newKeysDevPKICmd(g))
}

func newKeysDevPKICmd(g *globalOptions) *cobra.Command {
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
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			var opts []devpki.Option
			if rsa {
				opts = append(opts, devpki.WithRSA(3072))
			}
			if commonName != "" {
				if !strings.Contains(commonName, "TEST-ONLY") {
					return usageErrorf("--common-name %q must say TEST-ONLY: this chain must never be mistaken for a real one", commonName)
				}
				opts = append(opts, devpki.WithLeafCommonName(commonName))
			}
			if nonEV {
				opts = append(opts, devpki.WithLeafEdit(func(c *x509.Certificate) { c.Policies, c.PolicyIdentifiers = nil, nil }))
			}
			dir := args[0]
			if err := devpki.Generate(cmd.Context(), dir, opts...); err != nil {
				return err
			}
			files := map[string]string{
				"root":  filepath.Join(dir, "root.pem"),
				"chain": filepath.Join(dir, "chain.pem"),
				"key":   filepath.Join(dir, "leaf.key"),
			}
			if g.json() {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"test_only": true, "ev": !nonEV, "files": files})
			}
			style := "EV-style"
			if nonEV {
				style = "non-EV"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "TEST-ONLY %s code-signing chain (never trust it on devices):\n  root  %s\n  chain %s\n  key   %s\n", style, files["root"], files["chain"], files["key"])
			return nil
		},
	}
	c.Flags().BoolVar(&rsa, "rsa", false, "use RSA-3072 keys instead of ECDSA P-256")
	c.Flags().BoolVar(&nonEV, "non-ev", false, "leave the EV policy out of the leaf (as an OS vendor's certificate: signing with it needs --insecure-allow-non-ev)")
	c.Flags().StringVar(&commonName, "common-name", "", "the leaf's common name, which must contain TEST-ONLY (e.g. a demo OS vendor's; default \"devupdate TEST-ONLY Code Signing\")")
	return c
}
