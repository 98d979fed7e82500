package preview

import (
	"maps"
	"path/filepath"
	"slices"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// overlay shows a tree with some files replaced or added: the kustomization.yaml Flux would generate or patch for a
// Kustomization's path, and the SOPS-encrypted files it decrypts before building. Builds run in parallel on one
// shared tree, so each gets its own overlay instead of writing into the tree the way kustomize-controller writes
// into its private checkout.
type overlay struct {
	filesys.FileSystem
	files map[string][]byte // by absolute, cleaned path
}

// withFiles returns fs with files laid over it; an fs that is already an overlay gets a new one with both sets.
func withFiles(fs filesys.FileSystem, files map[string][]byte) filesys.FileSystem {
	if len(files) == 0 {
		return fs
	}
	all := map[string][]byte{}
	if o, ok := fs.(overlay); ok {
		fs = o.FileSystem
		maps.Copy(all, o.files)
	}
	for p, b := range files {
		all[filepath.Clean(p)] = b
	}
	return overlay{FileSystem: fs, files: all}
}

func (o overlay) file(p string) ([]byte, bool) {
	b, ok := o.files[filepath.Clean(p)]
	return b, ok
}

func (o overlay) ReadFile(p string) ([]byte, error) {
	if b, ok := o.file(p); ok {
		return slices.Clone(b), nil
	}
	return o.FileSystem.ReadFile(p)
}

func (o overlay) Exists(p string) bool {
	_, ok := o.file(p)
	return ok || o.FileSystem.Exists(p)
}

func (o overlay) IsDir(p string) bool {
	_, ok := o.file(p)
	return !ok && o.FileSystem.IsDir(p)
}

func (o overlay) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	if _, ok := o.file(p); ok {
		c := filepath.Clean(p)
		return filesys.ConfirmedDir(filepath.Dir(c)), filepath.Base(c), nil
	}
	return o.FileSystem.CleanedAbs(p)
}

func (o overlay) ReadDir(p string) ([]string, error) {
	names, err := o.FileSystem.ReadDir(p)
	if err != nil {
		return names, err
	}
	dir, added := filepath.Clean(p), false
	for f := range o.files {
		if name := filepath.Base(f); filepath.Dir(f) == dir && !slices.Contains(names, name) {
			names, added = append(names, name), true
		}
	}
	if added {
		slices.Sort(names)
	}
	return names, nil
}

func (o overlay) Glob(pattern string) ([]string, error) {
	found, err := o.FileSystem.Glob(pattern)
	if err != nil {
		return nil, err
	}
	added := false
	for f := range o.files {
		if ok, _ := filepath.Match(pattern, f); ok && !slices.Contains(found, f) {
			found, added = append(found, f), true
		}
	}
	if added {
		slices.Sort(found)
	}
	return found, nil
}
