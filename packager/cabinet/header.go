package cabinet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Header is a cabinet's CFHEADER with its optional reserve fields: the
// one parse of it, which the reader builds on and which Authenticode
// signing and verification (package signer/authenticode) check further.
type Header struct {
	CabinetSize   int64  // cbCabinet: the cabinet without a signature
	Reserved1     uint32 // reserved1 (bytes 4-7)
	OffsetFiles   int64  // coffFiles: the first CFFILE
	NumFolders    int    // cFolders
	NumFiles      int    // cFiles
	Flags         uint16 // flags
	ICabinet      uint16 // iCabinet (bytes 34-35)
	ReserveHeader int    // cbCFHeader, 0 when no reserve
	ReserveFolder int    // cbCFFolder
	ReserveData   int    // cbCFData
	Reserve       []byte // abReserve: cbCFHeader bytes
	FolderStart   int64  // the first CFFOLDER
}

// HasReserve reports whether the reserve fields are present.
func (h *Header) HasReserve() bool { return h.Flags&flagReservePresent != 0 }

// ReadHeader reads and checks the CFHEADER of the size-byte cabinet in r
// (name labels errors): the MSCF signature, cbCabinet within size, format
// version 1, no cabinet set, a reserve of at most 60000 bytes within the
// cabinet. Errors are *FormatError (ErrMalformed, ErrUnsupported).
func ReadHeader(name string, r io.ReaderAt, size int64) (*Header, error) {
	bad := func(sentinel error, off int64, format string, args ...any) error {
		return &FormatError{Cabinet: name, Structure: "CFHEADER", Offset: off, Reason: fmt.Sprintf(format, args...), Err: sentinel}
	}
	if size < headerSize {
		return nil, bad(ErrMalformed, 0, "not a cabinet (%d bytes, shorter than a cabinet header)", size)
	}
	var b [headerSize + reserveFieldLen]byte
	n, err := r.ReadAt(b[:], 0)
	if n < headerSize {
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: reading CFHEADER: %w", name, err)
		}
		return nil, bad(ErrMalformed, 0, "not a cabinet (%d bytes, shorter than a cabinet header)", n)
	}
	le := binary.LittleEndian
	if le.Uint32(b[0:]) != signature {
		return nil, bad(ErrMalformed, 0, "not a cabinet (no MSCF signature)")
	}
	h := &Header{
		CabinetSize: int64(le.Uint32(b[8:])),
		Reserved1:   le.Uint32(b[4:]),
		OffsetFiles: int64(le.Uint32(b[16:])),
		NumFolders:  int(le.Uint16(b[26:])),
		NumFiles:    int(le.Uint16(b[28:])),
		Flags:       le.Uint16(b[30:]),
		ICabinet:    le.Uint16(b[34:]),
		FolderStart: headerSize,
	}
	switch {
	case h.CabinetSize < headerSize || h.CabinetSize > size:
		return nil, bad(ErrMalformed, 8, "cbCabinet %d but %d bytes are available", h.CabinetSize, size)
	case b[25] != 1:
		return nil, bad(ErrUnsupported, 24, "format version %d.%d", b[25], b[24])
	case h.Flags&(flagPrevCabinet|flagNextCabinet) != 0:
		return nil, bad(ErrUnsupported, 30, "cabinet sets (flags %#04x)", h.Flags)
	}
	if !h.HasReserve() {
		return h, nil
	}
	if n < len(b) || h.CabinetSize < int64(len(b)) {
		return nil, bad(ErrMalformed, headerSize, "reserve flag set but the header is truncated")
	}
	h.ReserveHeader, h.ReserveFolder, h.ReserveData = int(le.Uint16(b[36:])), int(b[38]), int(b[39])
	if h.ReserveHeader > 60000 {
		return nil, bad(ErrMalformed, headerSize, "cbCFHeader %d exceeds 60000", h.ReserveHeader)
	}
	h.FolderStart = headerSize + reserveFieldLen + int64(h.ReserveHeader)
	if h.FolderStart > h.CabinetSize {
		return nil, bad(ErrMalformed, headerSize, "a %d-byte reserve runs past the cabinet's end at %d", h.ReserveHeader, h.CabinetSize)
	}
	h.Reserve = make([]byte, h.ReserveHeader)
	if _, err := r.ReadAt(h.Reserve, headerSize+reserveFieldLen); errors.Is(err, io.EOF) {
		return nil, bad(ErrMalformed, headerSize+reserveFieldLen, "reserve truncated")
	} else if err != nil {
		return nil, fmt.Errorf("%s: reading the CFHEADER reserve: %w", name, err)
	}
	return h, nil
}

// SignatureInfo returns what the reserve says of an Authenticode
// signature: present when it is the 20-byte signature reserve.
func (h *Header) SignatureInfo() SignatureInfo {
	if h.ReserveHeader != sigReserveSize {
		return SignatureInfo{}
	}
	le := binary.LittleEndian
	return SignatureInfo{Reserved: true, Offset: int64(le.Uint32(h.Reserve[4:])), Size: int64(le.Uint32(h.Reserve[8:]))}
}
