package signer

import (
	"bufio"
	"context"
	"crypto"
	"fmt"
	"io"
	"testing"

	"github.com/sassoftware/relic/v8/lib/cabfile"

	"github.com/devupdate/devupdate/internal/iox"
	"github.com/devupdate/devupdate/signer/authenticode"
)

// digestCabinet computes the Authenticode imprint of the cabinet read from
// r in one streaming pass with relic's cabfile.Digest, which signing needs
// because it also returns the header patched for the signature. Every
// signature made from it is verified by authenticode.VerifyBlob before it
// is reported; authenticode computes the same digest independently when
// it verifies the signed cabinet.
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

// digestChecked is digestCabinet of the size-byte cabinet in r with its
// structure checked on the same pass (authenticode.StructureCheck): a
// cabinet devices would refuse (unsafe or colliding names, overlapping
// folders or files, a CFDATA checksum mismatch) is never signed, and the
// cabinet is read once.
func digestChecked(ctx context.Context, name string, r io.ReaderAt, size int64) (*cabfile.CabinetDigest, error) {
	check := authenticode.NewStructureCheck(ctx, name, r, size)
	d, err := digestCabinet(ctx, name, check.Tee(io.NewSectionReader(r, 0, size)))
	structure := check.Err()
	if err != nil {
		return nil, err
	}
	if structure != nil {
		return nil, structure
	}
	return d, nil
}

// recoverMalformed turns a panic inside relic's parser into a
// *CabinetError, so that a hostile cabinet cannot crash a signing run. In
// a test binary the panic goes on: a fuzzer or a test must see it, not a
// refusal that hides the bug.
func recoverMalformed(name string, err *error) {
	if testing.Testing() {
		return
	}
	if r := recover(); r != nil {
		*err = &CabinetError{File: name, Rule: fmt.Sprintf("unparseable cabinet data: %v", r)}
	}
}
