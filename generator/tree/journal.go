package tree

import (
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
	"syscall"

	"golang.org/x/sys/unix"
)

// journal is the committed plan of a transaction: rename each staged file to its place, then delete the stale ones.
//
// With Undo (every journal this kronform-gen writes) nothing is overwritten or deleted before the end: the file a put
// replaces is first moved to old/N in the staging area and a removed file to gone/N, so a write that cannot be
// completed is undone step by step, each step the inverse of one made, and Folders (those the write creates) are
// removed again, and the folders its removals emptied made again with their Modes. The staging area, old files with
// it, goes only once the write is complete.
//
// From Version 2 the journal also records what stood at each target when it was committed (Put.Was, Gone) and what
// each put moves there (Put.Want). A kill leaves the tree to whoever comes next, and a target that changed since
// (a file made where a new one goes, a file to be removed replaced) is somebody's: the write is then undone rather
// than completed over it, and an undo takes back only what is still as the write left it.
type journal struct {
	Undo    bool     `json:"undo,omitempty"`
	Version int      `json:"version,omitempty"`
	Put     []put    `json:"put"`
	Remove  []string `json:"remove"`
	// Gone is, for each Remove, what stood there at the commit (see entryState).
	Gone    []string `json:"gone,omitempty"`
	Folders []string `json:"folders,omitempty"`
	// Modes are the modes (octal, as chmod takes them) of the folders removals may empty, where not FolderMode.
	Modes map[string]string `json:"modes,omitempty"`
}

type put struct {
	Staged string `json:"staged"`
	Path   string `json:"path"`
	// Was is what stood at Path at the commit ("" nothing; see entryState); Want the digest of the staged file.
	Was  string `json:"was,omitempty"`
	Want string `json:"want,omitempty"`
}

// journalVersion is the Version of the journals this kronform-gen writes.
const journalVersion = 2

// adoptedFile, in the staging area, lists the files a given-up write of an earlier kronform-gen moved into place,
// with what each held: owned until a write completes, even across runs that fail before theirs commits.
const adoptedFile = "adopted"

// Outcome says what became of an unfinished write.
type Outcome int

// Outcomes of Recover and Open.
const (
	NothingPending Outcome = iota // no committed write was left unfinished
	Finished                      // completed
	Undone                        // could not be completed, and undone: the tree is as before it
	GivenUp                       // an earlier kronform-gen's, which can be neither completed nor undone
)

// Recovery says what was done with an unfinished write of an earlier run.
type Recovery struct {
	Outcome Outcome
	// Why the write could not be completed (Undone, GivenUp).
	Why string
	// Written and Removed count the files of the completed write (Finished).
	Written, Removed int
}

// String is a sentence for the user; empty when there was nothing to do.
func (r Recovery) String() string {
	switch r.Outcome {
	case Finished:
		return fmt.Sprintf("finished the write an earlier run left unfinished (killed after its commit): %d file(s) "+
			"written, %d removed", r.Written, r.Removed)
	case Undone:
		return fmt.Sprintf("the unfinished write of an earlier run could not be completed (%s) and was undone: the tree "+
			"is as it was before it", r.Why)
	case GivenUp:
		return fmt.Sprintf("the unfinished write of an earlier kronform-gen could not be completed (%s) nor undone: "+
			"given up; the files it had moved into place are kronform-gen's, rewritten or pruned like the rest by the "+
			"next write that completes", r.Why)
	}
	return ""
}

// Recover finishes a committed transaction that a kill interrupted, undoes one that cannot be finished, or discards one
// that never committed. Without an unfinished transaction it touches nothing. A transaction undone (or given up) is
// an error here, saying why; Open reports it in Writer.Recovered instead.
func Recover(dir string) error {
	if err := Staging(dir); err != nil {
		return err
	}
	if _, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(TxnDir))); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	unlock, err := lock(dir)
	if err != nil {
		return err
	}
	defer unlock()
	rec, err := recoverLocked(dir)
	if err == nil && (rec.Outcome == Undone || rec.Outcome == GivenUp) {
		err = errors.New(rec.String())
	}
	return err
}

