package authenticode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/devupdate/devupdate/manifest/update"
)

// Bounds applied to untrusted cabinets before any field is trusted.
const (
	// maxHeaderArea bounds everything before the first CFFILE (CFHEADER,
	// reserve, CFFOLDERs): relic buffers it whole, and so does the
	// streaming digest of a vendor package.
	maxHeaderArea = 1 << 20
	// MaxSignatureSize bounds the PKCS#7 blob appended to a cabinet.
	MaxSignatureSize = 1 << 20
	// maxManifestSize bounds the embedded update.json.
	maxManifestSize = update.MaxJSONSize

	cfHeaderSize        = 36
	reserveFieldSize    = 4
	SignatureHeaderSize = 20 // the Authenticode reserve: relic's SignatureHeader
	flagPrev            = 0x1
	flagNext            = 0x2
	flagReserve         = 0x4
	cabMagic            = "MSCF"
	manifestName        = update.JSONName
)

// Header is the part of a cabinet's header area that Authenticode covers
// or depends on, checked against the file's size before anything else is
// read. Signing (package signer) places the signature by it; verification
// hashes by it.
type Header struct {
	FileSize        int64
	CabinetSize     int64 // cbCabinet: the cabinet without its signature
	OffsetFiles     int64 // coffFiles: first CFFILE
	NumFolders      int
	NumFiles        int
	ReserveHeader   int   // cbCFHeader, 0 when no reserve
	ReserveFolder   int   // cbCFFolder
	ReserveData     int   // cbCFData
	FolderStart     int64 // first CFFOLDER
	SignatureOffset int64 // from the signature header (0 when none)
	SignatureSize   int64 // from the signature header (0 when unsigned)
}

// Signed reports whether the cabinet carries a signature blob.
func (h *Header) Signed() bool { return h.SignatureSize > 0 }

// Shift is how far signing moves the data: +24 to make room for the reserve
// when there is none, 0 when the 20-byte Authenticode reserve is present,
// negative when a larger zeroed reserve is trimmed to 20 bytes (relic's
// cabfile layout: the signature goes after the cabinet, not in the reserve).
func (h *Header) Shift() int64 {
	switch {
	case h.ReserveHeader == 0:
		return reserveFieldSize + SignatureHeaderSize
	default:
		return int64(SignatureHeaderSize - h.ReserveHeader)
	}
}

