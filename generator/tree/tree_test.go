package tree

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func mustTree(t *testing.T, files map[string]string, protected ...string) *Tree {
	t.Helper()
	tr := New(protected...)
	for p, c := range files {
		if err := tr.Add(p, []byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	return tr
}

func read(t *testing.T, dir, p string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, p))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAddRejectsPathsOutsideTheTree(t *testing.T) {
	tr := New("clusters/a/flux-system")
	for _, p := range []string{"", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", `a\b`, "clusters/a/flux-system/gotk-sync.yaml"} {
		if err := tr.Add(p, nil); err == nil {
			t.Errorf("Add(%q) accepted", p)
		}
	}
	if err := tr.Add("a/b.yaml", nil); err != nil {
		t.Fatal(err)
	}
	if err := tr.Add("a/b.yaml", nil); err == nil {
		t.Error("the same path was accepted twice")
	}
}

func TestWriteIsIdempotentAndPrunesOnlyItsOwnFiles(t *testing.T) {
	dir := t.TempDir()
	// flux bootstrap's files and a file of the user's live beside the generated ones.
	for p, c := range map[string]string{"clusters/a/flux-system/gotk-sync.yaml": "bootstrap", "clusters/a/mine.yaml": "user"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644)
	}
	v1 := mustTree(t, map[string]string{"clusters/a/x.yaml": "x1", "infra/a/p/one.yaml": "one", "infra/a/p/two.yaml": "two"}, "clusters/a/flux-system")
	res, err := Write(dir, v1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Written) != 5 { // three files, the record and its .gitignore
		t.Fatalf("first write: %+v", res)
	}
	info, _ := os.Stat(filepath.Join(dir, "infra/a/p/one.yaml"))
	res, err = Write(dir, v1, nil)
	if err != nil || res.Changed() {
		t.Fatalf("second write changed something: %+v %v", res, err)
	}
	again, _ := os.Stat(filepath.Join(dir, "infra/a/p/one.yaml"))
	if !again.ModTime().Equal(info.ModTime()) {
		t.Error("an unchanged file was rewritten")
	}

	v2 := mustTree(t, map[string]string{"clusters/a/x.yaml": "x2", "infra/a/q/three.yaml": "three"}, "clusters/a/flux-system")
	res, err = Write(dir, v2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Removed, []string{"infra/a/p/one.yaml", "infra/a/p/two.yaml"}) {
		t.Errorf("removed %v", res.Removed)
	}
	if _, err := os.Stat(filepath.Join(dir, "infra/a/p")); !errors.Is(err, os.ErrNotExist) {
		t.Error("the emptied folder was left behind")
	}
	if read(t, dir, "clusters/a/x.yaml") != "x2" || read(t, dir, "infra/a/q/three.yaml") != "three" {
		t.Error("new contents not written")
	}
	if read(t, dir, "clusters/a/flux-system/gotk-sync.yaml") != "bootstrap" || read(t, dir, "clusters/a/mine.yaml") != "user" {
		t.Error("a file kronform-gen does not own was touched")
	}
	if _, err := os.Stat(filepath.Join(dir, TxnDir)); !errors.Is(err, os.ErrNotExist) {
		t.Error("the transaction folder was left behind")
	}
	changes, err := Compare(readDisk(t, dir), v2)
	if err != nil || len(changes) != 0 {
		t.Errorf("Compare after Write: %+v %v", changes, err)
	}
}

