package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// A large file kronform-gen has nothing to do with, in the output folder (--out . at a repository root holding a
// disk image, say), is never read whole: generate only asks whether it starts with the DO NOT EDIT header, and check
// reads a large file only if kustomize could (a YAML or JSON name, or a kustomization naming it). Both read every
// file in full (a 2 GB file: a no-op generate went from 0.1 s and 107 MB to 7.1 s and 2.1 GB). The file here is
// sparse: it takes no disk space, and reading it whole allocates all of it.
func TestLargeUnrelatedFileIsNotReadWhole(t *testing.T) {
	const size = 256 << 20
	w := newWorkspace(t)
	w.mustGenerate(transitionSpec)
	f, err := os.Create(filepath.Join(w.dir, "output", "disk.img"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	run := func(args ...string) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		var o, e bytes.Buffer
		code := Main(append(args, "--spec", filepath.Join(w.dir, "cluster-spec.yaml"), "--out", filepath.Join(w.dir, "output")),
			strings.NewReader(""), &o, &e)
		runtime.ReadMemStats(&after)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, o.String(), e.String())
		}
		return after.TotalAlloc - before.TotalAlloc
	}
	for _, cmd := range []string{"generate", "check"} {
		if n := run(cmd); n > size/4 {
			t.Errorf("%s allocated %d MB with a %d MB file in the output folder: it read the file whole", cmd, n>>20, size>>20)
		} else {
			t.Logf("%s allocated %d kB", cmd, n>>10)
		}
	}
}
