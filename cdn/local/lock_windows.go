//go:build windows

package local

import (
	"errors"
	"io/fs"
	"os"

	"golang.org/x/sys/windows"
)

// oNonBlock: Windows opens no FIFO from a directory path.
const oNonBlock = 0

// fileID is 0 on Windows: os.FileInfo carries no file index, and the
// ETag's size and modification time (100 ns resolution) tell versions apart.
func fileID(fs.FileInfo) uint64 { return 0 }

// tryLock takes an exclusive LockFileEx lock on f without waiting; locked
// is false when another holder has it.
func tryLock(f *os.File) (locked bool, err error) {
	ol := new(windows.Overlapped)
	err = windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return false, nil
	}
	return err == nil, err
}

func unlock(f *os.File) error {
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, new(windows.Overlapped))
}
