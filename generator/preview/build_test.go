package preview_test

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kronform/kronform-gen/generator/preview"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// kustomizeBin is the real kustomize CLI (v5.8.2, the go.mod tool), resolved once.
var kustomizeBin = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "tool", "-n", "kustomize").Output()
	return strings.TrimSpace(string(out)), err
})

// kustomizeBuild runs `kustomize build dir`.
func kustomizeBuild(t *testing.T, dir string) []byte {
	t.Helper()
	bin, err := kustomizeBin()
	if err != nil {
		t.Fatalf("finding the kustomize tool: %v", err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "build", dir)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kustomize build %s: %v\n%s", dir, err, stderr.String())
	}
	return out
}

// buildDir builds every Kustomization of the tree on disk at dir, as build does with no options.
func buildDir(t *testing.T, dir string) (*preview.Result, []preview.Kustomization) {
	t.Helper()
	src, ks := fromDir(t, dir)
	res, err := src.Build(ks, preview.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res, ks
}

// fromDir reads the tree on disk at dir as build does, and lists its Flux Kustomizations.
func fromDir(t *testing.T, dir string) (*preview.Source, []preview.Kustomization) {
	t.Helper()
	src, err := preview.FromDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return src, kustomizationsOf(t, src)
}

// fromFiles is fromDir for an in-memory tree.
func fromFiles(t *testing.T, files map[string][]byte) (*preview.Source, []preview.Kustomization) {
	t.Helper()
	src, err := preview.FromFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	return src, kustomizationsOf(t, src)
}

func kustomizationsOf(t *testing.T, src *preview.Source) []preview.Kustomization {
	t.Helper()
	ks, err := src.Kustomizations()
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// writeTree writes files under dir.
func writeTree(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for p, b := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// copyDir copies a tree on disk.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// assertBuildsMatchCLI checks, for every Kustomization of the tree at dir, that the in-process kustomize build is
// byte-for-byte what the kustomize CLI prints for the same folder. Where the controller would generate or patch the
// kustomization file, the CLI runs on a copy of the tree holding that same file. It returns how many paths it checked.
func assertBuildsMatchCLI(t *testing.T, dir string) int {
	t.Helper()
	src, ks := fromDir(t, dir)
	if len(ks) == 0 {
		t.Fatalf("no Flux Kustomizations found in %s", dir)
	}
	// No postBuild here: this is the kustomize build alone. Substitution is tested against golden output.
	for i := range ks {
		ks[i].Spec.PostBuild, ks[i].Spec.CommonMetadata = nil, nil
	}
	res, err := src.Build(ks, preview.Options{})
	builds := res.Builds
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range builds {
		got, err := b.YAML(true)
		if err != nil {
			t.Fatal(err)
		}
		root := dir
		if b.KustomizationFile != nil {
			root = t.TempDir()
			copyDir(t, dir, root)
			name := "kustomization.yaml"
			if !b.Generated {
				for _, n := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
					if _, err := os.Stat(filepath.Join(root, b.Path, n)); err == nil {
						name = n
					}
				}
			}
			writeTree(t, root, map[string][]byte{filepath.ToSlash(filepath.Join(b.Path, name)): b.KustomizationFile})
		}
		want := kustomizeBuild(t, filepath.Join(root, filepath.FromSlash(b.Path)))
		if !bytes.Equal(got, want) {
			t.Errorf("%s (%s): build differs from kustomize build (-cli +preview):\n%s", b.ID(), b.Path, cmp.Diff(string(want), string(got)))
		}
	}
	return len(builds)
}

func TestBuildEqualsKustomizeCLIOnTheExample(t *testing.T) {
	if n := assertBuildsMatchCLI(t, filepath.Join("..", "..", "output")); n != 3 {
		t.Errorf("checked %d Kustomizations of the example, want 3 (cilium, host-policies, secrets)", n)
	}
}

func TestBuildEqualsKustomizeCLIOnTheFixture(t *testing.T) {
	if n := assertBuildsMatchCLI(t, filepath.Join("testdata", "fixture")); n != 4 {
		t.Errorf("checked %d Kustomizations of the fixture, want 4", n)
	}
}

// A tree that is a folder of the repository Flux follows (repositoryPath: output, recorded in owned.json): its Flux
// Kustomizations name their folders from the repository's root, and each builds as the CLI builds that folder.
func TestBuildEqualsKustomizeCLIInOneRepository(t *testing.T) {
	if n := assertBuildsMatchCLI(t, filepath.Join("..", "render", "testdata", "golden", "one-repository", "output")); n != 2 {
		t.Errorf("checked %d Kustomizations of the tree, want 2 (cilium, host-policies)", n)
	}
}
