package authenticode

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// timestampErr is a timestamp refusal.
func timestampErr(file, structure, format string, args ...any) error {
	return &SignatureError{File: file, Structure: structure, Reason: fmt.Sprintf(format, args...), Err: ErrTimestamp}
}

// verifyTimestamp verifies the timestamp among the signer's unsigned
// attributes, if there is one, and returns its time (nil without one). Two
// forms exist: an RFC 3161 token under Microsoft's attribute
// 1.3.6.1.4.1.311.3.3.1 (what relic and `osslsigncode -ts` add), and the
// older PKCS #9 counter-signature (Authenticode's legacy timestamp, `signtool
// /t`). Either must sign the digest of the signer's signature and chain to
// roots with the time-stamping extended key usage, at the time it states.
// The roots are asked for only when there is a timestamp.
func verifyTimestamp(file string, sd *signedData, rootsOf func() (*x509.CertPool, error)) (*time.Time, error) {
	rfc := sd.signer.unsignedAttr[oidSpcRFC3161Timestamp.String()]
	legacy := sd.signer.unsignedAttr[oidAttrCounterSign.String()]
	switch {
	case len(rfc)+len(legacy) == 0:
		return nil, nil
	case len(rfc)+len(legacy) > 1:
		return nil, timestampErr(file, "timestamp", "more than one timestamp")
	}
	roots, err := rootsOf()
	if err != nil {
		return nil, timestampErr(file, "timestamp", "roots: %v", err)
	}
	switch {
	case len(rfc) == 1:
		return verifyRFC3161(file, rfc[0], sd, roots)
	default:
		return verifyCounterSignature(file, legacy[0], sd, roots)
	}
}

// verifyRFC3161 checks an RFC 3161 TimeStampToken: a SignedData over a
// TSTInfo whose messageImprint is the digest of the signer's signature.
func verifyRFC3161(file string, token []byte, outer *signedData, roots *x509.CertPool) (*time.Time, error) {
	const structure = "RFC 3161 timestamp"
	tsd, err := parseContentInfo(file, structure, token)
	if err != nil {
		return nil, timestampErr(file, structure, "%v", err)
	}
	if !tsd.contentType.Equal(oidTSTInfo) {
		return nil, timestampErr(file, structure, "content type %s is not TSTInfo", tsd.contentType)
	}
	certs := append(append([]*x509.Certificate(nil), tsd.certs...), outer.certs...)
	cert, err := verifySigner(file, structure, &tsd.signer, oidTSTInfo, tsd.content, certs)
	if err != nil {
		return nil, timestampErr(file, structure, "%v", err)
	}
	info, err := parseTSTInfo(tsd.content)
	if err != nil {
		return nil, timestampErr(file, structure+" TSTInfo", "%v", err)
	}
	d := info.imprintHash.New()
	d.Write(outer.signer.signature)
	if !bytes.Equal(d.Sum(nil), info.imprint) {
		return nil, timestampErr(file, structure+" TSTInfo", "messageImprint is not the digest of this signature")
	}
	if err := verifyTSAChain(cert, certs, roots, info.genTime); err != nil {
		return nil, timestampErr(file, structure, "timestamp authority: %v", err)
	}
	return &info.genTime, nil
}

// tstInfo is what the verifier needs of a TSTInfo (RFC 3161, 2.4.2).
type tstInfo struct {
	imprintHash crypto.Hash
	imprint     []byte
	genTime     time.Time
}

