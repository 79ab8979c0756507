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
