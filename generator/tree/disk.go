package tree

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// Disk is a tree as it stands in a folder, read once into memory so that the checks run on it (compare, stray
// files, plaintext Secrets, validation, the secret files a render keeps) read every file once between them: every
// regular file below the folder by slash-separated relative path, .git and the write's staging area excepted. A file
// larger than ReadWhole is listed but read only when it is asked for (File, ReadFile), and streamed by Open and Sum:
// an output folder may hold anything (--out . at a repository root with a disk image in it), and what the checks
// need of such a file is rarely more than its first bytes.
//
// Symbolic links are never followed. Flux's source-controller leaves everything that is not a regular file or a
// folder out of the artifact it hands kustomize-controller, so a link applies nothing; and a link in a pull request
// that pointed outside the tree (at ~/.git-credentials, /proc/self/environ) would otherwise have check print the
// target's contents in a diff in a CI log.
type Disk struct {
	dir   string
	files map[string][]byte
	// large are the files larger than ReadWhole, read on demand.
	large map[string]*largeFile
	// others are the entries that are neither folders nor regular files (symbolic links, pipes, sockets): not read,
	// but listed, since a stray one is still worth a word and one where a generated file belongs is drift.
	others []string
	// executable are the files whose owner may execute them: git records that bit (and no other), so on a generated
	// file it is drift.
	executable map[string]bool
	// owned is the ownership record, parsed when first asked for.
	owned struct {
		once   sync.Once
		record Owned
		err    error
	}
}

// ReadWhole is the size up to which ReadDisk reads a file at once; a larger one is read when it is asked for.
const ReadWhole = 1 << 20

// largeFile is a file larger than ReadWhole: its size as listed, and its contents once File asked for them (safe
// for the checks that run side by side).
type largeFile struct {
	size int64
	once sync.Once
	data []byte
	ok   bool
}

// ReadDisk reads the folder dir; a folder that does not exist is an empty tree.
func ReadDisk(dir string) (*Disk, error) {
	d := &Disk{dir: dir, files: map[string][]byte{}, large: map[string]*largeFile{}, executable: map[string]bool{}}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == dir {
			return filepath.SkipAll
		}
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if e.IsDir() {
			if e.Name() == ".git" || rel == TxnDir {
				return filepath.SkipDir
			}
			return nil
		}
		if !e.Type().IsRegular() {
			d.others = append(d.others, rel)
			return nil
		}
		st, err := e.Info()
		if err != nil {
			return err
		}
		mode := st.Mode()
		if st.Size() > ReadWhole {
			d.large[rel] = &largeFile{size: st.Size()}
		} else {
			b, m, err := readFile(p)
			if err != nil {
				return err
			}
			d.files[rel], mode = b, m
		}
		if mode&0o100 != 0 {
			d.executable[rel] = true
		}
		return nil
	})
	return d, err
}

// readFile is os.ReadFile that also returns the file's mode, from the same open file.
func readFile(name string) ([]byte, fs.FileMode, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	var b bytes.Buffer
	b.Grow(int(st.Size()) + bytes.MinRead)
	if _, err := b.ReadFrom(f); err != nil {
		return nil, 0, err
	}
	return b.Bytes(), st.Mode(), nil
}

