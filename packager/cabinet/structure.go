package cabinet

import (
	"bufio"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
)

// CheckStructure checks, without decompressing anything, what a cabinet
// must be before it is signed or trusted: every name follows the path
// rules and none collides with another (see CheckPath, CheckPaths); every
// folder's data lies after the CFFILE entries and overlaps no other
// folder's; no two files of a folder overlap; and every CFDATA block whose
// checksum is set matches it (ErrChecksum). Whether the compressed data
// inflates is for Test and for extraction. The CFDATA blocks are read once,
// in file order, through one buffer: memory stays flat whatever the size.
func (c *Cabinet) CheckStructure(ctx context.Context) error {
	if err := c.checkLayout(); err != nil {
		return err
	}
	return c.checkChecksums(ctx)
}

// checkLayout checks the names and that no folder's data and no file
// overlaps another: what the structures say, without reading data.
func (c *Cabinet) checkLayout() error {
	if _, err := c.checkNames(); err != nil {
		return err
	}
	order := c.foldersByOffset()
	end, prev := c.filesEnd, -1
	for _, i := range order {
		fo := c.folders[i]
		if fo.Blocks > 0 && fo.Offset < end {
			what := "the CFFILE entries"
			if prev >= 0 {
				what = fmt.Sprintf("CFFOLDER[%d]'s data", prev)
			}
			return c.errf(ErrMalformed, fmt.Sprintf("CFFOLDER[%d]", i), fo.Offset, "data begins at %d, inside %s (which end at %d)", fo.Offset, what, end)
		}
		if fo.Blocks > 0 {
			end, prev = fo.Offset+fo.CompressedSize, i
		}
	}
	files := make([]int, len(c.files))
	for i := range files {
		files[i] = i
	}
	slices.SortStableFunc(files, func(a, b int) int {
		fa, fb := c.files[a], c.files[b]
		return cmp.Or(cmp.Compare(fa.Folder, fb.Folder), cmp.Compare(fa.Offset, fb.Offset))
	})
	for k := 1; k < len(files); k++ {
		a, b := c.files[files[k-1]], c.files[files[k]]
		if a.Folder == b.Folder && b.Offset < a.Offset+a.Size && b.Size > 0 {
			return c.errf(ErrMalformed, fmt.Sprintf("CFFILE[%d]", files[k]), c.filesEnd, "%q (bytes %d to %d of folder %d) overlaps %q (bytes %d to %d)",
				b.Name, b.Offset, b.Offset+b.Size, b.Folder, a.Name, a.Offset, a.Offset+a.Size)
		}
	}
	return nil
}

// foldersByOffset returns the folders' indexes in the order their data
// lies in the file.
func (c *Cabinet) foldersByOffset() []int {
	order := make([]int, len(c.folders))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(c.folders[a].Offset, c.folders[b].Offset) })
	return order
}

// checkChecksums reads every CFDATA block, in file order, and compares
// the checksums that are set ([MS-CAB]: zero means none was computed).
func (c *Cabinet) checkChecksums(ctx context.Context) error {
	buf := make([]byte, dataHeaderSize+int(c.cbData)+maxBlockData)
	for _, fi := range c.foldersByOffset() {
		fo := c.folders[fi]
		if fo.Blocks == 0 {
			continue
		}
		br := bufio.NewReaderSize(io.NewSectionReader(c.ra, fo.Offset, fo.CompressedSize), 256<<10)
		off := fo.Offset
		for i := range fo.Blocks {
			if i%64 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			name := fmt.Sprintf("CFDATA[%d/%d]", fi, i)
			hdr := buf[:dataHeaderSize+int(c.cbData)]
			if _, err := io.ReadFull(br, hdr); err != nil {
				return c.readError(err, name, off)
			}
			sum := binary.LittleEndian.Uint32(hdr)
			cbData := int(binary.LittleEndian.Uint16(hdr[4:]))
			data := buf[len(hdr) : len(hdr)+cbData] // Open bounded cbData
			if _, err := io.ReadFull(br, data); err != nil {
				return c.readError(err, name, off)
			}
			// The checksum covers the data, then cbData, cbUncomp and the
			// per-block reserve.
			if sum != 0 {
				if got := checksum(hdr[4:], checksum(data, 0)); got != sum {
					return c.errf(ErrChecksum, name, off, "checksum %#08x, computed %#08x", sum, got)
				}
			}
			off += int64(len(hdr) + cbData)
		}
	}
	return nil
}

func (c *Cabinet) readError(err error, structure string, off int64) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return c.errf(ErrMalformed, structure, off, "truncated")
	}
	return fmt.Errorf("%s: reading %s at offset %d: %w", c.o.name, structure, off, err)
}
