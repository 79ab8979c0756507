package packager

import (
	"fmt"
	"time"

	"github.com/devupdate/devupdate/packager/cabinet"
)

// The cabinet layout is package cabinet's (the reader the device side
// imports without this writer); these are its names in the writer.
const (
	signature          = cabinet.Magic
	headerSize         = cabinet.HeaderSize
	reserveFieldLen    = cabinet.ReserveFieldSize
	folderEntrySize    = cabinet.FolderEntrySize
	fileEntrySize      = cabinet.FileEntrySize
	dataHeaderSize     = cabinet.DataHeaderSize
	blockSize          = cabinet.BlockSize
	flagReservePresent = cabinet.FlagReservePresent
	attrArchive        = cabinet.AttrArchive
	attrNameIsUTF      = cabinet.AttrNameIsUTF
	sigReserveSize     = cabinet.SignatureReserveSize
	sigReserveMagic    = cabinet.SignatureReserveMagic
)

var dataChecksum = cabinet.DataChecksum

// DefaultModTime is the time stamped on every file when neither WithModTime
// nor SOURCE_DATE_EPOCH says otherwise: the earliest MS-DOS time.
var DefaultModTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// dosTime encodes t (in UTC) as the MS-DOS date and time of CFFILE. The
// format covers 1980 to 2107 with 2-second resolution.
func dosTime(t time.Time) (date, tm uint16, err error) {
	t = t.UTC()
	if t.Year() < 1980 || t.Year() > 2107 {
		return 0, 0, fmt.Errorf("%w: %s is outside the MS-DOS range 1980-2107", ErrInvalidOption, t.Format(time.RFC3339))
	}
	date = uint16(t.Year()-1980)<<9 | uint16(t.Month())<<5 | uint16(t.Day())
	tm = uint16(t.Hour())<<11 | uint16(t.Minute())<<5 | uint16(t.Second()/2)
	return date, tm, nil
}