// ReadHeader parses and bounds the header area of the cabinet in r.
func ReadHeader(name string, r io.ReaderAt, size int64) (*Header, error) {
	bad := func(off int64, format string, args ...any) error {
		return &CabinetError{File: name, Offset: off, Structure: "CFHEADER", Rule: fmt.Sprintf(format, args...)}
	}
	var b [cfHeaderSize + reserveFieldSize + SignatureHeaderSize]byte
	n, err := r.ReadAt(b[:], 0)
	if n < cfHeaderSize {
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		return nil, bad(0, "not a cabinet (%d bytes, shorter than a cabinet header)", n)
	}
	le := binary.LittleEndian
	if string(b[:4]) != cabMagic {
		return nil, bad(0, "not a cabinet (no MSCF signature)")
	}
	h := &Header{
		FileSize:    size,
		CabinetSize: int64(le.Uint32(b[8:])),
		OffsetFiles: int64(le.Uint32(b[16:])),
		NumFolders:  int(le.Uint16(b[26:])),
		NumFiles:    int(le.Uint16(b[28:])),
		FolderStart: cfHeaderSize,
	}
	flags := le.Uint16(b[30:])
	// Authenticode leaves reserved1 and iCabinet out of the digest, so a
	// verifier that accepted any value there would let bytes change
	// unnoticed; [MS-CAB] says they are zero for a single cabinet.
	switch {
	case le.Uint32(b[4:]) != 0:
		return nil, bad(4, "reserved1 is not zero")
	case le.Uint16(b[34:]) != 0:
		return nil, bad(34, "iCabinet is not zero (only single cabinets are signed)")
	case flags&(flagPrev|flagNext) != 0:
		return nil, bad(30, "multi-part cabinets (prev/next flags) cannot be signed")
	case flags&^flagReserve != 0:
		return nil, bad(30, "unknown flags %#04x", flags)
	case h.CabinetSize < cfHeaderSize || h.CabinetSize > size:
		return nil, bad(8, "cbCabinet %d outside the file's %d bytes", h.CabinetSize, size)
	case h.OffsetFiles > h.CabinetSize || h.OffsetFiles > maxHeaderArea:
		return nil, bad(16, "coffFiles %d beyond the cabinet or the %d-byte header bound", h.OffsetFiles, maxHeaderArea)
	}
	if flags&flagReserve != 0 {
		if n < len(b) {
			return nil, bad(cfHeaderSize, "reserve flag set but the header is truncated")
		}
		h.ReserveHeader = int(le.Uint16(b[36:]))
		h.ReserveFolder = int(b[38])
		h.ReserveData = int(b[39])
		h.FolderStart = cfHeaderSize + reserveFieldSize + int64(h.ReserveHeader)
		sh := b[cfHeaderSize+reserveFieldSize:]
		h.SignatureOffset = int64(le.Uint32(sh[4:]))
		h.SignatureSize = int64(le.Uint32(sh[8:]))
		switch {
		case h.ReserveHeader < SignatureHeaderSize:
			return nil, bad(36, "cbCFHeader %d is smaller than the %d-byte signature header", h.ReserveHeader, SignatureHeaderSize)
		case h.ReserveFolder != 0 || h.ReserveData != 0:
			return nil, bad(38, "per-folder or per-data reserve (%d, %d) is not supported with signatures", h.ReserveFolder, h.ReserveData)
		case h.ReserveHeader > SignatureHeaderSize && (h.SignatureOffset != 0 || h.SignatureSize != 0):
			return nil, bad(40, "a %d-byte reserve must be zeroed before signing", h.ReserveHeader)
		case h.ReserveHeader == SignatureHeaderSize && h.SignatureOffset != h.CabinetSize:
			return nil, bad(44, "signature header places the signature at %d, cbCabinet is %d", h.SignatureOffset, h.CabinetSize)
		case h.SignatureSize > MaxSignatureSize:
			return nil, bad(48, "signature of %d bytes exceeds %d", h.SignatureSize, MaxSignatureSize)
		}
	}
	// The CFFOLDER entries end exactly at coffFiles: Authenticode hashes
	// the entries and then coffFiles to cbCabinet, so bytes in between
	// would be covered by no signature (and relic and osslsigncode would
	// hash different bytes).
	if end := h.FolderStart + int64(h.NumFolders)*8; end != h.OffsetFiles {
		return nil, bad(h.FolderStart, "%d CFFOLDER entries end at %d, not at coffFiles %d", h.NumFolders, end, h.OffsetFiles)
	}
	if h.NumFolders == 0 || h.NumFiles == 0 {
		return nil, bad(26, "a cabinet needs at least one folder and one file")
	}
	if want := h.CabinetSize + h.SignatureSize; size != want {
		return nil, bad(h.CabinetSize, "file is %d bytes, header says cabinet %d + signature %d", size, h.CabinetSize, h.SignatureSize)
	}
	return h, nil
}

// ReadSignature returns the signature blob appended to a signed cabinet
// (at most MaxSignatureSize bytes: ReadHeader bounds it).
func ReadSignature(name string, r io.ReaderAt, h *Header) ([]byte, error) {
	if !h.Signed() {
		return nil, fmt.Errorf("%s: %w", name, ErrNotSigned)
	}
	blob := make([]byte, h.SignatureSize)
	if _, err := r.ReadAt(blob, h.CabinetSize); err != nil {
		return nil, fmt.Errorf("reading signature of %s: %w", name, err)
	}
	return blob, nil
}

// kindOf is the update's kind, "" for a cabinet without update.json.
func kindOf(u *update.Update) string {
	if u == nil {
		return ""
	}
	return string(u.Kind)
}
