package tree

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// TxnDir holds a transaction, relative to the tree: staged files and, once committed, its journal.
const TxnDir = StateDir + "/txn"

// Result says what a write changed.
type Result struct {
	Written []string // added or changed files
	Removed []string // stale owned files deleted
	// Recovered is what was done, before the write, with an unfinished write of an earlier run (see Open). The
	// function Write sets it on every return, a failed write's included; a Writer's write leaves it to Writer.Recovered.
	Recovered Recovery
}

// Changed says whether the write touched the disk.
func (r Result) Changed() bool { return len(r.Written)+len(r.Removed) > 0 }

// ConflictError is a file in the way that kronform-gen did not generate, a folder where it generates a file, or a
// file it would prune whose contents it did not write.
type ConflictError struct{ Paths, Folders, Kept []string }

func (e *ConflictError) Error() string {
	var parts []string
	if len(e.Paths) > 0 {
		parts = append(parts, fmt.Sprintf("refusing to overwrite files kronform-gen did not generate: %v (move them away, or delete them)", e.Paths))
	}
	if len(e.Folders) > 0 {
		parts = append(parts, fmt.Sprintf("refusing to write files where folders stand: %v (move them away)", e.Folders))
	}
	if len(e.Kept) > 0 {
		parts = append(parts, fmt.Sprintf("refusing to delete files the spec no longer generates whose contents kronform-gen "+
			"did not write: %v (move them away, or delete them)", e.Kept))
	}
	return strings.Join(parts, "; ")
}

// OwnsFunc recognises a file on disk as generated output even when the ownership record does not list it (the record
// was lost, or the file came from another branch): the DO NOT EDIT header, say.
type OwnsFunc func(path string, onDisk []byte) bool

// Writer is a tree locked for writing. Open takes the lock and deals with an unfinished write of an earlier run
// before the caller reads anything of the tree (a render reads the secret files it keeps, generate the tree Flux
// applies now): read half written, the tree would be rendered from and judged as a mix of two. The lock is held until
// Close, so no other kronform-gen writes the tree between those reads and the write.
type Writer struct {
	dir    string
	unlock func()
	// Recovered says what Open did with the unfinished write it found, if any.
	Recovered Recovery
}

// Open locks the tree at dir (flock: a killed run never leaves it locked) and completes, undoes or gives up an
// unfinished write found there, as Recover does; what it did is in Recovered. A folder that does not exist yet holds
// no unfinished write: Write creates and locks it.
func Open(dir string) (*Writer, error) {
	w := &Writer{dir: dir}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return w, nil
	}
	unlock, err := lock(dir)
	if err != nil {
		return nil, err
	}
	rec, err := recoverLocked(dir)
	if err != nil {
		unlock()
		return nil, err
	}
	w.unlock, w.Recovered = unlock, rec
	return w, nil
}

// Close releases the lock.
func (w *Writer) Close() {
	if w.unlock != nil {
		w.unlock()
		w.unlock = nil
	}
}

// Write is Open, Writer.Write and Close in one: what Open recovered is in the Result, whatever the write's outcome.
func Write(dir string, t *Tree, generated OwnsFunc) (Result, error) {
	w, err := Open(dir)
	if err != nil {
		return Result{}, err
	}
	defer w.Close()
	res, err := w.Write(t, generated)
	res.Recovered = w.Recovered
	return res, err
}

