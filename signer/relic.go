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
// signature made from it is verified by authenticode.VerifyBlob against
// authenticode.Digest's independent computation before it is reported.
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

// digestChecked is digestCabinet of the size-byte cabinet in r with
// authenticode.CheckStructure run on another goroutine meanwhile: a
// cabinet devices would refuse (unsafe or colliding names, overlapping
// folders or files, a CFDATA checksum mismatch) is never signed, and on
// two cores the check adds no time.
func digestChecked(ctx context.Context, name string, r io.ReaderAt, size int64) (*cabfile.CabinetDigest, error) {
	ctx, cancel := context.WithCancel(ctx)
	checked := authenticode.CheckInBackground(ctx, name, r, size)
	defer checked() // after cancel
	defer cancel()
	d, err := digestCabinet(ctx, name, io.NewSectionReader(r, 0, size))
	if err != nil {
		return nil, err
	}
	if err := checked(); err != nil {
		return nil, err
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
