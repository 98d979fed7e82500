package validate

import (
	"io/fs"
	"os"
	"path/filepath"

	"github.com/kronform/kronform-gen/generator/tree"
)

// Dir validates the tree on disk at dir. It checks the files kronform-gen generated there (its ownership record):
// files kept by hand and flux bootstrap's flux-system folder are not its to judge. A folder kronform-gen never wrote
// has no record; then every YAML file outside flux-system folders is checked.
func Dir(dir string) ([]Finding, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, err
	}
	owned, err := tree.ReadOwned(dir)
	if err != nil {
		return nil, err
	}
	var paths []string
	for p := range owned.Files {
		paths = append(paths, p)
	}
	if len(paths) == 0 {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && p != dir && (d.Name() == "flux-system" || d.Name() == ".git" || d.Name() == tree.StateDir) {
				return filepath.SkipDir
			}
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			if !d.IsDir() {
				paths = append(paths, filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	t := tree.New()
	for _, p := range paths {
		if !Validated(p) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			// a generated file that is gone is drift, which check reports; there is nothing here to validate
			if os.IsNotExist(err) {
				continue
			}
			return nil, err
		}
		if err := t.Add(p, b); err != nil {
			return nil, err
		}
	}
	return Tree(t)
}
