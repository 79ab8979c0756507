package signer

import (
	"bufio"
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sassoftware/relic/v8/lib/authenticode"
	"github.com/sassoftware/relic/v8/lib/cabfile"
	"github.com/sassoftware/relic/v8/lib/pkcs7"
	"github.com/sassoftware/relic/v8/lib/pkcs9"
	"github.com/sassoftware/relic/v8/lib/x509tools"

	"github.com/devupdate/devupdate/internal/iox"
	"github.com/devupdate/devupdate/manifest"
)

// KindOS is the update kind whose cabinets carry OS vendor packages: the
// outer cabinet is signed by the OEM like every other, the vendor's signed
// .cab packages inside it are verified against the OS vendor's roots and
// never re-signed.
const KindOS = string(manifest.KindOS)

// Result describes a verified signature.
type Result struct {
	File    string `json:"file"`
	Subject string `json:"subject"` // the signer certificate's subject (RFC 2253)
	// SubjectCN is the subject's common name.
	SubjectCN string `json:"subject_cn"`
	Issuer    string `json:"issuer"`
	EV        bool   `json:"ev"`
	// Timestamp is the RFC 3161 time, nil when the signature has none.
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
	// AlreadySigned is set by SignFile for a cabinet it left as it was: it
	// already carried a signature by the same certificate under the same
	// policy.
	AlreadySigned bool `json:"-"`
}

// Verify checks the Authenticode signature of the cabinet at path against
// policy and returns what it found. The steps, in order: bound the header
// area; read the signature; parse it as Authenticode over a cabinet with
// SHA-256; hash the cabinet in one streaming pass and compare with the
// signed digest; check the PKCS#7 signature and its RFC 3161 timestamp;
// apply the certificate policy (chain to policy.Roots) at the timestamp's
// time (or now); match the required subject; read the embedded
// update.json (an invalid one is refused); and for an os-kind cabinet,
// verify every vendor package (.cab) inside it against
// policy.VendorPolicy() (policy.OSVendorRoots is then required).
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
	res, err := verifySignature(ctx, name, r, size, policy)
	if err != nil {
		return nil, err
	}
	u, cab, err := readUpdate(name, r, size)
	if err != nil {
		return nil, err
	}
	res.Kind = kindOf(u)
	if res.Kind == KindOS {
		if res.Packages, err = verifyVendorPackages(ctx, name, cab, u, policy); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// verifySignature checks the cabinet's own Authenticode signature against
// policy, and nothing inside the cabinet.
func verifySignature(ctx context.Context, name string, r io.ReaderAt, size int64, policy Policy) (*Result, error) {
	h, err := readCabHeader(name, r, size)
	if err != nil {
		return nil, err
	}
	blob, err := readSignature(name, r, h)
	if err != nil {
		return nil, err
	}
	if _, err := parseAuthenticode(name, blob); err != nil {
		return nil, err
	}
	imprint, err := digestCabinet(ctx, name, io.NewSectionReader(r, 0, size))
	if err != nil {
		return nil, err
	}
	return verifyBlob(name, blob, imprint.Imprint, policy)
}

// digestCabinet computes the Authenticode imprint of the cabinet read from
// r in one streaming pass (relic's cabfile.Digest over a buffered reader).
func digestCabinet(ctx context.Context, name string, r io.Reader) (d *cabfile.CabinetDigest, err error) {
	defer recoverMalformed(name, &err)
	d, err = cabfile.Digest(bufio.NewReaderSize(iox.ContextReader(ctx, r), 256<<10), crypto.SHA256)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &CabinetError{File: name, Rule: err.Error()}
	}
	return d, nil
}

