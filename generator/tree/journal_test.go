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
	"testing"

	"golang.org/x/sys/unix"
)

// killedAtCommit writes from into a fresh tree, then to, keeping aside the state a kill at to's commit point leaves:
// the journal committed, nothing moved yet. It returns that state's folder and the two trees' snapshots.
func killedAtCommit(t *testing.T, from, to map[string]string) (killed string, before, after []string) {
	t.Helper()
	dir := t.TempDir()
	if _, err := Write(dir, mustTree(t, from), nil); err != nil {
		t.Fatal(err)
	}
	before = snapshotDir(t, dir)
	killed = filepath.Join(t.TempDir(), "killed")
	testAfterCommit = func(dir string) {
		if err := os.CopyFS(killed, os.DirFS(dir)); err != nil {
			t.Fatal(err)
		}
	}
	defer func() { testAfterCommit = nil }()
	if _, err := Write(dir, mustTree(t, to), nil); err != nil {
		t.Fatal(err)
	}
	if !Pending(killed) {
		t.Fatal("no journal in the killed copy")
	}
	return killed, before, snapshotDir(t, dir)
}

// A write killed after its commit is left to whoever comes next, and the user may have changed the tree meanwhile.
// Completing the write then would move what they made aside and throw it away with the staging area, where a fresh
// write refuses to touch it: a file made where a new file goes, a file replaced where the write replaces or removes
// one. The write is undone instead, and says why; what the user made stays, for the next write to judge as it judges
// any file (overwritten only where kronform-gen owns it). Untouched, the write is completed.
func TestRecoveryUndoesAWriteWhoseTargetsChangedSinceTheKill(t *testing.T) {
	v1 := map[string]string{"a.yaml": "a1", "old.yaml": "old", "p/keep.yaml": "k"}
	v2 := map[string]string{"a.yaml": "a2", "new.yaml": "n", "p/keep.yaml": "k"}
	for name, tc := range map[string]struct{ path, why string }{
		"a file made where a new one goes": {"new.yaml", "new.yaml: a file was made there after the write was committed"},
		"a file replaced that is replaced": {"a.yaml", "a.yaml: changed after the write was committed"},
		"a file replaced that is removed":  {"old.yaml", "old.yaml: changed after the write was committed"},
	} {
		t.Run(name, func(t *testing.T) {
			killed, before, _ := killedAtCommit(t, v1, v2)
			file := filepath.Join(killed, tc.path)
			if err := os.WriteFile(file, []byte("the user's notes"), 0o644); err != nil {
				t.Fatal(err)
			}
			w, err := Open(killed)
			if err != nil {
				t.Fatal(err)
			}
			w.Close()
			if w.Recovered.Outcome != Undone || !strings.Contains(w.Recovered.String(), "could not be completed ("+tc.why+") and was undone") {
				t.Errorf("recovery: %q", w.Recovered)
			}
			if read(t, killed, tc.path) != "the user's notes" {
				t.Fatal("the user's file is gone")
			}
			os.Remove(file)
			if tc.path != "new.yaml" {
				os.WriteFile(file, []byte(v1[tc.path]), 0o644)
			}
			if after := snapshotDir(t, killed); !slices.Equal(before, after) || Pending(killed) {
				t.Errorf("not the old tree but for the user's file:\n%v\n%v", before, after)
			}
		})
	}
	t.Run("untouched", func(t *testing.T) {
		killed, _, after := killedAtCommit(t, v1, v2)
		w, err := Open(killed)
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
		if w.Recovered.Outcome != Finished || !strings.HasPrefix(w.Recovered.String(), "finished the write an earlier run left unfinished") {
			t.Errorf("recovery: %+v", w.Recovered)
		}
		if got := snapshotDir(t, killed); !slices.Equal(after, got) || Pending(killed) {
			t.Errorf("not the new tree:\n%v\n%v", after, got)
		}
	})
}

// Killed between moving the file it replaces aside and moving the new one in, a write leaves the target empty; a file
// made there since is neither overwritten by completing the write nor by undoing it (the file kept aside would go
// back over it). The undo stops and says what to move, leaving the journal; once it is moved, the write completes.
func TestRecoveryNeverMovesAFileOverOneMadeSinceTheKill(t *testing.T) {
	killed, _, after := killedAtCommit(t, map[string]string{"a.yaml": "a1"}, map[string]string{"a.yaml": "a2"})
	stage := filepath.Join(killed, filepath.FromSlash(TxnDir))
	os.MkdirAll(filepath.Join(stage, "old"), 0o755)
	if err := os.Rename(filepath.Join(killed, "a.yaml"), filepath.Join(stage, "old", "0")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(killed, "a.yaml"), []byte("the user's"), 0o644)
	err := Recover(killed)
	if err == nil || !strings.Contains(err.Error(), "a.yaml: something kronform-gen did not put there stands where the undo moves back the file the write replaced or removed (kept in .kronform-gen/txn/old/0): move it away") {
		t.Fatalf("Recover: %v", err)
	}
	if read(t, killed, "a.yaml") != "the user's" || !Pending(killed) {
		t.Fatal("the user's file was overwritten, or the journal dropped")
	}
	os.Remove(filepath.Join(killed, "a.yaml"))
	if err := Recover(killed); err != nil {
		t.Fatal(err)
	}
	if got := snapshotDir(t, killed); !slices.Equal(after, got) || Pending(killed) {
		t.Errorf("not the new tree:\n%v\n%v", after, got)
	}
}