func TestWriteRefusesToOverwriteForeignFiles(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "clusters/a"), 0o755)
	os.WriteFile(filepath.Join(dir, "clusters/a/cilium.yaml"), []byte("hand-written"), 0o644)
	_, err := Write(dir, mustTree(t, map[string]string{"clusters/a/cilium.yaml": "generated", "b.yaml": "b"}), nil)
	var conflict *ConflictError
	if !errors.As(err, &conflict) || !slices.Equal(conflict.Paths, []string{"clusters/a/cilium.yaml"}) {
		t.Fatalf("got %v", err)
	}
	if read(t, dir, "clusters/a/cilium.yaml") != "hand-written" {
		t.Error("the foreign file was overwritten")
	}
	if _, err := os.Stat(filepath.Join(dir, "b.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a refused write wrote something")
	}
	// A file recognised as generated output (a lost record) may be replaced.
	_, err = Write(dir, mustTree(t, map[string]string{"clusters/a/cilium.yaml": "generated"}), func(string, []byte) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
}

// A file the spec no longer generates is pruned only with the contents kronform-gen wrote (or recognised as
// generated output): one the user replaced is theirs, and the write is refused whole rather than deleting it.
func TestWriteRefusesToPruneForeignContents(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, mustTree(t, map[string]string{"p/kept.yaml": "1", "p/mine.yaml": "1", "p/gone.yaml": "1"}), nil); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "p/mine.yaml"), []byte("the user's own"), 0o644)
	_, err := Write(dir, mustTree(t, map[string]string{"p/kept.yaml": "2"}), nil)
	var conflict *ConflictError
	if !errors.As(err, &conflict) || !slices.Equal(conflict.Kept, []string{"p/mine.yaml"}) || !strings.Contains(err.Error(), "refusing to delete") {
		t.Fatalf("got %v", err)
	}
	if read(t, dir, "p/mine.yaml") != "the user's own" || read(t, dir, "p/kept.yaml") != "1" || read(t, dir, "p/gone.yaml") != "1" || Pending(dir) {
		t.Fatal("a refused write changed something")
	}
	// Recognised as generated output (the header, say), it is pruned.
	res, err := Write(dir, mustTree(t, map[string]string{"p/kept.yaml": "2"}), func(string, []byte) bool { return true })
	if err != nil || !slices.Equal(res.Removed, []string{"p/gone.yaml", "p/mine.yaml"}) {
		t.Fatalf("got %+v, %v", res, err)
	}
}

// A folder where a file is generated (owned or not) is refused before anything is written: a rename cannot replace
// it, and found after the journal's commit it left a write nobody could finish. A folder where an owned file used to
// be stays.
func TestWriteRefusesFoldersWhereFilesBelong(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, mustTree(t, map[string]string{"a/f.yaml": "1", "a/gone.yaml": "1", "b.yaml": "1"}), nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"a/f.yaml", "a/gone.yaml"} {
		os.Remove(filepath.Join(dir, p))
		os.MkdirAll(filepath.Join(dir, p, "inside"), 0o755)
	}
	_, err := Write(dir, mustTree(t, map[string]string{"a/f.yaml": "2", "b.yaml": "2"}), nil)
	var conflict *ConflictError
	if !errors.As(err, &conflict) || !slices.Equal(conflict.Folders, []string{"a/f.yaml"}) || !strings.Contains(err.Error(), "folders stand") {
		t.Fatalf("got %v", err)
	}
	if read(t, dir, "b.yaml") != "1" || Pending(dir) {
		t.Fatal("a refused write wrote something, or left a transaction")
	}
	os.RemoveAll(filepath.Join(dir, "a/f.yaml"))
	res, err := Write(dir, mustTree(t, map[string]string{"a/f.yaml": "2", "b.yaml": "2"}), nil)
	if err != nil || slices.Contains(res.Removed, "a/gone.yaml") {
		t.Fatalf("got %v, removed %v", err, res.Removed)
	}
	if st, err := os.Stat(filepath.Join(dir, "a/gone.yaml", "inside")); err != nil || !st.IsDir() {
		t.Fatal("the folder standing where an owned file was is gone")
	}
}

