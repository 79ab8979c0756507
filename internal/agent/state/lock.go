package state

import (
	"errors"
	"os"
	"path/filepath"
)

// LockFile is the lock of a state directory.
const LockFile = "lock"

// ErrLocked: another process holds the state directory's lock.
var ErrLocked = errors.New("state directory locked by another process")

// Lock takes the state directory's lock (on dir/lock, released by the
// system if the process dies), or fails with ErrLocked at once. unlock
// releases it.
func Lock(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := tryLock(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}
