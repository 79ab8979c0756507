package packager

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devupdate/devupdate/internal/testtool"
)

// unopenable is a File of a synthetic size whose content must never be
// needed: limit checks happen before anything is read.
func unopenable(t *testing.T, name string, size int64) File {
	return File{Name: name, Size: size, Open: func() (io.ReadCloser, error) {
		t.Errorf("Open(context.Background(), %q) called: the limit must be checked before reading", name)
		return nil, errors.New("must not be opened")
	}}
}

func TestLimitsCheckedBeforeWriting(t *testing.T) {
	many := make([]File, MaxFiles+1)
	for i := range many {
		many[i] = unopenable(t, fmt.Sprintf("d%02d/f%05d", i/1000, i), 0)
	}
	tests := []struct {
		name  string
		files []File
		opts  []Option
		limit Limit
		value int64
		max   int64
	}{
		{"65536 files", many, nil, LimitFiles, MaxFiles + 1, MaxFiles},
		{"file larger than a folder", []File{unopenable(t, "huge.bin", MaxFolderSize+1)}, nil, LimitFileSize, MaxFolderSize + 1, MaxFolderSize},
		{"name of 256 bytes", []File{unopenable(t, strings.Repeat("n", 256), 1)}, nil, LimitNameLength, 256, MaxNameLength},
		{"stored cabinet over 2 GiB", []File{unopenable(t, "a.bin", MaxFolderSize), unopenable(t, "b.bin", 1<<20)},
			[]Option{WithCompression(None)}, LimitCabinetSize, 0, MaxCabinetSize},
		// With the folder limit raised past the format's (a test hook), the
		// per-folder check itself must still refuse the folder.
		{"folder over 0x7FFF8000", []File{unopenable(t, "a.bin", MaxFolderSize), unopenable(t, "b.bin", 1)},
			[]Option{withFolderLimit(MaxFolderSize + blockSize)}, LimitFolderSize, MaxFolderSize + 1, MaxFolderSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := Write(context.Background(), &out, tt.files, tt.opts...)
			var le *LimitError
			if !errors.As(err, &le) || !errors.Is(err, ErrLimit) {
				t.Fatalf("err = %v, want a *LimitError", err)
			}
			if le.Limit != tt.limit || le.Max != tt.max || (tt.value != 0 && le.Value != tt.value) || le.Value <= le.Max {
				t.Errorf("got %+v, want limit %q value %d max %d", le, tt.limit, tt.value, tt.max)
			}
			if out.Len() != 0 {
				t.Errorf("%d bytes written before the error", out.Len())
			}
		})
	}
}

// TestMaxFilesAccepted writes exactly 65,535 (empty) files: the limit is
// inclusive and the count is not wrapped.
func TestMaxFilesAccepted(t *testing.T) {
	files := make([]File, MaxFiles)
	for i := range files {
		files[i] = memFile(fmt.Sprintf("d%02d/f%05d", i/1000, i), nil)
	}
	p, res := writeTemp(t, files)
	c, err := OpenFile(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := len(c.Files()); got != MaxFiles || res.Files != MaxFiles {
		t.Errorf("read back %d files (Result %d), want %d", got, res.Files, MaxFiles)
	}
	// An independent reader sees the same count (gcab wraps 65,536 to 0).
	out := runTool(t, "", testtool.Need(t, "cabextract"), "-l", p)
	if n := strings.Count(out, "| d"); n != MaxFiles {
		t.Errorf("cabextract -l lists %d files, want %d", n, MaxFiles)
	}
}

// TestCabinetSizeLimitWhileCompressing: an MSZIP cabinet's size is only
// known while compressing; crossing the limit stops the writing, and
// WriteFile leaves nothing behind.
func TestCabinetSizeLimitWhileCompressing(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.cab")
	_, err := WriteFile(context.Background(), p, []File{memFile("r.bin", randomData(9, 200000))}, withCabinetLimit(100000))
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != LimitCabinetSize || le.Value <= 100000 {
		t.Fatalf("err = %v, want a cabinet size *LimitError", err)
	}
	assertEmptyDir(t, dir)
}

func withCabinetLimit(n int64) Option {
	return func(o *writeOptions) error {
		o.maxCabinetSize = n
		return nil
	}
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("left behind: %s", e.Name())
	}
}