func TestCompareFindsHandEditsAndStrayOwnedFiles(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, mustTree(t, map[string]string{"a.yaml": "a", "b.yaml": "b", "c.yaml": "c"}), nil); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("edited"), 0o644)
	os.Remove(filepath.Join(dir, "b.yaml"))
	changes, err := Compare(readDisk(t, dir), mustTree(t, map[string]string{"a.yaml": "a", "b.yaml": "b"}))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, string(c.Kind)+" "+c.Path+map[bool]string{true: " hand-edited"}[c.HandEdited])
	}
	want := []string{"changed .kronform-gen/owned.json", "changed a.yaml hand-edited", "missing b.yaml", "extra c.yaml"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// A file kept without being vouched for (a secret file no key at hand opens) is no change of the record: the record
// goes on saying what it said of it, and Compare reports nothing for a tree that only keeps such files.
func TestCompareLeavesTheRecordOfUnvouchedFiles(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, mustTree(t, map[string]string{"a.yaml": "a", "b.yaml": "b"}), nil); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("edited"), 0o644)
	os.WriteFile(filepath.Join(dir, "new.yaml"), []byte("unlisted"), 0o644)
	tr := mustTree(t, map[string]string{"b.yaml": "b"})
	if err := tr.AddUnvouched("a.yaml", []byte("edited"), Digest([]byte("a"))); err != nil {
		t.Fatal(err)
	}
	if err := tr.AddUnvouched("new.yaml", []byte("unlisted"), ""); err != nil {
		t.Fatal(err)
	}
	changes, err := Compare(readDisk(t, dir), tr)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		t.Errorf("%s %s", c.Kind, c.Path)
	}
}

// A symbolic link where a generated file belongs is never followed: Flux leaves links out of what it applies, and
// its target may be anything on the machine (in CI, a pull request's link to a credentials file). Compare calls the
// file missing without reading the target; Write replaces an owned path's link with the file even when the target
// holds the very bytes, leaves the target alone, and refuses a link kronform-gen did not own, as it refuses a file.
func TestLinksAreNeverFollowed(t *testing.T) {
	dir := t.TempDir()
	v := mustTree(t, map[string]string{"a.yaml": "a", "b.yaml": "b"})
	if _, err := Write(dir, v, nil); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "target")
	os.WriteFile(outside, []byte("a"), 0o600) // the generated bytes themselves
	os.Remove(filepath.Join(dir, "a.yaml"))
	if err := os.Symlink(outside, filepath.Join(dir, "a.yaml")); err != nil {
		t.Fatal(err)
	}
	changes, err := Compare(readDisk(t, dir), v)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0].Kind != Missing || !changes[0].NotAFile || changes[0].Have != nil {
		t.Fatalf("a link at a generated path: %+v", changes)
	}
	res, err := Write(dir, v, nil)
	if err != nil || !slices.Equal(res.Written, []string{"a.yaml"}) {
		t.Fatalf("Write over the link: %+v, %v", res, err)
	}
	if st, err := os.Lstat(filepath.Join(dir, "a.yaml")); err != nil || !st.Mode().IsRegular() || read(t, dir, "a.yaml") != "a" {
		t.Errorf("the link was not replaced by the file: %v", err)
	}
	if b, _ := os.ReadFile(outside); string(b) != "a" {
		t.Error("the link's target was touched")
	}

	if err := os.Symlink(outside, filepath.Join(dir, "c.yaml")); err != nil {
		t.Fatal(err)
	}
	_, err = Write(dir, mustTree(t, map[string]string{"a.yaml": "a", "b.yaml": "b", "c.yaml": "c"}), func(string, []byte) bool { return true })
	var conflict *ConflictError
	if !errors.As(err, &conflict) || !slices.Equal(conflict.Paths, []string{"c.yaml"}) {
		t.Fatalf("a link kronform-gen did not own: %v", err)
	}
}

