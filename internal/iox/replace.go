package iox

import (
	"io/fs"
	"os"
	"path/filepath"

	"github.com/devupdate/devupdate/internal/failpoint"
)

// ReplaceFile writes path so that a crash or a power cut at any moment
// leaves either its old contents or the new ones, never a mix: the bytes
// go to a hidden temporary file in path's directory, which is synced and
// then renamed over path, and the directory is synced. The temporary file
// is gone afterwards, whatever happened. CreateNew is the variant that
// never replaces an existing file.
func ReplaceFile(path string, perm fs.FileMode, write func(f *os.File) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	renamed := false
	defer func() {
		if !renamed {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return err
	}
	failpoint.Hit("replace-written")
	if err := tmp.Chmod(perm); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	renamed = true
	failpoint.Hit("replace-renamed")
	SyncDir(dir)
	return nil
}

// WriteFileAtomic is ReplaceFile writing data.
func WriteFileAtomic(path string, data []byte, perm fs.FileMode) error {
	return ReplaceFile(path, perm, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

// RemoveStale removes the temporary files ReplaceFile left beside path
// when the process died before renaming one. Call it only while nobody
// else may be writing path.
func RemoveStale(path string) {
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "."+globEscape(filepath.Base(path))+".*.tmp"))
	for _, m := range matches {
		_ = os.Remove(m)
	}
}

func globEscape(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '*' || c == '?' || c == '[' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return string(b)
}
