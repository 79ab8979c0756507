package iox

import (
	"io/fs"
	"os"
	"path/filepath"
)

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