func TestRecoverDiscardsAnUncommittedWrite(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, TxnDir, "files"), 0o755)
	os.WriteFile(filepath.Join(dir, TxnDir, "files", "0"), []byte("half"), 0o644)
	os.WriteFile(filepath.Join(dir, TxnDir, "journal.tmp"), []byte("{"), 0o644)
	if err := Recover(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, TxnDir)); !errors.Is(err, os.ErrNotExist) {
		t.Error("staging left behind")
	}
}

func readDisk(t *testing.T, dir string) *Disk {
	t.Helper()
	d, err := ReadDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A folder on the way that is a link: writing through it would put the files outside the tree, where neither Flux
// nor check looks. Write refuses and writes nothing.
func TestWriteRefusesLinkedFolders(t *testing.T) {
	dir := t.TempDir()
	elsewhere := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "infra"), 0o755)
	if err := os.Symlink(elsewhere, filepath.Join(dir, "infra", "a")); err != nil {
		t.Fatal(err)
	}
	_, err := Write(dir, mustTree(t, map[string]string{"infra/a/p/one.yaml": "one", "b.yaml": "b"}), nil)
	if err == nil || !strings.Contains(err.Error(), "refusing to write through [infra/a]") {
		t.Fatalf("got %v", err)
	}
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
		t.Errorf("files were written through the link: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(dir, "b.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a refused write wrote something")
	}

	// A stale owned file below a folder that has become a link is not deleted through it.
	dir = t.TempDir()
	if _, err := Write(dir, mustTree(t, map[string]string{"infra/a/old.yaml": "old"}), nil); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(elsewhere, "old.yaml"), []byte("not ours"), 0o644)
	os.RemoveAll(filepath.Join(dir, "infra", "a"))
	if err := os.Symlink(elsewhere, filepath.Join(dir, "infra", "a")); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(dir, mustTree(t, map[string]string{"b.yaml": "b"}), nil); err == nil {
		t.Fatal("a write that would delete through a link was accepted")
	}
	if b, err := os.ReadFile(filepath.Join(elsewhere, "old.yaml")); err != nil || string(b) != "not ours" {
		t.Errorf("a file outside the tree was deleted through the link: %v", err)
	}
}

