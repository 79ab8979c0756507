package main

import (
	"context"
	"crypto/x509"

	"github.com/spf13/pflag"

	"github.com/devupdate/devupdate/signer"
	"github.com/devupdate/devupdate/signer/pkcs11"
)

// keyFlags are the flags that name a signing key, shared by sign and
// keys csr: --key and where its secrets come from (never the command line).
type keyFlags struct {
	key, module, pfxPassFile string
}

func (k *keyFlags) register(f *pflag.FlagSet) {
	f.StringVar(&k.key, "key", "", "signing key `URI`: pkcs11:…, file:PATH or PATH")
	f.StringVar(&k.module, "pkcs11-module", "", "PKCS#11 module `PATH` (default: DEVUPDATE_PKCS11_MODULE)")
	f.StringVar(&k.pfxPassFile, "pfx-password-file", "", "`FILE` holding the PKCS#12 password (default: DEVUPDATE_PFX_PASSWORD)")
}

// options are the signer.OpenKey options the flags ask for.
func (k *keyFlags) options() []signer.KeyOption {
	opts := []signer.KeyOption{signer.WithPKCS11(pkcs11.Open)}
	if k.module != "" {
		opts = append(opts, signer.WithPKCS11Module(k.module))
	}
	if k.pfxPassFile != "" {
		opts = append(opts, signer.WithPFXPasswordFile(k.pfxPassFile))
	}
	return opts
}

// rootFlags are the trust anchors a signature is checked against, shared
// by verify and publish.
type rootFlags struct {
	roots, osRoots, tsRoots, osTSRoots string
}

func (r *rootFlags) register(f *pflag.FlagSet, rootsUsage string) {
	f.StringVar(&r.roots, "roots", "", rootsUsage)
	f.StringVar(&r.osRoots, "os-vendor-roots", "", "PEM `FILE` of the OS vendor's roots, for the packages inside os-kind cabinets")
	f.StringVar(&r.tsRoots, "timestamp-roots", "", "PEM `FILE` of the timestamp authorities' roots (default: --roots)")
	f.StringVar(&r.osTSRoots, "os-vendor-timestamp-roots", "", "PEM `FILE` of the OS vendor's timestamp authority's roots, for the packages inside os-kind cabinets (default: system roots)")
}

// policy loads the roots into a verification policy.
func (r *rootFlags) policy(ctx context.Context) (signer.Policy, error) {
	var p signer.Policy
	for _, f := range []struct {
		path string
		pool **x509.CertPool
	}{{r.roots, &p.Roots}, {r.osRoots, &p.OSVendorRoots}, {r.tsRoots, &p.TimestampRoots}, {r.osTSRoots, &p.OSVendorTimestampRoots}} {
		if f.path == "" {
			continue
		}
		pool, err := signer.LoadRoots(ctx, f.path)
		if err != nil {
			return p, err
		}
		*f.pool = pool
	}
	return p, nil
}
