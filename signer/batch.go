package signer

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
)

// SignRequest is what `devupdate sign` asks for: cabinets, a key reference
// (see OpenKey) and the certificate chain.
type SignRequest struct {
	Files []string
	// Output names the signed cabinet; only with one file. Default "":
	// each file is signed in place (still atomically).
	Output string
	// Key is "pkcs11:…", "file:PATH" or a PATH (.pfx/.p12: PKCS#12).
	Key string
	// CertFile is the PEM chain, leaf first. Default "": the chain stored
	// in a PKCS#12 key file.
	CertFile string
	// RootsFile holds the roots the chain must build to. Default "": the
	// system roots.
	RootsFile string
	// OSVendorRootsFile holds the OS vendor's roots, which the vendor
	// packages inside an os-kind cabinet must verify against before it is
	// signed (see Policy.VendorPolicy). Default "": none, and signing an
	// os-kind cabinet fails with ErrNoOSVendorRoots.
	OSVendorRootsFile string
	// TimestampRootsFile holds the roots the timestamp authority's chain
	// must build to. Default "": the system roots.
	TimestampRootsFile string
	// OSVendorTimestampRootsFile holds the roots the chain of the OS
	// vendor's timestamp authority must build to, for the vendor packages
	// inside an os-kind cabinet (Policy.OSVendorTimestampRoots). Default
	// "": the system roots, loaded only when a vendor package is
	// timestamped.
	OSVendorTimestampRootsFile string
	KeyOptions                 []KeyOption
	Options                    []Option
}

// SignCabinets opens the key once, checks it and the chain against the
// policy, and signs each file in order (see Signer.SignFile). One failing
// cabinet does not stop the others: there is one Report per file, in
// order, each with its own Err, and the error joins them. When nothing
// could start (no key, no chain, a chain the policy refuses) the reports
// are nil and the error says why. A cabinet already signed by the same
// certificate under the same policy is reported as done
// (Report.AlreadySigned), so signing a set of cabinets again is safe.
func SignCabinets(ctx context.Context, req SignRequest) ([]Report, error) {
	if len(req.Files) == 0 {
		return nil, errors.New("no cabinet given")
	}
	if req.Output != "" && len(req.Files) != 1 {
		return nil, errors.New("an output name needs exactly one cabinet")
	}
	key, err := OpenKey(ctx, req.Key, req.KeyOptions...)
	if err != nil {
		return nil, err
	}
	defer key.Close()
	chain := key.Chain
	if req.CertFile != "" {
		if chain, err = LoadCertificates(ctx, req.CertFile); err != nil {
			return nil, err
		}
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("%w (PEM, leaf first); only a PKCS#12 key carries its own", ErrNoChain)
	}
	var policy Policy
	if req.RootsFile != "" {
		policy.Roots, err = LoadRoots(ctx, req.RootsFile)
	} else {
		policy.Roots, err = x509.SystemCertPool()
	}
	if err != nil {
		return nil, fmt.Errorf("roots: %w", err)
	}
	if req.OSVendorRootsFile != "" {
		if policy.OSVendorRoots, err = LoadRoots(ctx, req.OSVendorRootsFile); err != nil {
			return nil, fmt.Errorf("OS vendor roots: %w", err)
		}
	}
	if req.TimestampRootsFile != "" {
		if policy.TimestampRoots, err = LoadRoots(ctx, req.TimestampRootsFile); err != nil {
			return nil, fmt.Errorf("timestamp roots: %w", err)
		}
	}
	policy.SystemTimestampRoots = true // without a file, loaded only for a timestamp
	if req.OSVendorTimestampRootsFile != "" {
		if policy.OSVendorTimestampRoots, err = LoadRoots(ctx, req.OSVendorTimestampRootsFile); err != nil {
			return nil, fmt.Errorf("OS vendor timestamp roots: %w", err)
		}
	}
	s, err := New(ctx, key, chain, policy, req.Options...)
	if err != nil {
		return nil, err
	}
	reports := make([]Report, 0, len(req.Files))
	var errs []error
	for _, f := range req.Files {
		r := Report{File: f}
		if req.Output != "" {
			r.File, r.Source = req.Output, f
		}
		if r.Err = ctx.Err(); r.Err == nil {
			r.Result, r.AlreadySigned, r.Err = s.sign(ctx, f, r.File)
		}
		if r.Valid = r.Err == nil; !r.Valid {
			r.Error = r.Err.Error()
			errs = append(errs, r.Err)
		}
		reports = append(reports, r)
	}
	return reports, errors.Join(errs...)
}

// Report is the outcome of verifying, or signing, one cabinet.
type Report struct {
	*Result
	File string `json:"file"`
	// Source is the cabinet signed into File when they differ (sign -o).
	Source string `json:"source,omitempty"`
	// AlreadySigned: SignCabinets left File as it was, already signed by
	// the same certificate under the same policy.
	AlreadySigned bool   `json:"already_signed,omitempty"`
	Valid         bool   `json:"valid"`
	Err           error  `json:"-"`
	Error         string `json:"error,omitempty"`
}

// VerifyCabinets verifies every file against policy and reports each; it
// never stops early. The error is non-nil when any cabinet is invalid.
func VerifyCabinets(ctx context.Context, files []string, policy Policy) ([]Report, error) {
	var (
		reports []Report
		errs    []error
	)
	for _, f := range files {
		res, err := Verify(ctx, f, policy)
		r := Report{Result: res, File: f, Valid: err == nil, Err: err}
		if err != nil {
			r.Error = err.Error()
			errs = append(errs, err)
		}
		reports = append(reports, r)
		if ctx.Err() != nil {
			break
		}
	}
	return reports, errors.Join(errs...)
}