// lying is a File whose content differs in length from its Size.
func lying(name string, declared int64, actual []byte) File {
	return File{Name: name, Size: declared, Open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(actual)), nil
	}}
}

func TestLyingSizes(t *testing.T) {
	tests := []struct {
		name string
		file File
		read int64
	}{
		{"longer", lying("a", 10, make([]byte, 11)), 11},
		{"shorter", lying("a", 100000, make([]byte, 70000)), 70000},
		{"empty but not", lying("a", 0, []byte("x")), 1},
		{"long file, longer", lying("a", 2*blockSize, make([]byte, 2*blockSize+1)), 2*blockSize + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			files := []File{memFile("b", textData(1, 100000)), tt.file}
			_, err := WriteFile(context.Background(), filepath.Join(dir, "x.cab"), files)
			var se *SizeMismatchError
			if !errors.As(err, &se) || !errors.Is(err, ErrSizeMismatch) {
				t.Fatalf("err = %v, want *SizeMismatchError", err)
			}
			if se.Name != "a" || se.Declared != tt.file.Size || se.Read != tt.read {
				t.Errorf("got %+v, want read %d", se, tt.read)
			}
			assertEmptyDir(t, dir)
		})
	}
}

func TestInvalidNames(t *testing.T) {
	for _, name := range []string{
		"", "/abs", "a//b", "a/", "../x", "a/../b", "./a", "a/./b", `a\b`, "C:x", "c:/x",
		"a\x00b", "a\nb", "a\x7fb", "\xff\xfe",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Write(context.Background(), io.Discard, []File{memFile(name, nil)})
			var ne *NameError
			if !errors.As(err, &ne) || !errors.Is(err, ErrInvalidName) || ne.Name != name {
				t.Errorf("err = %v, want *NameError for %q", err, name)
			}
		})
	}
	t.Run("case-insensitive duplicate", func(t *testing.T) {
		_, err := Write(context.Background(), io.Discard, []File{memFile("Dir/A.txt", nil), memFile("dir/a.TXT", nil)})
		if !errors.Is(err, ErrInvalidName) {
			t.Errorf("err = %v, want ErrInvalidName", err)
		}
	})
}

func TestWriteErrors(t *testing.T) {
	if _, err := Write(context.Background(), io.Discard, nil); !errors.Is(err, ErrNoFiles) {
		t.Errorf("no files: err = %v, want ErrNoFiles", err)
	}
	for name, opt := range map[string]Option{
		"concurrency 0": WithConcurrency(0),
		"quantum":       WithCompression(2),
		"year 1979":     WithModTime(DefaultModTime.AddDate(-1, 0, 0)),
		"year 2108":     WithModTime(DefaultModTime.AddDate(128, 0, 0)),
		"nil logger":    WithLogger(nil),
	} {
		if _, err := Write(context.Background(), io.Discard, []File{memFile("a", nil)}, opt); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%s: err = %v, want ErrInvalidOption", name, err)
		}
	}
	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	if _, err := Write(context.Background(), io.Discard, []File{memFile("a", nil)}); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("bad SOURCE_DATE_EPOCH: err = %v, want ErrInvalidOption", err)
	}
}

func TestOpenErrorIsReported(t *testing.T) {
	boom := errors.New("disk on fire")
	f := File{Name: "a", Size: 1, Open: func() (io.ReadCloser, error) { return nil, boom }}
	if _, err := Write(context.Background(), io.Discard, []File{f}); !errors.Is(err, boom) {
		t.Errorf("err = %v, want the Open error", err)
	}
}

func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Write(ctx, io.Discard, []File{memFile("a", textData(1, 500000))})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
