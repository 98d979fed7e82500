package preview

import (
	"path/filepath"
	"slices"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// overlay shows a tree with one file replaced or added: the kustomization.yaml Flux would generate or patch for a
// Kustomization's path. Builds run in parallel on one shared tree, so each gets its own overlay instead of writing
// into the tree the way kustomize-controller writes into its private checkout.
type overlay struct {
	filesys.FileSystem
	path string // absolute, cleaned
	data []byte
}

func (o overlay) is(p string) bool { return filepath.Clean(p) == o.path }

func (o overlay) ReadFile(p string) ([]byte, error) {
	if o.is(p) {
		return slices.Clone(o.data), nil
	}
	return o.FileSystem.ReadFile(p)
}

func (o overlay) Exists(p string) bool { return o.is(p) || o.FileSystem.Exists(p) }

func (o overlay) IsDir(p string) bool { return !o.is(p) && o.FileSystem.IsDir(p) }

func (o overlay) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	if o.is(p) {
		return filesys.ConfirmedDir(filepath.Dir(o.path)), filepath.Base(o.path), nil
	}
	return o.FileSystem.CleanedAbs(p)
}

func (o overlay) ReadDir(p string) ([]string, error) {
	names, err := o.FileSystem.ReadDir(p)
	if err != nil || filepath.Clean(p) != filepath.Dir(o.path) {
		return names, err
	}
	if name := filepath.Base(o.path); !slices.Contains(names, name) {
		names = append(names, name)
		slices.Sort(names)
	}
	return names, nil
}

func (o overlay) Glob(pattern string) ([]string, error) {
	found, err := o.FileSystem.Glob(pattern)
	if err != nil {
		return nil, err
	}
	if ok, _ := filepath.Match(pattern, o.path); ok && !slices.Contains(found, o.path) {
		found = append(found, o.path)
		slices.Sort(found)
	}
	return found, nil
}