// recoverLocked deals with the transaction left in dir, if any. A committed one is completed; one that cannot be, or
// whose targets changed since its commit, is undone. A journal of an earlier kronform-gen, which overwrote and deleted
// as it went, cannot be undone: it is given up, and the files it may have moved into place (and those it was to
// remove) are listed in the staging area's adopted file, for the writes that follow to own until one completes, so
// that what the spec no longer makes is pruned and not left unrecorded.
func recoverLocked(dir string) (Recovery, error) {
	if err := Staging(dir); err != nil {
		return Recovery{}, err
	}
	stage := filepath.Join(dir, filepath.FromSlash(TxnDir))
	data, err := os.ReadFile(filepath.Join(stage, "journal"))
	if errors.Is(err, fs.ErrNotExist) {
		if err := discardStage(stage, true); err != nil {
			return Recovery{}, fmt.Errorf("discarding an unfinished write: %w", err)
		}
		return Recovery{}, nil
	}
	if err != nil {
		return Recovery{}, err
	}
	var j journal
	if err := json.Unmarshal(data, &j); err != nil {
		return Recovery{}, fmt.Errorf("%s/journal is corrupt (%v); delete %s and run kronform-gen generate", TxnDir, err, TxnDir)
	}
	if err := j.check(dir); err != nil {
		return Recovery{}, fmt.Errorf("%s/journal %v: kronform-gen never writes such a journal; delete %s (and never commit it)", TxnDir, err, TxnDir)
	}
	// A target changed since the commit is somebody's, as a fresh write would judge it: completing the write would
	// move it aside and throw it away with the staging area. The write is undone instead.
	if j.Version >= journalVersion {
		changed, err := j.changed(dir)
		if err != nil {
			return Recovery{}, err
		}
		if len(changed) > 0 {
			cause := errors.New(strings.Join(changed, "; "))
			if uerr := undo(dir, j); uerr != nil {
				return Recovery{}, &incompleteError{err: cause, undoErr: uerr}
			}
			return Recovery{Outcome: Undone, Why: cause.Error()}, nil
		}
	}
	err = apply(dir, j)
	cause := err
	var cannot *incompleteError
	if errors.As(err, &cannot) {
		cause = cannot.err
	}
	switch {
	case err == nil:
		return Recovery{Outcome: Finished, Written: len(j.Put), Removed: len(j.Remove)}, nil
	case cannot != nil && cannot.undone:
		return Recovery{Outcome: Undone, Why: cause.Error()}, nil
	case j.Undo:
		return Recovery{}, err
	}
	// An earlier kronform-gen's journal: what it overwrote and deleted is gone, so it cannot be undone. What it moved
	// into place is listed first, then the journal goes: a kill in between leaves the journal, given up again.
	adopted := map[string]string{}
	adopt := func(p string) error {
		state, err := entryState(filepath.Join(dir, filepath.FromSlash(p)))
		if err == nil && state != "" && state != folderState {
			adopted[p] = state
		}
		return err
	}
	for _, op := range j.Put {
		if _, serr := os.Lstat(filepath.Join(stage, filepath.FromSlash(op.Staged))); errors.Is(serr, fs.ErrNotExist) {
			if err := adopt(op.Path); err != nil {
				return Recovery{}, err
			}
		}
	}
	for _, p := range j.Remove {
		if err := adopt(p); err != nil {
			return Recovery{}, err
		}
	}
	rerr := addAdopted(stage, adopted)
	if rerr == nil {
		if rerr = os.Remove(filepath.Join(stage, "journal")); rerr == nil {
			rerr = discardStage(stage, true)
		}
	}
	if rerr != nil {
		return Recovery{}, fmt.Errorf("an unfinished write of an earlier kronform-gen could not be completed (%v), and giving it up failed: %w", cause, rerr)
	}
	return Recovery{Outcome: GivenUp, Why: cause.Error()}, nil
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
	targets = append(targets, slices.Sorted(maps.Keys(j.Modes))...)
	for _, p := range targets {
		if !ownedPath(p) || p == TxnDir || strings.HasPrefix(p, TxnDir+"/") {
			return fmt.Errorf("names %q", p)
		}
	}
	if j.Version >= journalVersion && (!j.Undo || len(j.Gone) != len(j.Remove)) {
		return fmt.Errorf("of version %d records %d removed files for %d removals, undo %v", j.Version, len(j.Gone), len(j.Remove), j.Undo)
	}
	for d, m := range j.Modes {
		if _, err := parseMode(m); err != nil {
			return fmt.Errorf("gives %s the mode %q", d, m)
		}
	}
	if linked := linkedFolders(dir, targets); len(linked) > 0 {
		return fmt.Errorf("writes through the links %v", linked)
	}
	return nil
}

