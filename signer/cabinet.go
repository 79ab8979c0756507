package signer

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/devupdate/devupdate/manifest"
)

// Bounds applied to untrusted cabinets before any field is trusted.
const (
	// maxHeaderArea bounds everything before the first CFFILE (CFHEADER,
	// reserve, CFFOLDERs): relic buffers it whole.
	maxHeaderArea = 1 << 20
	// MaxSignatureSize bounds the PKCS#7 blob appended to a cabinet.
	MaxSignatureSize = 1 << 20
	// maxManifestSize bounds the embedded update.json read for its kind.
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
		return &CabinetError{File: name, Offset: off, Rule: fmt.Sprintf(format, args...)}
	}
	var b [cfHeaderSize + reserveFieldSize + sigHeaderSize]byte
	n, err := r.ReadAt(b[:], 0)
	if n < cfHeaderSize {
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		return nil, bad(0, "shorter than a cabinet header (%d bytes)", n)
	}
	le := binary.LittleEndian
	if string(b[:4]) != cabMagic {
		return nil, bad(0, "signature is not MSCF")
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

// cabKind returns the "kind" field (manifest.Kind) of the update.json
// embedded in the cabinet, or "" when it holds none. Only that field is
// decoded: whether the rest of update.json is valid is the manifest
// checker's business, not a reason to sign or refuse. It reads through bounds only: the file
// table, then the one folder's data blocks up to the end of update.json,
// inflating MSZIP blocks 32 KiB at a time.
func cabKind(name string, r io.ReaderAt, h *cabHeader) (string, error) {
	bad := func(off int64, format string, args ...any) error {
		return &CabinetError{File: name, Offset: off, Rule: fmt.Sprintf(format, args...)}
	}
	le := binary.LittleEndian
	br := bufio.NewReader(io.NewSectionReader(r, h.offsetFiles, h.totalSize-h.offsetFiles))
	off := h.offsetFiles
	var (
		found             bool
		fileSize, fileOff int64
		folder            int
		entry             [16]byte
	)
	for i := 0; i < h.numFiles; i++ {
		if _, err := io.ReadFull(br, entry[:]); err != nil {
			return "", bad(off, "CFFILE %d truncated", i)
		}
		nameBytes, err := br.ReadSlice(0)
		if err != nil || len(nameBytes) > 257 {
			return "", bad(off+16, "CFFILE %d name is not a NUL-terminated string of at most 256 bytes", i)
		}
		fname := string(nameBytes[:len(nameBytes)-1])
		if strings.EqualFold(fname, manifestName) {
			found = true
			fileSize = int64(le.Uint32(entry[0:]))
			fileOff = int64(le.Uint32(entry[4:]))
			folder = int(le.Uint16(entry[8:]))
			break
		}
		off += 16 + int64(len(nameBytes))
	}
	if !found {
		return "", nil
	}
	if fileSize > maxManifestSize {
		return "", bad(off, "%s is %d bytes, more than %d", manifestName, fileSize, maxManifestSize)
	}
	if folder >= h.numFolders {
		return "", bad(off+8, "%s names folder %d of %d", manifestName, folder, h.numFolders)
	}
	folderOff := h.folderStart + int64(folder)*int64(8+h.reserveFolder)
	var fb [8]byte
	if _, err := r.ReadAt(fb[:], folderOff); err != nil {
		return "", bad(folderOff, "CFFOLDER %d unreadable", folder)
	}
	dataOff := int64(le.Uint32(fb[0:]))
	blocks := int(le.Uint16(fb[4:]))
	compression := le.Uint16(fb[6:]) & 0xf
	if compression > 1 {
		return "", bad(folderOff+6, "folder %d compression %d: only none and MSZIP are read", folder, compression)
	}
	if dataOff < h.offsetFiles || dataOff > h.totalSize {
		return "", bad(folderOff, "folder %d data offset %d outside the cabinet", folder, dataOff)
	}
	data := bufio.NewReader(io.NewSectionReader(r, dataOff, h.totalSize-dataOff))
	var (
		out    bytes.Buffer // bytes of update.json collected so far
		window []byte       // MSZIP history: the previous block's output
		pos    int64        // uncompressed offset in the folder
		in     = make([]byte, 0xffff)
		plain  = make([]byte, 0x8000)
	)
	for i := 0; i < blocks && pos < fileOff+fileSize; i++ {
		var bh [8]byte
		if _, err := io.ReadFull(data, bh[:]); err != nil {
			return "", bad(dataOff, "CFDATA %d of folder %d truncated", i, folder)
		}
		if _, err := data.Discard(h.reserveData); err != nil {
			return "", bad(dataOff, "CFDATA %d of folder %d truncated", i, folder)
		}
		cb, ucb := int(le.Uint16(bh[4:])), int(le.Uint16(bh[6:]))
		if ucb > len(plain) {
			return "", bad(dataOff+6, "CFDATA %d uncompresses to %d bytes, more than 32768", i, ucb)
		}
		if _, err := io.ReadFull(data, in[:cb]); err != nil {
			return "", bad(dataOff, "CFDATA %d of folder %d truncated", i, folder)
		}
		if compression == 0 {
			if cb != ucb {
				return "", bad(dataOff+4, "uncompressed CFDATA %d sizes differ (%d, %d)", i, cb, ucb)
			}
			copy(plain, in[:cb])
		} else {
			if cb < 2 || in[0] != 'C' || in[1] != 'K' {
				return "", bad(dataOff+8, "MSZIP CFDATA %d does not start with CK", i)
			}
			fr := flate.NewReaderDict(bytes.NewReader(in[2:cb]), window)
			if _, err := io.ReadFull(fr, plain[:ucb]); err != nil {
				return "", bad(dataOff+8, "MSZIP CFDATA %d does not inflate to %d bytes: %v", i, ucb, err)
			}
			window = append(window, plain[:ucb]...)
			if n := len(window) - 0x8000; n > 0 {
				window = append(window[:0], window[n:]...)
			}
		}
		// keep the part of this block that belongs to update.json
		lo, hi := max(fileOff-pos, 0), min(fileOff+fileSize-pos, int64(ucb))
		if lo < hi {
			out.Write(plain[lo:hi])
		}
		pos += int64(ucb)
		dataOff += 8 + int64(h.reserveData) + int64(cb)
	}
	if int64(out.Len()) != fileSize {
		return "", bad(dataOff, "folder %d ends before %s does", folder, manifestName)
	}
	var m struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		return "", fmt.Errorf("%s: %s: %w: %v", name, manifestName, ErrMalformed, err)
	}
	return m.Kind, nil
}
