package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/devupdate/devupdate/cmd/internal/cli"
	"github.com/devupdate/devupdate/signer"
)

// signatureReport is an Authenticode signature in sign and verify reports.
type signatureReport struct {
	Subject   string     `json:"subject"`
	SubjectCN string     `json:"subject_cn"`
	Issuer    string     `json:"issuer"`
	EV        bool       `json:"ev"`
	NotBefore time.Time  `json:"not_before"`
	NotAfter  time.Time  `json:"not_after"`
	Timestamp *time.Time `json:"timestamp,omitempty"`
	// AuthenticodeDigest is the digest the signature covers, "sha256:HEX";
	// it is not the file's SHA-256.
	AuthenticodeDigest string `json:"authenticode_digest"`
}

// packageReport is an OS vendor package inside an os-kind cabinet.
type packageReport struct {
	Name      string           `json:"name"`
	Size      int64            `json:"size"`
	SHA256    string           `json:"sha256"`
	Signature *signatureReport `json:"signature"`
}

// signedCabinet is what sign and verify report about a cabinet.
type signedCabinet struct {
	cli.Item
	// Source is the unsigned input when sign -o wrote the signed cabinet
	// elsewhere.
	Source string `json:"source,omitempty"`
	// State is "signed", or "already_signed" for a cabinet that carried a
	// signature by the same certificate under the same policy (sign only).
	State     string           `json:"state,omitempty"`
	Kind      string           `json:"kind,omitempty"`
	Signature *signatureReport `json:"signature,omitempty"`
	Packages  []packageReport  `json:"packages,omitempty"`
}

func newSignatureReport(r *signer.Result) *signatureReport {
	return &signatureReport{Subject: r.Subject, SubjectCN: r.SubjectCN, Issuer: r.Issuer, EV: r.EV,
		NotBefore: r.NotBefore, NotAfter: r.NotAfter, Timestamp: r.Timestamp, AuthenticodeDigest: r.Digest}
}

// newSignedCabinet reports one cabinet of signer.SignCabinets or
// signer.VerifyCabinets.
func newSignedCabinet(r signer.Report) *signedCabinet {
	c := &signedCabinet{Item: cli.Item{File: r.File, Err: hint(r.Err)}}
	if r.Result == nil || r.Err != nil {
		return c
	}
	c.Kind, c.Signature = r.Kind, newSignatureReport(r.Result)
	for _, p := range r.Packages {
		c.Packages = append(c.Packages, packageReport{Name: p.Path, Size: p.Size, SHA256: p.SHA256, Signature: newSignatureReport(p.Signature)})
	}
	return c
}

// hint adds to err the flag that fixes it, where there is one.
func hint(err error) error {
	if errors.Is(err, signer.ErrNoOSVendorRoots) {
		return fmt.Errorf("%w: give them with --os-vendor-roots FILE", err)
	}
	return err
}

// printSignature prints a cabinet's signature and vendor packages.
func printSignature(w io.Writer, verb string, c *signedCabinet) error {
	s := c.Signature
	ts := "no timestamp"
	if s.Timestamp != nil {
		ts = "timestamp " + s.Timestamp.Format(time.RFC3339)
	}
	fmt.Fprintf(w, "%s %s: signed by %q (EV %t, %s, authenticode %s)\n", verb, c.File, s.SubjectCN, s.EV, ts, s.AuthenticodeDigest)
	for _, p := range c.Packages {
		fmt.Fprintf(w, "  vendor package %s: signed by %q (EV %t, valid %s to %s, authenticode %s)\n", p.Name, p.Signature.SubjectCN, p.Signature.EV,
			p.Signature.NotBefore.Format(time.RFC3339), p.Signature.NotAfter.Format(time.RFC3339), p.Signature.AuthenticodeDigest)
	}
	return nil
}
