//go:build unix

package sqlstore

import (
	"fmt"
	"os"
	"syscall"
)

// DirLock is an exclusive lock on a data directory, held by a running
// server so that restore (and a second server) can tell it is in use.
type DirLock struct{ f *os.File }

// LockDir takes the lock file in dir without waiting.
func LockDir(dir string) (*DirLock, error) {
	f, err := os.OpenFile(dir+"/opencom.lock", os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("data directory %s is in use by another opencom process", dir)
	}
	return &DirLock{f: f}, nil
}

// Unlock releases the lock.
func (l *DirLock) Unlock() error {
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	return l.f.Close()
}