// Entries lists what lies below the given folders of the tree at dir (slash-separated, relative to dir; "." for all
// of it): files and non-files alike, as Disk.Entries names them, without reading any file. A folder that does not
// exist has none.
func Entries(dir string, folders []string) ([]string, error) {
	var out []string
	for _, f := range folders {
		root := filepath.Join(dir, filepath.FromSlash(f))
		err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				return filepath.SkipAll
			}
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			switch {
			case e.IsDir() && (e.Name() == ".git" || rel == TxnDir):
				return filepath.SkipDir
			case !e.IsDir():
				out = append(out, rel)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Files is the regular files below dir as an fs.FS, read on demand: a path that passes through a symbolic link, or
// names anything but a regular file, does not exist, as in ReadDisk and in Flux's artifact. For readers of a few
// files of a large tree (generate reads back only the secret files it keeps).
func Files(dir string) fs.FS { return regularFiles(dir) }

type regularFiles string

// Open opens a regular file (folders are not opened): every folder on the way must be a folder, not a link to one.
func (dir regularFiles) Open(name string) (fs.File, error) {
	notExist := &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	if !fs.ValidPath(name) || name == "." {
		return nil, notExist
	}
	p := filepath.Join(string(dir), filepath.FromSlash(name))
	if st, err := os.Lstat(p); err != nil || !st.Mode().IsRegular() || len(linkedFolders(string(dir), []string{name})) > 0 {
		return nil, notExist
	}
	return os.Open(p)
}

// File returns one file's contents; false for a path that is not a regular file of the tree, or a large file that
// can no longer be read as one.
func (d *Disk) File(p string) ([]byte, bool) {
	if b, ok := d.files[p]; ok {
		return b, true
	}
	l, ok := d.large[p]
	if !ok {
		return nil, false
	}
	l.once.Do(func() {
		b, err := fs.ReadFile(regularFiles(d.dir), p)
		l.data, l.ok = b, err == nil
	})
	return l.data, l.ok
}

// Size is a file's size in bytes, as listed; 0 for a path that is not a file of the tree.
func (d *Disk) Size(p string) int64 {
	if l, ok := d.large[p]; ok {
		return l.size
	}
	return int64(len(d.files[p]))
}

// Executable says whether a file's owner may execute it, the one executable bit git records.
func (d *Disk) Executable(p string) bool { return d.executable[p] }

// NotAFile says whether an entry is on disk but is not a regular file (a symbolic link, a pipe, a socket).
func (d *Disk) NotAFile(p string) bool { return slices.Contains(d.others, p) }

// Paths lists the files, sorted.
func (d *Disk) Paths() []string {
	return slices.Sorted(func(yield func(string) bool) {
		for p := range d.files {
			if !yield(p) {
				return
			}
		}
		for p := range d.large {
			if !yield(p) {
				return
			}
		}
	})
}

// Entries lists every entry that is not a folder, files and the others, sorted.
func (d *Disk) Entries() []string {
	return slices.Sorted(slices.Values(append(d.Paths(), d.others...)))
}

// Sum is a digest of the tree as read: every entry's path, whether it is a file, and each file's contents and
// executable bit (a large file's streamed). Two Disks with the same Sum are the same
// tree to every check that runs on a Disk.
func (d *Disk) Sum() [sha256.Size]byte {
	h := sha256.New()
	var n [8]byte
	part := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	for _, p := range d.Entries() {
		part([]byte(p))
		if sum, ok := d.fileSum(p); ok {
			part(sum[:])
			part([]byte{boolByte(d.executable[p])})
		} else {
			part(nil) // not a readable file
		}
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// fileSum is the sha256 of a file's contents; a large file's is streamed.
func (d *Disk) fileSum(p string) ([sha256.Size]byte, bool) {
	if b, ok := d.files[p]; ok {
		return sha256.Sum256(b), true
	}
	if _, ok := d.large[p]; !ok {
		return [sha256.Size]byte{}, false
	}
	f, err := d.Open(p)
	if err != nil {
		return [sha256.Size]byte{}, false
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return [sha256.Size]byte{}, false
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out, true
}

// Owned is the ownership record in the tree; an empty one when there is none. It is parsed once (a fleet's record
// is over 100 kB of JSON, and check's comparison and validation both read it), so its Files are shared: read them,
// never change them.
func (d *Disk) Owned() (Owned, error) {
	d.owned.once.Do(func() {
		data, ok := d.File(OwnedFile)
		if !ok {
			d.owned.record = Owned{Files: map[string]string{}}
			return
		}
		d.owned.record, d.owned.err = ParseOwned(data)
	})
	return d.owned.record, d.owned.err
}

// ReadFile makes Disk an fs.ReadFileFS, for readers of the previous tree.
func (d *Disk) ReadFile(name string) ([]byte, error) {
	b, ok := d.File(name)
	if !ok {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrNotExist}
	}
	return slices.Clone(b), nil
}

// Open makes Disk an fs.FS of its files (folders are not listed); a large file is opened on disk, to be streamed.
func (d *Disk) Open(name string) (fs.File, error) {
	if _, ok := d.large[name]; ok {
		return regularFiles(d.dir).Open(name)
	}
	b, ok := d.files[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return &diskFile{name: name, data: b}, nil
}

type diskFile struct {
	name string
	data []byte
	off  int
}

func (f *diskFile) Stat() (fs.FileInfo, error) { return diskInfo{f}, nil }
func (f *diskFile) Close() error               { return nil }
func (f *diskFile) Read(p []byte) (int, error) {
	if f.off >= len(f.data) {
		return 0, io.EOF
	}
	n := copy(p, f.data[f.off:])
	f.off += n
	return n, nil
}

type diskInfo struct{ f *diskFile }

func (i diskInfo) Name() string       { return filepath.Base(i.f.name) }
func (i diskInfo) Size() int64        { return int64(len(i.f.data)) }
func (i diskInfo) Mode() fs.FileMode  { return 0o444 }
func (i diskInfo) ModTime() time.Time { return time.Time{} }
func (i diskInfo) IsDir() bool        { return false }
func (i diskInfo) Sys() any           { return nil }

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}
