package gitrepo_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/kronform/kronform-gen/generator/gitrepo"
	"github.com/kronform/kronform-gen/internal/gittest"
)

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// newRepo makes a repository with a Makefile and an output folder committed, and opens it at the output folder.
func newRepo(t *testing.T) (string, *gitrepo.Repo) {
	t.Helper()
	gittest.Isolate(t)
	dir := t.TempDir()
	gittest.Run(t, dir, "init", "-q")
	write(t, filepath.Join(dir, "Makefile"), "all:\n")
	write(t, filepath.Join(dir, "output", "owned.yaml"), "a: 1\n")
	gittest.Run(t, dir, "add", ".")
	gittest.Run(t, dir, "commit", "-q", "-m", "initial")
	r, err := gitrepo.Open(filepath.Join(dir, "output"))
	if err != nil {
		t.Fatal(err)
	}
	return dir, r
}

func staged(t *testing.T, r *gitrepo.Repo) []string {
	t.Helper()
	out, err := r.StagedOutside([]string{"owned.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// git add of a mode change stages it though the content is the same: a commit of the owned paths must not take it.
func TestStagedOutsideSeesAModeChange(t *testing.T) {
	dir, r := newRepo(t)
	if err := os.Chmod(filepath.Join(dir, "Makefile"), 0o755); err != nil {
		t.Fatal(err)
	}
	gittest.Run(t, dir, "add", "Makefile")
	if got := staged(t, r); !slices.Equal(got, []string{"Makefile"}) {
		t.Errorf("a staged chmod +x: StagedOutside = %v, want [Makefile]", got)
	}
}

// A submodule is an entry of HEAD's tree like a file: unchanged, it is not a staged change.
func TestStagedOutsideWithASubmodule(t *testing.T) {
	dir, r := newRepo(t)
	sub := t.TempDir()
	gittest.Run(t, sub, "init", "-q")
	gittest.Run(t, sub, "commit", "-q", "--allow-empty", "-m", "sub")
	gittest.Run(t, dir, "submodule", "add", "-q", sub, "vendor/sub")
	if got := staged(t, r); !slices.Equal(got, []string{".gitmodules", "vendor/sub"}) {
		t.Fatalf("a submodule being added: StagedOutside = %v, want [.gitmodules vendor/sub]", got)
	}
	gittest.Run(t, dir, "commit", "-q", "-m", "submodule")
	if got := staged(t, r); len(got) != 0 {
		t.Fatalf("nothing staged in a repository with a submodule: StagedOutside = %v", got)
	}
	write(t, filepath.Join(dir, "output", "owned.yaml"), "a: 2\n")
	sig := &object.Signature{Name: "a", Email: "a@b", When: time.Now()}
	if _, err := r.CommitPaths([]string{"owned.yaml"}, "owned", sig, sig); err != nil {
		t.Fatal(err)
	}
	if tree := gittest.Run(t, dir, "ls-tree", "HEAD", "vendor/sub"); !strings.HasPrefix(tree, "160000 commit ") {
		t.Errorf("the commit lost the submodule: ls-tree says %q", tree)
	}
}

// Without the git CLI the identity comes from the environment and the config go-git reads.
func TestIdentityWithoutGit(t *testing.T) {
	_, r := newRepo(t)
	t.Setenv("PATH", "")
	t.Setenv("GIT_COMMITTER_NAME", "Commit Ter")
	author, committer, err := r.Identity()
	if err != nil {
		t.Fatal(err)
	}
	if author.Name != "Gen Erator" || author.Email != "gen@example.com" || committer.Name != "Commit Ter" || committer.Email != "gen@example.com" {
		t.Errorf("author %s <%s>, committer %s <%s>", author.Name, author.Email, committer.Name, committer.Email)
	}
}

// Without the git CLI, commit.gpgsign is read from the config go-git reads.
func TestSignsCommitsWithoutGit(t *testing.T) {
	dir, r := newRepo(t)
	path := os.Getenv("PATH")
	t.Setenv("PATH", "")
	if signs, err := r.SignsCommits(); err != nil || signs {
		t.Fatalf("unset: SignsCommits = %v, %v", signs, err)
	}
	t.Setenv("PATH", path)
	gittest.Run(t, dir, "config", "--global", "commit.gpgsign", "yes")
	t.Setenv("PATH", "")
	if signs, err := r.SignsCommits(); err != nil || !signs {
		t.Fatalf("commit.gpgsign=yes: SignsCommits = %v, %v", signs, err)
	}
}

// In a linked work tree info/exclude is the common folder's; a file under an ignored folder stays ignored whatever
// pattern re-includes it, as git check-ignore says too.
func TestIgnoredUntrackedInALinkedWorkTree(t *testing.T) {
	dir, _ := newRepo(t)
	write(t, filepath.Join(dir, ".git", "info", "exclude"), "excluded.yaml\n")
	write(t, filepath.Join(dir, "output", ".gitignore"), "sub/\n!sub/kept.yaml\n")
	gittest.Run(t, dir, "add", "output/.gitignore")
	gittest.Run(t, dir, "commit", "-q", "-m", "ignores")
	linked := filepath.Join(t.TempDir(), "linked")
	gittest.Run(t, dir, "worktree", "add", "-q", linked)
	paths := []string{"excluded.yaml", "sub/kept.yaml", "new.yaml", "owned.yaml"}
	for _, p := range paths {
		write(t, filepath.Join(linked, "output", p), "x: 1\n")
	}
	r, err := gitrepo.Open(filepath.Join(linked, "output"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.IgnoredUntracked(append(paths, "missing.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"excluded.yaml", "sub/kept.yaml"}; !slices.Equal(got, want) {
		t.Errorf("IgnoredUntracked = %v, want %v", got, want)
	}
	if out := gittest.Run(t, linked, "check-ignore", "output/excluded.yaml", "output/sub/kept.yaml"); out != "output/excluded.yaml\noutput/sub/kept.yaml\n" {
		t.Errorf("git itself disagrees: check-ignore says %q", out)
	}
}

// info/exclude of the main work tree (where private files of one clone are ignored) counts as in a linked one: go-git
// reads no path through .git from the work tree, so it is read from the git folder, as git check-ignore does.
func TestIgnoredByTheMainWorkTreesInfoExclude(t *testing.T) {
	dir, r := newRepo(t)
	write(t, filepath.Join(dir, ".git", "info", "exclude"), "excluded.yaml\n/robot.pass\n")
	for _, p := range []string{"output/excluded.yaml", "robot.pass"} {
		write(t, filepath.Join(dir, filepath.FromSlash(p)), "x: 1\n")
	}
	got, err := r.IgnoredUntracked([]string{"excluded.yaml", "owned.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"excluded.yaml"}; !slices.Equal(got, want) {
		t.Errorf("IgnoredUntracked = %v, want %v", got, want)
	}
	tracked, addable, err := r.Committable([]string{filepath.Join(dir, "robot.pass")})
	if err != nil || len(tracked)+len(addable) > 0 {
		t.Errorf("Committable = %v, %v, %v; want nothing", tracked, addable, err)
	}
	if out := gittest.Run(t, dir, "check-ignore", "output/excluded.yaml", "robot.pass"); out != "output/excluded.yaml\nrobot.pass\n" {
		t.Errorf("git itself disagrees: check-ignore says %q", out)
	}
}

// git's global ignore file is core.excludesFile, and without one $XDG_CONFIG_HOME/git/ignore (~/.config/git/ignore),
// where many keep *.pass and .env; a run without a home folder (a bare CI container) reads none, as git does, and
// does not fail.
func TestGlobalExcludesAsGitReadsThem(t *testing.T) {
	dir, r := newRepo(t)
	home := os.Getenv("HOME")
	for _, p := range []string{"robot.pass", "token.env", "output/local.yaml"} {
		write(t, filepath.Join(dir, filepath.FromSlash(p)), "x: 1\n")
	}
	check := func(name string, wantAddable []string, wantIgnored []string) {
		t.Helper()
		wantCommittable(t, name, r, []string{filepath.Join(dir, "robot.pass"), filepath.Join(dir, "token.env")}, wantAddable)
		ignored, err := r.IgnoredUntracked([]string{"local.yaml"})
		if err != nil || !slices.Equal(ignored, wantIgnored) {
			t.Errorf("%s: IgnoredUntracked = %v, %v, want %v", name, ignored, err, wantIgnored)
		}
	}
	write(t, filepath.Join(home, ".config", "git", "ignore"), "*.pass\nlocal.yaml\n")
	check("the default global ignore file", []string{"token.env"}, []string{"local.yaml"})
	write(t, filepath.Join(home, "my-ignores"), "*.env\n")
	gittest.Run(t, dir, "config", "--global", "core.excludesFile", "~/my-ignores")
	check("core.excludesFile", []string{"robot.pass"}, nil)
	if out := gittest.Run(t, dir, "status", "--porcelain", "--ignored", "robot.pass", "token.env"); out != "?? robot.pass\n!! token.env\n" {
		t.Errorf("git itself disagrees: status says %q", out)
	}
	path := os.Getenv("PATH")
	t.Setenv("PATH", "") // without the git CLI, go-git's reading of the config
	check("core.excludesFile, without git", []string{"robot.pass"}, nil)
	t.Setenv("PATH", path)
	t.Setenv("HOME", "")
	os.Unsetenv("HOME")
	t.Setenv("XDG_CONFIG_HOME", "")
	os.Unsetenv("XDG_CONFIG_HOME")
	t.Setenv("GIT_CONFIG_GLOBAL", "")
	os.Unsetenv("GIT_CONFIG_GLOBAL")
	check("no home folder", []string{"robot.pass", "token.env"}, nil)
}

// Only the .gitignore files of the folders down to each path asked about bear on it, and only those are read: a work
// tree may hold tens of thousands of other folders (generate asks on every run, and walking them all took seconds),
// or folders that cannot be read (a container's volume). Here a .gitignore that is a named pipe, which blocks whoever
// opens it, stands for such a folder; the rules on the way to the paths still count.
func TestIgnoreRulesReadOnlyOnTheWayToThePaths(t *testing.T) {
	dir, r := newRepo(t)
	write(t, filepath.Join(dir, "output", "sub", ".gitignore"), "local.yaml\n")
	write(t, filepath.Join(dir, ".gitignore"), "*.pass\n")
	for _, p := range []string{"output/sub/local.yaml", "output/kept.yaml", "robot.pass", "token.env"} {
		write(t, filepath.Join(dir, filepath.FromSlash(p)), "x: 1\n")
	}
	elsewhere := filepath.Join(dir, "volumes", "db")
	if err := os.MkdirAll(elsewhere, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(elsewhere, ".gitignore"), 0o644); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		got, err := r.IgnoredUntracked([]string{"sub/local.yaml", "kept.yaml"})
		if want := []string{"sub/local.yaml"}; err != nil || !slices.Equal(got, want) {
			t.Errorf("IgnoredUntracked = %v, %v, want %v", got, err, want)
		}
		_, addable, err := r.Committable([]string{filepath.Join(dir, "robot.pass"), filepath.Join(dir, "token.env")})
		if want := []string{filepath.Join(dir, "token.env")}; err != nil || !slices.Equal(addable, want) {
			t.Errorf("Committable: addable = %v, %v, want %v", addable, err, want)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		// Unblock every reader of the pipe, so the test ends.
		for {
			if f, err := os.OpenFile(filepath.Join(elsewhere, ".gitignore"), os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				f.Close()
			}
			select {
			case <-done:
				t.Fatal("reading the ignore rules opened a .gitignore in a folder none of the paths is in")
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
}

// Committable answers as git would: a tracked file whatever the ignore rules, an untracked one unless ignored, and
// nothing for a file that is missing or outside the work tree.
func TestCommittable(t *testing.T) {
	dir, r := newRepo(t)
	write(t, filepath.Join(dir, ".gitignore"), "secrets/\n")
	for _, p := range []string{"secrets/a.pass", "b.pass", "Makefile"} {
		write(t, filepath.Join(dir, p), "x\n")
	}
	gittest.Run(t, dir, "add", "-f", "secrets/a.pass")
	outside := filepath.Join(t.TempDir(), "c.pass")
	write(t, outside, "x\n")
	files := []string{filepath.Join(dir, "secrets", "a.pass"), filepath.Join(dir, "b.pass"), filepath.Join(dir, "Makefile"),
		filepath.Join(dir, "missing.pass"), outside, filepath.Join(dir, "secrets", "d.pass")}
	write(t, files[5], "x\n")
	tracked, addable, err := r.Committable(files)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{files[0], files[2]}; !slices.Equal(tracked, want) {
		t.Errorf("tracked = %v, want %v", tracked, want)
	}
	if want := []string{files[1]}; !slices.Equal(addable, want) {
		t.Errorf("addable = %v, want %v", addable, want)
	}
}

// A file git-crypt (or transcrypt) encrypts is in the history as ciphertext: not committable in the clear, whether
// the filter comes from the root's .gitattributes, a folder's, or info/attributes. Git LFS's filter encrypts nothing.
func TestCommittableLeavesOutFilesAFilterEncrypts(t *testing.T) {
	dir, r := newRepo(t)
	write(t, filepath.Join(dir, ".gitattributes"), "*.pass filter=git-crypt diff=git-crypt\n*.lfs filter=lfs\n")
	write(t, filepath.Join(dir, "vault", ".gitattributes"), "*.key filter=transcrypt\nplain.pass -filter\n")
	write(t, filepath.Join(dir, ".git", "info", "attributes"), "local.txt filter=git-crypt\n")
	names := []string{"a.pass", "vault/b.key", "vault/plain.pass", "big.lfs", "local.txt", "c.txt"}
	var files []string
	for _, n := range names {
		files = append(files, filepath.Join(dir, filepath.FromSlash(n)))
		write(t, files[len(files)-1], "x\n")
	}
	gittest.Run(t, dir, "add", "a.pass", "vault/plain.pass")
	// git's own reading of the attributes, which the expectations below follow.
	for _, n := range names {
		_, value, _ := strings.Cut(strings.TrimSpace(gittest.Run(t, dir, "check-attr", "filter", "--", n)), "filter: ")
		encrypted := value != "unspecified" && value != "unset" && value != "set" && value != "lfs"
		if want := n == "a.pass" || n == "vault/b.key" || n == "local.txt"; encrypted != want {
			t.Errorf("git check-attr filter %s = %q", n, value)
		}
	}
	tracked, addable, err := r.Committable(files)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{files[2]}; !slices.Equal(tracked, want) {
		t.Errorf("tracked = %v, want %v", tracked, want)
	}
	if want := []string{files[3], files[5]}; !slices.Equal(addable, want) {
		t.Errorf("addable = %v, want %v", addable, want)
	}
}

// The user's global attributes file (core.attributesFile, else ~/.config/git/attributes) is where some keep their
// git-crypt or transcrypt patterns: it counts, below every .gitattributes, as git reads it.
func TestCommittableReadsGlobalAttributes(t *testing.T) {
	dir, r := newRepo(t)
	home := os.Getenv("HOME")
	write(t, filepath.Join(dir, ".gitattributes"), "open.pass -filter\n")
	names := []string{"a.pass", "open.pass", "b.key"}
	var files []string
	for _, n := range names {
		files = append(files, filepath.Join(dir, n))
		write(t, files[len(files)-1], "x\n")
	}
	check := func(name string, wantAddable []string) {
		t.Helper()
		for _, n := range names {
			_, value, _ := strings.Cut(strings.TrimSpace(gittest.Run(t, dir, "check-attr", "filter", "--", n)), "filter: ")
			encrypted := value != "unspecified" && value != "unset" && value != "set" && value != "lfs"
			if want := !slices.Contains(wantAddable, n); encrypted != want {
				t.Errorf("%s: git check-attr filter %s = %q, the test expects otherwise", name, n, value)
			}
		}
		wantCommittable(t, name, r, files, wantAddable)
	}
	write(t, filepath.Join(home, ".config", "git", "attributes"), "*.pass filter=git-crypt\n")
	check("the default global attributes file", []string{"open.pass", "b.key"})
	write(t, filepath.Join(home, "my-attributes"), "*.key filter=transcrypt\n")
	gittest.Run(t, dir, "config", "--global", "core.attributesFile", "~/my-attributes")
	check("core.attributesFile", []string{"a.pass", "open.pass"})
}

// wantCommittable asks Committable about files and wants the untracked ones it may add, by their base names.
func wantCommittable(t *testing.T, name string, r *gitrepo.Repo, files, wantAddable []string) {
	t.Helper()
	_, addable, err := r.Committable(files)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var rel []string
	for _, f := range addable {
		rel = append(rel, filepath.Base(f))
	}
	if !slices.Equal(rel, wantAddable) {
		t.Errorf("%s: addable = %v, want %v", name, rel, wantAddable)
	}
}

// git reads a relative core.attributesFile or core.excludesFile from the work tree's root (git check-attr and
// check-ignore give the same answer from any folder), not from wherever kronform-gen runs.
func TestRelativeUserFilesAreReadFromTheWorkTreesRoot(t *testing.T) {
	dir, r := newRepo(t)
	t.Chdir(t.TempDir()) // anywhere but the work tree
	write(t, filepath.Join(dir, "my-attributes"), "*.pass filter=git-crypt\n")
	write(t, filepath.Join(dir, "my-excludes"), "*.tmp\n")
	gittest.Run(t, dir, "config", "core.attributesFile", "my-attributes")
	gittest.Run(t, dir, "config", "core.excludesFile", "my-excludes")
	pass, key := filepath.Join(dir, "output", "a.pass"), filepath.Join(dir, "output", "b.key")
	write(t, pass, "x\n")
	write(t, key, "x\n")
	write(t, filepath.Join(dir, "output", "c.tmp"), "x\n")
	if out := gittest.Run(t, filepath.Join(dir, "output"), "check-attr", "filter", "--", "a.pass"); !strings.Contains(out, "filter: git-crypt") {
		t.Fatalf("git check-attr: %s", out)
	}
	_, addable, err := r.Committable([]string{pass, key})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(addable, []string{key}) {
		t.Errorf("addable = %v, want %v: a.pass is encrypted by the filter core.attributesFile names", addable, []string{key})
	}
	ignored, err := r.IgnoredUntracked([]string{"c.tmp", "owned.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ignored, []string{"c.tmp"}) {
		t.Errorf("ignored = %v, want [c.tmp]: core.excludesFile names it", ignored)
	}
}

// A conflicted git stash pop leaves unmerged paths and no operation marker. CommitPaths refuses them itself, so no
// caller can have go-git write a tree holding a path once per stage.
func TestCommitPathsRefusesUnmergedPaths(t *testing.T) {
	dir, r := newRepo(t)
	write(t, filepath.Join(dir, "output", "owned.yaml"), "a: stashed\n")
	gittest.Run(t, dir, "stash", "-q")
	write(t, filepath.Join(dir, "output", "owned.yaml"), "a: committed\n")
	gittest.Run(t, dir, "commit", "-q", "-am", "change")
	cmd := exec.Command("git", "stash", "pop")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("git stash pop did not conflict:\n%s", out)
	}
	head := gittest.Run(t, dir, "rev-parse", "HEAD")
	if err := r.Unfinished(); err == nil || !strings.Contains(err.Error(), "the index has unmerged paths (output/owned.yaml)") {
		t.Errorf("Unfinished = %v", err)
	}
	sig := &object.Signature{Name: "a", Email: "a@b", When: time.Now()}
	if _, err := r.CommitPaths([]string{"owned.yaml"}, "unmerged", sig, sig); err == nil {
		t.Error("CommitPaths committed an index with unmerged paths")
	}
	if gittest.Run(t, dir, "rev-parse", "HEAD") != head {
		t.Error("HEAD moved")
	}
}

// HeadSnapshot reads the output folder as committed, not as on disk; what is not a regular file there does not
// exist, and a repository without a commit holds nothing.
func TestHeadSnapshot(t *testing.T) {
	dir, r := newRepo(t)
	write(t, filepath.Join(dir, "output", "owned.yaml"), "a: 2\n") // not committed
	write(t, filepath.Join(dir, "output", "sub", "f.yaml"), "b: 1\n")
	gittest.Run(t, dir, "add", "output/sub")
	gittest.Run(t, dir, "commit", "-q", "-m", "sub")
	head, err := r.HeadSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	if b, err := head.ReadFile("owned.yaml"); err != nil || string(b) != "a: 1\n" {
		t.Errorf("owned.yaml at HEAD: %q, %v", b, err)
	}
	if b, err := head.ReadFile("sub/f.yaml"); err != nil || string(b) != "b: 1\n" {
		t.Errorf("sub/f.yaml at HEAD: %q, %v", b, err)
	}
	// Dir reads a folder's own files, not its subfolders' (a cluster folder's flux-system is large).
	if files, err := head.Dir("."); err != nil || len(files) != 1 || string(files["owned.yaml"]) != "a: 1\n" {
		t.Errorf("Dir(.): %q, %v", files, err)
	}
	if files, err := head.Dir("sub"); err != nil || len(files) != 1 || string(files["sub/f.yaml"]) != "b: 1\n" {
		t.Errorf("Dir(sub): %q, %v", files, err)
	}
	if files, err := head.Dir("missing"); err != nil || len(files) != 0 {
		t.Errorf("Dir(missing): %q, %v", files, err)
	}
	for _, d := range []string{"/sub", "../output/sub", "sub/f.yaml", "missing/sub"} {
		if files, err := head.Dir(d); err != nil || len(files) != 0 {
			t.Errorf("Dir(%s): %q, %v", d, files, err)
		}
	}
	for _, p := range []string{"sub", "missing.yaml", "sub/missing.yaml", "../Makefile", "/owned.yaml", "./owned.yaml",
		"sub/./f.yaml", "sub/../owned.yaml", "owned.yaml/x", "missing/f.yaml", ".", ""} {
		if _, err := head.ReadFile(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: %v, want not exist", p, err)
		}
	}

	empty := t.TempDir()
	gittest.Run(t, empty, "init", "-q")
	r, err = gitrepo.Open(empty)
	if err != nil {
		t.Fatal(err)
	}
	if head, err = r.HeadSnapshot(); err != nil {
		t.Fatal(err)
	}
	if _, err := head.ReadFile("owned.yaml"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a repository without commits: %v, want not exist", err)
	}
}

// clusters/ and infrastructure/ hold a folder per cluster. go-git's FindEntry decodes the first folder of a path anew
// on every call, so reading each cluster's files from a commit cost the square of the fleet (most of a no-op
// generate of 1000 clusters). A snapshot decodes each folder once: a read costs the same however many folders stand
// beside the one it reads.
func TestSnapshotReadsDoNotGrowWithTheFolder(t *testing.T) {
	allocs := func(clusters int) float64 {
		dir, r := newRepo(t)
		for i := range clusters {
			write(t, filepath.Join(dir, "output", "clusters", fmt.Sprintf("c%04d", i), "cilium.yaml"), fmt.Sprintf("c: %d\n", i))
		}
		gittest.Run(t, dir, "add", ".")
		gittest.Run(t, dir, "commit", "-q", "-m", "fleet")
		head, err := r.HeadSnapshot()
		if err != nil {
			t.Fatal(err)
		}
		read := func() {
			if b, err := head.ReadFile("clusters/c0001/cilium.yaml"); err != nil || string(b) != "c: 1\n" {
				t.Fatalf("%q, %v", b, err)
			}
			if files, err := head.Dir("clusters/c0002"); err != nil || string(files["clusters/c0002/cilium.yaml"]) != "c: 2\n" {
				t.Fatalf("%q, %v", files, err)
			}
		}
		read()
		return testing.AllocsPerRun(10, read)
	}
	few, many := allocs(3), allocs(300)
	t.Logf("allocations per read: %.0f beside 3 folders, %.0f beside 300", few, many)
	if many > few {
		t.Errorf("reading a file beside 300 folders allocates %.0f times, beside 3 %.0f: the folder holding them is decoded per read", many, few)
	}
}

// A ref past the first commit fails in go-git with a bare EOF; the error says how long the history is instead.
func TestFilesRefBeyondHistory(t *testing.T) {
	_, r := newRepo(t)
	for ref, want := range map[string]string{
		"HEAD~5": "HEAD~5: no such commit: the history of HEAD has only 1 commit(s) along first parents (HEAD~0 is the oldest)",
		"HEAD^2": "HEAD^2: no such commit: HEAD has 0 parent(s), not 2",
		"nope":   `resolving "nope": reference not found`,
	} {
		if _, err := r.Files(ref); err == nil || err.Error() != want {
			t.Errorf("Files(%q): %v, want %s", ref, err, want)
		}
	}
	if _, err := r.Files("HEAD~0"); err != nil {
		t.Errorf("HEAD~0: %v", err)
	}
}

// What Flux follows is a remote-tracking branch: the upstream of the current branch, or a branch of the remote a URL
// names. Unpushed counts the commits HEAD has beyond it that change the output folder, and RefSnapshot reads the
// folder as it holds it.
func TestWhatFluxFollows(t *testing.T) {
	dir, r := newRepo(t)
	if _, ok, err := r.Upstream(); ok || err != nil {
		t.Fatalf("no upstream yet: %v, %v", ok, err)
	}
	remote := t.TempDir()
	gittest.Run(t, remote, "init", "-q", "--bare")
	gittest.Run(t, dir, "remote", "add", "origin", remote)
	gittest.Run(t, dir, "push", "-q", "-u", "origin", "HEAD:main")
	branch := strings.TrimSpace(gittest.Run(t, dir, "rev-parse", "--abbrev-ref", "HEAD"))
	gittest.Run(t, dir, "branch", "-q", "--set-upstream-to", "origin/main", branch)
	if ref, ok, err := r.Upstream(); !ok || err != nil || ref != "refs/remotes/origin/main" {
		t.Fatalf("Upstream: %q, %v, %v", ref, ok, err)
	}
	if ref, ok, err := r.RemoteBranch("file://"+remote+".git", "main"); !ok || err != nil || ref != "refs/remotes/origin/main" {
		t.Errorf("RemoteBranch by URL: %q, %v, %v", ref, ok, err)
	}
	if _, ok, _ := r.RemoteBranch("git@github.com:acme/fleet.git", "main"); ok {
		t.Error("RemoteBranch of a URL no remote has")
	}
	if _, ok, _ := r.RemoteBranch(remote, "other"); ok {
		t.Error("RemoteBranch of a branch never fetched")
	}

	write(t, filepath.Join(dir, "Makefile"), "all: x\n") // outside the output folder: does not count
	gittest.Run(t, dir, "commit", "-q", "-am", "make")
	write(t, filepath.Join(dir, "output", "owned.yaml"), "a: 2\n")
	gittest.Run(t, dir, "commit", "-q", "-am", "two")
	write(t, filepath.Join(dir, "output", "owned.yaml"), "a: 3\n")
	gittest.Run(t, dir, "commit", "-q", "-am", "three")
	if n, err := r.Unpushed("refs/remotes/origin/main"); n != 2 || err != nil {
		t.Errorf("Unpushed: %d, %v; want 2", n, err)
	}
	snap, err := r.RefSnapshot("refs/remotes/origin/main")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := snap.ReadFile("owned.yaml"); err != nil || string(b) != "a: 1\n" {
		t.Errorf("owned.yaml at origin/main: %q, %v", b, err)
	}
	files, err := snap.Dir(".")
	if err != nil || len(files) != 1 || string(files["owned.yaml"]) != "a: 1\n" {
		t.Errorf("Dir: %v, %v", files, err)
	}
	// A tag, annotated or not, names its commit.
	gittest.Run(t, dir, "tag", "-a", "-m", "live", "live", "HEAD~1")
	if ref, ok, err := r.Tag("live"); !ok || err != nil || ref != "refs/tags/live" {
		t.Fatalf("Tag: %q, %v, %v", ref, ok, err)
	}
	if _, ok, err := r.Tag("gone"); ok || err != nil {
		t.Errorf("Tag of no tag: %v, %v", ok, err)
	}
	if n, err := r.Unpushed("refs/tags/live"); n != 1 || err != nil {
		t.Errorf("Unpushed beyond the tag: %d, %v; want 1", n, err)
	}
	if snap, err := r.RefSnapshot("refs/tags/live"); err != nil {
		t.Errorf("RefSnapshot of an annotated tag: %v", err)
	} else if b, err := snap.ReadFile("owned.yaml"); err != nil || string(b) != "a: 2\n" {
		t.Errorf("owned.yaml at the tag: %q, %v", b, err)
	}
	gittest.Run(t, dir, "push", "-q", "origin", "HEAD:main")
	if n, err := r.Unpushed("refs/remotes/origin/main"); n != 0 || err != nil {
		t.Errorf("Unpushed after the push: %d, %v", n, err)
	}
	gittest.Run(t, dir, "checkout", "-q", "--detach")
	if _, ok, err := r.Upstream(); ok || err != nil {
		t.Errorf("a detached HEAD has no upstream: %v, %v", ok, err)
	}
}

// A shallow clone (CI checks out one commit) lacks the history the merge base search walks: commits on top of the
// branch Flux follows are still counted.
func TestUnpushedInAShallowClone(t *testing.T) {
	dir, _ := newRepo(t)
	write(t, filepath.Join(dir, "output", "owned.yaml"), "a: 2\n")
	gittest.Run(t, dir, "commit", "-q", "-am", "two")
	branch := strings.TrimSpace(gittest.Run(t, dir, "rev-parse", "--abbrev-ref", "HEAD"))
	clone := filepath.Join(t.TempDir(), "clone")
	gittest.Run(t, dir, "clone", "-q", "--depth", "1", "-b", branch, "file://"+dir, clone)
	write(t, filepath.Join(clone, "output", "owned.yaml"), "a: 3\n")
	gittest.Run(t, clone, "commit", "-q", "-am", "three")
	r, err := gitrepo.Open(filepath.Join(clone, "output"))
	if err != nil {
		t.Fatal(err)
	}
	ref, ok, err := r.Upstream()
	if !ok || err != nil {
		t.Fatalf("Upstream: %q, %v, %v", ref, ok, err)
	}
	if n, err := r.Unpushed(ref); n != 1 || err != nil {
		t.Errorf("Unpushed in a shallow clone: %d, %v; want 1", n, err)
	}
}

// While another git process holds the index (index.lock stands), git commit refuses: that process would write its
// index over the one go-git writes. CommitPaths refuses too, and Unfinished says so before anything is written; while
// it commits, CommitPaths holds the lock itself, and leaves none behind.
func TestCommitPathsRefusesAnIndexAnotherGitHolds(t *testing.T) {
	dir, r := newRepo(t)
	write(t, filepath.Join(dir, "output", "owned.yaml"), "a: 2\n")
	lock := filepath.Join(dir, ".git", "index.lock")
	write(t, lock, "")
	head := gittest.Run(t, dir, "rev-parse", "HEAD")
	if err := r.Unfinished(); err == nil || !strings.Contains(err.Error(), "index.lock exists: another git process seems to be running") {
		t.Errorf("Unfinished = %v", err)
	}
	sig := &object.Signature{Name: "a", Email: "a@b", When: time.Now()}
	if _, err := r.CommitPaths([]string{"owned.yaml"}, "locked", sig, sig); err == nil {
		t.Error("CommitPaths committed while another git process held the index")
	}
	if gittest.Run(t, dir, "rev-parse", "HEAD") != head {
		t.Error("HEAD moved")
	}
	os.Remove(lock)
	if _, err := r.CommitPaths([]string{"owned.yaml"}, "unlocked", sig, sig); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(lock); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the index is left locked: %v", err)
	}
	if gittest.Run(t, dir, "rev-parse", "HEAD") == head {
		t.Error("not committed")
	}
}

// A folder made where a committed file was is not that file: its removal is committed, and nothing in the folder,
// which is somebody's (go-git added both, and wrote a tree holding owned.yaml as a file and as a folder).
func TestCommitPathsTakesNothingOfAFolderWhereAFileWas(t *testing.T) {
	dir, r := newRepo(t)
	os.Remove(filepath.Join(dir, "output", "owned.yaml"))
	write(t, filepath.Join(dir, "output", "owned.yaml", "notes.txt"), "mine\n")
	sig := &object.Signature{Name: "a", Email: "a@b", When: time.Now()}
	if _, err := r.CommitPaths([]string{"owned.yaml"}, "removed", sig, sig); err != nil {
		t.Fatal(err)
	}
	if files := strings.TrimSpace(gittest.Run(t, dir, "ls-tree", "-r", "--name-only", "HEAD")); files != "Makefile" {
		t.Errorf("committed %q, want only the Makefile", files)
	}
}

// An interrupt (Ctrl-C) while CommitPaths holds the index does not leave index.lock behind, which every git command
// after would refuse on: CommitPaths stops between two index writes, says why, and unlocks. The commit runs in a
// child process (this test binary again), which the test interrupts once the lock stands.
func TestCommitPathsInterruptedLeavesNoIndexLock(t *testing.T) {
	const n = 1500
	if dir := os.Getenv("KRONFORM_GITREPO_TEST_COMMIT"); dir != "" {
		r, err := gitrepo.Open(filepath.Join(dir, "output"))
		if err != nil {
			t.Fatal(err)
		}
		paths := []string{}
		for i := range n {
			paths = append(paths, fmt.Sprintf("f%04d.yaml", i))
		}
		sig := &object.Signature{Name: "a", Email: "a@b", When: time.Now()}
		_, err = r.CommitPaths(paths, "many", sig, sig)
		fmt.Printf("CommitPaths: %v\n", err)
		return
	}
	dir, _ := newRepo(t)
	for i := range n {
		write(t, filepath.Join(dir, "output", fmt.Sprintf("f%04d.yaml", i)), fmt.Sprintf("i: %d\n", i))
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCommitPathsInterruptedLeavesNoIndexLock$")
	cmd.Env = append(os.Environ(), "KRONFORM_GITREPO_TEST_COMMIT="+dir)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(dir, ".git", "index.lock")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := os.Lstat(lock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("index.lock never stood:\n%s", out.String())
		}
	}
	time.Sleep(50 * time.Millisecond)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if _, lerr := os.Lstat(lock); !errors.Is(lerr, fs.ErrNotExist) {
		t.Errorf("the interrupted commit left index.lock behind (exit: %v):\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "CommitPaths: interrupted (interrupt)") {
		t.Errorf("CommitPaths did not say it was interrupted (exit: %v):\n%s", err, out.String())
	}
	// The index is whole: git reads it.
	gittest.Run(t, dir, "diff", "--cached", "--quiet", "--exit-code", "--", "Makefile")
}

// CommitPaths commits exactly the paths given: a change staged outside them since generate checked (a git add while
// it wrote the tree) is refused under the index lock, not swept into the commit.
func TestCommitPathsRefusesChangesStagedOutsideThem(t *testing.T) {
	dir, r := newRepo(t)
	write(t, filepath.Join(dir, "output", "owned.yaml"), "a: 2\n")
	write(t, filepath.Join(dir, "Makefile"), "all: x\n")
	gittest.Run(t, dir, "add", "Makefile")
	head := gittest.Run(t, dir, "rev-parse", "HEAD")
	sig := &object.Signature{Name: "a", Email: "a@b", When: time.Now()}
	_, err := r.CommitPaths([]string{"owned.yaml"}, "owned", sig, sig)
	if err == nil || !strings.Contains(err.Error(), "other changes are staged (Makefile)") {
		t.Errorf("CommitPaths with the Makefile staged: %v", err)
	}
	if gittest.Run(t, dir, "rev-parse", "HEAD") != head {
		t.Errorf("committed: %s", gittest.Run(t, dir, "show", "--stat", "HEAD"))
	}
}

// Committing the owned paths costs in proportion to them, not to their square: go-git's Add computes the status of
// the whole work tree first, hashing every file git does not track yet (the new tree's, at a first commit), once per
// path, and a first generate --commit of 100 clusters took 50 s; it also reads the index and writes it back whole
// once per path (1000 clusters took 3 min). Time is no test here; the bytes allocated are.
func TestCommitPathsGrowsLinearly(t *testing.T) {
	allocated := func(n int) uint64 {
		dir, r := newRepo(t)
		var paths []string
		for i := range n {
			p := "f" + strconv.Itoa(i) + ".yaml"
			write(t, filepath.Join(dir, "output", p), "a: "+strconv.Itoa(i)+"\n")
			paths = append(paths, p)
		}
		sig := &object.Signature{Name: "a", Email: "a@b", When: time.Now()}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if _, err := r.CommitPaths(paths, "many", sig, sig); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		if out := gittest.Run(t, dir, "status", "--porcelain"); out != "" {
			t.Errorf("git status after the commit:\n%s", out)
		}
		return after.TotalAlloc - before.TotalAlloc
	}
	small, large := allocated(50), allocated(1000)
	if large > 40*small {
		t.Errorf("committing 1000 new files allocated %d bytes, 50 allocated %d (x%.1f; linear is x20): the work tree is scanned, or the index read and written, once per path",
			large, small, float64(large)/float64(small))
	}
}
