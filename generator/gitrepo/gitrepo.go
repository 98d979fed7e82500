package gitrepo

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/gitattributes"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage"
)

// Repo is the git repository holding an output folder.
type Repo struct {
	repo *git.Repository
	root string // the work tree's root on disk
	// Sub is the output folder relative to the work tree's root, slash-separated ("." when it is the root).
	Sub string
}

// ErrNoRepository is what Open returns, wrapped, for a folder in no git work tree: for a caller to whom that is a
// normal answer rather than a failure.
var ErrNoRepository = errors.New("not inside a git repository")

// Open finds the repository that holds dir, searching upward for .git.
func Open(dir string) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	r, err := git.PlainOpenWithOptions(abs, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, fmt.Errorf("%s is %w", dir, ErrNoRepository)
	}
	if err != nil {
		return nil, fmt.Errorf("opening the git repository of %s: %w", dir, err)
	}
	wt, err := r.Worktree()
	if err != nil {
		return nil, fmt.Errorf("the git repository of %s has no work tree: %w", dir, err)
	}
	root := wt.Filesystem.Root()
	// Compare resolved paths: a symlinked temp folder must not look like it is outside the repository.
	rootReal, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, err
	}
	absReal, err := resolve(abs)
	if err != nil {
		return nil, err
	}
	sub, ok := inside(rootReal, absReal)
	if !ok {
		return nil, fmt.Errorf("%s is outside the git work tree %s", dir, root)
	}
	return &Repo{repo: r, root: root, Sub: filepath.ToSlash(sub)}, nil
}

// Root is the work tree's root on disk.
func (r *Repo) Root() string { return r.root }

// inside says whether the resolved path p lies in the resolved folder root, and where relative to it.
func inside(root, p string) (string, bool) {
	rel, err := filepath.Rel(root, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return rel, true
}

// LeavesWorkTree says where a path leads when links take it out of the git work tree that holds it (found by
// looking for .git upward from its folder), and that work tree; empty when it stays inside, or is in none. Cheap
// enough for every run: it opens no repository.
func LeavesWorkTree(p string) (outside, root string) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", ""
	}
	resolved, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", "" // missing: whoever reads it says so
	}
	for dir := filepath.Dir(abs); ; dir = filepath.Dir(dir) {
		if _, err := os.Lstat(filepath.Join(dir, ".git")); err == nil {
			realRoot, err := filepath.EvalSymlinks(dir)
			if err != nil {
				return "", ""
			}
			if _, ok := inside(realRoot, resolved); !ok {
				return resolved, dir
			}
			return "", ""
		}
		if filepath.Dir(dir) == dir {
			return "", ""
		}
	}
}

// resolve is filepath.EvalSymlinks for a path that may not exist yet (the output folder before the first
// generate): the deepest existing folder is resolved and the rest appended.
func resolve(p string) (string, error) {
	r, err := filepath.EvalSymlinks(p)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return r, err
	}
	parent := filepath.Dir(p)
	if parent == p {
		return "", err
	}
	r, err = resolve(parent)
	if err != nil {
		return "", err
	}
	return filepath.Join(r, filepath.Base(p)), nil
}

// Files reads the output folder's files as they are in the commit that ref names (a branch, tag, commit hash or a
// revision such as HEAD~1, read as git reads it: see commitOf), straight from the object store. Paths are relative to the output folder.
// A ref whose commit has no such folder gives an empty tree. Symbolic links and submodules are skipped.
func (r *Repo) Files(ref string) (map[string][]byte, error) {
	c, err := r.commitOf(ref)
	if err != nil {
		return nil, err
	}
	t, err := c.Tree()
	if err != nil {
		return nil, err
	}
	if r.Sub != "." {
		t, err = t.Tree(r.Sub)
		if errors.Is(err, object.ErrDirectoryNotFound) {
			return map[string][]byte{}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s at %s: %w", r.Sub, ref, err)
		}
	}
	return treeFiles(t)
}

// treeFiles reads every regular file of a tree, keyed by its slash-separated path in it. Symbolic links and
// submodules are skipped. Files of the same contents (one blob) are read once and share one slice, which callers
// must not write into: a fleet's flux-system folders hold the same gotk-components.yaml, close to a megabyte, in
// every cluster.
func treeFiles(t *object.Tree) (map[string][]byte, error) {
	files := map[string][]byte{}
	blobs := map[plumbing.Hash][]byte{}
	err := t.Files().ForEach(func(f *object.File) error {
		if f.Mode != filemode.Regular && f.Mode != filemode.Executable {
			return nil
		}
		if b, ok := blobs[f.Hash]; ok {
			files[f.Name] = b
			return nil
		}
		rd, err := f.Reader()
		if err != nil {
			return err
		}
		defer rd.Close()
		b, err := io.ReadAll(rd)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		files[f.Name], blobs[f.Hash] = b, b
		return nil
	})
	return files, err
}

