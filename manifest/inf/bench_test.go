package inf

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkParse parses a large driver INF (2,000 source files, each also
// copied by a CopyFiles section), in UTF-16LE as Windows tools write it.
func BenchmarkParse(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("[Version]\r\nSignature=\"$Windows NT$\"\r\nCatalogFile=big.cat\r\n[SourceDisksNames]\r\n1=%Disk%,,,\\files\r\n[SourceDisksFiles]\r\n")
	for i := range 2000 {
		fmt.Fprintf(&sb, "file%04d.dll = 1,sub%02d ; comment %d\r\n", i, i%50, i)
	}
	sb.WriteString("[Install.NT]\r\nCopyFiles = Files\r\n[Files]\r\n")
	for i := range 2000 {
		fmt.Fprintf(&sb, "file%04d.dll,,,0x00004000\r\n", i)
	}
	sb.WriteString("[Strings]\r\nDisk=\"Big disk\"\r\n")
	data := utf16le(sb.String())
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		f, err := Parse("big.inf", data)
		if err != nil || len(f.Files) != 2000 {
			b.Fatalf("Parse: %v (%d files)", err, len(f.Files))
		}
	}
}
