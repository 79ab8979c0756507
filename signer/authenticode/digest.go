package authenticode

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"sync"

	"github.com/devupdate/devupdate/internal/iox"
	"github.com/devupdate/devupdate/packager/cabinet"
)

// Offsets in the header area of a signed cabinet.
const (
	offReserved1  = 4  // CFHEADER.reserved1: not hashed
	offICabinet   = 34 // CFHEADER.iCabinet: not hashed
	offSigUnknown = cfHeaderSize + reserveFieldSize + 16
)

// Digest computes the Authenticode imprint (SHA-256) of the signed cabinet
// in r, whose header h is: the CFHEADER without reserved1 and iCabinet,
// the last word of the 20-byte signature header, the CFFOLDER entries,
// and everything from coffFiles to cbCabinet, read in one streaming pass.
// It is the digest Windows, relic and osslsigncode compute for a cabinet
// that carries the 20-byte Authenticode reserve.
func Digest(ctx context.Context, name string, r io.ReaderAt, h *Header) ([]byte, error) {
	if h.ReserveHeader != SignatureHeaderSize {
		return nil, &CabinetError{File: name, Offset: cfHeaderSize, Rule: fmt.Sprintf("a signed cabinet carries the %d-byte signature reserve, not %d bytes", SignatureHeaderSize, h.ReserveHeader)}
	}
	head := make([]byte, h.OffsetFiles)
	if _, err := r.ReadAt(head, 0); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	d := sha256.New()
	d.Write(head[:offReserved1])
	d.Write(head[offReserved1+4 : offICabinet])
	d.Write(head[offSigUnknown : offSigUnknown+4])
	d.Write(head[h.FolderStart:h.OffsetFiles])
	body := io.NewSectionReader(r, h.OffsetFiles, h.CabinetSize-h.OffsetFiles)
	n, err := io.CopyBuffer(d, iox.ContextReader(ctx, body), make([]byte, 256<<10))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if n != h.CabinetSize-h.OffsetFiles {
		return nil, &CabinetError{File: name, Offset: h.OffsetFiles + n, Rule: "cabinet ends before cbCabinet"}
	}
	return d.Sum(nil), nil
}

// CheckStructure refuses the cabinet name (r, size bytes) when its
// structure is one no device should trust, before anything inside it is:
// cabinet.CheckStructure (names by the path rules and not colliding, no
// overlapping folders or files, every CFDATA checksum), without
// decompressing. The error wraps ErrMalformed and the cabinet reader's
// sentinel (ErrInvalidName, ErrChecksum, ...).
func CheckStructure(ctx context.Context, name string, r io.ReaderAt, size int64) error {
	cab, err := cabinet.Open(ctx, r, size, cabinet.WithName(name))
	if err == nil {
		err = cab.CheckStructure(ctx)
	}
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err) // err names the file and the place
	}
	return err
}

// CheckInBackground runs CheckStructure on another goroutine (each pass
// reads the file once, and on two cores the check adds no time to the
// digest beside it) and returns what waits for its result, as often as
// called; cancelling ctx stops it.
func CheckInBackground(ctx context.Context, name string, r io.ReaderAt, size int64) (wait func() error) {
	checked := make(chan error, 1)
	go func() { checked <- CheckStructure(ctx, name, r, size) }()
	return sync.OnceValue(func() error { return <-checked })
}