// Snapshot is the output folder as one commit holds it, read a file at a time from the object store. Like go-git's
// trees, it is read by one goroutine at a time.
type Snapshot struct {
	tree *object.Tree // nil: the commit has no output folder, or there is no commit
	// dirs are the folders found so far, by slash-separated path. go-git's FindEntry remembers the trees of the
	// folders on a path except the first, so each read of clusters/<c>/... or infrastructure/<c>/... decoded the
	// folder holding every cluster again: reading each cluster's files cost the square of the fleet.
	dirs map[string]*object.Tree
}

// subtree is the tree of a folder of the snapshot, as s.tree.Tree(dir) finds it, each folder on the way decoded
// once when dir is a path fs.ValidPath accepts ("." is the output folder). Any other path, which kronform-gen does not
// make, is left to go-git whole. A folder that is not there, or not a folder, is object.ErrDirectoryNotFound.
func (s *Snapshot) subtree(dir string) (*object.Tree, error) {
	if dir == "." {
		return s.tree, nil
	}
	if t, ok := s.dirs[dir]; ok {
		return t, nil
	}
	if !fs.ValidPath(dir) {
		return s.tree.Tree(dir)
	}
	parent, err := s.subtree(path.Dir(dir))
	if err != nil {
		return nil, err
	}
	t, err := parent.Tree(path.Base(dir))
	if err != nil {
		return nil, err
	}
	if s.dirs == nil {
		s.dirs = map[string]*object.Tree{}
	}
	s.dirs[dir] = t
	return t, nil
}

// HeadSnapshot is the output folder as HEAD holds it; empty when HEAD has no commit yet or no such folder.
func (r *Repo) HeadSnapshot() (*Snapshot, error) {
	ref, err := r.repo.Head()
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return &Snapshot{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading HEAD: %w", err)
	}
	return r.snapshot(ref.Hash(), "HEAD")
}

// RefSnapshot is the output folder as the commit a full reference name (refs/remotes/origin/main, or a tag's,
// annotated or not) points to holds it; empty when that commit has no such folder.
func (r *Repo) RefSnapshot(name string) (*Snapshot, error) {
	c, err := r.refCommit(name)
	if err != nil {
		return nil, err
	}
	return r.snapshot(c.Hash, plumbing.ReferenceName(name).Short())
}

func (r *Repo) snapshot(h plumbing.Hash, what string) (*Snapshot, error) {
	c, err := r.repo.CommitObject(h)
	if err != nil {
		return nil, fmt.Errorf("%s is not a commit: %w", what, err)
	}
	t, err := r.outputTree(c)
	if err != nil {
		return nil, fmt.Errorf("%s at %s: %w", r.Sub, what, err)
	}
	return &Snapshot{tree: t}, nil
}

// outputTree is the output folder's tree in a commit; nil when the commit has no such folder.
func (r *Repo) outputTree(c *object.Commit) (*object.Tree, error) {
	t, err := c.Tree()
	if err != nil || r.Sub == "." {
		return t, err
	}
	t, err = t.Tree(r.Sub)
	if errors.Is(err, object.ErrDirectoryNotFound) {
		return nil, nil
	}
	return t, err
}

// Dir reads the regular files directly in a folder of the snapshot (slash-separated, relative to the output folder;
// not those of its subfolders, which a cluster folder's flux-system is), keyed by their path relative to the output
// folder. A folder that is not there holds nothing.
func (s *Snapshot) Dir(dir string) (map[string][]byte, error) {
	out := map[string][]byte{}
	if s.tree == nil {
		return out, nil
	}
	dir = path.Clean(dir)
	t, err := s.subtree(dir)
	if errors.Is(err, object.ErrDirectoryNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	for _, e := range t.Entries {
		if e.Mode != filemode.Regular && e.Mode != filemode.Executable {
			continue
		}
		p := path.Join(dir, e.Name)
		f, err := t.TreeEntryFile(&e)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		b, err := f.Contents()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out[p] = []byte(b)
	}
	return out, nil
}

// Files reads every regular file of the snapshot, keyed by its slash-separated path relative to the output folder, as
// Repo.Files does for a revision; none when the commit has no output folder.
func (s *Snapshot) Files() (map[string][]byte, error) {
	if s.tree == nil {
		return map[string][]byte{}, nil
	}
	return treeFiles(s.tree)
}

// ReadFile reads a file of the snapshot, by its slash-separated path relative to the output folder. A path that is
// not a regular file there (absent, a folder, a link, a submodule) gives an error wrapping fs.ErrNotExist.
func (s *Snapshot) ReadFile(p string) ([]byte, error) {
	if s.tree == nil {
		return nil, &fs.PathError{Op: "read", Path: p, Err: fs.ErrNotExist}
	}
	t, name := s.tree, p
	if fs.ValidPath(p) {
		// The folder from the ones already found; any other path, which kronform-gen does not make, is left to
		// go-git whole.
		var err error
		if t, err = s.subtree(path.Dir(p)); err != nil {
			return nil, &fs.PathError{Op: "read", Path: p, Err: fs.ErrNotExist}
		}
		name = path.Base(p)
	}
	e, err := t.FindEntry(name)
	if err != nil || (e.Mode != filemode.Regular && e.Mode != filemode.Executable) {
		return nil, &fs.PathError{Op: "read", Path: p, Err: fs.ErrNotExist}
	}
	f, err := t.TreeEntryFile(e)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	rd, err := f.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	return io.ReadAll(rd)
}

// repoPath turns a path relative to the output folder into one relative to the work tree.
func (r *Repo) repoPath(p string) string {
	if r.Sub == "." {
		return p
	}
	return path.Join(r.Sub, p)
}

// gitDir is the work tree's own git folder: .git, or the folder a linked work tree's .git file names. Operations in
// progress are recorded there, not in the common folder a linked work tree shares.
func (r *Repo) gitDir() (string, error) {
	dot := filepath.Join(r.root, ".git")
	fi, err := os.Stat(dot)
	if err != nil {
		return "", err
	}
	if fi.IsDir() {
		return dot, nil
	}
	b, err := os.ReadFile(dot)
	if err != nil {
		return "", err
	}
	dir, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir:")
	if !ok {
		return "", fmt.Errorf("%s is neither a folder nor a gitdir: file", dot)
	}
	dir = strings.TrimSpace(dir)
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(r.root, dir)
	}
	return dir, nil
}

