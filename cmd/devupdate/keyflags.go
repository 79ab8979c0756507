package main

import (
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