// Write makes the tree equal to t in one transaction. Files are staged in the tree's state folder, a journal is
// committed with one rename, and only then are files moved into place and stale owned files removed. A failure before
// the commit leaves the old tree, and no staging folder; a kill after it is completed by the next Open (readers only
// ask Pending). Every step after the commit is tried before it (names the file system takes, folders it can write,
// one mount); a step that still fails (a full disk) has the write undone, and the old tree is back. Unchanged files
// are not touched, so a second run writes nothing. Files not owned by kronform-gen are never overwritten unless
// generated(path, contents) recognises them as generated output whose record was lost.
func (w *Writer) Write(t *Tree, generated OwnsFunc) (Result, error) {
	dir := w.dir
	full, err := withRecord(t)
	if err != nil {
		return Result{}, err
	}
	// Names are checked before anything, the output folder itself included, is created.
	if err := unwritable(append([]string{""}, full.Paths()...), newProbe(dir).names); err != nil {
		return Result{}, err
	}
	if err := mkdirAll(dir); err != nil {
		return Result{}, err
	}
	if w.unlock == nil {
		unlock, err := lock(dir)
		if err != nil {
			return Result{}, err
		}
		w.unlock = unlock
		// Open found no folder, so no unfinished write to deal with: one there now was left by another kronform-gen
		// since, and is not this write's to finish or undo unannounced. Nor is a tree another wrote since, which the
		// caller's reads (the secret files it keeps, the guards) never saw: it would be overwritten and pruned unjudged.
		if Pending(dir) {
			return Result{}, fmt.Errorf("another kronform-gen left an unfinished write in %s while this one ran: run kronform-gen generate again", dir)
		}
		if _, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(OwnedFile))); err == nil {
			return Result{}, fmt.Errorf("another kronform-gen wrote %s while this one ran: run kronform-gen generate again", dir)
		}
	}
	// Open checked it; a link made since would have the staged files written, and then discarded, through it.
	if err := Staging(dir); err != nil {
		return Result{}, err
	}
	stage := filepath.Join(dir, filepath.FromSlash(TxnDir))
	adopted, err := readAdopted(stage)
	if err != nil {
		return Result{}, err
	}
	old, err := ReadOwned(dir)
	if err != nil {
		return Result{}, err
	}
	// Files that a given-up write of an earlier kronform-gen moved into place are its output: owned here, so that those
	// the spec no longer makes are pruned rather than left behind unrecorded.
	for p := range adopted {
		if _, ok := old.Files[p]; !ok {
			old.Files[p] = ""
		}
	}
	for _, p := range slices.Sorted(maps.Keys(old.Files)) {
		if d, ok := full.protectedDir(p); ok {
			return Result{}, fmt.Errorf("%s lists %s, inside %s, which kronform-gen never writes (restore it from git)", OwnedFile, p, d)
		}
	}
	var res Result
	var conflicts, folders []string
	// was holds what stands at each target now, for the journal: completing it later touches only what is still so.
	was := map[string]string{}
	// Files are written and stale ones removed only below real folders: through a link they would land (or be
	// deleted) outside the tree.
	if linked := linkedFolders(dir, append(full.Paths(), slices.Collect(maps.Keys(old.Files))...)); len(linked) > 0 {
		return Result{}, fmt.Errorf("refusing to write through %v: not folders but symbolic links (or files); Flux leaves "+
			"linked folders out of what it applies and check never follows them: make each a real folder", linked)
	}
	for _, p := range full.Paths() {
		want, _ := full.File(p)
		file := filepath.Join(dir, filepath.FromSlash(p))
		_, owned := old.Files[p]
		owned = owned || p == OwnedFile || p == gitignoreFile
		st, err := os.Lstat(file)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			res.Written = append(res.Written, p)
			continue
		case err != nil:
			return Result{}, err
		case st.IsDir():
			// A rename cannot replace a folder: found only after the journal is committed, it would leave a
			// transaction that neither generate nor check can get past.
			folders = append(folders, p)
			continue
		case !st.Mode().IsRegular():
			// A symbolic link is never followed (Flux leaves links out of what it applies, so one where a
			// generated file belongs applies nothing): the file replaces it, the target untouched. One kronform-gen
			// did not own there is somebody's, and a conflict like a file.
			if !owned {
				conflicts = append(conflicts, p)
			}
			if was[p], err = entryState(file); err != nil {
				return Result{}, err
			}
			res.Written = append(res.Written, p)
			continue
		}
		have, err := os.ReadFile(file)
		if err != nil {
			return Result{}, err
		}
		switch {
		case bytes.Equal(have, want) && st.Mode()&0o100 != 0:
			// git records the owner's executable bit (and no other): the file is written anew, with the mode every
			// generated file has.
			res.Written = append(res.Written, p)
		case bytes.Equal(have, want):
			continue
		default:
			if !owned && (generated == nil || !generated(p, have)) {
				conflicts = append(conflicts, p)
			}
			res.Written = append(res.Written, p)
		}
		was[p] = Digest(have)
	}
	var kept, gone []string
	for _, p := range slices.Sorted(maps.Keys(old.Files)) {
		if _, still := full.File(p); still {
			continue
		}
		// A folder that now stands where a file was generated is somebody's: it stays.
		file := filepath.Join(dir, filepath.FromSlash(p))
		st, err := os.Lstat(file)
		if err != nil || st.IsDir() {
			continue
		}
		// A file is pruned only as kronform-gen wrote it (by the record, or as a given-up write moved it into place),
		// or recognised as generated output: contents put there by someone else are theirs, as they would be where a
		// file is written.
		var state string
		if st.Mode().IsRegular() {
			have, err := os.ReadFile(file)
			if err != nil {
				return Result{}, err
			}
			state = Digest(have)
			if state != old.Files[p] && state != adopted[p] && (generated == nil || !generated(p, have)) {
				kept = append(kept, p)
				continue
			}
		} else if state, err = entryState(file); err != nil {
			return Result{}, err
		}
		res.Removed = append(res.Removed, p)
		gone = append(gone, state)
	}
	if len(conflicts)+len(folders)+len(kept) > 0 {
		return Result{}, &ConflictError{Paths: conflicts, Folders: folders, Kept: kept}
	}
	if !res.Changed() {
		// Every file a given-up write left is as this tree has it, and listed in the record, or gone.
		if len(adopted) > 0 {
			if err := os.Remove(filepath.Join(stage, adoptedFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return Result{}, err
			}
			discardStage(stage, false)
		}
		return res, nil
	}
	if err := unwritable(append(slices.Clone(res.Written), res.Removed...), newProbe(dir).movable); err != nil {
		return Result{}, err
	}
	j := journal{Undo: true, Version: 2, Remove: res.Removed, Gone: gone, Folders: newFolders(dir, res.Written),
		Modes: folderModes(dir, res.Removed)}
	// Before the commit, a failure leaves nothing behind: no staging folder, nor the state folder if it made that.
	stateDir := filepath.Join(dir, filepath.FromSlash(StateDir))
	_, statErr := os.Lstat(stateDir)
	abort := func(err error) (Result, error) {
		discardStage(stage, true)
		if errors.Is(statErr, fs.ErrNotExist) {
			os.Remove(stateDir) // where empty
		}
		return Result{}, err
	}
	if err := mkdirAll(filepath.Join(stage, "files")); err != nil {
		return abort(err)
	}
	for i, p := range res.Written {
		staged := filepath.Join("files", strconv.Itoa(i))
		data, _ := full.File(p)
		if err := writeFile(filepath.Join(stage, staged), data); err != nil {
			return abort(err)
		}
		j.Put = append(j.Put, put{Staged: filepath.ToSlash(staged), Path: p, Was: was[p], Want: Digest(data)})
	}
	// One syncfs makes every staged file durable before the journal can name it; a sync per file costs a disk flush
	// per file and made large fleets crawl.
	if err := syncFS(stage); err != nil {
		return abort(err)
	}
	// The record goes last, so that until the very end the old record still describes what is on disk.
	slices.SortStableFunc(j.Put, func(a, b put) int {
		return boolInt(a.Path == OwnedFile) - boolInt(b.Path == OwnedFile)
	})
	data, err := json.Marshal(j)
	if err != nil {
		return abort(err)
	}
	if err := writeSynced(filepath.Join(stage, "journal.tmp"), data); err != nil {
		return abort(err)
	}
	testHang("before-commit", 0)
	// The commit point: from here on the new tree is what this directory holds, even if the process dies.
	if err := os.Rename(filepath.Join(stage, "journal.tmp"), filepath.Join(stage, "journal")); err != nil {
		return abort(err)
	}
	if err := syncDir(stage); err != nil {
		return Result{}, err
	}
	if testAfterCommit != nil {
		testAfterCommit(dir)
	}
	if err := apply(dir, j); err != nil {
		return Result{}, err
	}
	return res, nil
}