// The ownership record is committed, so a damaged or hostile one must not make generate delete what is not its own:
// a path outside the tree or in .git is refused when the record is read (check too), one inside a protected
// flux-system folder when generate would remove it.
func TestADamagedRecordDeletesNothing(t *testing.T) {
	for _, bad := range []string{"../victim.txt", "/etc/passwd", "a/../../victim.txt", ".git/config", "sub/.git/HEAD", `a\b`} {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, ".kronform-gen"), 0o755)
		os.WriteFile(filepath.Join(dir, OwnedFile), []byte(`{"files":{"`+strings.ReplaceAll(bad, `\`, `\\`)+`":"00"}}`), 0o644)
		if _, err := ReadOwned(dir); err == nil || !strings.Contains(err.Error(), "which is not a path kronform-gen writes") {
			t.Errorf("%s: ReadOwned: %v", bad, err)
		}
		if _, err := Write(dir, mustTree(t, map[string]string{"a.yaml": "a"}), nil); err == nil {
			t.Errorf("%s: Write accepted the record", bad)
		}
	}
	dir := t.TempDir()
	boot := filepath.Join(dir, "clusters", "a", "flux-system", "gotk-sync.yaml")
	os.MkdirAll(filepath.Dir(boot), 0o755)
	os.WriteFile(boot, []byte("bootstrap"), 0o644)
	os.MkdirAll(filepath.Join(dir, ".kronform-gen"), 0o755)
	os.WriteFile(filepath.Join(dir, OwnedFile), []byte(`{"files":{"clusters/a/flux-system/gotk-sync.yaml":"00"}}`), 0o644)
	_, err := Write(dir, mustTree(t, map[string]string{"clusters/a/x.yaml": "x"}, "clusters/a/flux-system"), nil)
	if err == nil || !strings.Contains(err.Error(), "inside clusters/a/flux-system, which kronform-gen never writes") {
		t.Fatalf("a record claiming flux bootstrap's file: %v", err)
	}
	if b, err := os.ReadFile(boot); err != nil || string(b) != "bootstrap" {
		t.Errorf("flux bootstrap's file was deleted: %v", err)
	}
}

// The staging folder is git-ignored but can be committed by force, and check in CI or generate on a fresh clone would
// then meet a journal kronform-gen never wrote. Recover applies only journals that stage files/N and name clean paths
// inside the tree, outside .git and the staging folder, below real folders; anything else is refused untouched.
func TestRecoverRefusesForeignJournals(t *testing.T) {
	outside := t.TempDir()
	victim := filepath.Join(outside, "victim.txt")
	for name, j := range map[string]string{
		"put outside":       `{"put":[{"staged":"files/0","path":"../x"}]}`,
		"put absolute":      `{"put":[{"staged":"files/0","path":"` + victim + `"}]}`,
		"put into .git":     `{"put":[{"staged":"files/0","path":".git/hooks/post-checkout"}]}`,
		"put into staging":  `{"put":[{"staged":"files/0","path":".kronform-gen/txn/journal"}]}`,
		"stage from afar":   `{"put":[{"staged":"../../../x","path":"a.yaml"}]}`,
		"stage other name":  `{"put":[{"staged":"files/01","path":"a.yaml"}]}`,
		"remove outside":    `{"remove":["../victim.txt"]}`,
		"through a link":    `{"put":[{"staged":"files/0","path":"linked/a.yaml"}]}`,
		"remove via a link": `{"remove":["linked/victim.txt"]}`,
	} {
		dir := t.TempDir()
		os.WriteFile(victim, []byte("not ours"), 0o644)
		stage := filepath.Join(dir, filepath.FromSlash(TxnDir))
		os.MkdirAll(filepath.Join(stage, "files"), 0o755)
		os.WriteFile(filepath.Join(stage, "files", "0"), []byte("payload"), 0o644)
		os.WriteFile(filepath.Join(stage, "journal"), []byte(j), 0o644)
		if err := os.Symlink(outside, filepath.Join(dir, "linked")); err != nil {
			t.Fatal(err)
		}
		before := snapshotDir(t, dir)
		if err := Recover(dir); err == nil || !strings.Contains(err.Error(), "kronform-gen never writes such a journal") {
			t.Errorf("%s: Recover: %v", name, err)
		}
		if b, err := os.ReadFile(victim); err != nil || string(b) != "not ours" {
			t.Errorf("%s: a file outside the tree was touched: %v", name, err)
		}
		if after := snapshotDir(t, dir); !slices.Equal(before, after) {
			t.Errorf("%s: the tree changed: %v -> %v", name, before, after)
		}
	}
}

// snapshotDir lists every entry below dir with its contents, links as their target, without following them.
func snapshotDir(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case e.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out = append(out, rel+" -> "+target)
		case !e.IsDir():
			b, _ := os.ReadFile(p)
			out = append(out, rel+": "+string(b))
		}
		return nil
	})
	return out
}

