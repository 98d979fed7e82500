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
	// Undone says an unfinished write of an earlier run could not be completed and was undone (or, from a
	// kronform-gen that could not undo it, given up), and why; this write then started from the tree before it.
	Undone string
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

// journal is the committed plan of a transaction: rename each staged file to its place, then delete the stale ones.
//
// With Undo (every journal this kronform-gen writes) nothing is overwritten or deleted before the end: the file a put
// replaces is first moved to old/N in the staging area and a removed file to gone/N, so a write that cannot be
// completed is undone step by step, each step the inverse of one made, and Folders (those the write creates) are
// removed again. The staging area, old files with it, goes only once the write is complete.
type journal struct {
	Undo    bool     `json:"undo,omitempty"`
	Put     []put    `json:"put"`
	Remove  []string `json:"remove"`
	Folders []string `json:"folders,omitempty"`
}

type put struct {
	Staged string `json:"staged"`
	Path   string `json:"path"`
}

// OwnsFunc recognises a file on disk as generated output even when the ownership record does not list it (the record
// was lost, or the file came from another branch): the DO NOT EDIT header, say.
type OwnsFunc func(path string, onDisk []byte) bool

// Write makes the tree at dir equal to t in one transaction. Files are staged in the tree's state folder, a journal is
// committed with one rename, and only then are files moved into place and stale owned files removed. A failure before
// the commit leaves the old tree; a kill after it is completed by Recover, which Write runs first (readers only ask
// Pending). Every step after the commit is tried before it (names the file system takes, folders it can write, one
// file system); a step that still fails (a full disk) has the write undone, and the old tree is back. Unchanged files
// are not touched, so a second run writes nothing. Files not owned by kronform-gen are never overwritten unless
// generated(path, contents) recognises them as generated output whose record was lost.
func Write(dir string, t *Tree, generated OwnsFunc) (Result, error) {
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
	unlock, err := lock(dir)
	if err != nil {
		return Result{}, err
	}
	defer unlock()
	undone, adopted, err := recoverLocked(dir)
	if err != nil {
		return Result{}, err
	}
	old, err := ReadOwned(dir)
	if err != nil {
		return Result{}, err
	}
	// Files that a given-up write of an earlier kronform-gen moved into place are its output: owned here, so that those
	// the spec no longer makes are pruned rather than left behind unrecorded.
	for _, p := range adopted {
		if _, ok := old.Files[p]; !ok {
			old.Files[p] = ""
		}
	}
	for _, p := range slices.Sorted(maps.Keys(old.Files)) {
		if d, ok := full.protectedDir(p); ok {
			return Result{}, fmt.Errorf("%s lists %s, inside %s, which kronform-gen never writes (restore it from git)", OwnedFile, p, d)
		}
	}
	res := Result{Undone: undone}
	var conflicts, folders []string
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
			res.Written = append(res.Written, p)
			continue
		}
		have, err := os.ReadFile(file)
		switch {
		case err != nil:
			return Result{}, err
		case bytes.Equal(have, want) && st.Mode()&0o100 != 0:
			// git records the owner's executable bit (and no other): the file is written anew, with the mode every
			// generated file has.
			res.Written = append(res.Written, p)
		case bytes.Equal(have, want):
		default:
			if !owned && (generated == nil || !generated(p, have)) {
				conflicts = append(conflicts, p)
			}
			res.Written = append(res.Written, p)
		}
	}
	var kept []string
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
		// A file is pruned only as kronform-gen wrote it (by the record, or moved into place by a given-up write), or
		// recognised as generated output: contents put there by someone else are theirs, as they would be where a file
		// is written.
		if st.Mode().IsRegular() {
			have, err := os.ReadFile(file)
			if err != nil {
				return Result{}, err
			}
			if Digest(have) != old.Files[p] && !slices.Contains(adopted, p) && (generated == nil || !generated(p, have)) {
				kept = append(kept, p)
				continue
			}
		}
		res.Removed = append(res.Removed, p)
	}
	if len(conflicts)+len(folders)+len(kept) > 0 {
		return Result{}, &ConflictError{Paths: conflicts, Folders: folders, Kept: kept}
	}
	if !res.Changed() {
		return res, nil
	}
	if err := unwritable(append(slices.Clone(res.Written), res.Removed...), newProbe(dir).movable); err != nil {
		return Result{}, err
	}
	j := journal{Undo: true, Remove: res.Removed, Folders: newFolders(dir, res.Written)}
	stage := filepath.Join(dir, filepath.FromSlash(TxnDir))
	if err := mkdirAll(filepath.Join(stage, "files")); err != nil {
		return Result{}, err
	}
	for i, p := range res.Written {
		staged := filepath.Join("files", strconv.Itoa(i))
		data, _ := full.File(p)
		if err := writeFile(filepath.Join(stage, staged), data); err != nil {
			os.RemoveAll(stage)
			return Result{}, err
		}
		j.Put = append(j.Put, put{Staged: filepath.ToSlash(staged), Path: p})
	}
	// One syncfs makes every staged file durable before the journal can name it; a sync per file costs a disk flush
	// per file and made large fleets crawl.
	if err := syncFS(stage); err != nil {
		os.RemoveAll(stage)
		return Result{}, err
	}
	// The record goes last, so that until the very end the old record still describes what is on disk.
	slices.SortStableFunc(j.Put, func(a, b put) int {
		return boolInt(a.Path == OwnedFile) - boolInt(b.Path == OwnedFile)
	})
	data, err := json.Marshal(j)
	if err != nil {
		os.RemoveAll(stage)
		return Result{}, err
	}
	if err := writeSynced(filepath.Join(stage, "journal.tmp"), data); err != nil {
		os.RemoveAll(stage)
		return Result{}, err
	}
	testHang("before-commit", 0)
	// The commit point: from here on the new tree is what this directory holds, even if the process dies.
	if err := os.Rename(filepath.Join(stage, "journal.tmp"), filepath.Join(stage, "journal")); err != nil {
		os.RemoveAll(stage)
		return Result{}, err
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

// Recover finishes a committed transaction that a kill interrupted, undoes one that cannot be finished, or discards one
// that never committed. Without an unfinished transaction it touches nothing. A transaction undone (or given up) is
// an error here, saying why; Write carries on from the old tree instead.
func Recover(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(TxnDir))); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	unlock, err := lock(dir)
	if err != nil {
		return err
	}
	defer unlock()
	undone, _, err := recoverLocked(dir)
	if err == nil && undone != "" {
		err = errors.New(undone)
	}
	return err
}

