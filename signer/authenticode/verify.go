package authenticode

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/devupdate/devupdate/manifest/update"
)

// KindOS is the update kind whose cabinets carry OS vendor packages: the
// outer cabinet is signed by the OEM like every other, the vendor's signed
// .cab packages inside it are verified against the OS vendor's roots and
// never re-signed.
const KindOS = string(update.KindOS)

// Result describes a verified signature.
type Result struct {
	File    string `json:"file"`
	Subject string `json:"subject"` // the signer certificate's subject (RFC 2253)
	// SubjectCN is the subject's common name.
	SubjectCN string `json:"subject_cn"`
	Issuer    string `json:"issuer"`
	EV        bool   `json:"ev"`
	// Timestamp is the RFC 3161 (or counter-signature) time, nil when the
	// signature has none.
	Timestamp *time.Time `json:"timestamp,omitempty"`
	// Digest is the Authenticode imprint of the cabinet, "sha256:<hex>".
	Digest string `json:"digest"`
	// NotBefore and NotAfter are the signer certificate's validity.
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	// Kind is the embedded update.json's kind ("" when the cabinet has none).
	Kind string `json:"kind,omitempty"`
	// Packages are the vendor packages of an os-kind cabinet, each with its
	// verified vendor signature.
	Packages []Package `json:"packages,omitempty"`
	// Certificate is the signer's certificate.
	Certificate *x509.Certificate `json:"-"`
	// Update is the embedded update.json, parsed (nil when the cabinet has
	// none): flight adds what verified, without a second parse.
	Update *update.Update `json:"-"`
}

// Verify checks the Authenticode signature of the cabinet at path against
// policy and returns what it found. The steps: bound the header area;
// hash the cabinet in one streaming pass, keeping its signature (bounded);
// parse the signature as a DER PKCS #7 SignedData over an
// SpcIndirectDataContent for a cabinet, and compare its SHA-256 digest
// with the cabinet's; verify the signer's signature over its signed
// attributes; verify the timestamp, if any, against the timestamp roots;
// apply the certificate policy (chain to policy.Roots, EV when required,
// key strength, code signing) at the timestamp's time (or now); match the
// required subjects. Meanwhile, on another goroutine, ReadContents reads
// what the cabinet holds in one pass of its own: the embedded update.json
// (an invalid one is refused) and, for an os-kind cabinet, every vendor
// package (.cab), verified against policy.VendorPolicy() (policy.OSVendorRoots
// is then required). The cabinet's own signature is judged first: when it
// is refused, that is the error.
func Verify(ctx context.Context, path string, policy Policy) (*Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return VerifyReaderAt(ctx, path, f, st.Size(), policy)
}

// VerifyReaderAt is Verify over size bytes of r; name labels errors.
func VerifyReaderAt(ctx context.Context, name string, r io.ReaderAt, size int64, policy Policy) (*Result, error) {
	contents := StartContents(ctx, name, r, size, policy)
	defer contents.Stop()
	res, err := verifySignature(ctx, name, r, size, policy)
	if err != nil {
		return nil, err
	}
	c, err := contents.Wait()
	if err != nil {
		return nil, err
	}
	res.Kind, res.Packages, res.Update = c.Kind(), c.Packages, c.Update
	return res, nil
}

// PendingContents is a ReadContents running on its own goroutine, so that
// a caller hashes the cabinet itself meanwhile: the two passes take both
// cores.
type PendingContents struct {
	cancel context.CancelFunc
	done   chan struct{}
	c      *Contents
	err    error
}

// StartContents starts ReadContents(ctx, name, r, size, policy). Wait
// for its result or Stop it; r must stay readable until then.
func StartContents(ctx context.Context, name string, r io.ReaderAt, size int64, policy Policy) *PendingContents {
	ctx, cancel := context.WithCancel(ctx)
	p := &PendingContents{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.c, p.err = ReadContents(ctx, name, r, size, policy)
	}()
	return p
}

// Wait returns ReadContents's result.
func (p *PendingContents) Wait() (*Contents, error) {
	<-p.done
	p.cancel()
	return p.c, p.err
}

// Stop cancels ReadContents if it is still running and waits until it
// has stopped reading. It may be called after Wait, and more than once.
func (p *PendingContents) Stop() {
	p.cancel()
	<-p.done
}

// verifySignature checks the cabinet's own Authenticode signature against
// policy, and nothing inside the cabinet.
func verifySignature(ctx context.Context, name string, r io.ReaderAt, size int64, policy Policy) (*Result, error) {
	digest, blob, err := imprint(ctx, name, r, size)
	if err != nil {
		return nil, err
	}
	return VerifyBlob(name, blob, digest, policy)
}

// CheckIntact checks the cabinet name (r, size bytes) as far as can be done
// without trusting anyone: a signature is there, it is Authenticode over a
// cabinet, the digest it signs is the cabinet's, and the signer's signature
// verifies with the certificate it carries. It makes no trust decision
// (Verify does all of this and applies a policy); devupdate publish uses
// it when no roots are given, to refuse what no device would accept.
func CheckIntact(ctx context.Context, name string, r io.ReaderAt, size int64) error {
	digest, blob, err := imprint(ctx, name, r, size)
	if err != nil {
		return err
	}
	_, _, err = intactBlob(name, blob, digest)
	return err
}