// Every file and folder a write creates has FileMode and FolderMode whatever the umask, and an executable bit on a
// generated file is drift (git records it): Compare reports it, Write puts the file back without it.
func TestWriteModesIgnoreTheUmaskAndTheExecutableBitIsDrift(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "out")
	tr := mustTree(t, map[string]string{"a/b/c.yaml": "c", "d.yaml": "d"})
	if _, err := Write(dir, tr, nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"", "a", "a/b", StateDir} {
		if st, err := os.Stat(filepath.Join(dir, p)); err != nil || st.Mode().Perm() != FolderMode {
			t.Errorf("folder %q: %v %v, want %v", p, st.Mode(), err, FolderMode)
		}
	}
	for _, p := range []string{"a/b/c.yaml", "d.yaml", OwnedFile, gitignoreFile} {
		if st, err := os.Stat(filepath.Join(dir, p)); err != nil || st.Mode().Perm() != FileMode {
			t.Errorf("file %q: %v %v, want %v", p, st.Mode(), err, FileMode)
		}
	}

	file := filepath.Join(dir, "a/b/c.yaml")
	if err := os.Chmod(file, 0o755); err != nil {
		t.Fatal(err)
	}
	d, err := ReadDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	changes, err := Compare(d, tr)
	if err != nil || len(changes) != 1 || changes[0].Path != "a/b/c.yaml" || changes[0].Kind != Changed || !changes[0].Executable || changes[0].HandEdited {
		t.Errorf("compare: %+v %v", changes, err)
	}
	res, err := Write(dir, tr, nil)
	if err != nil || !slices.Equal(res.Written, []string{"a/b/c.yaml"}) {
		t.Errorf("write: %+v %v", res, err)
	}
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != FileMode {
		t.Errorf("after write: %v %v", st.Mode(), err)
	}
	if d, err = ReadDisk(dir); err != nil {
		t.Fatal(err)
	}
	if changes, err := Compare(d, tr); err != nil || len(changes) != 0 {
		t.Errorf("compare after write: %+v %v", changes, err)
	}
}

// A name longer than the file system takes, or a path longer than the kernel takes, is refused before anything is
// written, the output folder not even created: found after the journal's commit, it left a write that every later
// run failed on. Where the folders already stand, Lstat failed on it with a bare "file name too long".
func TestWriteRefusesNamesTheFileSystemCannotHold(t *testing.T) {
	long := strings.Repeat("a", 251) + ".yaml" // a valid DNS subdomain of 251 characters, as a policy's file
	deep := strings.Repeat(strings.Repeat("d", 200)+"/", 21) + "x.yaml"
	for name, tc := range map[string]struct{ path, want string }{
		"name": {"infra/host-policies/" + long, `infra/host-policies/` + long + `: the name "` + long + `" is 256 bytes long, and this file system takes at most 255`},
		"path": {deep, deep + ": the path is "},
	} {
		t.Run(name, func(t *testing.T) {
			tr := mustTree(t, map[string]string{tc.path: "x", "infra/ok.yaml": "ok"})
			fresh := filepath.Join(t.TempDir(), "fresh")
			_, err := Write(fresh, tr, nil)
			var unwritable *UnwritableError
			if !errors.As(err, &unwritable) || len(unwritable.Problems) != 1 || !strings.HasPrefix(unwritable.Problems[0], tc.want) {
				t.Fatalf("fresh folder: %v", err)
			}
			if _, err := os.Lstat(fresh); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the output folder was created: %v", err)
			}
			// A tree whose folders stand already: refused the same way, and left as it was.
			dir := t.TempDir()
			if _, err := Write(dir, mustTree(t, map[string]string{"infra/host-policies/p.yaml": "p", "infra/ok.yaml": "old"}), nil); err != nil {
				t.Fatal(err)
			}
			before := snapshotDir(t, dir)
			if _, err := Write(dir, tr, nil); !errors.As(err, &unwritable) {
				t.Fatalf("existing folder: %v", err)
			}
			if after := snapshotDir(t, dir); !slices.Equal(before, after) || Pending(dir) {
				t.Errorf("the tree changed: %v -> %v", before, after)
			}
		})
	}
}

