package iox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/devupdate/devupdate/internal/failpoint"
)

// Temp is the one way a file is written crash-safely: a hidden temporary
// file in path's directory (".NAME.*.tmp"), filled through the embedded
// *os.File, then committed: synced, given its permissions, and made path
// at once, by a hard link (Commit(false): never replacing an existing
// file, which a link cannot) or a rename (Commit(true): replacing it), the
// directory synced after. path never holds a partial file. Discard (or a
// failed Commit) removes the temporary file; a process killed meanwhile
// leaves it, for RemoveStale. CreateNew and ReplaceFile are the common
// cases.
type Temp struct {
	*os.File
	path string
	perm fs.FileMode
	done bool
}

// NewTemp creates the temporary file that is to become path, with perm.
func NewTemp(path string, perm fs.FileMode) (*Temp, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, err
	}
	return &Temp{File: f, path: path, perm: perm}, nil
}

// Commit makes the written file path: by a rename with replace, else by a
// hard link that fails (wrapping fs.ErrExist) when path exists.
func (t *Temp) Commit(replace bool) error {
	if t.done {
		return errors.New("iox: temporary file already committed or discarded")
	}
	defer t.Discard()
	failpoint.Hit("tempfile-written")
	if err := t.Chmod(t.perm); err != nil {
		return err
	}
	if err := t.Sync(); err != nil {
		return err
	}
	if err := t.File.Close(); err != nil {
		return err
	}
	if replace {
		if err := os.Rename(t.Name(), t.path); err != nil {
			return err
		}
		t.done = true
		failpoint.Hit("replace-renamed")
	} else if err := os.Link(t.Name(), t.path); err != nil {
		var le *os.LinkError
		if errors.As(err, &le) {
			err = fmt.Errorf("%s: %w", t.path, le.Err)
		}
		return err
	}
	SyncDir(filepath.Dir(t.path))
	return nil
}

// Discard removes the temporary file, unless it was renamed into place;
// it may be called any number of times.
func (t *Temp) Discard() {
	_ = t.File.Close()
	if !t.done {
		_ = os.Remove(t.Name())
	}
	t.done = true
}

// CreateNew makes a new file at path holding what write puts in it
// (Temp, committed without replacing: an existing path is never replaced
// and the error then wraps fs.ErrExist). The temporary file is gone
// afterwards, whatever happened; f is closed by CreateNew.
func CreateNew(path string, perm fs.FileMode, write func(f *os.File) error) error {
	return writeFile(path, perm, false, write)
}

// ReplaceFile writes path so that a crash or a power cut at any moment
// leaves either its old contents or the new ones, never a mix (Temp,
// committed by a rename). CreateNew is the variant that never replaces an
// existing file.
func ReplaceFile(path string, perm fs.FileMode, write func(f *os.File) error) error {
	return writeFile(path, perm, true, write)
}

func writeFile(path string, perm fs.FileMode, replace bool, write func(f *os.File) error) error {
	t, err := NewTemp(path, perm)
	if err != nil {
		return err
	}
	defer t.Discard()
	if err := write(t.File); err != nil {
		return err
	}
	return t.Commit(replace)
}

// SyncDir persists the names in dir (a new link or rename); not every file
// system supports it, and a failure is ignored.
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