// intactBlob parses a signature blob, compares the digest it signs with
// imprint and verifies the signer's signature with the certificate it
// carries; it returns the parsed blob and that certificate.
func intactBlob(name string, blob, imprint []byte) (*signedData, *x509.Certificate, error) {
	sd, err := parseContentInfo(name, "signature", trimPadding(blob))
	if err != nil {
		return nil, nil, err
	}
	if !sd.contentType.Equal(oidSpcIndirectData) {
		return nil, nil, malformed(name, "signature", "content type %s is not SpcIndirectDataContent", sd.contentType)
	}
	signed, err := parseIndirectData(name, sd.content)
	if err != nil {
		return nil, nil, err
	}
	if !bytes.Equal(signed, imprint) {
		return nil, nil, fmt.Errorf("%s: %w: signed %x, cabinet is %x", name, ErrDigestMismatch, signed, imprint)
	}
	leaf, err := verifySigner(name, "signature", &sd.signer, oidSpcIndirectData, sd.content, sd.certs)
	if err != nil {
		return nil, nil, err
	}
	return sd, leaf, nil
}

// VerifyBlob checks a cabinet's signature blob against the cabinet's
// Authenticode imprint and the signer against policy. It is
// the one verification path: Verify uses it, and signing runs it on every
// signature before reporting success. The blob may be padded with zero
// bytes to a multiple of 8, as it sits in a cabinet.
func VerifyBlob(name string, blob, imprint []byte, policy Policy) (*Result, error) {
	sd, leaf, err := intactBlob(name, blob, imprint)
	if err != nil {
		return nil, err
	}
	ts, err := verifyTimestamp(name, sd, policy.timestampRoots)
	if err != nil {
		return nil, err
	}
	res := &Result{
		File:      name,
		Subject:   leaf.Subject.String(),
		SubjectCN: leaf.Subject.CommonName,
		Issuer:    leaf.Issuer.String(),
		EV:        IsEV(leaf),
		NotBefore: leaf.NotBefore.UTC(),
		NotAfter:  leaf.NotAfter.UTC(),
		Digest:    "sha256:" + hex.EncodeToString(imprint),

		Certificate: leaf,
	}
	at := policy.Now()
	if ts != nil {
		t := ts.UTC()
		at, res.Timestamp = t, &t
	}
	if err := CheckCertificate(leaf, intermediatesOf(leaf, sd.certs), nil, policy.Roots, at, policy.RequireEV); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if want := policy.subjects(); len(want) > 0 && !slices.ContainsFunc(want, func(s string) bool { return s == res.SubjectCN || s == res.Subject }) {
		return nil, fmt.Errorf("%s: %w: signed by %q, want one of %q", name, ErrSubjectMismatch, res.Subject, want)
	}
	return res, nil
}

// trimPadding removes the zero bytes a cabinet pads its signature with:
// what follows the one DER element is only padding if it is all zero, and
// at most 7 bytes.
func trimPadding(blob []byte) []byte {
	in := cryptobyte.String(blob)
	var el cryptobyte.String
	var tag cbasn1.Tag
	if !in.ReadAnyASN1Element(&el, &tag) || len(in) > 7 || bytes.Count(in, []byte{0}) != len(in) {
		return blob // parseContentInfo refuses it
	}
	return el
}

// parseIndirectData reads the contents of an SpcIndirectDataContent for a
// cabinet and returns the SHA-256 digest it signs.
func parseIndirectData(name string, content []byte) ([]byte, error) {
	in := cryptobyte.String(content)
	var data, digestInfo, alg, digest cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !in.ReadASN1(&data, cbasn1.SEQUENCE) || !data.ReadASN1ObjectIdentifier(&oid) {
		return nil, malformed(name, "SpcIndirectDataContent", "data is not an SpcAttributeTypeAndOptionalValue")
	}
	if !oid.Equal(oidSpcCabImageData) {
		return nil, malformed(name, "SpcIndirectDataContent", "data type %s is not a cabinet's (%s)", oid, oidSpcCabImageData)
	}
	if !in.ReadASN1(&digestInfo, cbasn1.SEQUENCE) || !in.Empty() ||
		!digestInfo.ReadASN1(&alg, cbasn1.SEQUENCE) || !digestInfo.ReadASN1(&digest, cbasn1.OCTET_STRING) || !digestInfo.Empty() {
		return nil, malformed(name, "SpcIndirectDataContent", "messageDigest is not a DigestInfo")
	}
	var algOID asn1.ObjectIdentifier
	if a := alg; !a.ReadASN1ObjectIdentifier(&algOID) || !algOID.Equal(oidSHA256) {
		return nil, fmt.Errorf("%s: %w", name, ErrUnsupportedDigest)
	}
	if len(digest) != 32 {
		return nil, malformed(name, "SpcIndirectDataContent", "a SHA-256 digest of %d bytes", len(digest))
	}
	return digest, nil
}

// intermediatesOf returns the certificates in a signature other than the
// signer's own and self-signed ones.
func intermediatesOf(leaf *x509.Certificate, certs []*x509.Certificate) []*x509.Certificate {
	var out []*x509.Certificate
	for _, c := range certs {
		if c.Equal(leaf) || bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil {
			continue
		}
		out = append(out, c)
	}
	return out
}
