package authenticode

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Object identifiers this verifier reads.
var (
	oidSignedData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidSpcIndirectData     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 4}
	oidSpcCabImageData     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 25}
	oidTSTInfo             = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidAttrContentType     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidAttrMessageDigest   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidAttrSigningTime     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidAttrCounterSign     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 6}
	oidSpcRFC3161Timestamp = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 3, 3, 1}

	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}

	oidRSA          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidRSASHA256    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidRSASHA384    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidRSASHA512    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidECPublicKey  = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidECDSASHA256  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSASHA384  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSASHA512  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	maxCertificates = 64
)

// signedData is the part of a CMS SignedData (RFC 5652, PKCS #7 v1.5 as
// Authenticode uses it) this verifier needs: the encapsulated content, the
// certificates, and its one signer.
type signedData struct {
	contentType asn1.ObjectIdentifier
	// content is the encapsulated content as signed: for Authenticode the
	// contents octets of the SpcIndirectDataContent SEQUENCE (without its
	// tag and length, as Authenticode hashes it), for an RFC 3161 token
	// the TSTInfo DER inside the OCTET STRING.
	content []byte
	certs   []*x509.Certificate
	signer  signerInfo
}

// signerInfo is one SignerInfo.
type signerInfo struct {
	issuer       []byte // the issuer Name, DER
	serial       *big.Int
	digestAlg    crypto.Hash
	signedAttrs  []byte // the [0] IMPLICIT element as it appears
	attrs        map[string][]cryptobyte.String
	sigAlg       asn1.ObjectIdentifier
	signature    []byte
	unsignedAttr map[string][]cryptobyte.String
}

// malformed is a parsing refusal of structure in file.
func malformed(file, structure, format string, args ...any) error {
	return &SignatureError{File: file, Structure: structure, Reason: fmt.Sprintf(format, args...), Err: ErrBadSignature}
}

// parseContentInfo reads a ContentInfo holding a SignedData, the whole of
// der (nothing may follow it). Every length is checked by cryptobyte
// against the bytes present: nothing is allocated from a claimed size.
func parseContentInfo(file, structure string, der []byte) (*signedData, error) {
	in := cryptobyte.String(der)
	var ci, content cryptobyte.String
	var ct asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, malformed(file, structure, "not one DER ContentInfo")
	}
	if !ci.ReadASN1ObjectIdentifier(&ct) || !ct.Equal(oidSignedData) {
		return nil, malformed(file, structure, "content type is not signedData")
	}
	if !ci.ReadASN1(&content, cbasn1.Tag(0).ContextSpecific().Constructed()) || !ci.Empty() {
		return nil, malformed(file, structure, "no [0] content")
	}
	var sd cryptobyte.String
	if !content.ReadASN1(&sd, cbasn1.SEQUENCE) || !content.Empty() {
		return nil, malformed(file, structure, "SignedData is not a SEQUENCE")
	}
	return parseSignedData(file, structure, sd)
}

func parseSignedData(file, structure string, sd cryptobyte.String) (*signedData, error) {
	bad := func(format string, args ...any) (*signedData, error) {
		return nil, malformed(file, structure+" SignedData", format, args...)
	}
	var version int64
	var digestAlgs, encap, signerInfos cryptobyte.String
	if !sd.ReadASN1Integer(&version) || version < 1 || version > 5 {
		return bad("version")
	}
	if !sd.ReadASN1(&digestAlgs, cbasn1.SET) {
		return bad("digestAlgorithms")
	}
	if !sd.ReadASN1(&encap, cbasn1.SEQUENCE) {
		return bad("encapContentInfo")
	}
	out := &signedData{}
	if !encap.ReadASN1ObjectIdentifier(&out.contentType) {
		return bad("eContentType")
	}
	var explicit cryptobyte.String
	if !encap.ReadASN1(&explicit, cbasn1.Tag(0).ContextSpecific().Constructed()) || !encap.Empty() {
		return bad("eContent missing: a detached signature signs nothing here")
	}
	var tag cbasn1.Tag
	var inner cryptobyte.String
	if !explicit.ReadAnyASN1(&inner, &tag) || !explicit.Empty() {
		return bad("eContent")
	}
	switch tag {
	case cbasn1.SEQUENCE, cbasn1.OCTET_STRING:
		out.content = inner
	default:
		return bad("eContent is neither a SEQUENCE nor an OCTET STRING")
	}
	if sd.PeekASN1Tag(cbasn1.Tag(0).ContextSpecific().Constructed()) {
		var certs cryptobyte.String
		sd.ReadASN1(&certs, cbasn1.Tag(0).ContextSpecific().Constructed())
		for !certs.Empty() {
			var raw cryptobyte.String
			if !certs.ReadASN1Element(&raw, cbasn1.SEQUENCE) {
				return bad("certificates: not a certificate")
			}
			if len(out.certs) == maxCertificates {
				return bad("more than %d certificates", maxCertificates)
			}
			c, err := x509.ParseCertificate(raw)
			if err != nil {
				return bad("certificate %d: %v", len(out.certs), err)
			}
			out.certs = append(out.certs, c)
		}
	}
	if sd.PeekASN1Tag(cbasn1.Tag(1).ContextSpecific().Constructed()) {
		sd.SkipASN1(cbasn1.Tag(1).ContextSpecific().Constructed()) // CRLs: not used
	}
	if !sd.ReadASN1(&signerInfos, cbasn1.SET) || !sd.Empty() {
		return bad("signerInfos")
	}
	var si cryptobyte.String
	if !signerInfos.ReadASN1(&si, cbasn1.SEQUENCE) {
		return bad("no SignerInfo")
	}
	if !signerInfos.Empty() {
		return bad("more than one SignerInfo (Authenticode has exactly one)")
	}
	var err error
	if out.signer, err = parseSignerInfo(file, structure, si); err != nil {
		return nil, err
	}
	return out, nil
}

