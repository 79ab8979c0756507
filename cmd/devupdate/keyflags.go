package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"strings"

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
		flag, path string
		pool       **x509.CertPool
	}{{"--roots", r.roots, &p.Roots}, {"--os-vendor-roots", r.osRoots, &p.OSVendorRoots}, {"--timestamp-roots", r.tsRoots, &p.TimestampRoots},
		{"--os-vendor-timestamp-roots", r.osTSRoots, &p.OSVendorTimestampRoots}} {
		if f.path == "" {
			continue
		}
		pool, err := signer.LoadRoots(ctx, f.path)
		if err != nil {
			return p, fmt.Errorf("%s: %w", f.flag, err)
		}
		*f.pool = pool
	}
	return p, nil
}

// flagFile is a flag that names a file.
type flagFile struct{ flag, path string }

// nameFlag puts the flag in front of an error about the file it names
// ("--cert chain.pem: open chain.pem: no such file or directory"), so the
// message says what to change.
func nameFlag(err error, flags ...flagFile) error {
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		return err
	}
	for _, f := range flags {
		if f.path != "" && (pe.Path == f.path || pe.Path == strings.TrimPrefix(f.path, "file:")) {
			return fmt.Errorf("%s %s: %w", f.flag, f.path, err)
		}
	}
	return err
}
