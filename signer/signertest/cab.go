package signertest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devupdate/devupdate/internal/testtool"
	"github.com/devupdate/devupdate/manifest"
	"github.com/devupdate/devupdate/smbios"
)

// File is one file to put in a test cabinet.
type File struct {
	Name string
	Data []byte
}

// GcabCabinet makes an MSZIP cabinet of files with the real gcab (`gcab -c
// -z`), as an independent producer of the cabinets signer must accept.
func GcabCabinet(t testing.TB, path string, files ...File) string {
	t.Helper()
	gcab := testtool.Need(t, "gcab")
	dir := t.TempDir()
	args := []string{"-c", "-z", path}
	for _, f := range files {
		p := filepath.Join(dir, f.Name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, f.Name)
	}
	cmd := exec.Command(gcab, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcab: %v\n%s", err, out)
	}
	return path
}

// StoredCabinet writes an uncompressed single-folder cabinet of files. With
// reserve it carries the 20-byte Authenticode header reserve the packager
// leaves (signature offset = cbCabinet, size 0), so signing fills it and
// appends without moving any data. It stands in for the packager in tests.
func StoredCabinet(t testing.TB, path string, reserve bool, files ...File) string {
	t.Helper()
	le := binary.LittleEndian
	hdrLen := 36
	if reserve {
		hdrLen += 4 + 20
	}
	folderLen := 8
	filesLen := 0
	var payload []byte
	for _, f := range files {
		filesLen += 16 + len(f.Name) + 1
		payload = append(payload, f.Data...)
	}
	var blocks [][]byte
	for len(payload) > 0 {
		n := min(len(payload), 32768)
		blocks = append(blocks, payload[:n])
		payload = payload[n:]
	}
	if len(blocks) == 0 {
		blocks = [][]byte{{}}
	}
	dataStart := hdrLen + folderLen + filesLen
	total := dataStart
	for _, b := range blocks {
		total += 8 + len(b)
	}
	var buf bytes.Buffer
	w := func(v any) { _ = binary.Write(&buf, le, v) }
	buf.WriteString("MSCF")
	w(uint32(0))
	w(uint32(total))
	w(uint32(0))
	w(uint32(hdrLen + folderLen))
	w(uint32(0))
	w([]byte{3, 1})
	w(uint16(1))          // folders
	w(uint16(len(files))) // files
	flags := uint16(0)
	if reserve {
		flags = 4
	}
	w(flags)
	w(uint16(0x1234)) // set id
	w(uint16(0))
	if reserve {
		w(uint16(20))
		w([]byte{0, 0})
		w(uint32(0x100000))
		w(uint32(total)) // where the signature will go
		w(uint32(0))     // its size: none yet
		w(uint32(0))
		w(uint32(0))
	}
	w(uint32(dataStart))
	w(uint16(len(blocks)))
	w(uint16(0)) // no compression
	off := uint32(0)
	for _, f := range files {
		w(uint32(len(f.Data)))
		w(off)
		w(uint16(0))
		w(uint16(0x5a21)) // 2025-01-01
		w(uint16(0))
		w(uint16(0x20))
		buf.WriteString(f.Name)
		buf.WriteByte(0)
		off += uint32(len(f.Data))
	}
	for _, b := range blocks {
		w(uint32(0)) // checksum 0: not computed, allowed by [MS-CAB]
		w(uint16(len(b)))
		w(uint16(len(b)))
		buf.Write(b)
	}
	if buf.Len() != total {
		t.Fatalf("StoredCabinet: wrote %d bytes, planned %d", buf.Len(), total)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TargetCHID is the target CHID of the update.json UpdateJSON writes
// (fwupd's ThinkPad T440s HardwareID-3).
const TargetCHID = "3faec92a-3ae3-5744-be88-495e90a7d541"

// UpdateJSON returns a valid update.json (manifest.ParseUpdateJSON accepts
// it) of the given kind listing files with their sizes and SHA-256: a
// driver's .inf and an app's package are the first file with a matching
// extension, an os update brings build 10.0.17763.615.
func UpdateJSON(t testing.TB, kind manifest.Kind, files ...File) File {
	t.Helper()
	chid, err := smbios.ParseCHID(TargetCHID)
	if err != nil {
		t.Fatal(err)
	}
	u := &manifest.Update{Name: "Contoso.Toaster.Test", Kind: kind, Version: manifest.Version{1, 0, 0, 1}, Targets: []smbios.CHID{chid}}
	for _, f := range files {
		sum := sha256.Sum256(f.Data)
		u.Files = append(u.Files, manifest.File{Path: f.Name, Size: int64(len(f.Data)), SHA256: hex.EncodeToString(sum[:])})
		switch ext := strings.ToLower(path.Ext(f.Name)); {
		case kind == manifest.KindDriver && ext == ".inf" && u.INF == "":
			u.INF = f.Name
		case kind == manifest.KindApp && (ext == ".msix" || ext == ".appx") && u.Package == "":
			u.Package = f.Name
		}
	}
	if kind == manifest.KindOS {
		u.OSBuild, u.VendorSigned = manifest.Version{10, 0, 17763, 615}, true
	}
	doc, err := u.EncodeJSON()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := manifest.ParseUpdateJSON("update.json", doc); err != nil {
		t.Fatalf("signertest.UpdateJSON wrote an invalid update.json: %v", err)
	}
	return File{Name: manifest.UpdateJSONName, Data: doc}
}

// DuplicateFolder turns the one-folder cabinet at path (as StoredCabinet
// writes it) into a two-folder cabinet whose second CFFOLDER points at the
// first's data: folders that overlap, which no writer makes and a hostile
// cabinet may.
func DuplicateFolder(t testing.TB, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	if le.Uint16(b[26:]) != 1 {
		t.Fatalf("DuplicateFolder: %s has %d folders, want 1", path, le.Uint16(b[26:]))
	}
	fs := 36
	reserve := le.Uint16(b[30:])&4 != 0
	if reserve {
		fs += 4 + int(le.Uint16(b[36:]))
	}
	folder := append([]byte(nil), b[fs:fs+8]...)
	out := append(append(append([]byte(nil), b[:fs+8]...), folder...), b[fs+8:]...)
	le.PutUint32(out[8:], le.Uint32(out[8:])+8)   // cbCabinet
	le.PutUint32(out[16:], le.Uint32(out[16:])+8) // coffFiles
	le.PutUint16(out[26:], 2)                     // cFolders
	for _, f := range []int{fs, fs + 8} {
		le.PutUint32(out[f:], le.Uint32(out[f:])+8) // coffCabStart
	}
	if reserve && le.Uint16(out[36:]) == 20 {
		le.PutUint32(out[44:], le.Uint32(out[44:])+8) // where the signature goes
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}
