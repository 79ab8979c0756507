package packager

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// memFile is a File whose content is in memory.
func memFile(name string, data []byte) File {
	return File{Name: name, Size: int64(len(data)), Open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}}
}

// textData returns n bytes of deterministic, compressible text.
func textData(seed uint64, n int) []byte {
	words := []string{"device", "update", "cabinet", "driver", "firmware", "Contoso", "Toaster", "0x7FFF8000", "\n", "MSZIP", "block"}
	r := rand.New(rand.NewPCG(seed, 1))
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
		b.WriteByte(' ')
	}
	return b.Bytes()[:n]
}

// randomData returns n bytes of deterministic incompressible data.
func randomData(seed uint64, n int) []byte {
	r := rand.NewChaCha8([32]byte{byte(seed)})
	b := make([]byte, n)
	_, _ = r.Read(b)
	return b
}

// testInput is a set of files exercising empty files, a file spanning
// blocks, blocks spanning files, incompressible data and nested names.
func testInput() map[string][]byte {
	return map[string][]byte{
		"update.json":             []byte(`{"name":"Contoso.Toaster.Settings","version":"1.0.0.1"}` + "\n"),
		"empty.txt":               nil,
		"drivers/toaster.inf":     textData(1, 5000),
		"drivers/toaster.sys":     randomData(2, 70000), // spans three blocks
		"drivers/sub/empty.cat":   nil,
		"settings/big.txt":        textData(3, 200001), // seven blocks, odd tail
		"settings/ünïcode-名前.txt": textData(4, 100),
		"firmware/zeros.bin":      make([]byte, 100000),                                // one distance code per block
		"firmware/pattern.bin":    bytes.Repeat([]byte("ab"), 40000),                   // likewise
		"firmware/literals.txt":   []byte("The quick brown fox jumps over a lazy dog"), // no match at all
	}
}

func filesOf(m map[string][]byte) []File {
	var fs []File
	for name, data := range m {
		fs = append(fs, memFile(name, data))
	}
	return fs
}

func writeTemp(t *testing.T, files []File, opts ...Option) (string, *Result) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "test.cab")
	res, err := WriteFile(context.Background(), p, files, opts...)
	if err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	return p, res
}

// readAll reads every file of a cabinet with our reader.
func readAll(t *testing.T, path string, opts ...ReadOption) map[string][]byte {
	t.Helper()
	c, err := OpenFile(context.Background(), path, opts...)
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	defer c.Close()
	if err := c.Test(context.Background()); err != nil {
		t.Fatalf("Test: %v", err)
	}
	got := map[string][]byte{}
	for _, e := range c.Files() {
		rc, err := c.Open(e.Name)
		if err != nil {
			t.Fatalf("Open(context.Background(), %q): %v", e.Name, err)
		}
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("reading %q: %v", e.Name, err)
		}
		got[e.Name] = b
	}
	return got
}

// readDir reads every regular file under dir, keyed by '/'-separated path.
func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	got := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		got[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func sameFiles(t *testing.T, who string, got, want map[string][]byte) {
	t.Helper()
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s: %q missing", who, name)
			continue
		}
		if !bytes.Equal(g, w) {
			t.Errorf("%s: %q differs: %d bytes, want %d", who, name, len(g), len(w))
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: unexpected file %q", who, name)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	in := testInput()
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"mszip", nil},
		{"none", []Option{WithCompression(None)}},
		{"mszip no reserve", []Option{WithSignatureReserve(false)}},
		{"mszip one worker", []Option{WithConcurrency(1)}},
		{"mszip multi-folder", []Option{withFolderLimit(250000)}},
		{"none multi-folder", []Option{WithCompression(None), withFolderLimit(250000)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, res := writeTemp(t, filesOf(in), tc.opts...)
			sameFiles(t, "reader", readAll(t, p), in)
			if res.Files != len(in) {
				t.Errorf("Result.Files = %d, want %d", res.Files, len(in))
			}
			st, _ := os.Stat(p)
			if res.Size != st.Size() {
				t.Errorf("Result.Size = %d, file has %d", res.Size, st.Size())
			}
		})
	}
}

// withFolderLimit lowers the folder size limit so tests get several
// folders from small input.
func withFolderLimit(n int64) Option {
	return func(o *writeOptions) error {
		o.maxFolderSize = n
		return nil
	}
}