// folderModes records the modes of the folders that removing the given files may leave empty, and so remove, where
// they are not FolderMode: an undo makes them again as they were (0700, setgid 2775), not as kronform-gen makes its own.
func folderModes(dir string, removed []string) map[string]string {
	seen := map[string]bool{}
	modes := map[string]string{}
	for _, p := range removed {
		for d := path.Dir(p); d != "." && !seen[d]; d = path.Dir(d) {
			seen[d] = true
			st, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(d)))
			if err != nil || !st.IsDir() {
				continue
			}
			if m := st.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky); m != FolderMode {
				modes[d] = fmt.Sprintf("%04o", unixMode(m))
			}
		}
	}
	if len(modes) == 0 {
		return nil
	}
	return modes
}

// newFolders lists the folders that writing the given files creates, deepest first: those a write's undo removes.
func newFolders(dir string, files []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range files {
		for d := path.Dir(p); d != "." && !seen[d]; d = path.Dir(d) {
			seen[d] = true
			if _, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(d))); err == nil {
				break
			}
			out = append(out, d)
		}
	}
	// Deepest first: a folder is empty only once the folders in it are gone.
	slices.SortFunc(out, func(a, b string) int {
		if n := strings.Count(b, "/") - strings.Count(a, "/"); n != 0 {
			return n
		}
		return strings.Compare(a, b)
	})
	return out
}

