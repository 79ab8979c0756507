package signer

import (
	"context"
	"fmt"
	"io"

	"github.com/devupdate/devupdate/signer/authenticode"
)

// CheckPublishable refuses the cabinet name (r, size bytes) when devices
// would refuse it, before it is published: it must be a structurally valid
// cabinet (header, folders, files and data blocks within the file; an
// embedded update.json valid), and signed, unless allowUnsigned. With a
// policy, the signature must pass it in full (Verify: chain, EV, subject,
// vendor packages). Without one, the signature must still be intact
// (authenticode.CheckIntact: the digest it signs is the cabinet's, and the
// signer's signature verifies with the certificate it carries).
//
// It is the one function `devupdate publish` asks; it goes through the
// verifier's entry points only.
func CheckPublishable(ctx context.Context, name string, r io.ReaderAt, size int64, policy *Policy, allowUnsigned bool) error {
	h, err := authenticode.ReadHeader(name, r, size)
	if err != nil {
		return err
	}
	if h.Signed() && policy != nil {
		_, err := VerifyReaderAt(ctx, name, r, size, *policy) // the structure and update.json too, in the same pass
		return err
	}
	if _, err := authenticode.ReadUpdate(ctx, name, r, size); err != nil {
		return err
	}
	switch {
	case !h.Signed() && allowUnsigned:
		return nil
	case !h.Signed():
		return fmt.Errorf("%s: %w", name, ErrNotSigned)
	}
	return authenticode.CheckIntact(ctx, name, r, size)
}
