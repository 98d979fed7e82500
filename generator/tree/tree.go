package tree

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
)

// Tree is the generated output: slash-separated relative paths to file contents.
type Tree struct {
	files map[string][]byte
	// protected are folders the tree must never write into (flux bootstrap's flux-system folders); isProtected holds
	// them for lookup, since a fleet has one per cluster.
	protected   []string
	isProtected map[string]bool
	// repositoryPath is the tree's folder in the git repository Flux follows ("" for its root), for the record.
	repositoryPath string
	// unvouched are the files added with AddUnvouched, each with what the record said of it ("" for nothing).
	unvouched map[string]string
}

// SetRepositoryPath records the tree's folder in the git repository Flux follows ("" for its root): the ownership
// record carries it, so that build and diff, which read no spec, resolve Flux's paths as kustomize-controller does.
func (t *Tree) SetRepositoryPath(p string) { t.repositoryPath = p }

// RepositoryPath is what SetRepositoryPath recorded.
func (t *Tree) RepositoryPath() string { return t.repositoryPath }

// New makes an empty tree that refuses paths under any of the protected folders.
func New(protected ...string) *Tree {
	t := &Tree{files: map[string][]byte{}, protected: protected, isProtected: make(map[string]bool, len(protected))}
	for _, dir := range protected {
		t.isProtected[path.Clean(dir)] = true
	}
	return t
}

// Add puts a file in the tree; a path may be added once.
func (t *Tree) Add(p string, data []byte) error {
	if err := checkPath(p); err != nil {
		return err
	}
	if dir, ok := t.protectedDir(p); ok {
		return fmt.Errorf("tree: %s is inside %s, which kronform-gen never writes", p, dir)
	}
	if _, ok := t.files[p]; ok {
		return fmt.Errorf("tree: %s is generated twice", p)
	}
	t.files[p] = data
	return nil
}

// AddUnvouched puts in the tree a file the run keeps as it stands on disk without vouching for it: a secret file no
// key at hand opens, which is not as the spec says (the run that renders such a tree must not write it). The ownership
// record goes on saying what it said of the file: recorded is its digest there, "" when it did not list it. A record
// holding the file's own digest would vouch for contents kronform-gen never wrote nor verified, and check would show
// that digest as the change to make.
func (t *Tree) AddUnvouched(p string, data []byte, recorded string) error {
	if err := t.Add(p, data); err != nil {
		return err
	}
	if t.unvouched == nil {
		t.unvouched = map[string]string{}
	}
	t.unvouched[p] = recorded
	return nil
}

// Unvouched says whether p was added with AddUnvouched, and what the record said of it then.
func (t *Tree) Unvouched(p string) (recorded string, ok bool) {
	recorded, ok = t.unvouched[p]
	return recorded, ok
}

// protectedDir names the protected folder a path lies in, if any.
func (t *Tree) protectedDir(p string) (string, bool) {
	for dir := p; dir != "." && dir != "/"; dir = path.Dir(dir) {
		if t.isProtected[dir] {
			return dir, true
		}
	}
	return "", false
}

// ownedPath accepts what kronform-gen can have written: a clean relative path inside the tree, outside .git. A record
// or journal naming anything else is damaged or hostile, and both delete what they name.
func ownedPath(p string) bool {
	return checkPath(p) == nil && !slices.Contains(strings.Split(p, "/"), ".git")
}

// checkPath accepts only clean, relative, slash-separated paths that stay inside the tree.
func checkPath(p string) error {
	if p == "" || path.IsAbs(p) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") || strings.Contains(p, "\\") {
		return fmt.Errorf("tree: %q is not a clean relative path inside the tree", p)
	}
	return nil
}

// Paths lists the tree's files in sorted order.
func (t *Tree) Paths() []string { return slices.Sorted(maps.Keys(t.files)) }

// File returns one file's contents.
func (t *Tree) File(p string) ([]byte, bool) {
	b, ok := t.files[p]
	return b, ok
}

// Len is the number of files.
func (t *Tree) Len() int { return len(t.files) }

// Protected lists the folders the tree never writes into.
func (t *Tree) Protected() []string { return slices.Clone(t.protected) }

// Digest is the sha256 of a file's contents, as the ownership record keeps it.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
