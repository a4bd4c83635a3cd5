//go:build windows

package sqlstore

import (
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// DirLock is an exclusive lock on a data directory, held by a running
// server so that restore (and a second server) can tell it is in use.
type DirLock struct{ f *os.File }

// LockDir takes the lock file in dir without waiting.
func LockDir(dir string) (*DirLock, error) {
	f, err := os.OpenFile(dir+`\opencom.lock`, os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, err
	}
	ol := new(windows.Overlapped)
	if err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol); err != nil {
		f.Close()
		return nil, fmt.Errorf("data directory %s is in use by another opencom process", dir)
	}
	return &DirLock{f: f}, nil
}

// Unlock releases the lock.
func (l *DirLock) Unlock() error {
	ol := new(windows.Overlapped)
	windows.UnlockFileEx(windows.Handle(l.f.Fd()), 0, 1, 0, ol)
	return l.f.Close()
}
