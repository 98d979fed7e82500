package tree

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// UnwritableError lists what a write cannot create where it goes: found before anything is written, so the tree is
// left as it was. The spec named something this file system cannot hold, or --out is somewhere it cannot be written.
type UnwritableError struct {
	Problems []string // "PATH: why", sorted
}

func (e *UnwritableError) Error() string {
	return "cannot write " + strings.Join(e.Problems, "; ")
}

// probe answers, before a write's journal is committed, whether each rename and removal the journal would make can
// succeed: a step found impossible only after the commit would leave a write that can neither be completed nor, by a
// kronform-gen that cannot finish it, be left behind. It asks the file system about the folders that already stand,
// once each.
type probe struct {
	dir   string
	stage folderStat // the staging area's, or the nearest folder that stands on the way to it
	// folders caches, for a folder on the way, the nearest folder that stands (itself, or an ancestor).
	folders map[string]string
	stats   map[string]folderStat
}

type folderStat struct {
	namelen int    // the longest name its file system takes
	dev     uint64 // its file system
	// mount identifies its mount (statx's STATX_MNT_ID), where the kernel tells: a bind mount of a folder of the same
	// file system has the same dev, and a rename across it fails all the same (EXDEV). 0 where unknown.
	mount    uint64
	writable error // nil when this process can create and remove entries in it
}

func newProbe(dir string) *probe {
	p := &probe{dir: dir, folders: map[string]string{}, stats: map[string]folderStat{}}
	// The staging area is TxnDir, or, until it stands, the nearest folder on the way to it.
	p.stage = p.stat(p.standing(filepath.Join(dir, filepath.FromSlash(TxnDir))))
	return p
}

// standing is the nearest folder at or above the given path that stands on disk.
func (p *probe) standing(folder string) string {
	var walked []string
	d := folder
	for {
		if s, ok := p.folders[d]; ok {
			d = s
			break
		}
		walked = append(walked, d)
		if _, err := os.Lstat(d); err == nil || filepath.Dir(d) == d {
			break
		}
		d = filepath.Dir(d)
	}
	for _, w := range walked {
		p.folders[w] = d
	}
	return d
}

func (p *probe) stat(folder string) folderStat {
	if s, ok := p.stats[folder]; ok {
		return s
	}
	s := folderStat{namelen: 255}
	var sfs unix.Statfs_t
	if err := unix.Statfs(folder, &sfs); err == nil && sfs.Namelen > 0 {
		s.namelen = int(sfs.Namelen)
	}
	var st unix.Stat_t
	if err := unix.Stat(folder, &st); err == nil {
		s.dev = st.Dev
	}
	// Linux 5.8 and later tell the mount; before, or where statx is missing (ENOSYS), the file system is all there is
	// to compare.
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, folder, unix.AT_STATX_DONT_SYNC, unix.STATX_MNT_ID, &stx); err == nil && stx.Mask&unix.STATX_MNT_ID != 0 {
		s.mount = stx.Mnt_id
	}
	s.writable = unix.Access(folder, unix.W_OK|unix.X_OK)
	p.stats[folder] = s
	return s
}

// names says what is wrong with the path a file would have: longer than the kernel takes a path, or a name on the
// way longer than the file system takes one. rel is relative to the tree; "" checks the tree's folder itself.
func (p *probe) names(rel string) string {
	full := filepath.Join(p.dir, filepath.FromSlash(rel))
	if len(full) >= unix.PathMax {
		return fmt.Sprintf("the path is %d bytes long, and the system takes at most %d", len(full), unix.PathMax-1)
	}
	// Every name from the nearest standing folder down must fit that folder's file system (one mounted further
	// down cannot stand on a folder that does not exist yet). Names that stand already fit.
	base := p.standing(filepath.Dir(full))
	limit := p.stat(base).namelen
	rest, err := filepath.Rel(base, full)
	if err != nil {
		return ""
	}
	for _, name := range strings.Split(rest, string(filepath.Separator)) {
		if len(name) > limit {
			return fmt.Sprintf("the name %q is %d bytes long, and this file system takes at most %d", name, len(name), limit)
		}
	}
	return ""
}

// movable says why a file cannot be created, replaced or removed at rel by a rename from the staging area: the folder
// it goes into (or the nearest that stands, where its folders are created) cannot be written, or lies on another file
// system or mount, which a rename cannot cross.
func (p *probe) movable(rel string) string {
	base := p.standing(filepath.Dir(filepath.Join(p.dir, filepath.FromSlash(rel))))
	s := p.stat(base)
	switch {
	case s.writable != nil:
		return fmt.Sprintf("%s cannot be written (%v)", base, describeErrno(s.writable))
	case s.dev != p.stage.dev:
		return fmt.Sprintf("%s is on another file system than %s (a mount point inside the tree): files are moved into "+
			"place by rename, which cannot cross one", base, filepath.Join(p.dir, filepath.FromSlash(StateDir)))
	case s.mount != 0 && p.stage.mount != 0 && s.mount != p.stage.mount:
		return fmt.Sprintf("%s is on another mount than %s (a bind mount inside the tree): files are moved into place "+
			"by rename, which cannot cross one", base, filepath.Join(p.dir, filepath.FromSlash(StateDir)))
	}
	return ""
}

func describeErrno(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch {
		case errors.Is(errno, fs.ErrPermission):
			return "permission denied"
		case errno == syscall.EROFS:
			return "a read-only file system"
		}
	}
	return err.Error()
}

// unwritable collects the problems found for paths, as an error; nil when there are none.
func unwritable(paths []string, check func(string) string) error {
	var problems []string
	for _, rel := range paths {
		if why := check(rel); why != "" {
			if rel == "" {
				rel = "the output folder"
			}
			problems = append(problems, rel+": "+why)
		}
	}
	if len(problems) == 0 {
		return nil
	}
	slices.Sort(problems)
	return &UnwritableError{Problems: problems}
}
