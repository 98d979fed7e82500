package spec

import (
	"path"
	"strings"
)

// InTree resolves a Flux Kustomization's spec.path the way kustomize-controller does inside the source artifact
// (securejoin onto the repository's root: an absolute path is from the root, and ".." stops at the root), then makes
// it relative to the tree, which lies at repositoryPath in the repository ("" for the root). It returns "." for the
// tree's root, and false when the path lies outside the tree.
func InTree(specPath, repositoryPath string) (string, bool) {
	c := strings.TrimLeft(path.Clean("/"+specPath), "/")
	if c == "" {
		c = "."
	}
	switch {
	case repositoryPath == "":
		return c, true
	case c == repositoryPath:
		return ".", true
	case strings.HasPrefix(c, repositoryPath+"/"):
		return c[len(repositoryPath)+1:], true
	}
	return "", false
}
