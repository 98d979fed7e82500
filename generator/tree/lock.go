package tree

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lock serialises writers of one tree by flock on the tree's own folder: nothing is created for it, and the kernel
// releases it when a process dies, so a killed run never leaves the tree locked.
func lock(dir string) (unlock func(), err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another kronform-gen is writing %s; try again when it is done", dir)
		}
		return nil, err
	}
	return func() { f.Close() }, nil
}

// Writing says whether a kronform-gen holds the lock of the tree at dir now: its unfinished write is one in progress,
// not one a kill left. A folder that cannot be opened is not being written.
func Writing(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	return errors.Is(err, syscall.EWOULDBLOCK)
}
