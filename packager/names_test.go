package packager_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/devupdate/devupdate/manifest/update"
	"github.com/devupdate/devupdate/packager"
	"github.com/devupdate/devupdate/signer/signertest"
)

// TestPathRulesAgree: update.json (manifest/update), the writer (devupdate
// build and cab create) and the reader (extraction, signing) give the
// same answer for every path: one rule set.
func TestPathRulesAgree(t *testing.T) {
	tests := []struct {
		path string
		want error // nil: accepted
	}{
		{"a.txt", nil},
		{"dir/sub/ünï名前.txt", nil},
		{"CON", update.ErrPathName},
		{"dir/nul.txt", update.ErrPathName},
		{"a.", update.ErrPathName},
		{"a ", update.ErrPathName},
		{"a?b", update.ErrPathName},
		{"a:b", update.ErrPathAbsolute}, // drive A:, relative to its current directory
		{"ab:c", update.ErrPathName},    // an alternate data stream
		{"c:/x", update.ErrPathAbsolute},
		{"/etc/passwd", update.ErrPathAbsolute},
		{"../x", update.ErrPathEscape},
		{"a/../../x", update.ErrPathEscape},
		{"a//b", update.ErrPathSegment},
		{"./a", update.ErrPathSegment},
		{"tab\there", update.ErrPathName},
		{"esc\x1b[2J", update.ErrPathName},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			errJSON := update.CheckPath(tt.path)
			_, errWrite := packager.Write(context.Background(), new(bytes.Buffer), []packager.File{{
				Name: tt.path, Size: 1, Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader([]byte("x"))), nil },
			}})
			_, errRead := packager.SafePath(tt.path)
			for who, err := range map[string]error{"update.CheckPath": errJSON, "the writer": errWrite, "SafePath": errRead} {
				if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
					t.Errorf("%s: %v, want %v", who, err, tt.want)
				}
			}
		})
	}
	// Stored names use '\': UNC and absolute forms are refused as such.
	for _, stored := range []string{`\\server\share\x`, `\x`, `c:\x`} {
		if _, err := packager.SafePath(stored); !errors.Is(err, update.ErrPathAbsolute) {
			t.Errorf("SafePath(%q): %v, want ErrPathAbsolute", stored, err)
		}
	}
}

// TestCollidingNames: names that Windows takes for one file (case), or a
// file that is a directory of another, are refused by the writer and by
// extraction, which then writes nothing.
func TestCollidingNames(t *testing.T) {
	for _, names := range [][]string{{"a.txt", "A.TXT"}, {"dir", "dir/x"}, {"Dir", "dir/x"}} {
		var files []packager.File
		var stored []signertest.File
		for _, n := range names {
			files = append(files, packager.File{Name: n, Size: 1, Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader([]byte("x"))), nil }})
			stored = append(stored, signertest.File{Name: n, Data: []byte("x")})
		}
		if _, err := packager.Write(context.Background(), new(bytes.Buffer), files); !errors.Is(err, packager.ErrInvalidName) {
			t.Errorf("writer with %q: %v, want ErrInvalidName", names, err)
		}
		cab := signertest.StoredCabinet(t, filepath.Join(t.TempDir(), "c.cab"), false, stored...)
		c, err := packager.OpenFile(context.Background(), cab)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "out")
		if _, err := c.Extract(context.Background(), out); !errors.Is(err, packager.ErrInvalidName) {
			t.Errorf("extracting %q: %v, want ErrInvalidName", names, err)
		}
		c.Close()
		if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("extracting %q made %s", names, out)
		}
	}
}

// TestFailedExtractLeavesNothing: a cabinet whose last block is corrupt
// fails extraction after earlier files were written; they are removed
// again, with the directories made for them and the target directory.
func TestFailedExtractLeavesNothing(t *testing.T) {
	var b bytes.Buffer
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<13) // 128 KiB: several blocks
	if _, err := packager.Write(context.Background(), &b, []packager.File{
		{Name: "a/first.bin", Size: int64(len(big)), Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(big)), nil }},
		{Name: "z/last.bin", Size: int64(len(big)), Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(big)), nil }},
	}, packager.WithCompression(packager.None)); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	raw[len(raw)-100] ^= 0xff // in z/last.bin's last block
	cab := filepath.Join(t.TempDir(), "c.cab")
	if err := os.WriteFile(cab, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := packager.OpenFile(context.Background(), cab)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, existing := range []bool{false, true} {
		out := filepath.Join(t.TempDir(), "out")
		if existing {
			if err := os.MkdirAll(filepath.Join(out, "keep"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.Extract(context.Background(), out); !errors.Is(err, packager.ErrChecksum) {
			t.Fatalf("extract: %v, want ErrChecksum", err)
		}
		left, _ := filepath.Glob(filepath.Join(out, "*"))
		switch {
		case !existing && left != nil:
			t.Errorf("a failed extraction into a new directory left %q", left)
		case !existing:
			if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a failed extraction left the directory it made")
			}
		case len(left) != 1 || filepath.Base(left[0]) != "keep":
			t.Errorf("a failed extraction into an existing directory left %q, want only what was there", left)
		}
	}
}
