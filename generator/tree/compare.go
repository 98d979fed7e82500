package tree

import (
	"bytes"
	"maps"
	"slices"
	"strings"
)

// ChangeKind says how a file on disk differs from the tree.
type ChangeKind string

// Kinds of change.
const (
	Missing ChangeKind = "missing" // generated, absent on disk
	Extra   ChangeKind = "extra"   // owned on disk, no longer generated
	Changed ChangeKind = "changed" // on disk with other contents
)

// Change is one file that differs. HandEdited marks a file whose contents are not what kronform-gen last wrote;
// NotAFile a missing one whose path holds something other than a regular file (a symbolic link, never followed);
// Executable a changed one that is executable on disk (git records the bit; generated files are FileMode), whatever
// its contents.
type Change struct {
	Path       string
	Kind       ChangeKind
	Want, Have []byte
	HandEdited bool
	NotAFile   bool
	Executable bool
}

// Compare lists every difference between the tree (with its ownership record) and the tree on disk, sorted by path.
// Files kronform-gen does not own are not looked at.
func Compare(d *Disk, t *Tree) ([]Change, error) {
	full, err := withRecord(t)
	if err != nil {
		return nil, err
	}
	old, err := d.Owned()
	if err != nil {
		return nil, err
	}
	var out []Change
	for _, p := range full.Paths() {
		want, _ := full.File(p)
		have, ok := d.File(p)
		switch {
		case !ok:
			out = append(out, Change{Path: p, Kind: Missing, Want: want, NotAFile: d.NotAFile(p)})
		case !bytes.Equal(want, have) || d.Executable(p):
			out = append(out, Change{Path: p, Kind: Changed, Want: want, Have: have, HandEdited: handEdited(old, p, have), Executable: d.Executable(p)})
		}
	}
	for _, p := range slices.Sorted(maps.Keys(old.Files)) {
		if _, ok := full.File(p); ok {
			continue
		}
		if have, ok := d.File(p); ok {
			out = append(out, Change{Path: p, Kind: Extra, Have: have, HandEdited: handEdited(old, p, have)})
		}
	}
	slices.SortFunc(out, func(a, b Change) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

func handEdited(old Owned, p string, have []byte) bool {
	d, ok := old.Files[p]
	return ok && p != OwnedFile && d != Digest(have)
}
