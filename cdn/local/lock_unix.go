//go:build unix

package local

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// oNonBlock opens a FIFO without waiting for a writer (the type is then
// refused); it changes nothing for a regular file.
const oNonBlock = syscall.O_NONBLOCK

// fileID is the inode, which tells a replaced file from the old one.
func fileID(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}

// tryLock takes an exclusive flock on f without waiting; locked is false
// when another holder has it.
func tryLock(f *os.File) (locked bool, err error) {
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

func unlock(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