// parseAuthenticode unmarshals a cabinet's signature blob and checks it is
// Authenticode with a SHA-256 digest.
func parseAuthenticode(name string, blob []byte) (_ *authenticode.SpcIndirectDataContentPe, err error) {
	defer recoverMalformed(name, &err)
	psd, err := pkcs7.Unmarshal(blob)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", name, ErrBadSignature, err)
	}
	if !psd.Content.ContentInfo.ContentType.Equal(authenticode.OidSpcIndirectDataContent) {
		return nil, fmt.Errorf("%s: %w: content is not SpcIndirectDataContent", name, ErrBadSignature)
	}
	indirect := new(authenticode.SpcIndirectDataContentPe)
	if err := psd.Content.ContentInfo.Unmarshal(indirect); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", name, ErrBadSignature, err)
	}
	if h, err := x509tools.PkixDigestToHashE(indirect.MessageDigest.DigestAlgorithm); err != nil || h != crypto.SHA256 {
		return nil, fmt.Errorf("%s: %w", name, ErrUnsupportedDigest)
	}
	return indirect, nil
}

// verifyBlob checks a signature blob against the cabinet imprint computed
// from the bytes, and the signer against policy. It is the one verification
// path: Verify uses it, and signing runs it before reporting success.
func verifyBlob(name string, blob, imprint []byte, policy Policy) (_ *Result, err error) {
	defer recoverMalformed(name, &err)
	indirect, err := parseAuthenticode(name, blob)
	if err != nil {
		return nil, err
	}
	if !hmac.Equal(indirect.MessageDigest.Digest, imprint) {
		return nil, fmt.Errorf("%s: %w: signed %x, cabinet is %x", name, ErrDigestMismatch, indirect.MessageDigest.Digest, imprint)
	}
	psd, _ := pkcs7.Unmarshal(blob) // parsed above
	sig, err := psd.Content.Verify(nil, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", name, ErrBadSignature, err)
	}
	ts, err := pkcs9.VerifyOptionalTimestamp(sig)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: timestamp: %v", name, ErrBadSignature, err)
	}
	roots := policy.Roots
	res := &Result{
		File:      name,
		Subject:   sig.Certificate.Subject.String(),
		SubjectCN: sig.Certificate.Subject.CommonName,
		Issuer:    sig.Certificate.Issuer.String(),
		EV:        IsEV(sig.Certificate),
		NotBefore: sig.Certificate.NotBefore.UTC(),
		NotAfter:  sig.Certificate.NotAfter.UTC(),
		Digest:    "sha256:" + hex.EncodeToString(imprint),

		Certificate: sig.Certificate,
	}
	at := policy.now()
	if cs := ts.CounterSignature; cs != nil {
		tsRoots := policy.TimestampRoots
		if tsRoots == nil {
			tsRoots = roots
		}
		if err := cs.VerifyChain(tsRoots, nil); err != nil {
			return nil, fmt.Errorf("%s: %w: timestamp authority: %v", name, ErrTimestamp, err)
		}
		at = cs.SigningTime
		t := cs.SigningTime.UTC()
		res.Timestamp = &t
	}
	intermediates := intermediatesOf(sig)
	if err := CheckCertificate(sig.Certificate, intermediates, nil, roots, at, policy.RequireEV); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if want := policy.RequireSubject; want != "" && want != sig.Certificate.Subject.CommonName && want != res.Subject {
		return nil, fmt.Errorf("%s: %w: signed by %q, want %q", name, ErrSubjectMismatch, res.Subject, want)
	}
	return res, nil
}

// intermediatesOf returns the certificates in a signature other than the
// signer's own and self-signed ones.
func intermediatesOf(sig pkcs7.Signature) []*x509.Certificate {
	var out []*x509.Certificate
	for _, c := range sig.Intermediates {
		if c.Equal(sig.Certificate) || c.CheckSignatureFrom(c) == nil {
			continue
		}
		out = append(out, c)
	}
	return out
}

// recoverMalformed turns a panic inside a parser of untrusted bytes into an
// ErrMalformed error.
func recoverMalformed(name string, err *error) {
	if r := recover(); r != nil {
		*err = &CabinetError{File: name, Rule: fmt.Sprintf("unparseable signature data: %v", r)}
	}
}