// parseSignerInfo reads one SignerInfo (the signer by issuer and serial
// number, as Authenticode and RFC 3161 tokens name it).
func parseSignerInfo(file, structure string, si cryptobyte.String) (signerInfo, error) {
	var s signerInfo
	bad := func(format string, args ...any) (signerInfo, error) {
		return s, malformed(file, structure+" SignerInfo", format, args...)
	}
	var version int64
	var sid, issuer, digestAlg, sigAlg cryptobyte.String
	if !si.ReadASN1Integer(&version) || version != 1 {
		return bad("version must be 1 (signer named by issuer and serial number)")
	}
	s.serial = new(big.Int)
	if !si.ReadASN1(&sid, cbasn1.SEQUENCE) || !sid.ReadASN1Element(&issuer, cbasn1.SEQUENCE) ||
		!sid.ReadASN1Integer(s.serial) || !sid.Empty() {
		return bad("issuerAndSerialNumber")
	}
	s.issuer = issuer
	if !si.ReadASN1(&digestAlg, cbasn1.SEQUENCE) {
		return bad("digestAlgorithm")
	}
	h, err := hashOf(digestAlg)
	if err != nil {
		return s, &SignatureError{File: file, Structure: structure + " SignerInfo", Reason: err.Error(), Err: ErrUnsupportedDigest}
	}
	s.digestAlg = h
	var attrs cryptobyte.String
	if !si.ReadASN1Element(&attrs, cbasn1.Tag(0).ContextSpecific().Constructed()) {
		return bad("no signed attributes (Authenticode requires them)")
	}
	s.signedAttrs = attrs
	var body cryptobyte.String
	attrs.ReadASN1(&body, cbasn1.Tag(0).ContextSpecific().Constructed())
	if s.attrs, err = parseAttributes(body); err != nil {
		return bad("signed attributes: %v", err)
	}
	if !si.ReadASN1(&sigAlg, cbasn1.SEQUENCE) || !sigAlg.ReadASN1ObjectIdentifier(&s.sigAlg) {
		return bad("signatureAlgorithm")
	}
	var sig cryptobyte.String
	if !si.ReadASN1(&sig, cbasn1.OCTET_STRING) {
		return bad("signature")
	}
	s.signature = sig
	if si.PeekASN1Tag(cbasn1.Tag(1).ContextSpecific().Constructed()) {
		var un cryptobyte.String
		si.ReadASN1(&un, cbasn1.Tag(1).ContextSpecific().Constructed())
		if s.unsignedAttr, err = parseAttributes(un); err != nil {
			return bad("unsigned attributes: %v", err)
		}
	}
	if !si.Empty() {
		return bad("data after the unsigned attributes")
	}
	return s, nil
}

// parseAttributes reads a SET OF Attribute into its values by type,
// refusing an attribute type that appears twice.
func parseAttributes(set cryptobyte.String) (map[string][]cryptobyte.String, error) {
	out := map[string][]cryptobyte.String{}
	for !set.Empty() {
		var attr, values cryptobyte.String
		var typ asn1.ObjectIdentifier
		if !set.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1ObjectIdentifier(&typ) ||
			!attr.ReadASN1(&values, cbasn1.SET) || !attr.Empty() {
			return nil, fmt.Errorf("malformed attribute")
		}
		key := typ.String()
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("attribute %s appears twice", key)
		}
		var vs []cryptobyte.String
		for !values.Empty() {
			var v cryptobyte.String
			var tag cbasn1.Tag
			if !values.ReadAnyASN1Element(&v, &tag) {
				return nil, fmt.Errorf("attribute %s: malformed value", key)
			}
			vs = append(vs, v)
		}
		out[key] = vs
	}
	return out, nil
}

// one returns the single value of attribute oid, or false.
func one(attrs map[string][]cryptobyte.String, oid asn1.ObjectIdentifier) (cryptobyte.String, bool) {
	vs := attrs[oid.String()]
	if len(vs) != 1 {
		return nil, false
	}
	return vs[0], true
}

