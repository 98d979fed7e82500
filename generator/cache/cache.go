package cache

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"
)

// Env names the variable that moves the cache folder, or turns the cache off with "off".
const Env = "KRONFORM_GEN_CACHE"

// MaxEntries bounds one set (32 bytes each); beyond it the oldest entries go first.
const MaxEntries = 1 << 18

// staleAfter is how long a set of another binary (an older kronform-gen) is kept before Save removes it.
const staleAfter = 30 * 24 * time.Hour

// Digest is the SHA-256 of an input.
type Digest [sha256.Size]byte

// Sum is the digest of b.
func Sum(b []byte) Digest { return sha256.Sum256(b) }

// Set is a persistent set of digests that passed one check. The zero of a disabled cache works, and remembers
// nothing. Safe for concurrent use.
type Set struct {
	file string // "" when the cache is off or the binary cannot be identified

	mu    sync.Mutex
	have  map[Digest]struct{}
	order []Digest // as read, then as added: the oldest first
	dirty bool
}

// Open reads the set called name of the running binary. It never fails: a cache that is off, missing or unreadable
// is an empty set.
func Open(name string) *Set {
	s := &Set{have: map[Digest]struct{}{}}
	dir := Dir()
	id := binaryID()
	if dir == "" || id == "" {
		return s
	}
	s.file = filepath.Join(dir, name, id)
	s.merge(read(s.file))
	return s
}

// Dir is the folder sets live in, "" when the cache is off.
func Dir() string {
	switch v := os.Getenv(Env); v {
	case "off":
		return ""
	case "":
		base, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		return filepath.Join(base, "kronform-gen", "results")
	default:
		return v
	}
}

// Has says whether d passed before.
func (s *Set) Has(d Digest) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.have[d]
	return ok
}

// Add records that d passed.
func (s *Set) Add(d Digest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.have[d]; !ok {
		s.have[d] = struct{}{}
		s.order = append(s.order, d)
		s.dirty = true
	}
}

// Save writes the set back, merged with what other runs saved meanwhile, and removes the sets of binaries not used
// for a month. It writes a new file and renames it into place, so a reader never sees half a set.
func (s *Set) Save() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.file == "" || !s.dirty {
		return nil
	}
	mine := s.order
	s.have, s.order = map[Digest]struct{}{}, nil
	s.merge(read(s.file))
	s.merge(mine)
	if len(s.order) > MaxEntries {
		for _, d := range s.order[:len(s.order)-MaxEntries] {
			delete(s.have, d)
		}
		s.order = s.order[len(s.order)-MaxEntries:]
	}
	buf := make([]byte, 0, len(s.order)*len(Digest{}))
	for _, d := range s.order {
		buf = append(buf, d[:]...)
	}
	if err := writeFile(s.file, buf); err != nil {
		return err
	}
	s.dirty = false
	removeStale(filepath.Dir(s.file), s.file)
	return nil
}

// writeFile writes a new file beside file (its folder made if need be, for this user only) and renames it into
// place, so that a reader never sees half of it.
func writeFile(file string, data []byte) error {
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}

func (s *Set) merge(ds []Digest) {
	for _, d := range ds {
		if _, ok := s.have[d]; !ok {
			s.have[d] = struct{}{}
			s.order = append(s.order, d)
		}
	}
}

// read returns the digests in a set file; a missing or damaged file gives what it can (whole digests only).
func read(file string) []Digest {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	out := make([]Digest, len(b)/len(Digest{}))
	for i := range out {
		copy(out[i][:], b[i*len(Digest{}):])
	}
	return out
}

// removeStale removes every entry of dir but keep that has not been used for a month: the sets, or the result
// folders, of older binaries.
func removeStale(dir, keep string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if info, err := e.Info(); err == nil && p != keep && time.Since(info.ModTime()) > staleAfter {
			os.RemoveAll(p)
		}
	}
}

// binaryID identifies the running binary's code: the Go build ID, which changes with any change to the code, the
// embedded files or the build settings. Without one (not ELF), a module version or a clean VCS revision stands in;
// a development build of a modified tree has neither, and then nothing is cached.
var binaryID = sync.OnceValue(func() string {
	if exe, err := os.Executable(); err == nil {
		if id := elfBuildID(exe); id != "" {
			return shortHash(id)
		}
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	if info.Main.Version != "" && info.Main.Version != "(devel)" {
		return shortHash(info.String())
	}
	var revision, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if revision != "" && modified == "false" {
		return shortHash(info.String())
	}
	return ""
})

// elfBuildID reads the Go build ID note (.note.go.buildid: name "Go", type 4) of an ELF executable.
func elfBuildID(exe string) string {
	f, err := elf.Open(exe)
	if err != nil {
		return ""
	}
	defer f.Close()
	sec := f.Section(".note.go.buildid")
	if sec == nil {
		return ""
	}
	note, err := sec.Data()
	if err != nil || len(note) < 16 {
		return ""
	}
	order := f.ByteOrder
	namesz, descsz, typ := order.Uint32(note), order.Uint32(note[4:]), order.Uint32(note[8:])
	name := note[12:]
	if typ != 4 || namesz != 4 || len(name) < 4 || !bytes.Equal(name[:4], []byte("Go\x00\x00")) || uint64(len(note)) < 16+uint64(descsz) {
		return ""
	}
	return string(note[16 : 16+descsz])
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:12])
}