// commonDir is the git folder a linked work tree shares with the main one (config, objects, info/exclude): the one
// its commondir file names; for a main work tree its own.
func (r *Repo) commonDir() (string, error) {
	dir, err := r.gitDir()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(dir, "commondir"))
	if errors.Is(err, fs.ErrNotExist) {
		return dir, nil
	}
	if err != nil {
		return "", err
	}
	common := strings.TrimSpace(string(b))
	if !filepath.IsAbs(common) {
		common = filepath.Join(dir, common)
	}
	return common, nil
}

// IgnoredUntracked lists the paths (relative to the output folder, sorted) that git add would refuse without -f:
// present on disk, not in the index, and ignored by the .gitignore files, info/exclude or the global or system
// core.excludesFile. Ignore rules do not apply to tracked files.
func (r *Repo) IgnoredUntracked(paths []string) ([]string, error) {
	idx, err := r.index()
	if err != nil {
		return nil, err
	}
	tracked := map[string]bool{}
	for _, e := range idx.Entries {
		tracked[e.Name] = true
	}
	rps := make([]string, len(paths))
	for i, p := range paths {
		rps[i] = r.repoPath(p)
	}
	m, err := r.ignoreMatcher(rps)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range paths {
		rp := r.repoPath(p)
		if tracked[rp] {
			continue
		}
		if _, err := os.Lstat(filepath.Join(r.root, filepath.FromSlash(rp))); err != nil {
			continue
		}
		if ignored(m, strings.Split(rp, "/")) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Committable sorts files (paths on disk, returned as given, in their order) that git keeps, or would keep, in the
// repository's history as they are on disk: tracked ones, which the index lists, and addable ones, present, untracked
// and not ignored, which git add -A takes. A file outside the work tree is neither, nor is one git keeps encrypted
// (see encryptedByFilter).
func (r *Repo) Committable(files []string) (tracked, addable []string, err error) {
	idx, err := r.index()
	if err != nil {
		return nil, nil, err
	}
	inIndex := map[string]bool{}
	for _, e := range idx.Entries {
		inIndex[e.Name] = true
	}
	rel := make([]string, len(files)) // "" for a file outside the work tree
	var rps []string
	for i, f := range files {
		if rp, ok := r.RelPath(f); ok {
			rel[i] = rp
			rps = append(rps, rp)
		}
	}
	m, err := r.ignoreMatcher(rps)
	if err != nil {
		return nil, nil, err
	}
	encrypted := r.encryptedByFilter(rps)
	for i, f := range files {
		rp := rel[i]
		switch {
		case rp == "" || rp == "." || strings.HasPrefix(rp, ".git/"):
		case encrypted(rp):
		case inIndex[rp]:
			tracked = append(tracked, f)
		default:
			if _, err := os.Lstat(f); err == nil && !ignored(m, strings.Split(rp, "/")) {
				addable = append(addable, f)
			}
		}
	}
	return tracked, addable, nil
}

// encryptedByFilter says, for the paths given (slash-separated, from the work tree's root), whether git keeps each as
// a clean filter makes it: one its attributes (the user's global attributes file, .gitattributes, info/attributes)
// give a filter other than Git LFS's, as git-crypt and transcrypt do (filter=git-crypt), so that the history holds
// ciphertext. An attributes file that cannot be read counts as none.
func (r *Repo) encryptedByFilter(paths []string) func(rp string) bool {
	root := osfs.New(r.root)
	var stack []gitattributes.MatchAttribute
	// Lowest priority first: core.attributesFile, the root's .gitattributes, then each folder's down to the files',
	// then info/attributes.
	if global, err := r.attributesFile(); err == nil && global != "" {
		if attrs, err := gitattributes.ReadAttributesFile(osfs.New(filepath.Dir(global)), nil, filepath.Base(global), true); err == nil {
			stack = append(stack, attrs...)
		}
	}
	for _, folder := range foldersOnTheWay(paths) {
		// A copy: ReadAttributesFile appends the file name to the folder's path, and its patterns keep the path.
		if attrs, err := gitattributes.ReadAttributesFile(root, slices.Clone(folder), ".gitattributes", len(folder) == 0); err == nil {
			stack = append(stack, attrs...)
		}
	}
	if common, err := r.commonDir(); err == nil {
		if attrs, err := gitattributes.ReadAttributesFile(osfs.New(filepath.Join(common, "info")), nil, "attributes", true); err == nil {
			stack = append(stack, attrs...)
		}
	}
	m := gitattributes.NewMatcher(stack)
	return func(rp string) bool {
		results, _ := m.Match(strings.Split(rp, "/"), []string{"filter"})
		filter, ok := results["filter"]
		return ok && filter.IsValueSet() && filter.Value() != "lfs"
	}
}

// foldersOnTheWay are the folders from the work tree's root (the empty path) down to each path's own, as segments,
// parents before their children, .git and what lies in it left out: the folders whose .gitignore and .gitattributes
// bear on the paths.
func foldersOnTheWay(paths []string) [][]string {
	folders := map[string][]string{"": {}}
	for _, p := range paths {
		segs := strings.Split(p, "/")
		for i := 1; i < len(segs); i++ {
			if segs[i-1] == ".git" {
				break
			}
			folders[strings.Join(segs[:i], "/")] = segs[:i:i]
		}
	}
	order := slices.SortedFunc(maps.Keys(folders), func(a, b string) int {
		if c := len(folders[a]) - len(folders[b]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	out := make([][]string, len(order))
	for i, f := range order {
		out[i] = folders[f]
	}
	return out
}

// ignored matches a file as git does: once a folder above it is ignored, no pattern can take the file back.
func ignored(m gitignore.Matcher, segs []string) bool {
	for i := 1; i < len(segs); i++ {
		if m.Match(segs[:i], true) {
			return true
		}
	}
	return m.Match(segs, false)
}

// ignoreMatcher gathers the ignore patterns that bear on paths (slash-separated, from the work tree's root), lowest
// priority first: core.excludesFile (or git's default global ignore file), info/exclude, then the .gitignore files of
// the folders from the root down to each path's. No other folder is read: a .gitignore applies only below its own
// folder, and a work tree may hold tens of thousands of folders (generate asks on every run), or some that cannot be
// read (a container's volume).
func (r *Repo) ignoreMatcher(paths []string) (gitignore.Matcher, error) {
	excludes, err := r.excludesFile()
	if err != nil {
		return nil, err
	}
	var ps []gitignore.Pattern
	if excludes != "" {
		if ps, err = readPatternFile(excludes, nil); err != nil {
			return nil, fmt.Errorf("reading the global excludes: %w", err)
		}
	}
	// info/exclude is the common folder's (a linked work tree has none of its own). It is read from there for the main
	// work tree too: ReadPatterns would read .git/info/exclude through the work tree's file system, which refuses any
	// path through .git, so it never does.
	common, err := r.commonDir()
	if err != nil {
		return nil, err
	}
	exclude, err := readPatternFile(filepath.Join(common, "info", "exclude"), nil)
	if err != nil {
		return nil, err
	}
	ps = append(ps, exclude...)
	// The folders on the way, parents before their children: a deeper .gitignore takes precedence.
	for _, folder := range foldersOnTheWay(paths) {
		local, err := readPatternFile(filepath.Join(r.root, filepath.Join(folder...), ".gitignore"), folder)
		if err != nil {
			return nil, fmt.Errorf("reading .gitignore files: %w", err)
		}
		ps = append(ps, local...)
	}
	return gitignore.NewMatcher(ps), nil
}

// excludesFile is the file git reads ignore patterns from beyond the work tree's: core.excludesFile, else git's
// default, $XDG_CONFIG_HOME/git/ignore or ~/.config/git/ignore (see userFile).
func (r *Repo) excludesFile() (string, error) { return r.userFile("excludesFile", "ignore") }

// attributesFile is the file git reads attributes from beyond the work tree's, below every .gitattributes:
// core.attributesFile, else $XDG_CONFIG_HOME/git/attributes or ~/.config/git/attributes (see userFile).
func (r *Repo) attributesFile() (string, error) { return r.userFile("attributesFile", "attributes") }

// userFile is the file a core option (excludesFile, attributesFile) names as git config gives it (through the git CLI,
// which follows includes and GIT_CONFIG_GLOBAL; else go-git's reading of each scope), else git's default for it,
// $XDG_CONFIG_HOME/git/NAME or ~/.config/git/NAME; "" without a home folder to find that in. A relative path in the
// option is git's from the work tree's root, where git runs its commands, whatever folder it was started in.
func (r *Repo) userFile(option, name string) (string, error) {
	out, found, err := r.git("config", "--path", "--get", "core."+option)
	var exit *exec.ExitError
	switch {
	case found && err == nil:
		return r.fromRoot(out), nil
	case found && !(errors.As(err, &exit) && exit.ExitCode() == 1): // 1: not set
		return "", fmt.Errorf("reading core.%s: %w", option, err)
	case !found:
		// ConfigScoped merges only the fields go-git knows, not the raw sections: look in each scope, nearest first. A
		// scope that cannot be read (no home folder for the global one) holds nothing.
		scopes := []func() (*config.Config, error){
			r.repo.Config,
			func() (*config.Config, error) { return config.LoadConfig(config.GlobalScope) },
			func() (*config.Config, error) { return config.LoadConfig(config.SystemScope) },
		}
		for _, load := range scopes {
			if cfg, err := load(); err == nil && cfg.Raw.Section("core").HasOption(option) {
				f := cfg.Raw.Section("core").Option(option)
				if rest, ok := strings.CutPrefix(f, "~/"); ok {
					home, err := os.UserHomeDir()
					if err != nil {
						return "", nil
					}
					f = filepath.Join(home, rest)
				}
				return r.fromRoot(f), nil
			}
		}
	}
	if xdg := os.Getenv("XDG_CONFIG_HOME"); xdg != "" {
		return filepath.Join(xdg, "git", name), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", nil
	}
	return filepath.Join(home, ".config", "git", name), nil
}

// fromRoot is a path as git reads it: a relative one from the work tree's root.
func (r *Repo) fromRoot(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(r.root, p)
}

// readPatternFile reads an exclude file whose patterns apply from the folder domain (nil for the work tree's root); a
// missing one has none, nor has a folder that is not one.
func readPatternFile(name string, domain []string) ([]gitignore.Pattern, error) {
	b, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ps []gitignore.Pattern
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSuffix(l, "\r")
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(l, domain))
	}
	return ps, nil
}

// inProgress names the markers git leaves in the git folder while an operation waits for the user, and how the user
// ends each. rebase-apply is shared by git am and git rebase --apply; "applying" inside it says which.
var inProgress = []struct{ marker, what, finish string }{
	{"rebase-merge", "a rebase", "git rebase --continue, or abort it with git rebase --abort"},
	{"rebase-apply/applying", "git am", "git am --continue, or abort it with git am --abort"},
	{"rebase-apply", "a rebase", "git rebase --continue, or abort it with git rebase --abort"},
	{"MERGE_HEAD", "a merge", "git commit, or abort it with git merge --abort"},
	{"CHERRY_PICK_HEAD", "a cherry-pick", "git cherry-pick --continue, or abort it with git cherry-pick --abort"},
	{"REVERT_HEAD", "a revert", "git revert --continue, or abort it with git revert --abort"},
}

// Unfinished says why no commit may be made now: an operation git is in the middle of (its commit needs parents and
// a message only git knows), or unmerged paths in the index (a tree built from them holds a path several times). Nil
// when there is neither.
func (r *Repo) Unfinished() error {
	dir, err := r.gitDir()
	if err != nil {
		return fmt.Errorf("finding the git folder: %w", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "index.lock")); err == nil {
		return errIndexLocked(dir)
	}
	idx, err := r.index()
	if err != nil {
		return err
	}
	unmerged := unmergedPaths(idx)
	for _, op := range inProgress {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(op.marker))); err != nil {
			continue
		}
		conflicts := ""
		if len(unmerged) > 0 {
			conflicts = fmt.Sprintf(" with unmerged paths (%s)", strings.Join(unmerged, ", "))
		}
		return fmt.Errorf("%s is in progress%s: run kronform-gen generate without --commit, resolve and git add "+
			"what is left, and finish it with %s", op.what, conflicts, op.finish)
	}
	if len(unmerged) > 0 {
		return fmt.Errorf("the index has unmerged paths (%s): resolve them and git add them first",
			strings.Join(unmerged, ", "))
	}
	return nil
}

// errIndexLocked is git's own refusal while index.lock stands in the git folder dir: another git process (an editor's
// background git included) is writing the index, and would replace what go-git writes with its own when it is done.
func errIndexLocked(dir string) error {
	return fmt.Errorf("%s exists: another git process seems to be running in this repository; wait for it, or remove "+
		"the file if no git process runs", filepath.Join(dir, "index.lock"))
}

// lockIndex takes the index as git does, by creating index.lock, for the time go-git writes it and commits: git
// processes wait or refuse meanwhile rather than write an index of their own over it. go-git writes the index in
// place; the lock file itself stays empty and is removed by unlock. An interrupt (SIGINT, SIGTERM, SIGHUP) while it is
// held is not fatal at once, as Go makes it, which would leave index.lock behind for every git command after to refuse
// on: interrupted reports it, for the caller to stop between two index writes (each whole) and unlock. One that comes
// during the commit itself lets it finish.
func (r *Repo) lockIndex() (unlock func(), interrupted func() error, err error) {
	dir, err := r.gitDir()
	if err != nil {
		return nil, nil, fmt.Errorf("finding the git folder: %w", err)
	}
	name := filepath.Join(dir, "index.lock")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		signal.Stop(sig)
		if errors.Is(err, fs.ErrExist) {
			return nil, nil, errIndexLocked(dir)
		}
		return nil, nil, err
	}
	f.Close()
	var got os.Signal
	interrupted = func() error {
		if got == nil {
			select {
			case got = <-sig:
			default:
				return nil
			}
		}
		return fmt.Errorf("interrupted (%v)", got)
	}
	unlock = func() {
		os.Remove(name)
		signal.Stop(sig)
	}
	return unlock, interrupted, nil
}

