package packager

import (
	"bytes"
	"context"
	"encoding/binary"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/devupdate/devupdate/internal/testtool"
)

var update = flag.Bool("update", false, "rewrite the golden cabinet in testdata")

func writeBytes(t *testing.T, files []File, opts ...Option) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := Write(context.Background(), &b, files, opts...); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDeterministic(t *testing.T) {
	in := testInput()
	a := writeBytes(t, filesOf(in), WithConcurrency(1))
	for _, n := range []int{1, 2, 8} {
		// filesOf iterates a map: the input order differs on every call.
		if b := writeBytes(t, filesOf(in), WithConcurrency(n)); !bytes.Equal(a, b) {
			t.Errorf("concurrency %d: output differs from concurrency 1", n)
		}
	}
	// In place (an *os.File) and spooled (a bytes.Buffer) give the same bytes.
	p, res := writeTemp(t, filesOf(in))
	if f, _ := os.ReadFile(p); !bytes.Equal(a, f) {
		t.Error("WriteFile output differs from Write to a buffer")
	}
	if res.Size != int64(len(a)) {
		t.Errorf("Result.Size %d, want %d", res.Size, len(a))
	}
}

// fileTimes returns the MS-DOS date and time of every CFFILE.
func fileTimes(t *testing.T, cab []byte) []time.Time {
	t.Helper()
	c, err := Open(context.Background(), bytes.NewReader(cab), int64(len(cab)))
	if err != nil {
		t.Fatal(err)
	}
	var ts []time.Time
	for _, e := range c.Files() {
		ts = append(ts, e.Modified)
	}
	return ts
}

func TestSourceDateEpoch(t *testing.T) {
	files := []File{memFile("a", []byte("a")), memFile("b", nil)}
	def := writeBytes(t, files)
	for _, ts := range fileTimes(t, def) {
		if !ts.Equal(DefaultModTime) {
			t.Errorf("default time %v, want %v", ts, DefaultModTime)
		}
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1700000001") // 2023-11-14T22:13:21Z
	sde := writeBytes(t, files)
	want := time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC) // 2-second resolution
	for _, ts := range fileTimes(t, sde) {
		if !ts.Equal(want) {
			t.Errorf("SOURCE_DATE_EPOCH time %v, want %v", ts, want)
		}
	}
	if again := writeBytes(t, files); !bytes.Equal(sde, again) {
		t.Error("same SOURCE_DATE_EPOCH, different bytes")
	}
	// An explicit time wins over the environment.
	opt := WithModTime(time.Date(2020, 2, 29, 12, 0, 0, 0, time.UTC))
	for _, ts := range fileTimes(t, writeBytes(t, files, opt)) {
		if ts.Year() != 2020 || ts.Month() != 2 || ts.Day() != 29 {
			t.Errorf("WithModTime time %v", ts)
		}
	}
	t.Setenv("SOURCE_DATE_EPOCH", "0") // before 1980: clamped
	for _, ts := range fileTimes(t, writeBytes(t, files)) {
		if !ts.Equal(DefaultModTime) {
			t.Errorf("SOURCE_DATE_EPOCH=0 time %v, want %v", ts, DefaultModTime)
		}
	}
}

// goldenFiles is the small fixed input of testdata/golden.cab.
func goldenFiles() []File {
	return []File{
		memFile("update.json", []byte(`{"name":"Contoso.Toaster.Settings","version":"1.0.0.1"}`+"\n")),
		memFile("settings/empty.txt", nil),
		memFile("settings/readme.txt", bytes.Repeat([]byte("MSZIP golden cabinet\n"), 3000)),
	}
}

// TestGolden compares our output for a small fixed input with a cabinet
// reviewed by hand (go test -run TestGolden -update rewrites it). Its
// header bytes are also checked field by field against [MS-CAB], and the
// golden file is checked with cabextract, independently of our reader. It
// carries the signature reserve, whose fields are checked too.
func TestGolden(t *testing.T) {
	golden := filepath.Join("testdata", "golden.cab")
	got := writeBytes(t, goldenFiles(), WithModTime(time.Date(2024, 1, 2, 3, 4, 6, 0, time.UTC)), WithSignatureReserve(true))
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("output differs from %s (%d bytes, want %d)", golden, len(got), len(want))
	}
	le := binary.LittleEndian
	checks := []struct {
		field     string
		got, want uint64
	}{
		{"signature", uint64(le.Uint32(want[0:])), 0x4643534d},
		{"cbCabinet", uint64(le.Uint32(want[8:])), uint64(len(want))},
		{"coffFiles", uint64(le.Uint32(want[16:])), 36 + 4 + 20 + 8},
		{"version", uint64(le.Uint16(want[24:])), 0x0103},
		{"cFolders", uint64(le.Uint16(want[26:])), 1},
		{"cFiles", uint64(le.Uint16(want[28:])), 3},
		{"flags", uint64(le.Uint16(want[30:])), flagReservePresent},
		{"cbCFHeader", uint64(le.Uint16(want[36:])), 20},
		{"cbCFFolder+cbCFData", uint64(le.Uint16(want[38:])), 0},
		{"reserve magic", uint64(le.Uint32(want[40:])), 0x00100000},
		{"reserve cabinet size", uint64(le.Uint32(want[44:])), uint64(len(want))},
		{"reserve signature size", uint64(le.Uint32(want[48:])), 0},
		{"CFFOLDER.cCFData", uint64(le.Uint16(want[64:])), 2}, // 63,000 bytes
		{"CFFOLDER.typeCompress", uint64(le.Uint16(want[66:])), 1},
		// First CFFILE (sorted: settings/empty.txt): size 0, offset 0,
		// folder 0, date 2024-01-02, time 03:04:06, attributes archive.
		{"CFFILE date", uint64(le.Uint16(want[68+10:])), 44<<9 | 1<<5 | 2},
		{"CFFILE time", uint64(le.Uint16(want[68+12:])), 3<<11 | 4<<5 | 3},
		{"CFFILE attribs", uint64(le.Uint16(want[68+14:])), 0x20},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.field, c.got, c.want)
		}
	}
	if name := string(want[68+16 : 68+16+len(`settings\empty.txt`)]); name != `settings\empty.txt` {
		t.Errorf("first name %q", name)
	}
	out := runTool(t, "", testtool.Need(t, "cabextract"), "-t", golden)
	if !bytes.Contains([]byte(out), []byte("All done, no errors.")) {
		t.Errorf("cabextract -t %s: %s", golden, out)
	}
	if out := runTool(t, "", testtool.Need(t, "7z"), "t", golden); !bytes.Contains([]byte(out), []byte("Everything is Ok")) {
		t.Errorf("7z t %s: %s", golden, out)
	}
}
