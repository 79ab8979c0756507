package authenticode

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"

	"github.com/devupdate/devupdate/internal/iox"
)

// Offsets in the header area of a signed cabinet.
const (
	offReserved1  = 4  // CFHEADER.reserved1: not hashed
	offICabinet   = 34 // CFHEADER.iCabinet: not hashed
	offSigUnknown = cfHeaderSize + reserveFieldSize + 16
	// headerProbe is what ReadHeader reads: CFHEADER, the reserve sizes
	// and the 20-byte signature header.
	headerProbe = cfHeaderSize + reserveFieldSize + SignatureHeaderSize
)

// imprinter computes the Authenticode imprint (SHA-256) of a signed
// cabinet from its bytes, written to it in order in one streaming pass, and
// keeps the signature blob appended at its end: the CFHEADER without
// reserved1 and iCabinet, the last word of the 20-byte signature header,
// the CFFOLDER entries, and everything from coffFiles to cbCabinet. It is
// the digest Windows, relic and osslsigncode compute for a cabinet that
// carries the 20-byte Authenticode reserve. It holds at most the header
// area (maxHeaderArea) and the signature (MaxSignatureSize), whatever the
// cabinet's size: the header is parsed (ReadHeader) from the first bytes
// and the rest hashed as it streams, so a vendor package is verified as it
// is decompressed, never held whole. The first refusal sticks: Write
// returns it and takes nothing more.
type imprinter struct {
	name string
	size int64
	h    *Header
	head []byte // the header area, up to coffFiles
	d    hash.Hash
	n    int64 // bytes written
	sig  []byte
	err  error
}

func newImprinter(name string, size int64) *imprinter {
	return &imprinter{name: name, size: size, d: sha256.New()}
}

func (m *imprinter) Write(p []byte) (int, error) {
	if m.err != nil {
		return 0, m.err
	}
	written := len(p)
	for len(p) > 0 {
		var k int
		switch h := m.h; {
		case h == nil:
			k = min(len(p), headerProbe-len(m.head))
			m.head = append(m.head, p[:k]...)
			if int64(len(m.head)) == min(headerProbe, m.size) {
				m.err = m.parseHeader()
			}
		case m.n < h.OffsetFiles:
			k = int(min(int64(len(p)), h.OffsetFiles-m.n))
			m.head = append(m.head, p[:k]...)
			if m.n+int64(k) == h.OffsetFiles {
				m.d.Write(m.head[:offReserved1])
				m.d.Write(m.head[offReserved1+4 : offICabinet])
				m.d.Write(m.head[offSigUnknown : offSigUnknown+4])
				m.d.Write(m.head[h.FolderStart:h.OffsetFiles])
			}
		case m.n < h.CabinetSize:
			k = int(min(int64(len(p)), h.CabinetSize-m.n))
			m.d.Write(p[:k])
		case m.n < m.size:
			k = int(min(int64(len(p)), m.size-m.n))
			m.sig = append(m.sig, p[:k]...)
		default:
			m.err = &CabinetError{File: m.name, Offset: m.n, Rule: fmt.Sprintf("more than the %d bytes the cabinet has", m.size)}
		}
		if m.err != nil {
			return written - len(p), m.err
		}
		m.n += int64(k)
		p = p[k:]
	}
	return written, nil
}

// parseHeader reads the header from its first bytes: a cabinet that is
// not signed is refused at once, before any hashing.
func (m *imprinter) parseHeader() error {
	h, err := ReadHeader(m.name, bytes.NewReader(m.head), m.size)
	if err != nil {
		return err
	}
	if !h.Signed() {
		return fmt.Errorf("%s: %w", m.name, ErrNotSigned)
	}
	// ReadHeader refuses a larger reserve that is not zeroed, so a signed
	// cabinet carries exactly the 20-byte one.
	m.h = h
	m.head = append(make([]byte, 0, h.OffsetFiles), m.head...)
	return nil
}

// Sum returns the imprint and the signature blob once every byte of the
// cabinet has been written.
func (m *imprinter) Sum() (imprint, sig []byte, err error) {
	if m.err == nil && m.h == nil && m.n == m.size {
		m.err = m.parseHeader() // fewer bytes than a header: say which rule
	}
	if m.err != nil {
		return nil, nil, m.err
	}
	if m.n != m.size {
		return nil, nil, &CabinetError{File: m.name, Offset: m.n, Rule: fmt.Sprintf("cabinet ends at %d of its %d bytes", m.n, m.size)}
	}
	return m.d.Sum(nil), m.sig, nil
}

// imprint streams size bytes of r through an imprinter.
func imprint(ctx context.Context, name string, r io.ReaderAt, size int64) (digest, sig []byte, err error) {
	m := newImprinter(name, size)
	if _, err := io.CopyBuffer(m, iox.ContextReader(ctx, io.NewSectionReader(r, 0, size)), make([]byte, 256<<10)); err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		if m.err != nil {
			return nil, nil, m.err
		}
		return nil, nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return m.Sum()
}
