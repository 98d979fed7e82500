package render

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kronform/kronform-gen/generator/spec"
	"github.com/kronform/kronform-gen/generator/tree"
)

var update = flag.Bool("update", false, "rewrite the golden trees under testdata/golden")

// TestGolden renders each testdata/golden/<case>/cluster-spec.yaml and compares the tree, byte for byte, with
// testdata/golden/<case>/output; the bundled example is a case too, against the committed output/. Run with -update
// to accept a change.
func TestGolden(t *testing.T) {
	cases, err := filepath.Glob("testdata/golden/*/cluster-spec.yaml")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	cases = append(cases, "../../cluster-spec.yaml")
	for _, specFile := range cases {
		dir := filepath.Dir(specFile)
		name := filepath.Base(dir)
		if name == ".." {
			name = "example"
		}
		t.Run(name, func(t *testing.T) {
			got := renderFile(t, specFile)
			want := filepath.Join(dir, "output")
			if *update {
				if err := os.RemoveAll(want); err != nil {
					t.Fatal(err)
				}
				if _, err := tree.Write(want, got, nil); err != nil {
					t.Fatal(err)
				}
			}
			compareDir(t, want, got)
			// Rendering twice gives the same bytes: nothing depends on map order or time.
			again := renderFile(t, specFile)
			for _, p := range got.Paths() {
				a, _ := got.File(p)
				b, _ := again.File(p)
				if !bytes.Equal(a, b) {
					t.Errorf("%s differs between two renders", p)
				}
			}
		})
	}
}

func renderFile(t *testing.T, specFile string) *tree.Tree {
	t.Helper()
	m, err := spec.LoadFile(specFile, spec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// No key and no sources, as in CI: existing encrypted files are kept after the checks that need no key.
	var previous fs.FS
	if dir := filepath.Join(filepath.Dir(specFile), "output"); exists(dir) {
		previous = os.DirFS(dir)
	}
	got, err := Fleet(m, Options{Previous: previous})
	if err != nil {
		t.Fatal(err)
	}
	if n := got.Stuck(); len(n) > 0 {
		t.Fatalf("secrets need a key holder: %+v", n)
	}
	return got.Tree
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// compareDir checks that dir holds exactly the tree's files (plus the bookkeeping Write adds) with the same bytes.
func compareDir(t *testing.T, dir string, got *tree.Tree) {
	t.Helper()
	d, err := tree.ReadDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	changes, err := tree.Compare(d, got)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		t.Errorf("%s %s (run go test ./generator/render -update to accept)\n%s", c.Kind, c.Path, cmp.Diff(string(c.Have), string(c.Want)))
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if _, ok := got.File(rel); !ok && filepath.Dir(rel) != tree.StateDir {
			t.Errorf("stray file %s in the golden tree", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
