package signer

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/devupdate/devupdate/internal/iox"
)

// Environment variables the key sources read. Secrets never come from the
// command line.
const (
	EnvPFXPassword   = "DEVUPDATE_PFX_PASSWORD"
	EnvPKCS11Module  = "DEVUPDATE_PKCS11_MODULE"
	EnvPKCS11PIN     = "DEVUPDATE_PKCS11_PIN"
	maxKeyOrCertFile = 1 << 20
)

// Key is a private signing key from any source. Close releases what holds
// it (a token session); for in-memory keys it does nothing.
type Key interface {
	crypto.Signer
	Close() error
}

// LoadedKey is what OpenKey returns: the key and, for PKCS#12 files, the
// certificate chain stored beside it (leaf first).
type LoadedKey struct {
	Key
	Chain []*x509.Certificate
}

// PKCS11Opener opens a key on a PKCS#11 token from an RFC 7512 URI; package
// signer/pkcs11 provides one (Open). getenv looks up the environment.
type PKCS11Opener func(ctx context.Context, uri string, getenv func(string) (string, bool), module string) (Key, error)

type keyOptions struct {
	getenv      func(string) (string, bool)
	pfxPassFile string
	pkcs11      PKCS11Opener
	module      string
}

// KeyOption configures OpenKey.
type KeyOption func(*keyOptions) error

// WithEnv sets how environment variables are read. Default: os.LookupEnv.
func WithEnv(getenv func(string) (string, bool)) KeyOption {
	return func(o *keyOptions) error { o.getenv = getenv; return nil }
}

// WithPFXPasswordFile reads the PKCS#12 password from the first line of
// path. Default: the environment variable DEVUPDATE_PFX_PASSWORD.
func WithPFXPasswordFile(path string) KeyOption {
	return func(o *keyOptions) error { o.pfxPassFile = path; return nil }
}

// WithPKCS11 enables pkcs11: URIs through open. Default: none, and a
// pkcs11: URI is refused with ErrNoCgo.
func WithPKCS11(open PKCS11Opener) KeyOption {
	return func(o *keyOptions) error { o.pkcs11 = open; return nil }
}

// WithPKCS11Module names the PKCS#11 module (shared library) to load when
// the URI has no module-path. Default: DEVUPDATE_PKCS11_MODULE.
func WithPKCS11Module(path string) KeyOption {
	return func(o *keyOptions) error { o.module = path; return nil }
}

// OpenKey opens the signing key named by ref: "pkcs11:…" (RFC 7512, through
// WithPKCS11), "file:PATH" or a bare PATH. A path ending in .pfx or .p12 is
// PKCS#12 (password from WithPFXPasswordFile or DEVUPDATE_PFX_PASSWORD);
// any other file is a PEM private key (PKCS#8, PKCS#1 or SEC 1).
func OpenKey(ctx context.Context, ref string, opts ...KeyOption) (*LoadedKey, error) {
	o := keyOptions{getenv: os.LookupEnv}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if strings.HasPrefix(ref, "pkcs11:") {
		if o.pkcs11 == nil {
			return nil, fmt.Errorf("opening %s: %w", ref, ErrNoCgo)
		}
		k, err := o.pkcs11(ctx, ref, o.getenv, o.module)
		if err != nil {
			return nil, err
		}
		return &LoadedKey{Key: k}, nil
	}
	path := strings.TrimPrefix(ref, "file:")
	data, err := readBounded(path, maxKeyOrCertFile)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	lower := strings.ToLower(path)
	if strings.HasSuffix(lower, ".pfx") || strings.HasSuffix(lower, ".p12") {
		return openPFX(path, data, &o)
	}
	signer, err := parsePEMKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", path, ErrKey, err)
	}
	return &LoadedKey{Key: memKey{signer}}, nil
}

func openPFX(path string, data []byte, o *keyOptions) (*LoadedKey, error) {
	var pass string
	if o.pfxPassFile != "" {
		b, err := readBounded(o.pfxPassFile, 4096)
		if err != nil {
			return nil, fmt.Errorf("%w: password file: %v", ErrKey, err)
		}
		pass, _, _ = strings.Cut(string(b), "\n")
		pass = strings.TrimSuffix(pass, "\r")
	} else if p, ok := o.getenv(EnvPFXPassword); ok {
		pass = p
	} else {
		return nil, fmt.Errorf("%s: %w: set %s or give a password file (WithPFXPasswordFile)", path, ErrNoPFXPassword, EnvPFXPassword)
	}
	priv, leaf, chain, err := pkcs12.DecodeChain(data, pass)
	if errors.Is(err, pkcs12.ErrIncorrectPassword) {
		return nil, fmt.Errorf("%s: %w", path, ErrWrongPIN)
	} else if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", path, ErrKey, err)
	}
	s, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: %w: key type %T cannot sign", path, ErrKey, priv)
	}
	return &LoadedKey{Key: memKey{s}, Chain: append([]*x509.Certificate{leaf}, chain...)}, nil
}

func parsePEMKey(data []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no PEM private key block")
		}
		var (
			k   any
			err error
		)
		switch block.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(block.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("encrypted PEM keys are not supported; use PKCS#12 or a token")
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("key type %T cannot sign", k)
		}
		return s, nil
	}
}

// memKey is a key held in memory.
type memKey struct{ crypto.Signer }

func (memKey) Close() error { return nil }

// LoadCertificates reads a PEM bundle of certificates (for --cert: leaf
// first, then intermediates).
func LoadCertificates(ctx context.Context, path string) ([]*x509.Certificate, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := readBounded(path, maxKeyOrCertFile)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate %d: %w", path, len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s: no PEM CERTIFICATE block", path)
	}
	return certs, nil
}

// LoadRoots reads a PEM bundle of trusted roots into a pool.
func LoadRoots(ctx context.Context, path string) (*x509.CertPool, error) {
	certs, err := LoadCertificates(ctx, path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// readBounded reads a whole small file (a key, certificate or password),
// refusing one larger than limit.
func readBounded(path string, limit int64) ([]byte, error) {
	return iox.ReadFile(context.Background(), path, limit)
}