// unmergedPaths lists, sorted and once each, the paths the index holds in a conflict stage. Git writes a resolved
// entry with stage 0 (go-git's index.Merged constant says 1, which is the merge base's stage).
func unmergedPaths(idx *index.Index) []string {
	var out []string
	for _, e := range idx.Entries {
		if e.Stage != 0 {
			out = append(out, e.Name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// index reads the git index.
func (r *Repo) index() (*index.Index, error) {
	idx, err := r.repo.Storer.Index()
	if errors.Is(err, index.ErrUnknownExtension) {
		// git writes a split index (core.splitIndex) with a mandatory "link" extension go-git cannot read.
		return nil, fmt.Errorf("go-git cannot read the git index (%w), as when it is split: run git update-index "+
			"--no-split-index (and git config core.splitIndex false, or git splits it again) to get one it reads", err)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the git index: %w", err)
	}
	return idx, nil
}

// StagedOutside lists staged changes (the index differs from HEAD) to paths other than the given ones (relative to
// the output folder), sorted.
func (r *Repo) StagedOutside(paths []string) ([]string, error) {
	ours := map[string]bool{}
	for _, p := range paths {
		ours[r.repoPath(p)] = true
	}
	idx, err := r.index()
	if err != nil {
		return nil, err
	}
	type blob struct {
		hash plumbing.Hash
		mode filemode.FileMode
	}
	head := map[string]blob{}
	if ref, err := r.repo.Head(); err == nil {
		c, err := r.repo.CommitObject(ref.Hash())
		if err != nil {
			return nil, err
		}
		t, err := c.Tree()
		if err != nil {
			return nil, err
		}
		w := object.NewTreeWalker(t, true, nil)
		defer w.Close()
		for {
			name, e, err := w.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			if e.Mode != filemode.Dir {
				head[name] = blob{e.Hash, e.Mode}
			}
		}
	} else if !errors.Is(err, plumbing.ErrReferenceNotFound) {
		return nil, err
	}
	var out []string
	inIndex := map[string]bool{}
	for _, e := range idx.Entries {
		inIndex[e.Name] = true
		// A mode change alone (chmod +x; git add) is a staged change too.
		if b, ok := head[e.Name]; (!ok || b != (blob{e.Hash, e.Mode})) && !ours[e.Name] {
			out = append(out, e.Name)
		}
	}
	for name := range head {
		if !inIndex[name] && !ours[name] {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// RelPath names a file (a path on disk) relative to the work tree's root, slash-separated, when it is inside it. Its
// folder is resolved but not the file itself, so a link keeps its own name.
func (r *Repo) RelPath(file string) (string, bool) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", false
	}
	rootReal, err := filepath.EvalSymlinks(r.root)
	if err != nil {
		return "", false
	}
	dir, err := resolve(filepath.Dir(abs))
	if err != nil {
		return "", false
	}
	rel, ok := inside(rootReal, filepath.Join(dir, filepath.Base(abs)))
	if !ok {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// DiffersFromHead says whether a file of the work tree (a path on disk) differs from its version in HEAD: changed,
// or absent from HEAD. A file outside the work tree, or a repository without commits, gives false.
func (r *Repo) DiffersFromHead(file string) (bool, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return false, err
	}
	rootReal, err := filepath.EvalSymlinks(r.root)
	if err != nil {
		return false, err
	}
	fileReal, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return false, err
	}
	rel, ok := inside(rootReal, fileReal)
	if !ok {
		return false, nil
	}
	ref, err := r.repo.Head()
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	c, err := r.repo.CommitObject(ref.Hash())
	if err != nil {
		return false, err
	}
	data, err := os.ReadFile(fileReal)
	if err != nil {
		return false, err
	}
	f, err := c.File(filepath.ToSlash(rel))
	if errors.Is(err, object.ErrFileNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return f.Hash != plumbing.ComputeHash(plumbing.BlobObject, data), nil
}

// Identity is who authors and who commits, as git commit would have them: git var asks git itself, so the
// GIT_AUTHOR_*/GIT_COMMITTER_* variables, [include] and [includeIf] (which go-git does not resolve) and
// user.useConfigOnly all count. Without the git CLI, the environment and user.name/user.email as go-git reads the
// repository, global and system config.
func (r *Repo) Identity() (author, committer *object.Signature, err error) {
	author, found, err := r.gitIdent("GIT_AUTHOR_IDENT", "author")
	if !found {
		return r.configIdentity()
	}
	if err != nil {
		return nil, nil, err
	}
	committer, _, err = r.gitIdent("GIT_COMMITTER_IDENT", "committer")
	if err != nil {
		return nil, nil, err
	}
	return author, committer, nil
}

// gitIdent reads one identity through git var; found is false when git is not installed.
func (r *Repo) gitIdent(variable, role string) (sig *object.Signature, found bool, err error) {
	out, found, err := r.git("var", variable)
	if !found {
		return nil, false, nil
	}
	if err != nil {
		return nil, true, noIdentity(role, err.Error())
	}
	sig = &object.Signature{}
	sig.Decode([]byte(out))
	if sig.Name == "" || sig.Email == "" {
		return nil, true, noIdentity(role, fmt.Sprintf("git var %s gave %q", variable, out))
	}
	return sig, true, nil
}

func noIdentity(role, why string) error {
	env := "GIT_" + strings.ToUpper(role)
	return fmt.Errorf("no git %s (%s): set user.name and user.email (git config --global user.name 'Your Name'; "+
		"git config --global user.email you@example.com) or %s_NAME and %s_EMAIL", role, why, env, env)
}

// configIdentity is Identity without the git CLI.
func (r *Repo) configIdentity() (author, committer *object.Signature, err error) {
	cfg, err := r.repo.ConfigScoped(config.SystemScope)
	if err != nil {
		return nil, nil, fmt.Errorf("reading git config: %w", err)
	}
	sig := func(role string) *object.Signature {
		env := "GIT_" + strings.ToUpper(role)
		name, email := os.Getenv(env+"_NAME"), os.Getenv(env+"_EMAIL")
		if name == "" {
			name = cfg.User.Name
		}
		if email == "" {
			email = cfg.User.Email
		}
		if name == "" || email == "" {
			return nil
		}
		return &object.Signature{Name: name, Email: email, When: time.Now()}
	}
	if author = sig("author"); author == nil {
		return nil, nil, noIdentity("author", "none in the environment or git config")
	}
	if committer = sig("committer"); committer == nil {
		return nil, nil, noIdentity("committer", "none in the environment or git config")
	}
	return author, committer, nil
}

// SignsCommits says whether commit.gpgsign asks for signed commits, read like Identity: through the git CLI, which
// follows includes, else through go-git's config reading.
func (r *Repo) SignsCommits() (bool, error) {
	out, found, err := r.git("config", "--bool", "--get", "commit.gpgsign")
	if found {
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == 1 {
			return false, nil // not set
		}
		if err != nil {
			return false, fmt.Errorf("reading commit.gpgsign: %w", err)
		}
		return out == "true", nil
	}
	// ConfigScoped merges only the fields go-git knows, not the raw sections: look in each scope, nearest first.
	scopes := []func() (*config.Config, error){
		r.repo.Config,
		func() (*config.Config, error) { return config.LoadConfig(config.GlobalScope) },
		func() (*config.Config, error) { return config.LoadConfig(config.SystemScope) },
	}
	for _, load := range scopes {
		cfg, err := load()
		if err != nil {
			return false, fmt.Errorf("reading git config: %w", err)
		}
		if sect := cfg.Raw.Section("commit"); sect.HasOption("gpgsign") {
			return gitBool("commit.gpgsign", sect.Option("gpgsign"))
		}
	}
	return false, nil
}

// gitBool reads a boolean as git does; a key without a value is true.
func gitBool(key, v string) (bool, error) {
	switch v = strings.ToLower(v); v {
	case "", "true", "yes", "on":
		return true, nil
	case "false", "no", "off":
		return false, nil
	default:
		n, err := strconv.Atoi(v)
		if err != nil {
			return false, fmt.Errorf("%s: %q is not a boolean", key, v)
		}
		return n != 0, nil
	}
}

// git runs the git CLI in the work tree and returns its output without the final newline; found is false when git is
// not installed. A failure's error carries git's own reason.
func (r *Repo) git(args ...string) (out string, found bool, err error) {
	bin, err := exec.LookPath("git")
	if err != nil {
		return "", false, nil
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = r.root
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return "", true, &gitError{args: args, stderr: stderr.String(), err: err}
	}
	return strings.TrimSuffix(string(b), "\n"), true, nil
}

// gitError is a failed run of the git CLI.
type gitError struct {
	args   []string
	stderr string
	err    error
}

// Error gives git's fatal line: the rest of its output is advice for the terminal.
func (e *gitError) Error() string {
	why := e.err.Error()
	for _, l := range strings.Split(e.stderr, "\n") {
		if f, ok := strings.CutPrefix(l, "fatal: "); ok {
			why = f
		}
	}
	return "git " + strings.Join(e.args, " ") + ": " + why
}

func (e *gitError) Unwrap() error { return e.err }

// CommitPaths stages exactly the given paths (relative to the output folder) as they are on disk, a deleted one (or
// one where a folder now stands) as a removal, and commits them, refusing while other changes are staged. It returns the zero hash and no error when they hold
// no change.
func (r *Repo) CommitPaths(paths []string, msg string, author, committer *object.Signature) (plumbing.Hash, error) {
	if err := r.Unfinished(); err != nil {
		return plumbing.ZeroHash, err
	}
	unlock, interrupted, err := r.lockIndex()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	defer unlock()
	// generate checked this before it wrote the tree; a git add since (by hand, an editor's git) would ride along.
	if staged, err := r.StagedOutside(paths); err != nil {
		return plumbing.ZeroHash, err
	} else if len(staged) > 0 {
		return plumbing.ZeroHash, fmt.Errorf("other changes are staged (%s); commit or unstage them (git restore "+
			"--staged PATH) first", strings.Join(staged, ", "))
	}
	wt, err := r.repo.Worktree()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	// go-git's Add reads the index and writes it back whole, once per path: quadratic in the tree. Staging goes
	// through a view of the repository whose index is held in memory, written once after the last path.
	idx, err := r.index()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	mem := &memIndex{Storer: r.repo.Storer, idx: idx}
	staging, err := git.Open(mem, wt.Filesystem)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	swt, err := staging.Worktree()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	var removed []string
	for _, p := range paths {
		if err := interrupted(); err != nil {
			return plumbing.ZeroHash, err
		}
		rp := r.repoPath(p)
		// A folder standing where a file was is somebody's (generate leaves it): the file is gone, and adding the
		// folder would commit every file in it.
		if st, err := os.Lstat(filepath.Join(r.root, filepath.FromSlash(rp))); errors.Is(err, os.ErrNotExist) || err == nil && st.IsDir() {
			removed = append(removed, rp)
			continue
		}
		// SkipStatus: the path is a file (or a link) on disk, and the status that Add computes first is of the
		// whole work tree, every file hashed, once per path: quadratic in the tree (a 100-cluster fleet took 50 s).
		if err := swt.AddWithOptions(&git.AddOptions{Path: rp, SkipStatus: true}); err != nil {
			return plumbing.ZeroHash, fmt.Errorf("staging %s: %w", rp, err)
		}
	}
	idx = mem.idx
	for _, rp := range removed {
		if _, err := idx.Remove(rp); err != nil && !errors.Is(err, index.ErrEntryNotFound) {
			return plumbing.ZeroHash, fmt.Errorf("staging the removal of %s: %w", rp, err)
		}
	}
	if err := interrupted(); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := r.repo.Storer.SetIndex(idx); err != nil {
		return plumbing.ZeroHash, err
	}
	// go-git builds the tree from every index entry: a path in several stages would be written several times.
	if err := checkEntries(idx); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := interrupted(); err != nil {
		return plumbing.ZeroHash, err
	}
	h, err := wt.Commit(msg, &git.CommitOptions{Author: author, Committer: committer})
	if errors.Is(err, git.ErrEmptyCommit) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("committing: %w", err)
	}
	return h, nil
}

// checkEntries refuses an index that would give a tree holding a path twice.
func checkEntries(idx *index.Index) error {
	if u := unmergedPaths(idx); len(u) > 0 {
		return fmt.Errorf("the index has unmerged paths (%s)", strings.Join(u, ", "))
	}
	seen := map[string]bool{}
	for _, e := range idx.Entries {
		if seen[e.Name] {
			return fmt.Errorf("the index holds %s twice", e.Name)
		}
		seen[e.Name] = true
	}
	return nil
}

// memIndex is a repository's storage with its index held in memory: go-git's Add reads and writes the index
// through the storage, and CommitPaths writes it to disk once, after every path is staged.
type memIndex struct {
	storage.Storer
	idx *index.Index
}

func (m *memIndex) Index() (*index.Index, error) { return m.idx, nil }

func (m *memIndex) SetIndex(idx *index.Index) error {
	m.idx = idx
	return nil
}
