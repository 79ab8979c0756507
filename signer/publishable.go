package signer

import (
	"context"
	"fmt"
	"io"

	"github.com/sassoftware/relic/v8/lib/pkcs7"
)

// CheckPublishable refuses the cabinet name (r, size bytes) when devices
// would refuse it, before it is published: it must be a structurally valid
// cabinet (header, folders, files and data blocks within the file; an
// embedded update.json valid), and signed, unless allowUnsigned. With a
// policy, the signature must pass it in full (Verify: chain, EV, subject,
// vendor packages). Without one, the signature must still be intact: a
// well-formed Authenticode signature whose signed digest is the cabinet's
// and whose PKCS#7 signature verifies with the certificate it carries.
//
// It is the one function `devupdate publish` asks; it goes through the
// package's verification entry points only.
func CheckPublishable(ctx context.Context, name string, r io.ReaderAt, size int64, policy *Policy, allowUnsigned bool) error {
	h, err := readCabHeader(name, r, size)
	if err != nil {
		return err
	}
	if _, _, err := readUpdate(name, r, size); err != nil {
		return err
	}
	if !h.signed() {
		if allowUnsigned {
			return nil
		}
		return fmt.Errorf("%s: %w", name, ErrNotSigned)
	}
	if policy != nil {
		_, err := VerifyReaderAt(ctx, name, r, size, *policy)
		return err
	}
	blob, err := readSignature(name, r, h)
	if err != nil {
		return err
	}
	indirect, err := parseAuthenticode(name, blob)
	if err != nil {
		return err
	}
	d, err := digestCabinet(ctx, name, io.NewSectionReader(r, 0, size))
	if err != nil {
		return err
	}
	if string(indirect.MessageDigest.Digest) != string(d.Imprint) {
		return fmt.Errorf("%s: %w: signed %x, cabinet is %x", name, ErrDigestMismatch, indirect.MessageDigest.Digest, d.Imprint)
	}
	return intact(name, blob)
}

// intact checks that the PKCS#7 signature in blob verifies with the
// certificate it carries (no trust decision).
func intact(name string, blob []byte) (err error) {
	defer recoverMalformed(name, &err)
	psd, err := pkcs7.Unmarshal(blob)
	if err != nil {
		return fmt.Errorf("%s: %w: %v", name, ErrBadSignature, err)
	}
	if _, err := psd.Content.Verify(nil, false); err != nil {
		return fmt.Errorf("%s: %w: %v", name, ErrBadSignature, err)
	}
	return nil
}
