package tree

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A folder of the tree that is a bind mount lies on the same file system (st_dev) as the staging folder, and a rename
// still cannot cross it (EXDEV): found before anything is written, by its mount id. (Needs the right to mount.)
func TestWriteRefusesBindMountsInsideTheTree(t *testing.T) {
	dir := t.TempDir()
	elsewhere := filepath.Join(t.TempDir(), "elsewhere")
	os.Mkdir(elsewhere, 0o755)
	mnt := filepath.Join(dir, "infra")
	os.Mkdir(mnt, 0o755)
	if err := unix.Mount(elsewhere, mnt, "", unix.MS_BIND, ""); err != nil {
		t.Skipf("cannot bind mount: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, 0) })
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, mnt, 0, unix.STATX_MNT_ID, &stx); err != nil || stx.Mask&unix.STATX_MNT_ID == 0 {
		t.Skipf("the kernel does not tell mount ids: %v", err)
	}
	_, err := Write(dir, mustTree(t, map[string]string{"infra/a/p.yaml": "p", "b.yaml": "b"}), nil)
	var unwritable *UnwritableError
	if !errors.As(err, &unwritable) || len(unwritable.Problems) != 1 || !strings.HasPrefix(unwritable.Problems[0], "infra/a/p.yaml: ") ||
		!strings.Contains(err.Error(), "is on another mount than") {
		t.Fatalf("got %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 || Pending(dir) {
		t.Errorf("something was written: %v", entries)
	}
}
