// Package devpki makes a TEST-ONLY EV-style code-signing PKI: a root CA, an
// intermediate CA and a leaf carrying the EV code-signing policy OID
// 2.23.140.1.3, the code-signing EKU and the digitalSignature key usage.
// Every subject says TEST-ONLY. It exists for `devupdate keys dev-pki`, the
// demo and tests; no production path defaults to it, and devices must never
// trust its root.
package devpki

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/devupdate/devupdate/internal/iox"
)

// Label is put in every subject so nobody mistakes the chain for a real one.
const Label = "devupdate TEST-ONLY - NOT FOR PRODUCTION"

var (
	// EV subject attributes (CA/B Forum EV guidelines).
	oidBusinessCategory = asn1.ObjectIdentifier{2, 5, 4, 15}
	oidJurisdictionC    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 3}
)

// PKI is a generated chain with its keys.
type PKI struct {
	Root, Intermediate, Leaf          *x509.Certificate
	RootKey, IntermediateKey, LeafKey crypto.Signer
}

type options struct {
	rsaBits   int
	now       time.Time
	leafName  string
	editLeaf  func(*x509.Certificate)
	leafKey   crypto.Signer
	interEdit func(*x509.Certificate)
}

// Option configures New.
type Option func(*options) error

// WithRSA uses RSA keys of bits bits. Default: ECDSA P-256.
func WithRSA(bits int) Option {
	return func(o *options) error { o.rsaBits = bits; return nil }
}

// WithTime issues the chain as of now: the leaf is valid from an hour
// before to a year after. Default: the current time.
func WithTime(now time.Time) Option {
	return func(o *options) error { o.now = now; return nil }
}

// WithLeafCommonName sets the leaf's common name. Default "devupdate
// TEST-ONLY Code Signing".
func WithLeafCommonName(cn string) Option {
	return func(o *options) error { o.leafName = cn; return nil }
}

// WithLeafKey certifies key (for example one on a token) instead of a
// generated one; LeafKey is then key itself.
func WithLeafKey(key crypto.Signer) Option {
	return func(o *options) error { o.leafKey = key; return nil }
}

// WithLeafEdit lets tests change the leaf template before it is signed
// (drop the EV OID, move the validity period, ...).
func WithLeafEdit(edit func(*x509.Certificate)) Option {
	return func(o *options) error { o.editLeaf = edit; return nil }
}

// WithIntermediateEdit lets tests change the intermediate template.
func WithIntermediateEdit(edit func(*x509.Certificate)) Option {
	return func(o *options) error { o.interEdit = edit; return nil }
}

// New generates a chain in memory.
func New(opts ...Option) (*PKI, error) {
	o := options{now: time.Now(), leafName: "devupdate TEST-ONLY Code Signing"}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	newKey := func() (crypto.Signer, error) {
		if o.rsaBits > 0 {
			return rsa.GenerateKey(rand.Reader, o.rsaBits)
		}
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	p := &PKI{}
	var err error
	if p.RootKey, err = newKey(); err != nil {
		return nil, err
	}
	if p.IntermediateKey, err = newKey(); err != nil {
		return nil, err
	}
	if p.LeafKey = o.leafKey; p.LeafKey == nil {
		if p.LeafKey, err = newKey(); err != nil {
			return nil, err
		}
	}
	now := o.now.Truncate(time.Second)
	root := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "devupdate TEST-ONLY Root CA", Organization: []string{Label}},
		NotBefore:             now.Add(-24 * time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	if p.Root, err = issue(root, root, p.RootKey.Public(), p.RootKey); err != nil {
		return nil, err
	}
	inter := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "devupdate TEST-ONLY EV Code Signing CA", Organization: []string{Label}},
		NotBefore:             now.Add(-24 * time.Hour),
		NotAfter:              now.AddDate(5, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning, x509.ExtKeyUsageTimeStamping},
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	if o.interEdit != nil {
		o.interEdit(inter)
	}
	if p.Intermediate, err = issue(inter, p.Root, p.IntermediateKey.Public(), p.RootKey); err != nil {
		return nil, err
	}
	leaf := &x509.Certificate{
		Subject: pkix.Name{
			CommonName:   o.leafName,
			Organization: []string{Label},
			Country:      []string{"XX"},
			SerialNumber: "TEST-0000",
			ExtraNames: []pkix.AttributeTypeAndValue{
				{Type: oidBusinessCategory, Value: "Private Organization"},
				{Type: oidJurisdictionC, Value: "XX"},
			},
		},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.AddDate(1, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	ev, err := x509.OIDFromInts([]uint64{2, 23, 140, 1, 3})
	if err != nil {
		return nil, err
	}
	leaf.Policies = []x509.OID{ev}
	if o.editLeaf != nil {
		o.editLeaf(leaf)
	}
	if p.Leaf, err = issue(leaf, p.Intermediate, p.LeafKey.Public(), p.IntermediateKey); err != nil {
		return nil, err
	}
	return p, nil
}

// Issue signs template with parent's key; it is exported for test helpers
// that need further certificates (a timestamp authority) under a chain.
func Issue(template, parent *x509.Certificate, pub crypto.PublicKey, parentKey crypto.Signer) (*x509.Certificate, error) {
	return issue(template, parent, pub, parentKey)
}

func issue(template, parent *x509.Certificate, pub crypto.PublicKey, parentKey crypto.Signer) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	template.SerialNumber = new(big.Int).Add(serial, big.NewInt(1))
	der, err := x509.CreateCertificate(rand.Reader, template, parent, pub, parentKey)
	if err != nil {
		return nil, fmt.Errorf("issuing %s: %w", template.Subject.CommonName, err)
	}
	return x509.ParseCertificate(der)
}

// Write stores the chain in dir: root.pem (the root CA), chain.pem (leaf
// then intermediate) and leaf.key (PKCS#8 PEM, mode 0600). Existing files
// are not overwritten. It fails when the leaf key is not exportable.
func (p *PKI) Write(ctx context.Context, dir string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(p.LeafKey)
	if err != nil {
		return fmt.Errorf("leaf key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := []struct {
		name string
		mode os.FileMode
		data []byte
	}{
		{"root.pem", 0o644, certPEM(p.Root)},
		{"chain.pem", 0o644, append(certPEM(p.Leaf), certPEM(p.Intermediate)...)},
		{"leaf.key", 0o600, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})},
	}
	// Each file is new (never replacing one: the error then wraps
	// os.ErrExist); a PKI already there, or half there, is left alone.
	for _, f := range files {
		if _, err := os.Lstat(filepath.Join(dir, f.name)); err == nil {
			return fmt.Errorf("%s: %w", filepath.Join(dir, f.name), os.ErrExist)
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	for _, f := range files {
		if err := iox.CreateNew(filepath.Join(dir, f.name), f.mode, func(w *os.File) error {
			_, err := w.Write(f.data)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// Chain returns leaf then intermediate, the order signing wants.
func (p *PKI) Chain() []*x509.Certificate { return []*x509.Certificate{p.Leaf, p.Intermediate} }

// Roots returns a pool holding only the root.
func (p *PKI) Roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.Root)
	return pool
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// Generate makes a new chain and writes it to dir (see PKI.Write).
func Generate(ctx context.Context, dir string, opts ...Option) error {
	p, err := New(opts...)
	if err != nil {
		return err
	}
	return p.Write(ctx, dir)
}
