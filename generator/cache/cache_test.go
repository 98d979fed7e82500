package cache

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSetRemembersAcrossRuns(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(Env, dir)
	if binaryID() == "" {
		t.Fatal("the test binary has no build ID: the cache would be off")
	}
	a, b := Sum([]byte("a")), Sum([]byte("b"))
	s := Open("check")
	if s.Has(a) {
		t.Fatal("a new set has an entry")
	}
	s.Add(a)
	if !s.Has(a) || s.Has(b) {
		t.Fatal("Has does not follow Add")
	}
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}

	// Another run adds b meanwhile; a third run sees both.
	other := Open("check")
	other.Add(b)
	if err := other.Save(); err != nil {
		t.Fatal(err)
	}
	s.Add(Sum([]byte("c")))
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	third := Open("check")
	for _, d := range []Digest{a, b, Sum([]byte("c"))} {
		if !third.Has(d) {
			t.Errorf("a saved digest is lost")
		}
	}
	if Open("other-check").Has(a) {
		t.Error("sets of different checks share entries")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "check", "*"))
	if len(files) != 1 {
		t.Fatalf("want one set file, got %v", files)
	}
	if info, _ := os.Stat(files[0]); info.Size() != 3*32 {
		t.Errorf("set file holds %d bytes, want 3 digests", info.Size())
	}
}

func TestOffRemembersNothing(t *testing.T) {
	t.Setenv(Env, "off")
	s := Open("check")
	s.Add(Sum([]byte("a")))
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	if Open("check").Has(Sum([]byte("a"))) {
		t.Error("a cache that is off remembered")
	}
}

func TestDamagedSetKeepsWholeDigests(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(Env, dir)
	s := Open("check")
	a := Sum([]byte("a"))
	s.Add(a)
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	f, _ := filepath.Glob(filepath.Join(dir, "check", "*"))
	if err := os.WriteFile(f[0], append(a[:], 1, 2, 3), 0o600); err != nil {
		t.Fatal(err)
	}
	if !Open("check").Has(a) {
		t.Error("a torn tail lost the whole set")
	}
}

func TestSaveRemovesStaleSetsOfOtherBinaries(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(Env, dir)
	stale, fresh := filepath.Join(dir, "check", "old-binary"), filepath.Join(dir, "check", "recent-binary")
	if err := os.MkdirAll(filepath.Dir(stale), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-staleAfter - time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	s := Open("check")
	s.Add(Sum([]byte("a")))
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("a set unused for a month survived")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Error("a recent set of another binary was removed")
	}
}

func TestSetIsBounded(t *testing.T) {
	t.Setenv(Env, t.TempDir())
	s := Open("check")
	first := Sum([]byte{0})
	s.Add(first)
	for i := 1; i <= MaxEntries; i++ {
		s.Add(Sum([]byte{byte(i), byte(i >> 8), byte(i >> 16), 1}))
	}
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	again := Open("check")
	if again.Has(first) {
		t.Error("the oldest entry survived past the bound")
	}
	if len(again.order) != MaxEntries {
		t.Errorf("%d entries after save, want %d", len(again.order), MaxEntries)
	}
}

func TestResultsAreKeptPerBinaryAndTrimmed(t *testing.T) {
	t.Setenv(Env, t.TempDir())
	key := func(i int) Digest { return NewKey("test").String(fmt.Sprint(i)).Sum() }
	if _, ok := Result("check", key(0)); ok {
		t.Fatal("an empty cache has a result")
	}
	for i := range MaxResults + 5 {
		if err := StoreResult("check", key(i), []byte(fmt.Sprint("result ", i))); err != nil {
			t.Fatal(err)
		}
		// Distinct use times, key 0 the least recently used.
		os.Chtimes(resultFile("check", key(i)), time.Unix(int64(1000+i), 0), time.Unix(int64(1000+i), 0))
	}
	if b, ok := Result("check", key(MaxResults+4)); !ok || string(b) != fmt.Sprint("result ", MaxResults+4) {
		t.Fatalf("the newest result: %q %v", b, ok)
	}
	StoreResult("check", key(-1), []byte("trim now"))
	kept := 0
	for i := range MaxResults + 5 {
		if _, ok := Result("check", key(i)); ok {
			kept++
		}
	}
	if kept != MaxResults-1 {
		t.Fatalf("%d results kept of the first %d, want %d (the bound, less the one just stored)", kept, MaxResults+5, MaxResults-1)
	}
	if _, ok := Result("check", key(0)); ok {
		t.Fatal("the least recently used result survived the trim")
	}
	if NewKey("a").String("bc").Sum() == NewKey("a").String("b").String("c").Sum() {
		t.Fatal("parts run together in a key")
	}
	t.Setenv(Env, "off")
	if err := StoreResult("check", key(1), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, ok := Result("check", key(1)); ok {
		t.Fatal("a cache that is off returned a result")
	}
}

func TestResultsOfBinariesUnusedForAMonthAreRemoved(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(Env, dir)
	old, recent := filepath.Join(dir, "check", "old-binary"), filepath.Join(dir, "check", "recent-binary")
	for _, d := range []string{old, recent} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, "result"), []byte("x"), 0o600)
	}
	month := time.Now().Add(-staleAfter - time.Hour)
	os.Chtimes(old, month, month)
	if err := StoreResult("check", NewKey("test").Sum(), []byte("mine")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Error("the results of a binary unused for a month are still there")
	}
	if _, err := os.Stat(recent); err != nil {
		t.Error("the results of a recently used binary were removed")
	}
}