// A step that fails after the commit point despite the checks before it (here a folder made where a file goes, once
// the journal is committed) has the write undone: the old tree is back byte for byte and no transaction is left, so
// the next write starts clean.
func TestWriteUndoesAWriteThatCannotBeCompleted(t *testing.T) {
	dir := t.TempDir()
	v1 := map[string]string{"a.yaml": "a1", "sub/b.yaml": "b1", "old.yaml": "old"}
	if _, err := Write(dir, mustTree(t, v1), nil); err != nil {
		t.Fatal(err)
	}
	before := snapshotDir(t, dir)
	v2 := mustTree(t, map[string]string{"a.yaml": "a2", "sub/b.yaml": "b2", "new/deeper/c.yaml": "c", "z.yaml": "z"})
	testAfterCommit = func(dir string) { os.MkdirAll(filepath.Join(dir, "z.yaml"), 0o755) }
	defer func() { testAfterCommit = nil }()
	_, err := Write(dir, v2, nil)
	if err == nil || !strings.Contains(err.Error(), "z.yaml: a folder stands where the file goes; the write was undone and the tree is as it was") {
		t.Fatalf("got %v", err)
	}
	os.Remove(filepath.Join(dir, "z.yaml"))
	if after := snapshotDir(t, dir); !slices.Equal(before, after) || Pending(dir) {
		t.Errorf("not the old tree:\n%v\n%v", before, after)
	}
	if _, err := os.Lstat(filepath.Join(dir, "new")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a folder the undone write created is left: %v", err)
	}
	testAfterCommit = nil
	if _, err := Write(dir, v2, nil); err != nil || read(t, dir, "new/deeper/c.yaml") != "c" {
		t.Fatalf("the next write: %v", err)
	}
}

// A write killed after its commit whose journal then cannot be completed (the tree changed under it, or it names what
// this file system cannot hold) does not block every later run: the next write undoes it, says so, and writes its
// own tree.
func TestWriteUndoesAnUnfinishableJournalOfAKilledRun(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, mustTree(t, map[string]string{"a.yaml": "a1", "old.yaml": "old"}), nil); err != nil {
		t.Fatal(err)
	}
	killed := filepath.Join(t.TempDir(), "killed")
	// The state a kill at the commit point leaves, copied aside; then a folder where the journal puts a file.
	testAfterCommit = func(dir string) {
		if err := os.CopyFS(killed, os.DirFS(dir)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Write(dir, mustTree(t, map[string]string{"a.yaml": "a2", "b.yaml": "b"}), nil); err != nil {
		t.Fatal(err)
	}
	testAfterCommit = nil
	if !Pending(killed) {
		t.Fatal("no journal in the killed copy")
	}
	os.MkdirAll(filepath.Join(killed, "b.yaml"), 0o755)
	if err := Recover(killed); err == nil || !strings.Contains(err.Error(), "could not be completed (b.yaml: a folder stands where the file goes) and was undone") {
		t.Fatalf("Recover: %v", err)
	}
	if read(t, killed, "a.yaml") != "a1" || read(t, killed, "old.yaml") != "old" || Pending(killed) {
		t.Fatal("Recover did not undo the write")
	}

	// The same through Write, with a spec that no longer makes b.yaml.
	os.RemoveAll(killed)
	testAfterCommit = func(dir string) { os.CopyFS(killed, os.DirFS(dir)) }
	Write(dir, mustTree(t, map[string]string{"a.yaml": "a3", "b.yaml": "b", "c.yaml": "c"}), nil)
	testAfterCommit = nil
	os.MkdirAll(filepath.Join(killed, "c.yaml"), 0o755)
	res, err := Write(killed, mustTree(t, map[string]string{"a.yaml": "fixed"}), nil)
	if err != nil || !strings.Contains(res.Recovered.String(), "was undone") {
		t.Fatalf("write after an unfinishable journal: %+v %v", res, err)
	}
	if read(t, killed, "a.yaml") != "fixed" || Pending(killed) {
		t.Error("the fixed tree was not written")
	}
	if _, err := os.Lstat(filepath.Join(killed, "b.yaml")); err == nil {
		t.Error("b.yaml, no longer generated, was not pruned")
	}
}

// A journal of an earlier kronform-gen (no undo: it overwrote and deleted as it went) that cannot be completed is
// given up by the next write, which owns the files it had moved into place: rewritten, or pruned when the spec no
// longer makes them. (Such a journal stuck every later run, and check, until txn/ was deleted by hand.)
func TestWriteGivesUpAnUnfinishableJournalOfAnEarlierKronformGen(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, mustTree(t, map[string]string{"a.yaml": "a1"}), nil); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("p", 251) + ".yaml"
	// The earlier write had moved placed.yaml into place, then failed on the long name.
	stage := filepath.Join(dir, filepath.FromSlash(TxnDir))
	os.MkdirAll(filepath.Join(stage, "files"), 0o755)
	os.WriteFile(filepath.Join(stage, "files", "1"), []byte("long"), 0o644)
	os.WriteFile(filepath.Join(dir, "placed.yaml"), []byte("placed"), 0o644)
	os.WriteFile(filepath.Join(stage, "journal"), []byte(`{"put":[{"staged":"files/0","path":"placed.yaml"},{"staged":"files/1","path":"hp/`+long+`"}],"remove":null}`), 0o644)
	res, err := Write(dir, mustTree(t, map[string]string{"a.yaml": "a2"}), nil)
	if err != nil || !strings.Contains(res.Recovered.String(), "file name too long") || !strings.Contains(res.Recovered.String(), "given up") {
		t.Fatalf("got %+v, %v", res, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "placed.yaml")); !errors.Is(err, fs.ErrNotExist) || Pending(dir) || read(t, dir, "a.yaml") != "a2" {
		t.Errorf("placed.yaml left, or the write not done: %v", err)
	}
}

