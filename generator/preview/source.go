package preview

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kronform/kronform-gen/generator/tree"
	"github.com/kronform/kronform-gen/internal/parallel"
)

// Source is a read-only repository tree that builds read from: the output folder on disk, a git commit, or the
// in-memory tree a render produced. Every build runs on kustomize's own filesystem interface, so the three behave the
// same.
type Source struct {
	fs   filesys.FileSystem
	root string // absolute path of the tree's root inside fs
	// repositoryPath is the tree's folder in the git repository Flux follows ("" for its root), from which
	// kustomize-controller resolves spec.path: see specPath.
	repositoryPath string
	// baseNames are the names of the tree's files and folders, which error messages may quote (see redact).
	baseNamesOnce sync.Once
	baseNames     map[string]bool
}

// FromDir reads the tree at dir on disk into memory, once (builds then make no system calls, and nothing is ever
// written there). .git is skipped, and so are symbolic links, so no build can read outside the tree.
func FromDir(dir string) (*Source, error) {
	files, err := ReadDir(dir)
	if err != nil {
		return nil, err
	}
	return FromFiles(files)
}

// ReadDir reads the regular files of the tree at dir on disk, as FromDir does, keyed by their slash-separated paths
// relative to dir: for a caller that looks at the files before it builds them (FromFiles).
func ReadDir(dir string) (map[string][]byte, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a folder", dir)
	}
	var paths []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Reading is system calls more than work: a few readers at once on any number of cores.
	data := make([][]byte, len(paths))
	errs := make([]error, len(paths))
	parallel.For(len(paths), 4, func(i int) { data[i], errs[i] = os.ReadFile(paths[i]) })
	files := make(map[string][]byte, len(paths))
	for i, p := range paths {
		if errs[i] != nil {
			return nil, errs[i]
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return nil, err
		}
		files[filepath.ToSlash(rel)] = data[i]
	}
	return files, nil
}

// FromFiles holds a tree given as slash-separated relative paths and their contents (a git commit's tree, say),
// less the files source-controller leaves out of the artifact (see withoutIgnored). The tree's folder in the
// repository Flux follows is taken from its ownership record (.kronform-gen/owned.json), when it has one.
func FromFiles(files map[string][]byte) (*Source, error) {
	var repositoryPath string
	if b, ok := files[tree.OwnedFile]; ok {
		owned, err := tree.ParseOwned(b)
		if err != nil {
			return nil, err
		}
		repositoryPath = owned.RepositoryPath
	}
	fs := filesys.MakeFsInMemory()
	for p, b := range withoutIgnored(files) {
		if p == "" || path.IsAbs(p) || path.Clean(p) != p || p == ".." || len(p) > 2 && p[:3] == "../" {
			return nil, fmt.Errorf("%q is not a clean relative path", p)
		}
		if err := fs.WriteFile("/"+p, b); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	return &Source{fs: readOnly{fs}, root: "/", repositoryPath: repositoryPath}, nil
}

// FromTree holds a rendered tree, which lies at its repositoryPath.
func FromTree(t *tree.Tree) (*Source, error) {
	files := make(map[string][]byte, t.Len())
	for _, p := range t.Paths() {
		files[p], _ = t.File(p)
	}
	s, err := FromFiles(files)
	if err != nil {
		return nil, err
	}
	s.SetRepositoryPath(t.RepositoryPath())
	return s, nil
}

// SetRepositoryPath says where the tree lies in the git repository Flux follows ("" for its root), when the caller
// knows it better than the tree's record: the spec being generated.
func (s *Source) SetRepositoryPath(p string) { s.repositoryPath = p }

// abs turns a slash-separated path relative to the tree into a path of fs.
func (s *Source) abs(rel string) string {
	return filepath.Join(s.root, filepath.FromSlash(rel))
}

// rel is the inverse of abs.
func (s *Source) rel(p string) string {
	r, err := filepath.Rel(s.root, p)
	if err != nil {
		return p
	}
	return filepath.ToSlash(r)
}

// readOnly refuses every write, so that no build (nor a bug in one) can change the tree it reads.
type readOnly struct{ filesys.FileSystem }

var errReadOnly = fmt.Errorf("preview: the tree is read-only")

func (readOnly) Create(string) (filesys.File, error) { return nil, errReadOnly }
func (readOnly) Mkdir(string) error                  { return errReadOnly }
func (readOnly) MkdirAll(string) error               { return errReadOnly }
func (readOnly) RemoveAll(string) error              { return errReadOnly }
func (readOnly) WriteFile(string, []byte) error      { return errReadOnly }

// ReadFile refuses a file whose YAML holds itself through an alias (see loopingAlias): kustomize would crash on it.
func (r readOnly) ReadFile(p string) ([]byte, error) {
	b, err := r.FileSystem.ReadFile(p)
	if err != nil {
		return nil, err
	}
	if err := loopingAlias(b); err != nil {
		return nil, fmt.Errorf("%s:%w", strings.TrimPrefix(filepath.ToSlash(p), "/"), err)
	}
	return b, nil
}