// parseTSTInfo reads TSTInfo up to genTime; the optional fields after it
// (accuracy, ordering, nonce, tsa, extensions) only have to be well formed
// as part of the SEQUENCE.
func parseTSTInfo(der []byte) (*tstInfo, error) {
	in := cryptobyte.String(der)
	var seq, imprint, alg, hashed, serial cryptobyte.String
	var version int64
	var policy asn1.ObjectIdentifier
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, fmt.Errorf("not one DER SEQUENCE")
	}
	if !seq.ReadASN1Integer(&version) || version != 1 {
		return nil, fmt.Errorf("version must be 1")
	}
	if !seq.ReadASN1ObjectIdentifier(&policy) {
		return nil, fmt.Errorf("policy")
	}
	if !seq.ReadASN1(&imprint, cbasn1.SEQUENCE) || !imprint.ReadASN1(&alg, cbasn1.SEQUENCE) ||
		!imprint.ReadASN1(&hashed, cbasn1.OCTET_STRING) || !imprint.Empty() {
		return nil, fmt.Errorf("messageImprint")
	}
	h, err := hashOf(alg)
	if err != nil {
		return nil, fmt.Errorf("messageImprint: %v", err)
	}
	if !seq.ReadASN1Element(&serial, cbasn1.INTEGER) {
		return nil, fmt.Errorf("serialNumber")
	}
	var gen cryptobyte.String
	if !seq.ReadASN1(&gen, cbasn1.GeneralizedTime) {
		return nil, fmt.Errorf("genTime")
	}
	t, err := parseGeneralizedTime(string(gen))
	if err != nil {
		return nil, fmt.Errorf("genTime: %v", err)
	}
	for !seq.Empty() {
		var v cryptobyte.String
		var tag cbasn1.Tag
		if !seq.ReadAnyASN1Element(&v, &tag) {
			return nil, fmt.Errorf("malformed field after genTime")
		}
	}
	return &tstInfo{imprintHash: h, imprint: hashed, genTime: t}, nil
}

// parseGeneralizedTime parses the DER GeneralizedTime of RFC 3161: UTC
// ("Z"), seconds present, an optional fraction without trailing zeros.
func parseGeneralizedTime(s string) (time.Time, error) {
	t, err := time.Parse("20060102150405.999999999Z", s)
	if err != nil {
		return time.Time{}, err
	}
	if t.Format("20060102150405.999999999Z") != s {
		return time.Time{}, fmt.Errorf("%q is not DER", s)
	}
	return t, nil
}

// verifyCounterSignature checks a PKCS #9 counter-signature: a SignerInfo
// whose messageDigest is the digest of the signer's signature, signed by a
// certificate in the signature's own set, with its signingTime.
func verifyCounterSignature(file string, value []byte, outer *signedData, roots *x509.CertPool) (*time.Time, error) {
	const structure = "counter-signature timestamp"
	v := cryptobyte.String(value)
	var si cryptobyte.String
	if !v.ReadASN1(&si, cbasn1.SEQUENCE) || !v.Empty() {
		return nil, timestampErr(file, structure, "not one SignerInfo")
	}
	cs, err := parseSignerInfo(file, structure, si)
	if err != nil {
		return nil, timestampErr(file, structure, "%v", err)
	}
	cert, err := verifySigner(file, structure, &cs, nil, outer.signer.signature, outer.certs)
	if err != nil {
		return nil, timestampErr(file, structure, "%v", err)
	}
	st, ok := one(cs.attrs, oidAttrSigningTime)
	if !ok {
		return nil, timestampErr(file, structure, "no signingTime attribute")
	}
	t, ok := readTime(&st)
	if !ok || !st.Empty() {
		return nil, timestampErr(file, structure, "malformed signingTime")
	}
	if err := verifyTSAChain(cert, outer.certs, roots, t); err != nil {
		return nil, timestampErr(file, structure, "timestamp authority: %v", err)
	}
	return &t, nil
}

// verifyTSAChain checks the timestamp authority's certificate: it chains
// to roots through certs, at the time it stamped, for time stamping.
func verifyTSAChain(cert *x509.Certificate, certs []*x509.Certificate, roots *x509.CertPool, at time.Time) error {
	if roots == nil {
		return fmt.Errorf("no timestamp roots given")
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		if c != cert {
			pool.AddCert(c)
		}
	}
	_, err := cert.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: pool,
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	})
	return err
}