// A given-up journal of an earlier kronform-gen is remembered until a write completes: a write that fails before its
// commit (here a file in its way) no longer loses the list of files the given-up write had moved into place, so the
// next write still prunes those the spec no longer makes.
func TestAGivenUpWriteIsRememberedUntilAWriteCompletes(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, mustTree(t, map[string]string{"a.yaml": "a1"}), nil); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("p", 251) + ".yaml"
	stage := filepath.Join(dir, filepath.FromSlash(TxnDir))
	os.MkdirAll(filepath.Join(stage, "files"), 0o755)
	os.WriteFile(filepath.Join(stage, "files", "1"), []byte("long"), 0o644)
	os.WriteFile(filepath.Join(dir, "placed.yaml"), []byte("placed"), 0o644)
	os.WriteFile(filepath.Join(stage, "journal"), []byte(`{"put":[{"staged":"files/0","path":"placed.yaml"},{"staged":"files/1","path":"hp/`+long+`"}],"remove":null}`), 0o644)
	os.WriteFile(filepath.Join(dir, "mine.yaml"), []byte("the user's"), 0o644)

	res, err := Write(dir, mustTree(t, map[string]string{"a.yaml": "a2", "mine.yaml": "generated"}), nil)
	var conflict *ConflictError
	if !errors.As(err, &conflict) || !strings.Contains(res.Recovered.String(), "given up") {
		t.Fatalf("got %+v, %v", res, err)
	}
	if Pending(dir) {
		t.Error("check would still find an unfinished write")
	}
	os.Remove(filepath.Join(dir, "mine.yaml"))
	if _, err := Write(dir, mustTree(t, map[string]string{"a.yaml": "a2"}), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "placed.yaml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("placed.yaml, moved into place by the given-up write, was left: %v", err)
	}
	if _, err := os.Lstat(stage); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the staging folder outlived the completed write: %v", err)
	}
}

// Only a committed journal is an unfinished write: staged files without one (a kill while staging, or while a
// completed write's staging folder was being deleted) are a write that never happened, and the tree is whole. A write
// that fails before its commit leaves no staging folder at all. (Needs the right to mount a tmpfs.)
func TestOnlyACommittedJournalIsPending(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, mustTree(t, map[string]string{"a.yaml": "a"}), nil); err != nil {
		t.Fatal(err)
	}
	stage := filepath.Join(dir, filepath.FromSlash(TxnDir))
	os.MkdirAll(filepath.Join(stage, "files"), 0o755)
	os.WriteFile(filepath.Join(stage, "files", "0"), []byte("staged"), 0o644)
	if Pending(dir) {
		t.Error("staged files without a journal count as an unfinished write")
	}
	os.WriteFile(filepath.Join(stage, "journal"), []byte(`{"put":[]}`), 0o644)
	if !Pending(dir) {
		t.Error("a committed journal does not count")
	}

	// A file system out of inodes once the staging folder is made: its files folder cannot be.
	dir = filepath.Join(t.TempDir(), "small")
	os.Mkdir(dir, 0o755)
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "nr_inodes=64"); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, 0) })
	if _, err := Write(dir, mustTree(t, map[string]string{"a.yaml": "a"}), nil); err != nil {
		t.Fatal(err)
	}
	before := snapshotDir(t, dir)
	var fill []string
	for i := 0; ; i++ {
		f := filepath.Join(dir, fmt.Sprintf("fill-%d", i))
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
		fill = append(fill, f)
	}
	stage = filepath.Join(dir, filepath.FromSlash(TxnDir))
	os.Remove(fill[len(fill)-1]) // room for the staging folder, not for what goes in it
	fill = fill[:len(fill)-1]
	_, err := Write(dir, mustTree(t, map[string]string{"a.yaml": "a2"}), nil)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Lstat(stage); Pending(dir) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a write that failed before its commit left its staging folder: %v", err)
	}
	for _, f := range fill {
		os.Remove(f)
	}
	if after := snapshotDir(t, dir); !slices.Equal(before, after) {
		t.Errorf("the tree changed:\n%v\n%v", before, after)
	}
}