// hashOf maps a digest AlgorithmIdentifier to its hash. SHA-1 and MD5 are
// refused: they no longer protect a signature.
func hashOf(algID cryptobyte.String) (crypto.Hash, error) {
	var oid asn1.ObjectIdentifier
	if !algID.ReadASN1ObjectIdentifier(&oid) {
		return 0, fmt.Errorf("malformed digest algorithm")
	}
	// parameters: absent or NULL
	if !algID.Empty() && !(algID.SkipASN1(cbasn1.NULL) && algID.Empty()) {
		return 0, fmt.Errorf("digest algorithm %s has parameters", oid)
	}
	switch {
	case oid.Equal(oidSHA256):
		return crypto.SHA256, nil
	case oid.Equal(oidSHA384):
		return crypto.SHA384, nil
	case oid.Equal(oidSHA512):
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("digest algorithm %s is not SHA-256, SHA-384 or SHA-512", oid)
}

// signatureAlgorithm maps a SignerInfo's signatureAlgorithm (either the
// key type, as PKCS #7 writes it, or the combined algorithm) and its digest
// to what crypto/x509 checks.
func signatureAlgorithm(sigAlg asn1.ObjectIdentifier, h crypto.Hash) (x509.SignatureAlgorithm, bool) {
	rsa := map[crypto.Hash]x509.SignatureAlgorithm{crypto.SHA256: x509.SHA256WithRSA, crypto.SHA384: x509.SHA384WithRSA, crypto.SHA512: x509.SHA512WithRSA}
	ec := map[crypto.Hash]x509.SignatureAlgorithm{crypto.SHA256: x509.ECDSAWithSHA256, crypto.SHA384: x509.ECDSAWithSHA384, crypto.SHA512: x509.ECDSAWithSHA512}
	switch {
	case sigAlg.Equal(oidRSA):
		return rsa[h], true
	case sigAlg.Equal(oidECPublicKey):
		return ec[h], true
	case sigAlg.Equal(oidRSASHA256) && h == crypto.SHA256, sigAlg.Equal(oidRSASHA384) && h == crypto.SHA384, sigAlg.Equal(oidRSASHA512) && h == crypto.SHA512:
		return rsa[h], true
	case sigAlg.Equal(oidECDSASHA256) && h == crypto.SHA256, sigAlg.Equal(oidECDSASHA384) && h == crypto.SHA384, sigAlg.Equal(oidECDSASHA512) && h == crypto.SHA512:
		return ec[h], true
	}
	return 0, false
}

// verifySigner checks the signer of sd over its content: the contentType
// attribute is sd's, the messageDigest attribute is the digest of the
// content, and the signature over the signed attributes verifies with the
// signer's certificate (found in certs by issuer and serial number), which
// it returns.
func verifySigner(file, structure string, s *signerInfo, contentType asn1.ObjectIdentifier, content []byte, certs []*x509.Certificate) (*x509.Certificate, error) {
	bad := func(format string, args ...any) (*x509.Certificate, error) {
		return nil, malformed(file, structure+" SignerInfo", format, args...)
	}
	// A counter-signature (contentType nil) signs no content type.
	if contentType != nil {
		ctv, ok := one(s.attrs, oidAttrContentType)
		var ct asn1.ObjectIdentifier
		if !ok || !ctv.ReadASN1ObjectIdentifier(&ct) || !ctv.Empty() || !ct.Equal(contentType) {
			return bad("contentType attribute is missing or is not %s", contentType)
		}
	}
	mdv, ok := one(s.attrs, oidAttrMessageDigest)
	var md cryptobyte.String
	if !ok || !mdv.ReadASN1(&md, cbasn1.OCTET_STRING) || !mdv.Empty() {
		return bad("messageDigest attribute is missing or malformed")
	}
	d := s.digestAlg.New()
	d.Write(content)
	if !bytes.Equal(d.Sum(nil), md) {
		return bad("messageDigest does not match the signed content")
	}
	var cert *x509.Certificate
	for _, c := range certs {
		if bytes.Equal(c.RawIssuer, s.issuer) && c.SerialNumber.Cmp(s.serial) == 0 {
			cert = c
			break
		}
	}
	if cert == nil {
		return bad("the signer's certificate is not in the signature")
	}
	alg, ok := signatureAlgorithm(s.sigAlg, s.digestAlg)
	if !ok {
		return nil, &SignatureError{File: file, Structure: structure + " SignerInfo", Reason: fmt.Sprintf("signature algorithm %s with %v", s.sigAlg, s.digestAlg), Err: ErrUnsupportedAlgorithm}
	}
	// The signature covers the DER of the signed attributes as a SET: the
	// [0] IMPLICIT tag is replaced by the SET tag (RFC 5652, 5.4).
	signed := append([]byte{0x31}, s.signedAttrs[1:]...)
	if err := cert.CheckSignature(alg, signed, s.signature); err != nil {
		return bad("signature does not verify with the signer's certificate: %v", err)
	}
	return cert, nil
}

// readTime reads a UTCTime or GeneralizedTime.
func readTime(s *cryptobyte.String) (time.Time, bool) {
	var t time.Time
	switch {
	case s.PeekASN1Tag(cbasn1.UTCTime):
		return t, s.ReadASN1UTCTime(&t)
	case s.PeekASN1Tag(cbasn1.GeneralizedTime):
		return t, s.ReadASN1GeneralizedTime(&t)
	}
	return t, false
}
