package iox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// CreateNew makes a new file at path holding what write puts in it. The
// bytes go to a hidden temporary file in path's directory, which is synced
// and then linked to path: path never holds a partial file, and an
// existing path is never replaced (the error then wraps fs.ErrExist; a
// hard link, unlike a rename, cannot replace a file someone else just
// wrote). The temporary file is gone afterwards, whatever happened; f is
// closed by CreateNew.
func CreateNew(path string, perm fs.FileMode, write func(f *os.File) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
	}()
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		var le *os.LinkError
		if errors.As(err, &le) {
			err = fmt.Errorf("%s: %w", path, le.Err)
		}
		return err
	}
	SyncDir(dir)
	return nil
}

// SyncDir persists the names in dir (a new link or rename); not every file
// system supports it, and a failure is ignored.
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
