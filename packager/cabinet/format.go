package cabinet

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"
)

// Format limits of [MS-CAB]. The writer refuses input beyond them (a
// *LimitError naming the limit and the numbers) rather than wrap a field.
const (
	// MaxFiles is the most files a cabinet holds (CFHEADER.cFiles is 16 bits).
	MaxFiles = 0xFFFF
	// MaxFolders is the most folders a cabinet holds (CFHEADER.cFolders).
	MaxFolders = 0xFFFF
	// MaxDataBlocks is the most CFDATA blocks in one folder (CFFOLDER.cCFData).
	MaxDataBlocks = 0xFFFF
	// MaxFolderSize is the most uncompressed bytes in one folder: MaxDataBlocks
	// blocks of 32 KiB. A file cannot span folders, so it is also the largest file.
	MaxFolderSize = 0x7FFF8000
	// MaxCabinetSize is the largest cabinet, in bytes.
	MaxCabinetSize = 0x7FFFFFFF
	// MaxNameLength is the longest file name in bytes, without the NUL terminator.
	MaxNameLength = 255
)

// Compression is a CFFOLDER.typeCompress method.
type Compression uint16

// The compression methods this package writes and reads.
const (
	None  Compression = 0 // stored
	MSZIP Compression = 1 // "CK" + deflate per 32 KiB block, history carried across blocks
)

func (c Compression) String() string {
	switch c {
	case None:
		return "none"
	case MSZIP:
		return "mszip"
	case 2:
		return "quantum"
	case 3:
		return "lzx"
	}
	return fmt.Sprintf("compression(%#x)", uint16(c))
}

// MarshalText names the method ("mszip", "none", ...) in JSON reports.
func (c Compression) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// Attributes are a CFFILE's attribs: MS-DOS file attributes plus the flag
// saying the name is UTF-8.
type Attributes uint16

// attrNames names each attribute bit, in bit order.
var attrNames = []struct {
	bit  Attributes
	name string
}{
	{attrReadOnly, "readonly"},
	{attrHidden, "hidden"},
	{attrSystem, "system"},
	{attrArchive, "archive"},
	{attrExec, "exec"},
	{attrNameIsUTF, "name_is_utf"},
}

// Names returns the names of the attributes set, in bit order; a bit the
// format does not define is named by its value ("0x0100").
func (a Attributes) Names() []string {
	names := []string{}
	for _, n := range attrNames {
		if a&n.bit != 0 {
			names = append(names, n.name)
			a &^= n.bit
		}
	}
	for bit := Attributes(1); a != 0; bit <<= 1 {
		if a&bit != 0 {
			names = append(names, fmt.Sprintf("0x%04x", uint16(bit)))
			a &^= bit
		}
	}
	return names
}

// MarshalJSON writes the attributes as a list of names (["archive"]), the
// contract's "names, not numbers".
func (a Attributes) MarshalJSON() ([]byte, error) { return json.Marshal(a.Names()) }

const (
	signature = 0x4643534d // "MSCF"

	headerSize      = 36 // CFHEADER without the optional fields
	reserveFieldLen = 4  // cbCFHeader, cbCFFolder, cbCFData
	folderEntrySize = 8  // CFFOLDER without reserve
	fileEntrySize   = 16 // CFFILE without the name
	dataHeaderSize  = 8  // CFDATA without reserve

	blockSize = 0x8000 // uncompressed bytes per CFDATA block
	// maxBlockData bounds CFDATA.cbData: [MS-CAB] lets compressed data
	// exceed the 32 KiB of uncompressed data by at most 6144 bytes.
	maxBlockData = blockSize + 6144

	flagPrevCabinet    = 0x0001
	flagNextCabinet    = 0x0002
	flagReservePresent = 0x0004

	attrReadOnly  = 0x01
	attrHidden    = 0x02
	attrSystem    = 0x04
	attrArchive   = 0x20
	attrExec      = 0x40
	attrNameIsUTF = 0x80

	// The Authenticode reserve: cbCFHeader = 20 bytes holding the signature
	// header that Windows' signing tools and relic's lib/cabfile read and
	// patch. Its first word is the constant 0x00100000, its second the
	// cabinet size (CFHEADER.cbCabinet, the offset where the signature will
	// be appended), its third the signature size (0 until signed).
	sigReserveSize  = 20
	sigReserveMagic = 0x00100000
)

// checksum is the CFDATA checksum of [MS-CAB] 2.5: the XOR of the little
// endian 32-bit words of p, the 1-3 trailing bytes taken big-endian first,
// folded into seed.
func checksum(p []byte, seed uint32) uint32 {
	// XOR is associative: four lanes of 8 bytes keep the CPU busy (the
	// checksum of every CFDATA block is computed when a cabinet is
	// written, and again when it is signed and verified).
	var x, y, z, w uint64
	for len(p) >= 32 {
		x ^= binary.LittleEndian.Uint64(p)
		y ^= binary.LittleEndian.Uint64(p[8:])
		z ^= binary.LittleEndian.Uint64(p[16:])
		w ^= binary.LittleEndian.Uint64(p[24:])
		p = p[32:]
	}
	x ^= y ^ z ^ w
	for len(p) >= 8 {
		x ^= binary.LittleEndian.Uint64(p)
		p = p[8:]
	}
	c := seed ^ uint32(x) ^ uint32(x>>32)
	if len(p) >= 4 {
		c ^= binary.LittleEndian.Uint32(p)
		p = p[4:]
	}
	switch len(p) {
	case 3:
		c ^= uint32(p[0])<<16 | uint32(p[1])<<8 | uint32(p[2])
	case 2:
		c ^= uint32(p[0])<<8 | uint32(p[1])
	case 1:
		c ^= uint32(p[0])
	}
	return c
}

// dataChecksum is CFDATA.csum for a block header (cbData, cbUncomp) and its
// data: the data first, then the four header bytes.
func dataChecksum(cbData, cbUncomp uint16, data []byte) uint32 {
	var h [4]byte
	binary.LittleEndian.PutUint16(h[0:], cbData)
	binary.LittleEndian.PutUint16(h[2:], cbUncomp)
	return checksum(h[:], checksum(data, 0))
}

// fromDOSTime decodes a CFFILE date and time, taken as UTC. Invalid fields
// give the zero time rather than an error: the time is informative only.
func fromDOSTime(date, tm uint16) time.Time {
	y, m, d := int(date>>9)+1980, time.Month(date>>5&0xF), int(date&0x1F)
	hh, mm, ss := int(tm>>11), int(tm>>5&0x3F), int(tm&0x1F)*2
	if m < 1 || m > 12 || d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 59 {
		return time.Time{}
	}
	return time.Date(y, m, d, hh, mm, ss, 0, time.UTC)
}

// The format constants and helpers the cabinet writer (package packager)
// shares with this reader, so the layout is written down once.
const (
	Magic                 = signature
	HeaderSize            = headerSize
	ReserveFieldSize      = reserveFieldLen
	FolderEntrySize       = folderEntrySize
	FileEntrySize         = fileEntrySize
	DataHeaderSize        = dataHeaderSize
	BlockSize             = blockSize
	FlagReservePresent    = flagReservePresent
	AttrArchive           = attrArchive
	AttrNameIsUTF         = attrNameIsUTF
	SignatureReserveSize  = sigReserveSize
	SignatureReserveMagic = sigReserveMagic
)

// DataChecksum is CFDATA.csum for a block header (cbData, cbUncomp) and its
// data.
func DataChecksum(cbData, cbUncomp uint16, data []byte) uint32 {
	return dataChecksum(cbData, cbUncomp, data)
}
