package signer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// ErrSubject: a certificate subject string is malformed.
var ErrSubject = errors.New("invalid subject")

// Subject attributes ParseSubject knows beyond pkix.Name's own: the ones an
// EV code-signing certificate's subject carries (CA/B Forum EV Guidelines
// 9.2).
var (
	oidBusinessCategory = asn1.ObjectIdentifier{2, 5, 4, 15}
	oidJurisdictionC    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 3}
	oidJurisdictionST   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 2}
	oidJurisdictionL    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 1}
)

// ParseSubject parses a distinguished name written as in RFC 4514
// ("CN=Contoso Ltd,O=Contoso Ltd,C=US"; a comma or backslash in a value is
// escaped with a backslash). Known attributes: CN, O, OU, L, ST, C, STREET,
// POSTALCODE, SERIALNUMBER, and the EV ones businessCategory,
// jurisdictionC, jurisdictionST and jurisdictionL. Anything else, an empty
// value or a missing CN is ErrSubject.
func ParseSubject(s string) (pkix.Name, error) {
	var n pkix.Name
	bad := func(format string, args ...any) (pkix.Name, error) {
		return pkix.Name{}, fmt.Errorf("%w %q: %s", ErrSubject, s, fmt.Sprintf(format, args...))
	}
	for _, rdn := range splitUnescaped(s, ',') {
		k, v, ok := strings.Cut(rdn, "=")
		k, v = strings.TrimSpace(k), unescape(strings.TrimSpace(v))
		if !ok || v == "" {
			return bad("%q is not ATTRIBUTE=VALUE", rdn)
		}
		extra := func(oid asn1.ObjectIdentifier) {
			n.ExtraNames = append(n.ExtraNames, pkix.AttributeTypeAndValue{Type: oid, Value: v})
		}
		switch strings.ToUpper(k) {
		case "CN":
			n.CommonName = v
		case "O":
			n.Organization = append(n.Organization, v)
		case "OU":
			n.OrganizationalUnit = append(n.OrganizationalUnit, v)
		case "L":
			n.Locality = append(n.Locality, v)
		case "ST":
			n.Province = append(n.Province, v)
		case "C":
			n.Country = append(n.Country, v)
		case "STREET":
			n.StreetAddress = append(n.StreetAddress, v)
		case "POSTALCODE":
			n.PostalCode = append(n.PostalCode, v)
		case "SERIALNUMBER":
			n.SerialNumber = v
		case "BUSINESSCATEGORY":
			extra(oidBusinessCategory)
		case "JURISDICTIONC":
			extra(oidJurisdictionC)
		case "JURISDICTIONST":
			extra(oidJurisdictionST)
		case "JURISDICTIONL":
			extra(oidJurisdictionL)
		default:
			return bad("unknown attribute %q (want CN, O, OU, L, ST, C, STREET, POSTALCODE, SERIALNUMBER, businessCategory or jurisdictionC/ST/L)", k)
		}
	}
	if n.CommonName == "" {
		return bad("no CN")
	}
	return n, nil
}

// splitUnescaped splits s at each sep not preceded by a backslash.
func splitUnescaped(s string, sep byte) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// CreateCSR makes a PKCS#10 certificate signing request for key (a key
// from OpenKey: a file, PKCS#12, or a PKCS#11 token whose key never leaves
// it) with the given subject, signed by the key with SHA-256, and checks
// the request's signature before returning it PEM-encoded. The key must
// meet the policy's strength rule (RSA >= 3072 bits, ECDSA P-256/P-384):
// a CA would issue an EV certificate for nothing weaker.
func CreateCSR(ctx context.Context, key crypto.Signer, subject pkix.Name) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var alg x509.SignatureAlgorithm
	switch pub := key.Public().(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < MinRSABits {
			return nil, fmt.Errorf("%w: RSA key of %d bits", ErrWeakKey, pub.N.BitLen())
		}
		alg = x509.SHA256WithRSA
	case *ecdsa.PublicKey:
		if name := pub.Curve.Params().Name; name != "P-256" && name != "P-384" {
			return nil, fmt.Errorf("%w: ECDSA curve %s", ErrWeakKey, name)
		}
		alg = x509.ECDSAWithSHA256
	default:
		return nil, fmt.Errorf("%w: key type %T", ErrWeakKey, pub)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject, SignatureAlgorithm: alg}, key)
	if err != nil {
		return nil, fmt.Errorf("%w: signing the request: %v", ErrKey, err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err == nil {
		err = csr.CheckSignature()
	}
	if err != nil {
		return nil, fmt.Errorf("%w: the request's signature does not verify: %v", ErrKey, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}
