package validate

import (
	"fmt"
	"os"
	"strings"

	"github.com/kronform/kronform-gen/generator/tree"
)

// Dir validates the tree on disk at dir. It checks the files kronform-gen generated there (its ownership record):
// files kept by hand and flux bootstrap's flux-system folder are not its to judge. A folder kronform-gen never wrote
// has no record; then every YAML file outside flux-system folders is checked. It returns the findings and how many
// files it checked: none says there was nothing to validate, not that the tree is good.
func Dir(dir string) ([]Finding, int, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, 0, err
	}
	if !st.IsDir() {
		return nil, 0, fmt.Errorf("%s is not a folder", dir)
	}
	d, err := tree.ReadDisk(dir)
	if err != nil {
		return nil, 0, err
	}
	t, err := toValidate(d)
	if err != nil {
		return nil, 0, err
	}
	findings, err := Tree(t)
	return findings, t.Len(), err
}

// OnDisk is Dir for a tree already read.
func OnDisk(d *tree.Disk) ([]Finding, error) {
	t, err := toValidate(d)
	if err != nil {
		return nil, err
	}
	return Tree(t)
}

// toValidate picks the files of a tree on disk that Dir validates.
func toValidate(d *tree.Disk) (*tree.Tree, error) {
	owned, err := d.Owned()
	if err != nil {
		return nil, err
	}
	var paths []string
	for p := range owned.Files {
		paths = append(paths, p)
	}
	if len(paths) == 0 {
		for _, p := range d.Paths() {
			if !inFolder(p, "flux-system") && !inFolder(p, tree.StateDir) {
				paths = append(paths, p)
			}
		}
	}
	t := tree.New()
	for _, p := range paths {
		if !Validated(p) {
			continue
		}
		b, ok := d.File(p)
		if !ok {
			continue // a generated file that is gone is drift, which check reports; there is nothing here to validate
		}
		if err := t.Add(p, b); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// inFolder says whether a slash-separated path lies inside a folder of that name, at any depth.
func inFolder(p, name string) bool {
	return strings.HasPrefix(p, name+"/") || strings.Contains(p, "/"+name+"/")
}