// recoverLocked deals with the transaction left in dir, if any. A committed one is completed; one that cannot be is
// undone, and undone says why. A journal of an earlier kronform-gen, which overwrote and deleted as it went, cannot be
// undone: it is given up, and adopted lists the files it may have moved into place (and those it was to remove), for
// the write that follows to own, so that what the spec no longer makes is pruned and not left unrecorded.
func recoverLocked(dir string) (undone string, adopted []string, err error) {
	stage := filepath.Join(dir, filepath.FromSlash(TxnDir))
	data, err := os.ReadFile(filepath.Join(stage, "journal"))
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.RemoveAll(stage); err != nil {
			return "", nil, fmt.Errorf("discarding an unfinished write: %w", err)
		}
		return "", nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	var j journal
	if err := json.Unmarshal(data, &j); err != nil {
		return "", nil, fmt.Errorf("%s/journal is corrupt (%v); delete %s and run kronform-gen generate", TxnDir, err, TxnDir)
	}
	if err := j.check(dir); err != nil {
		return "", nil, fmt.Errorf("%s/journal %v: kronform-gen never writes such a journal; delete %s (and never commit it)", TxnDir, err, TxnDir)
	}
	err = apply(dir, j)
	cause := err
	var cannot *incompleteError
	if errors.As(err, &cannot) {
		cause = cannot.err
	}
	switch {
	case err == nil:
		return "", nil, nil
	case cannot != nil && cannot.undone:
		return fmt.Sprintf("the unfinished write of an earlier run could not be completed (%v) and was undone", cause), nil, nil
	case j.Undo:
		return "", nil, err
	}
	// An earlier kronform-gen's journal: what it overwrote and deleted is gone, so it cannot be undone.
	for _, op := range j.Put {
		if _, serr := os.Lstat(filepath.Join(stage, filepath.FromSlash(op.Staged))); errors.Is(serr, fs.ErrNotExist) {
			adopted = append(adopted, op.Path)
		}
	}
	adopted = append(adopted, j.Remove...)
	if rerr := os.RemoveAll(stage); rerr != nil {
		return "", nil, fmt.Errorf("an unfinished write of an earlier kronform-gen could not be completed (%v), and giving it up failed: %w", cause, rerr)
	}
	return fmt.Sprintf("the unfinished write of an earlier kronform-gen could not be completed (%v) nor undone: given up; "+
		"the files it had moved into place are rewritten or pruned like the rest", cause), adopted, nil
}