// The folders a write's removals empty are removed with them; undone, the write makes them again with the modes they
// had (0700, setgid 2775), not the mode of the folders kronform-gen makes.
func TestUndoRestoresTheModesOfRemovedFolders(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	if _, err := Write(dir, mustTree(t, map[string]string{"a/x/one.yaml": "1", "b/two.yaml": "2", "c.yaml": "c"}), nil); err != nil {
		t.Fatal(err)
	}
	modes := map[string]fs.FileMode{"a": 0o775 | fs.ModeSetgid, "a/x": 0o700}
	for d, m := range modes {
		if err := os.Chmod(filepath.Join(dir, d), m); err != nil {
			t.Fatal(err)
		}
	}
	// The second removal fails (its folder became a file after the commit), once the first emptied a/x and a.
	testAfterCommit = func(dir string) {
		os.RemoveAll(filepath.Join(dir, "b"))
		os.WriteFile(filepath.Join(dir, "b"), nil, 0o644)
	}
	defer func() { testAfterCommit = nil }()
	_, err := Write(dir, mustTree(t, map[string]string{"c.yaml": "c2"}), nil)
	if err == nil || !strings.Contains(err.Error(), "the write was undone") {
		t.Fatalf("got %v", err)
	}
	if read(t, dir, "a/x/one.yaml") != "1" || read(t, dir, "c.yaml") != "c" {
		t.Fatal("not undone")
	}
	for d, m := range modes {
		st, err := os.Stat(filepath.Join(dir, d))
		if got := st.Mode() & (fs.ModePerm | fs.ModeSetgid); err != nil || got != m {
			t.Errorf("%s: %v, want %v (%v)", d, got, m, err)
		}
	}
}

// A write judges the tree before it stages its files; the user may change it before the journal commits (staging a
// large fleet takes a while). A file made or replaced there in that window is somebody's, as it is after a kill: the
// write is undone rather than completed over it, and the file stays.
func TestWriteNeverCompletesOverAFileChangedBeforeItsCommit(t *testing.T) {
	v1 := map[string]string{"a.yaml": "a1", "old.yaml": "old"}
	v2 := map[string]string{"a.yaml": "a2", "new.yaml": "n"}
	for name, path := range map[string]string{
		"a file made where a new one goes": "new.yaml",
		"a file replaced that is replaced": "a.yaml",
		"a file replaced that is removed":  "old.yaml",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := Write(dir, mustTree(t, v1), nil); err != nil {
				t.Fatal(err)
			}
			testAfterCommit = func(dir string) {
				os.WriteFile(filepath.Join(dir, path), []byte("the user's notes"), 0o644)
			}
			defer func() { testAfterCommit = nil }()
			_, err := Write(dir, mustTree(t, v2), nil)
			if got, _ := os.ReadFile(filepath.Join(dir, path)); string(got) != "the user's notes" {
				t.Fatalf("the user's file is gone (write: %v); %s holds %q", err, path, got)
			}
			if err == nil || !strings.Contains(err.Error(), path+": ") || !strings.Contains(err.Error(), "the write was undone") {
				t.Errorf("write: %v", err)
			}
			if Pending(dir) {
				t.Error("the journal is left")
			}
		})
	}
}

// Open holds no lock on a folder that does not exist yet: a tree another kronform-gen wrote there meanwhile was never
// seen by what the caller read before writing (its guards judged an empty tree), and is not overwritten or pruned
// unjudged. The next run judges it.
func TestWriteRefusesATreeWrittenSinceOpenFoundNone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	w, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := Write(dir, mustTree(t, map[string]string{"a.yaml": "theirs", "b.yaml": "b"}), nil); err != nil {
		t.Fatal(err)
	}
	before := snapshotDir(t, dir)
	_, err = w.Write(mustTree(t, map[string]string{"a.yaml": "ours"}), nil)
	if err == nil || !strings.Contains(err.Error(), "another kronform-gen wrote") {
		t.Errorf("write: %v", err)
	}
	if after := snapshotDir(t, dir); !slices.Equal(before, after) {
		t.Errorf("the other tree changed:\n%v\n%v", before, after)
	}
}

// The staging area is discarded entry by entry: through a link committed in its place (.kronform-gen/txn -> ../..)
// that would delete everything in the folder it leads to. A staging area, or a folder of it, that is not a real
// folder is refused by every writer and reader, and nothing through it is touched.
func TestAStagingAreaThatIsALinkIsRefused(t *testing.T) {
	for _, p := range []string{TxnDir, TxnDir + "/old", StateDir} {
		t.Run(p, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := Write(dir, mustTree(t, map[string]string{"a.yaml": "a"}), nil); err != nil {
				t.Fatal(err)
			}
			victim := t.TempDir()
			os.WriteFile(filepath.Join(victim, "precious"), []byte("mine"), 0o644)
			link := filepath.Join(dir, filepath.FromSlash(p))
			if p == StateDir {
				os.Rename(link, filepath.Join(victim, "state"))
				os.Symlink(filepath.Join(victim, "state"), link)
			} else {
				os.MkdirAll(filepath.Dir(link), 0o755)
				os.Symlink(victim, link)
			}
			if err := Staging(dir); err == nil || !strings.Contains(err.Error(), p+" is a symbolic link, not a folder") {
				t.Errorf("Staging: %v", err)
			}
			if _, err := Open(dir); err == nil {
				t.Error("Open took the tree")
			}
			if err := Recover(dir); err == nil {
				t.Error("Recover took the tree")
			}
			if _, err := Write(dir, mustTree(t, map[string]string{"a.yaml": "b"}), nil); err == nil {
				t.Error("Write took the tree")
			}
			if b, err := os.ReadFile(filepath.Join(victim, "precious")); err != nil || string(b) != "mine" {
				t.Errorf("the file the link leads to: %q, %v", b, err)
			}
		})
	}
}