// linkedFolders lists the folders below dir on the way to the given paths that are symbolic links (or anything but
// a folder), sorted: writing through one would put files outside the tree, where nothing reads them.
func linkedFolders(dir string, paths []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range paths {
		for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
			if seen[d] {
				break
			}
			seen[d] = true
			if st, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(d))); err == nil && !st.IsDir() {
				out = append(out, d)
			}
		}
	}
	slices.Sort(out)
	return out
}

// FileMode and FolderMode are the modes of every file and folder kronform-gen creates, whatever the umask. The tree
// is published through git, which records only whether a file is executable; a umask of 077 would otherwise make a
// tree that only its writer can read (a CI job or a git server running as another user could not), and one generated
// file executable would be a change git commits that nothing else sees. Secret files are no exception: they hold
// SOPS ciphertext, and are as public as the repository.
const (
	FileMode   fs.FileMode = 0o644
	FolderMode fs.FileMode = 0o755
)

// writeFile writes a staged file with FileMode, whatever the umask.
func writeFile(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, FileMode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(FileMode); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// mkdirAll is os.MkdirAll with every folder it creates set to FolderMode, whatever the umask; folders that already
// stand keep theirs (git does not record a folder's mode).
func mkdirAll(dir string) error {
	var created []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || filepath.Dir(d) == d {
			break
		}
		created = append(created, d)
	}
	if err := os.MkdirAll(dir, FolderMode); err != nil {
		return err
	}
	for _, d := range created {
		if err := os.Chmod(d, FolderMode); err != nil {
			return err
		}
	}
	return nil
}

func writeSynced(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// testAfterCommit, set only by tests, runs at the commit point: to change the tree under a committed journal, or keep
// the state a kill there would leave.
var testAfterCommit func(dir string)

// testHang lets the crash test kill a write at an exact step: with KRONFORM_GEN_TEST_HANG_AT=put:2 the write announces
// the step on stderr and blocks there until it is killed. Steps are before-commit, put:N, remove:N and undo:N (each
// rename an undo makes), counted from 1.
func testHang(kind string, n int) {
	at := os.Getenv("KRONFORM_GEN_TEST_HANG_AT")
	if at == "" {
		return
	}
	step := kind
	if n > 0 {
		step = fmt.Sprintf("%s:%d", kind, n)
	}
	if at == step {
		fmt.Fprintf(os.Stderr, "kronform-gen: test hang at %s\n", step)
		select {}
	}
}
