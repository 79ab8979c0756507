package signer

import (
	"bufio"
	"context"
	"crypto"
	"fmt"
	"io"

	"github.com/sassoftware/relic/v8/lib/cabfile"

	"github.com/devupdate/devupdate/internal/iox"
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

// recoverMalformed turns a panic inside relic's parser into a
// *CabinetError.
func recoverMalformed(name string, err *error) {
	if r := recover(); r != nil {
		*err = &CabinetError{File: name, Rule: fmt.Sprintf("unparseable cabinet data: %v", r)}
	}
}
