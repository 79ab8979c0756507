package signer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/devupdate/devupdate/manifest"
	"github.com/devupdate/devupdate/packager"
)

// Bounds applied to untrusted cabinets before any field is trusted.
const (
	// maxHeaderArea bounds everything before the first CFFILE (CFHEADER,
	// reserve, CFFOLDERs): relic buffers it whole.
	maxHeaderArea = 1 << 20
	// MaxSignatureSize bounds the PKCS#7 blob appended to a cabinet.
	MaxSignatureSize = 1 << 20
	// maxManifestSize bounds the embedded update.json.
	maxManifestSize = manifest.MaxUpdateJSONSize

	cfHeaderSize     = 36
	reserveFieldSize = 4
	sigHeaderSize    = 20 // the Authenticode reserve: relic's SignatureHeader
	flagPrev         = 0x1
	flagNext         = 0x2
	flagReserve      = 0x4
	cabMagic         = "MSCF"
	manifestName     = manifest.UpdateJSONName
)

// cabHeader is the part of a cabinet's header area signing depends on,
// checked against the file's size before relic sees the file.
type cabHeader struct {
	fileSize      int64
	totalSize     int64 // cbCabinet: the cabinet without its signature
	offsetFiles   int64 // coffFiles: first CFFILE
	numFolders    int
	numFiles      int
	reserveHeader int   // cbCFHeader, 0 when no reserve
	reserveFolder int   // cbCFFolder
	reserveData   int   // cbCFData
	folderStart   int64 // first CFFOLDER
	sigOffset     int64 // from the signature header (0 when none)
	sigSize       int64 // from the signature header (0 when unsigned)
}

// signed reports whether the cabinet carries a signature blob.
func (h *cabHeader) signed() bool { return h.sigSize > 0 }

// shift is how far signing moves the data: +24 to make room for the reserve
// when there is none, 0 when the 20-byte Authenticode reserve is present,
// negative when a larger zeroed reserve is trimmed to 20 bytes (relic's
// cabfile layout: the signature goes after the cabinet, not in the reserve).
func (h *cabHeader) shift() int64 {
	switch {
	case h.reserveHeader == 0:
		return reserveFieldSize + sigHeaderSize
	default:
		return int64(sigHeaderSize - h.reserveHeader)
	}
}

// readCabHeader parses and bounds the header area of the cabinet in r.
func readCabHeader(name string, r io.ReaderAt, size int64) (*cabHeader, error) {
	bad := func(off int64, format string, args ...any) error {
		return &CabinetError{File: name, Offset: off, Structure: "CFHEADER", Rule: fmt.Sprintf(format, args...)}
	}
	var b [cfHeaderSize + reserveFieldSize + sigHeaderSize]byte
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
	h := &cabHeader{
		fileSize:    size,
		totalSize:   int64(le.Uint32(b[8:])),
		offsetFiles: int64(le.Uint32(b[16:])),
		numFolders:  int(le.Uint16(b[26:])),
		numFiles:    int(le.Uint16(b[28:])),
		folderStart: cfHeaderSize,
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
	case h.totalSize < cfHeaderSize || h.totalSize > size:
		return nil, bad(8, "cbCabinet %d outside the file's %d bytes", h.totalSize, size)
	case h.offsetFiles > h.totalSize || h.offsetFiles > maxHeaderArea:
		return nil, bad(16, "coffFiles %d beyond the cabinet or the %d-byte header bound", h.offsetFiles, maxHeaderArea)
	}
	if flags&flagReserve != 0 {
		if n < len(b) {
			return nil, bad(cfHeaderSize, "reserve flag set but the header is truncated")
		}
		h.reserveHeader = int(le.Uint16(b[36:]))
		h.reserveFolder = int(b[38])
		h.reserveData = int(b[39])
		h.folderStart = cfHeaderSize + reserveFieldSize + int64(h.reserveHeader)
		sh := b[cfHeaderSize+reserveFieldSize:]
		h.sigOffset = int64(le.Uint32(sh[4:]))
		h.sigSize = int64(le.Uint32(sh[8:]))
		switch {
		case h.reserveHeader < sigHeaderSize:
			return nil, bad(36, "cbCFHeader %d is smaller than the %d-byte signature header", h.reserveHeader, sigHeaderSize)
		case h.reserveFolder != 0 || h.reserveData != 0:
			return nil, bad(38, "per-folder or per-data reserve (%d, %d) is not supported with signatures", h.reserveFolder, h.reserveData)
		case h.reserveHeader > sigHeaderSize && (h.sigOffset != 0 || h.sigSize != 0):
			return nil, bad(40, "a %d-byte reserve must be zeroed before signing", h.reserveHeader)
		case h.reserveHeader == sigHeaderSize && h.sigOffset != h.totalSize:
			return nil, bad(44, "signature header places the signature at %d, cbCabinet is %d", h.sigOffset, h.totalSize)
		case h.sigSize > MaxSignatureSize:
			return nil, bad(48, "signature of %d bytes exceeds %d", h.sigSize, MaxSignatureSize)
		}
	}
	if end := h.folderStart + int64(h.numFolders)*8; end > h.offsetFiles {
		return nil, bad(h.folderStart, "%d CFFOLDER entries end at %d, past coffFiles %d", h.numFolders, end, h.offsetFiles)
	}
	if h.numFolders == 0 || h.numFiles == 0 {
		return nil, bad(26, "a cabinet needs at least one folder and one file")
	}
	if want := h.totalSize + h.sigSize; size != want {
		return nil, bad(h.totalSize, "file is %d bytes, header says cabinet %d + signature %d", size, h.totalSize, h.sigSize)
	}
	return h, nil
}