// check refuses a journal kronform-gen could not have written: a staged name other than files/N, or a target that is
// not a clean path inside the tree, lies in .git or the state folder's staging area, or lies below a folder that is a
// link. The state folder is git-ignored but can be committed by force, and an applied journal writes and deletes.
func (j journal) check(dir string) error {
	var targets []string
	for _, op := range j.Put {
		n, ok := strings.CutPrefix(op.Staged, "files/")
		if i, err := strconv.Atoi(n); !ok || err != nil || i < 0 || strconv.Itoa(i) != n {
			return fmt.Errorf("stages %q", op.Staged)
		}
		targets = append(targets, op.Path)
	}
	targets = append(targets, j.Remove...)
	targets = append(targets, j.Folders...)
	for _, p := range targets {
		if !ownedPath(p) || p == TxnDir || strings.HasPrefix(p, TxnDir+"/") {
			return fmt.Errorf("names %q", p)
		}
	}
	if linked := linkedFolders(dir, targets); len(linked) > 0 {
		return fmt.Errorf("writes through the links %v", linked)
	}
	return nil
}

// Pending says whether dir holds an unfinished write: staged files, and perhaps a committed journal, that Recover
// (which every writing command runs first) would finish or discard.
func Pending(dir string) bool {
	_, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(TxnDir)))
	return err == nil
}

// incompleteError is a committed write that could not be completed: undone, or not (then its staging area is left
// for the next run to complete or undo).
type incompleteError struct {
	err     error // the step that failed
	undoErr error // why undoing it failed
	undone  bool
}

func (e *incompleteError) Error() string {
	switch {
	case e.undone:
		return fmt.Sprintf("%v; the write was undone and the tree is as it was", e.err)
	case e.undoErr != nil:
		return fmt.Sprintf("%v; undoing the write failed too (%v): the tree is half written, and %s holds what "+
			"completes or undoes it: run kronform-gen generate again once the cause is fixed", e.err, e.undoErr, TxnDir)
	}
	return fmt.Sprintf("%v (completing the write: run kronform-gen generate again to finish it)", e.err)
}

func (e *incompleteError) Unwrap() error { return e.err }

// apply carries out a committed journal. Each step can run twice: a staged file already moved is skipped. A step that
// fails has the journal undone when it allows (Undo), and an error says so.
func apply(dir string, j journal) error {
	err := forward(dir, j)
	if err == nil {
		return finish(dir)
	}
	if !j.Undo {
		return &incompleteError{err: err}
	}
	if uerr := undo(dir, j); uerr != nil {
		return &incompleteError{err: err, undoErr: uerr}
	}
	return &incompleteError{err: err, undone: true}
}

// staged names the places of step i of a journal in its staging area: the new file, and where the old one is kept.
func staged(stage string, op put, i int) (src, aside string) {
	return filepath.Join(stage, filepath.FromSlash(op.Staged)), filepath.Join(stage, "old", strconv.Itoa(i))
}

