package cache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// MaxResults bounds the results kept per command and binary; beyond it the least recently used go first.
const MaxResults = 32

// Key is a digest of every input of a run, built part by part. Each part is written with its length, so that no two
// different sequences of parts give the same bytes to the hash.
type Key struct{ h hash.Hash }

// NewKey starts a key; kind names what the key is for, so that keys of different uses never meet.
func NewKey(kind string) *Key {
	k := &Key{h: sha256.New()}
	k.String(kind)
	return k
}

// Bytes adds a part.
func (k *Key) Bytes(b []byte) *Key {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(b)))
	k.h.Write(n[:])
	k.h.Write(b)
	return k
}

// String adds a part.
func (k *Key) String(s string) *Key { return k.Bytes([]byte(s)) }

// Sum is the key's digest.
func (k *Key) Sum() Digest {
	var d Digest
	k.h.Sum(d[:0])
	return d
}

// Result returns what a run with the same key stored under name, if this binary stored it and it is still kept.
func Result(name string, key Digest) ([]byte, bool) {
	file := resultFile(name, key)
	if file == "" {
		return nil, false
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, false
	}
	now := time.Now()
	_ = os.Chtimes(file, now, now) // recently used: kept longer, and so is the binary's folder
	_ = os.Chtimes(filepath.Dir(file), now, now)
	return b, true
}

// StoreResult keeps value under name and key for later runs of this binary, then trims the folder to MaxResults
// entries, least recently used first, and removes the folders of binaries not used for a month. A reader never sees
// half a result.
func StoreResult(name string, key Digest, value []byte) error {
	file := resultFile(name, key)
	if file == "" {
		return nil
	}
	if err := writeFile(file, value); err != nil {
		return err
	}
	dir := filepath.Dir(file)
	trim(dir, MaxResults)
	removeStale(filepath.Dir(dir), dir)
	return nil
}

// resultFile is where a result lives: one folder per command and binary, one file per key; "" when the cache is off
// or the binary cannot be identified.
func resultFile(name string, key Digest) string {
	dir, id := Dir(), binaryID()
	if dir == "" || id == "" {
		return ""
	}
	return filepath.Join(dir, name, id, hex.EncodeToString(key[:]))
}

// trim removes the least recently used results beyond max.
func trim(dir string, max int) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type result struct {
		path string
		used time.Time
	}
	var results []result
	for _, e := range entries {
		if info, err := e.Info(); err == nil && e.Type().IsRegular() {
			results = append(results, result{filepath.Join(dir, e.Name()), info.ModTime()})
		}
	}
	if len(results) <= max {
		return
	}
	slices.SortFunc(results, func(a, b result) int { return b.used.Compare(a.used) })
	for _, r := range results[max:] {
		os.Remove(r.path)
	}
}