// readSignature returns the signature blob appended to a signed cabinet.
func readSignature(name string, r io.ReaderAt, h *cabHeader) ([]byte, error) {
	if !h.signed() {
		return nil, fmt.Errorf("%s: %w", name, ErrNotSigned)
	}
	blob := make([]byte, h.sigSize)
	if _, err := r.ReadAt(blob, h.totalSize); err != nil {
		return nil, fmt.Errorf("reading signature of %s: %w", name, err)
	}
	return blob, nil
}

// readUpdate returns the update.json embedded in the cabinet (nil when it
// holds none), read through the packager's reader: the cabinet structure
// is checked, update.json is decompressed through a bound of
// manifest.MaxUpdateJSONSize bytes and parsed strictly by
// manifest.ParseUpdateJSON. A present but invalid update.json is an
// *UpdateJSONError: signing or trusting a cabinet whose manifest the
// device side would refuse helps nobody. The opened cabinet is returned
// for further reads (os-kind vendor packages); the caller closes it.
func readUpdate(name string, r io.ReaderAt, size int64) (*manifest.Update, *packager.Cabinet, error) {
	cab, err := packager.Open(r, size, packager.WithName(name))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrMalformed, err) // err names the file and the place
	}
	var entry *packager.Entry
	for _, e := range cab.Files() {
		if strings.EqualFold(e.Name, manifestName) {
			entry = &e
			break
		}
	}
	if entry == nil {
		return nil, cab, nil
	}
	if entry.Size > maxManifestSize {
		return nil, nil, &UpdateJSONError{File: name, Err: fmt.Errorf("%s is %d bytes, more than %d", manifestName, entry.Size, maxManifestSize)}
	}
	rc, err := cab.Open(entry.Name)
	if err != nil {
		return nil, nil, &CabinetError{File: name, Rule: fmt.Sprintf("%s: %v", manifestName, err)}
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxManifestSize+1))
	if err != nil {
		return nil, nil, &CabinetError{File: name, Rule: fmt.Sprintf("%s: %v", manifestName, err)}
	}
	u, err := manifest.ParseUpdateJSON(name+"!"+manifestName, data)
	if err != nil {
		return nil, nil, &UpdateJSONError{File: name, Err: err}
	}
	return u, cab, nil
}

// kindOf is the update's kind, "" for a cabinet without update.json.
func kindOf(u *manifest.Update) string {
	if u == nil {
		return ""
	}
	return string(u.Kind)
}