// A folder of the tree that is a mount point: a rename cannot cross into it, and a read-only one cannot be written.
// Both are found before anything is written. (Needs the right to mount a tmpfs; skipped without it.)
func TestWriteRefusesFoldersItCannotMoveFilesInto(t *testing.T) {
	for name, tc := range map[string]struct {
		flags uintptr
		want  string
	}{
		"another file system": {0, "is on another file system than"},
		"read-only":           {unix.MS_RDONLY, "cannot be written (a read-only file system)"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			mnt := filepath.Join(dir, "infra")
			os.Mkdir(mnt, 0o755)
			if err := unix.Mount("tmpfs", mnt, "tmpfs", tc.flags, ""); err != nil {
				t.Skipf("cannot mount a tmpfs: %v", err)
			}
			t.Cleanup(func() { unix.Unmount(mnt, 0) })
			_, err := Write(dir, mustTree(t, map[string]string{"infra/a/p.yaml": "p", "b.yaml": "b"}), nil)
			var unwritable *UnwritableError
			if !errors.As(err, &unwritable) || len(unwritable.Problems) != 1 || !strings.HasPrefix(unwritable.Problems[0], "infra/a/p.yaml: ") ||
				!strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v", err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 || Pending(dir) {
				t.Errorf("something was written: %v", entries)
			}
		})
	}
}

// A folder made, after the commit, where a file the write removes stood is somebody's: it stays, with what is in it
// (the removal would otherwise move it into the staging area, which goes at the end).
func TestWriteLeavesAFolderMadeWhereARemovedFileWas(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, mustTree(t, map[string]string{"a.yaml": "a", "b.yaml": "b"}), nil); err != nil {
		t.Fatal(err)
	}
	testAfterCommit = func(dir string) {
		os.Remove(filepath.Join(dir, "b.yaml"))
		os.MkdirAll(filepath.Join(dir, "b.yaml"), 0o755)
		os.WriteFile(filepath.Join(dir, "b.yaml", "mine"), []byte("mine"), 0o644)
	}
	defer func() { testAfterCommit = nil }()
	if _, err := Write(dir, mustTree(t, map[string]string{"a.yaml": "a2"}), nil); err != nil {
		t.Fatal(err)
	}
	if read(t, dir, "b.yaml/mine") != "mine" || read(t, dir, "a.yaml") != "a2" || Pending(dir) {
		t.Error("the write did not complete, or took the folder")
	}
}