// changed says which targets of the steps not yet made no longer hold what they held at the commit, judged as a
// fresh write judges them: a file made where a new one goes, a file replaced where one is replaced or removed, a folder
// where a file goes. A target since deleted is not in the way, nor a folder where a removed file stood (it stays).
func (j journal) changed(dir string) ([]string, error) {
	stage := filepath.Join(dir, filepath.FromSlash(TxnDir))
	var out []string
	for i, op := range j.Put {
		src, aside := staged(stage, op, i)
		if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
			continue // in place
		}
		now, err := entryState(filepath.Join(dir, filepath.FromSlash(op.Path)))
		if err != nil {
			return nil, err
		}
		_, asideErr := os.Lstat(aside)
		switch {
		case now == "":
		case now == folderState:
			out = append(out, op.Path+": a folder stands where the file goes")
		case asideErr == nil, op.Was == "":
			// Nothing stood there, or what did is moved aside already.
			out = append(out, op.Path+": a file was made there after the write was committed")
		case now != op.Was:
			out = append(out, op.Path+": changed after the write was committed")
		}
	}
	for i, p := range j.Remove {
		if _, err := os.Lstat(filepath.Join(stage, "gone", strconv.Itoa(i))); err == nil {
			continue // removed
		}
		now, err := entryState(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			return nil, err
		}
		if now != "" && now != folderState && now != j.Gone[i] {
			out = append(out, p+": changed after the write was committed")
		}
	}
	return out, nil
}

// unchanged says, for a Version 2 journal, that what stands at a target is what stood there at the commit (was), just
// before forward moves it aside: the tree was judged before the files were staged, and somebody may have made or
// replaced the file since, in that window or after a kill. Such a file is theirs, as a fresh write would judge it:
// moved aside, it would be thrown away with the staging area once the write completes, so the write stops here (and
// is undone) instead.
func (j journal) unchanged(p, target, was string) error {
	if j.Version < journalVersion {
		return nil
	}
	now, err := entryState(target)
	switch {
	case err != nil:
		return err
	case now == "" || now == was:
		return nil
	case was == "":
		return fmt.Errorf("%s: a file was made there while the write ran", p)
	}
	return fmt.Errorf("%s: changed while the write ran", p)
}

// Staging refuses a state folder or staging area that is not a real folder (a symbolic link, a file), and folders of
// the staging area that are links: kronform-gen never makes one, and a write reads, moves and deletes files through
// them. The staging area is discarded entry by entry, so through a link committed in its place (.kronform-gen/txn ->
// ../../..) the next generate would delete everything in the folder it leads to. Readers refuse the tree too, so
// that check fails on the commit that brings such a link in.
func Staging(dir string) error {
	for _, p := range []string{StateDir, TxnDir, TxnDir + "/files", TxnDir + "/old", TxnDir + "/gone"} {
		st, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(p)))
		switch {
		case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
			continue
		case err != nil:
			return err
		case !st.IsDir():
			what := "a file"
			if st.Mode()&fs.ModeSymlink != 0 {
				what = "a symbolic link"
			}
			return fmt.Errorf("%s is %s, not a folder: kronform-gen never makes one, and a write would read, move and "+
				"delete files through it; remove it (and from git, where it is committed)", p, what)
		}
	}
	return nil
}

