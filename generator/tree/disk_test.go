package tree

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadDiskReadsTheTreeOnce(t *testing.T) {
	dir := t.TempDir()
	for p, data := range map[string]string{
		"a.yaml": "a", "sub/b.yaml": "b", ".git/config": "git", TxnDir + "/journal": "staged", OwnedFile: `{"files":{"a.yaml":"x"}}`,
	} {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("a.yaml", filepath.Join(dir, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub", filepath.Join(dir, "dirlink")); err != nil {
		t.Fatal(err)
	}
	d, err := ReadDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{OwnedFile, "a.yaml", "sub/b.yaml"}
	if got := d.Paths(); !slices.Equal(got, want) {
		t.Errorf("paths %q, want %q (no .git, no staging area, no link: Flux's artifact leaves links out)", got, want)
	}
	if err := os.Symlink("nowhere", filepath.Join(dir, "broken.yaml")); err != nil {
		t.Fatal(err)
	}
	if d, err = ReadDisk(dir); err != nil {
		t.Fatal(err)
	}
	wantEntries := []string{OwnedFile, "a.yaml", "broken.yaml", "dirlink", "link.yaml", "sub/b.yaml"}
	if got := d.Entries(); !slices.Equal(got, wantEntries) {
		t.Errorf("entries %q, want %q (every entry that is not a folder, read or not)", got, wantEntries)
	}
	if got := d.Paths(); !slices.Equal(got, want) {
		t.Errorf("paths after a broken link %q, want %q", got, want)
	}
	if b, err := fs.ReadFile(d, "link.yaml"); !os.IsNotExist(err) {
		t.Errorf("a link was read as its target: %q, %v", b, err)
	}
	if b, err := fs.ReadFile(noReadFile{d}, "sub/b.yaml"); err != nil || string(b) != "b" {
		t.Errorf("fs.ReadFile through Open: %q, %v", b, err)
	}
	if _, err := fs.ReadFile(d, "missing.yaml"); !os.IsNotExist(err) {
		t.Errorf("a missing file: %v", err)
	}
	if o, err := d.Owned(); err != nil || o.Files["a.yaml"] != "x" {
		t.Errorf("ownership record: %v, %v", o, err)
	}
	// The record is parsed once however many checks read it: a fleet's is over 100 kB of JSON.
	allocs := testing.AllocsPerRun(10, func() { d.Owned() })
	if allocs > 0 {
		t.Errorf("reading the ownership record again allocates %v times: it is parsed again", allocs)
	}

	empty, err := ReadDisk(filepath.Join(dir, "nothing-here"))
	if err != nil || len(empty.Paths()) != 0 {
		t.Errorf("a folder that does not exist: %v, %v", empty.Paths(), err)
	}
}

// noReadFile hides Disk's ReadFile, so fs.ReadFile goes through Open, Stat and Read.
type noReadFile struct{ d *Disk }

func (n noReadFile) Open(name string) (fs.File, error) { return n.d.Open(name) }

// TestSumTellsTreesApart: a tree's Sum changes with any path, any contents, and whether an entry is a file at all,
// and not with anything else (the order files were written in, .git).
func TestSumTellsTreesApart(t *testing.T) {
	sum := func(files map[string]string, links ...string) [32]byte {
		t.Helper()
		dir := t.TempDir()
		for p, data := range files {
			p, executable := strings.CutSuffix(p, "*") // a name ending in * is made executable
			full := filepath.Join(dir, filepath.FromSlash(p))
			os.MkdirAll(filepath.Dir(full), 0o755)
			if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
			if executable {
				os.Chmod(full, 0o755)
			}
		}
		for _, l := range links {
			if err := os.Symlink("nowhere", filepath.Join(dir, l)); err != nil {
				t.Fatal(err)
			}
		}
		d, err := ReadDisk(dir)
		if err != nil {
			t.Fatal(err)
		}
		return d.Sum()
	}
	base := map[string]string{"a.yaml": "a", "sub/b.yaml": "b"}
	want := sum(base)
	if sum(map[string]string{"sub/b.yaml": "b", "a.yaml": "a", ".git/HEAD": "x"}) != want {
		t.Error("the same tree gave another sum")
	}
	for name, other := range map[string][32]byte{
		"contents":               sum(map[string]string{"a.yaml": "A", "sub/b.yaml": "b"}),
		"path":                   sum(map[string]string{"a.yaml": "a", "sub/c.yaml": "b"}),
		"one more file":          sum(map[string]string{"a.yaml": "a", "sub/b.yaml": "b", "c": ""}),
		"a broken link":          sum(base, "c"),
		"bytes moved":            sum(map[string]string{"a.yaml": "ab", "sub/b.yaml": ""}),
		"a file less":            sum(map[string]string{"a.yaml": "a"}),
		"a file in a new folder": sum(map[string]string{"a.yaml": "a", "sub/b.yaml": "b", "new/.keep": ""}),
		"an executable bit":      sum(map[string]string{"a.yaml*": "a", "sub/b.yaml": "b"}),
	} {
		if other == want {
			t.Errorf("a tree with another %s has the same sum", name)
		}
	}
}

// A file larger than ReadWhole is listed, sized and summed like any, but read only when asked for: an output folder
// may hold anything, and reading a disk image at the root of a repository whole cost check its size in memory.
func TestReadDiskReadsLargeFilesWhenAsked(t *testing.T) {
	dir := t.TempDir()
	big := strings.Repeat("x", ReadWhole) + "y"
	for p, data := range map[string]string{"a.yaml": "a", "disk.img": big} {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := ReadDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, read := d.files["disk.img"]; read {
		t.Fatal("ReadDisk read a large file whole")
	}
	if got := d.Paths(); !slices.Equal(got, []string{"a.yaml", "disk.img"}) {
		t.Errorf("paths %q", got)
	}
	if d.Size("disk.img") != int64(len(big)) || d.Size("a.yaml") != 1 || d.Size("nope") != 0 {
		t.Errorf("sizes %d, %d, %d", d.Size("disk.img"), d.Size("a.yaml"), d.Size("nope"))
	}
	sum := d.Sum()
	// Sum streams the large file: its contents count, as any file's.
	if err := os.WriteFile(filepath.Join(dir, "disk.img"), []byte(strings.Repeat("x", ReadWhole)+"z"), 0o644); err != nil {
		t.Fatal(err)
	}
	if d2, _ := ReadDisk(dir); d2.Sum() == sum {
		t.Error("a large file's contents changed and the sum did not")
	}
	if b, err := fs.ReadFile(noReadFile{d}, "disk.img"); err != nil || !strings.HasSuffix(string(b), "z") {
		t.Errorf("Open streams the file as it stands: %d bytes, %v", len(b), err)
	}
	if b, ok := d.File("disk.img"); !ok || !strings.HasSuffix(string(b), "z") {
		t.Errorf("File reads a large file when asked: %d bytes, %v", len(b), ok)
	}
	if b, err := d.ReadFile("disk.img"); err != nil || len(b) != len(big) {
		t.Errorf("ReadFile: %d bytes, %v", len(b), err)
	}
}

// Files reads regular files only: not through a link to a file, not below a link to a folder, not outside the tree.
func TestFilesNeverFollowsLinks(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret.yaml"), []byte("outside"), 0o600)
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "sub", "a.yaml"), []byte("a"), 0o644)
	for link, target := range map[string]string{"sub/link.yaml": filepath.Join(outside, "secret.yaml"), "linkdir": outside, "inner": "sub"} {
		if err := os.Symlink(target, filepath.Join(dir, filepath.FromSlash(link))); err != nil {
			t.Fatal(err)
		}
	}
	f := Files(dir)
	if b, err := fs.ReadFile(f, "sub/a.yaml"); err != nil || string(b) != "a" {
		t.Errorf("a regular file: %q, %v", b, err)
	}
	for _, p := range []string{"sub/link.yaml", "linkdir/secret.yaml", "inner/a.yaml", "sub", ".", "../x", "sub/../sub/a.yaml", "missing.yaml"} {
		if b, err := fs.ReadFile(f, p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: %q, %v; want it not to exist", p, b, err)
		}
	}
}
