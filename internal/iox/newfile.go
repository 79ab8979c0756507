package iox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/devupdate/devupdate/internal/failpoint"
)

// CreateNew makes a new file at path holding what write puts in it. The
// bytes go to a hidden temporary file in path's directory, which is synced
// and then linked to path: path never holds a partial file, and an
// existing path is never replaced (the error then wraps fs.ErrExist; a
// hard link, unlike a rename, cannot replace a file someone else just
// wrote). The temporary file is gone afterwards, whatever happened; f is
// closed by CreateNew.
func CreateNew(path string, perm fs.FileMode, write func(f *os.File) error) error {
	tmp, err := writeTemp(path, perm, write)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		var le *os.LinkError
		if errors.As(err, &le) {
			err = fmt.Errorf("%s: %w", path, le.Err)
		}
		return err
	}
	SyncDir(filepath.Dir(path))
	return nil
}

// ReplaceFile writes path so that a crash or a power cut at any moment
// leaves either its old contents or the new ones, never a mix: the bytes
// go to a hidden temporary file in path's directory, which is synced and
// then renamed over path, and the directory is synced. The temporary file
// is gone afterwards, unless the process died (RemoveStale). CreateNew is
// the variant that never replaces an existing file.
func ReplaceFile(path string, perm fs.FileMode, write func(f *os.File) error) error {
	tmp, err := writeTemp(path, perm, write)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	failpoint.Hit("replace-renamed")
	SyncDir(filepath.Dir(path))
	return nil
}

// writeTemp writes a hidden temporary file beside path with write, sets
// perm, syncs and closes it, and returns its name; on failure it is gone.
func writeTemp(path string, perm fs.FileMode, write func(f *os.File) error) (name string, err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return "", err
	}
	failpoint.Hit("tempfile-written")
	if err := tmp.Chmod(perm); err != nil {
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return tmp.Name(), nil
}

// SyncDir persists the names in dir (a new link or rename); not every file
// system supports it, and a failure is ignored.
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