// Pending says whether dir holds an unfinished write: a committed journal, which Open (every writing command's first
// step) completes or undoes. Staged files without one are a write that never committed: the tree is whole.
func Pending(dir string) bool {
	_, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(TxnDir), "journal"))
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
		return finish(dir, true)
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
		move := os.Rename
		if j.Undo {
			// The file it replaces is kept aside, for an undo, unless it was on an earlier run; the new file then goes
			// where nothing stands, and never over a file made there since.
			if _, err := os.Lstat(aside); errors.Is(err, fs.ErrNotExist) {
				st, err := os.Lstat(target)
				switch {
				case err == nil && st.IsDir():
					return fmt.Errorf("%s: a folder stands where the file goes", op.Path)
				case err == nil:
					if err := j.unchanged(op.Path, target, op.Was); err != nil {
						return err
					}
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
			move = renameNoReplace
		}
		testHang("put", i+1)
		if err := move(src, target); err != nil {
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
			} else if lerr == nil {
				if err := j.unchanged(p, target, j.Gone[i]); err != nil {
					return err
				}
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

// finish ends a write: the adopted list goes first once a write is complete (what it listed is in the new record, or
// pruned), then the journal, so that from then on what is left can only be discarded (the old files kept for an undo
// with it), never undone without them. An undone write leaves the adopted list for the next.
func finish(dir string, completed bool) error {
	stage := filepath.Join(dir, filepath.FromSlash(TxnDir))
	if completed {
		if err := os.Remove(filepath.Join(stage, adoptedFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := os.Remove(filepath.Join(stage, "journal")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return discardStage(stage, !completed)
}

// discardStage removes the staging area, but for the adopted list when keepAdopted.
func discardStage(stage string, keepAdopted bool) error {
	entries, err := os.ReadDir(stage)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	kept := false
	for _, e := range entries {
		if keepAdopted && e.Name() == adoptedFile {
			kept = true
			continue
		}
		if err := os.RemoveAll(filepath.Join(stage, e.Name())); err != nil {
			return err
		}
	}
	if kept {
		return nil
	}
	if err := os.Remove(stage); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// undo takes back every step forward made, last first, each by the inverse rename, so that the tree is as it was
// before the commit and the staging area as it was at it: a kill while undoing leaves a journal the next run can
// complete or undo again. Then the staging area goes, and the folders the write created, where empty.
//
// A Version 2 journal's undo takes back only what is as the write left it: a file put in place and since replaced is
// somebody's and stays, and a file is moved back only where nothing stands. When one does (a file made where a removed
// or replaced file goes back), the undo stops and says so: its staging area keeps the old file until that is moved.
func undo(dir string, j journal) error {
	stage := filepath.Join(dir, filepath.FromSlash(TxnDir))
	checked := j.Version >= journalVersion
	// A file goes back only where nothing stands: one made there since is somebody's.
	back := renameNoReplace
	in := func(err error, p, kept string) error {
		if errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EISDIR) {
			return fmt.Errorf("%s: something kronform-gen did not put there stands where the undo moves back the file "+
				"the write replaced or removed (kept in %s): move it away", p, path.Join(TxnDir, kept))
		}
		return err
	}
	step := 0
	hang := func() { step++; testHang("undo", step) }
	for i := len(j.Remove) - 1; i >= 0; i-- {
		target := filepath.Join(dir, filepath.FromSlash(j.Remove[i]))
		gone := filepath.Join(stage, "gone", strconv.Itoa(i))
		if _, err := os.Lstat(gone); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := restoreFolders(dir, path.Dir(j.Remove[i]), j.Modes); err != nil {
			return err
		}
		hang()
		if err := back(gone, target); err != nil {
			return in(err, j.Remove[i], "gone/"+strconv.Itoa(i))
		}
	}
	for i := len(j.Put) - 1; i >= 0; i-- {
		op := j.Put[i]
		target := filepath.Join(dir, filepath.FromSlash(op.Path))
		src, aside := staged(stage, op, i)
		if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
			// Moved into place: back to the staging area, if it is still what the write put there.
			now := op.Want
			if checked {
				var err error
				if now, err = entryState(target); err != nil {
					return err
				}
			}
			if now == op.Want {
				hang()
				if err := os.Rename(target, src); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			}
		}
		if _, err := os.Lstat(aside); err == nil {
			hang()
			if err := back(aside, target); err != nil {
				return in(err, op.Path, "old/"+strconv.Itoa(i))
			}
		}
	}
	if err := finish(dir, false); err != nil {
		return err
	}
	for _, d := range j.Folders {
		os.Remove(filepath.Join(dir, filepath.FromSlash(d))) // where empty; a folder somebody filled since stays
	}
	return nil
}

// restoreFolders makes the folders on the way to rel (slash-separated, relative to dir) that are missing, each with the
// mode the journal recorded for it, or FolderMode.
func restoreFolders(dir, rel string, modes map[string]string) error {
	var missing []string
	for d := rel; d != "." && d != "/"; d = path.Dir(d) {
		if _, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(d))); err == nil {
			break
		}
		missing = append(missing, d)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		d := filepath.Join(dir, filepath.FromSlash(missing[i]))
		if err := os.Mkdir(d, FolderMode); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		mode := FolderMode
		if m, ok := modes[missing[i]]; ok {
			mode, _ = parseMode(m) // checked with the journal
		}
		if err := os.Chmod(d, mode); err != nil {
			return err
		}
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

// folderState is entryState's word for a folder.
const folderState = "folder"

// entryState says what stands at a path, for a journal to compare later: "" nothing, the Digest of a regular file's
// contents, folderState, or for anything else its kind (a symbolic link with a digest of its target). Links are
// never followed.
func entryState(file string) (string, error) {
	st, err := os.Lstat(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", nil
	case err != nil:
		return "", err
	case st.IsDir():
		return folderState, nil
	case st.Mode().IsRegular():
		b, err := os.ReadFile(file)
		return Digest(b), err
	case st.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(file)
		return "link:" + Digest([]byte(target)), err
	}
	return "other:" + st.Mode().Type().String(), nil
}

// renameNoReplace renames from to to, failing with fs.ErrExist when something stands at to: a file made there since
// is never replaced. Where the file system cannot rename without replacing, it looks first.
func renameNoReplace(from, to string) error {
	err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		if _, lerr := os.Lstat(to); lerr == nil {
			return &os.LinkError{Op: "rename", Old: from, New: to, Err: fs.ErrExist}
		}
		return os.Rename(from, to)
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}

// readAdopted reads the files a given-up write left, with what each held; none when there is no list.
func readAdopted(stage string) (map[string]string, error) {
	data, err := os.ReadFile(filepath.Join(stage, adoptedFile))
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	var adopted map[string]string
	if err := json.Unmarshal(data, &adopted); err != nil {
		return nil, fmt.Errorf("%s/%s is corrupt (%v); delete it", TxnDir, adoptedFile, err)
	}
	for _, p := range slices.Sorted(maps.Keys(adopted)) {
		if !ownedPath(p) || p == TxnDir || strings.HasPrefix(p, TxnDir+"/") {
			return nil, fmt.Errorf("%s/%s names %q: kronform-gen never writes such a list; delete it", TxnDir, adoptedFile, p)
		}
	}
	if adopted == nil {
		adopted = map[string]string{}
	}
	return adopted, nil
}

// addAdopted adds files to the adopted list, durably, in one rename.
func addAdopted(stage string, files map[string]string) error {
	adopted, err := readAdopted(stage)
	if err != nil {
		return err
	}
	maps.Copy(adopted, files)
	data, err := json.Marshal(adopted)
	if err != nil {
		return err
	}
	tmp := filepath.Join(stage, adoptedFile+".tmp")
	if err := writeSynced(tmp, data); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(stage, adoptedFile)); err != nil {
		return err
	}
	return syncDir(stage)
}

// unixMode and parseMode turn a folder's mode into the octal chmod takes and back: permissions, setuid, setgid, sticky.
func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		u |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		u |= 0o1000
	}
	return u
}

func parseMode(s string) (fs.FileMode, error) {
	u, err := strconv.ParseUint(s, 8, 32)
	if err != nil || u > 0o7777 {
		return 0, fmt.Errorf("not a mode: %q", s)
	}
	m := fs.FileMode(u & 0o777)
	if u&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if u&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if u&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m, nil
}
