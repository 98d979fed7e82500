package testenv

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ModuleDir returns a module's folder in the Go module cache (MODULE@VERSION), downloading it through the module
// proxy when it is not there yet (hack/e2e-deps.sh fetches the ones the tests use).
func ModuleDir(t testing.TB, modVersion string) string {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", modVersion).Output()
	if err != nil {
		t.Fatalf("go mod download %s: %v\n%s", modVersion, err, out)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatal(err)
	}
	if info.Error != "" || info.Dir == "" {
		t.Fatalf("go mod download %s: %s", modVersion, info.Error)
	}
	return info.Dir
}

// Object makes an unstructured object from a map, round-tripped through JSON so numbers and slices have the types the
// unstructured helpers expect.
func Object(t testing.TB, m map[string]any) *unstructured.Unstructured {
	t.Helper()
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(data); err != nil {
		t.Fatal(err)
	}
	return obj
}

// Git runs the git CLI in dir with a fixed test identity, failing the test on error.
func Git(t testing.TB, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{
		"-c", "user.name=testenv", "-c", "user.email=testenv@example.invalid", "-c", "commit.gpgsign=false",
	}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// WriteFile writes a file, making its folders.
func WriteFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