func forward(dir string, j journal) error {
	stage := filepath.Join(dir, filepath.FromSlash(TxnDir))
	for i, op := range j.Put {
		target := filepath.Join(dir, filepath.FromSlash(op.Path))
		src, aside := staged(stage, op, i)
		if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
			continue // moved before an earlier run was interrupted
		}
		if err := mkdirAll(filepath.Dir(target)); err != nil {
			return err
		}
		if j.Undo {
			// The file it replaces is kept aside, for an undo, unless it was on an earlier run.
			if _, err := os.Lstat(aside); errors.Is(err, fs.ErrNotExist) {
				st, err := os.Lstat(target)
				switch {
				case err == nil && st.IsDir():
					return fmt.Errorf("%s: a folder stands where the file goes", op.Path)
				case err == nil:
					if err := mkdirAll(filepath.Dir(aside)); err != nil {
						return err
					}
					if err := os.Rename(target, aside); err != nil {
						return err
					}
				case !errors.Is(err, fs.ErrNotExist):
					return err
				}
			}
		}
		testHang("put", i+1)
		if err := os.Rename(src, target); err != nil {
			return err
		}
	}
	for i, p := range j.Remove {
		target := filepath.Join(dir, filepath.FromSlash(p))
		testHang("remove", i+1)
		var err error
		if j.Undo {
			// A folder made since where the file was is somebody's, as Write decides before a journal: it stays.
			if st, lerr := os.Lstat(target); lerr == nil && st.IsDir() {
				continue
			}
			gone := filepath.Join(stage, "gone", strconv.Itoa(i))
			if err = mkdirAll(filepath.Dir(gone)); err == nil {
				err = os.Rename(target, gone)
			}
		} else {
			err = os.Remove(target)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		removeEmptyParents(dir, filepath.Dir(target))
	}
	return nil
}

// finish ends a completed write: the journal goes first, so that from then on what is left can only be discarded
// (the old files kept for an undo with it), never undone without them.
func finish(dir string) error {
	stage := filepath.Join(dir, filepath.FromSlash(TxnDir))
	if err := os.Remove(filepath.Join(stage, "journal")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.RemoveAll(stage)
}

// undo takes back every step forward made, last first, each by the inverse rename, so that the tree is as it was
// before the commit and the staging area as it was at it: a kill while undoing leaves a journal the next run can
// complete or undo again. Then the staging area goes, and the folders the write created, where empty.
func undo(dir string, j journal) error {
	stage := filepath.Join(dir, filepath.FromSlash(TxnDir))
	step := 0
	hang := func() { step++; testHang("undo", step) }
	for i := len(j.Remove) - 1; i >= 0; i-- {
		target := filepath.Join(dir, filepath.FromSlash(j.Remove[i]))
		gone := filepath.Join(stage, "gone", strconv.Itoa(i))
		if _, err := os.Lstat(gone); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := mkdirAll(filepath.Dir(target)); err != nil {
			return err
		}
		hang()
		if err := os.Rename(gone, target); err != nil {
			return err
		}
	}
	for i := len(j.Put) - 1; i >= 0; i-- {
		op := j.Put[i]
		target := filepath.Join(dir, filepath.FromSlash(op.Path))
		src, aside := staged(stage, op, i)
		if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
			// Moved into place: back to the staging area.
			hang()
			if err := os.Rename(target, src); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		if _, err := os.Lstat(aside); err == nil {
			hang()
			if err := os.Rename(aside, target); err != nil {
				return err
			}
		}
	}
	if err := finish(dir); err != nil {
		return err
	}
	for _, d := range j.Folders {
		os.Remove(filepath.Join(dir, filepath.FromSlash(d))) // where empty; a folder somebody filled since stays
	}
	return nil
}

// removeEmptyParents deletes folders left empty by pruning, up to (not including) the tree's root.
func removeEmptyParents(root, dir string) {
	for dir != root && len(dir) > len(root) {
		if err := os.Remove(dir); err != nil {
			return // not empty, or not ours to remove
		}
		dir = filepath.Dir(dir)
	}
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
