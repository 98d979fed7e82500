package cli_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/kronform/kronform-gen/generator/cache"
)

// binDir holds the kronform-gen binary built once for the CLI tests, so they run the real program.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "kronform-gen-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// Validation results are remembered in the run's own folder, not the user's cache (the built binary inherits it).
	os.Setenv(cache.Env, filepath.Join(dir, "cache"))
	_, here, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(here), "..", "..")
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "kronform-gen"), "./cmd/kronform-gen")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building kronform-gen:", err)
		return 1
	}
	binDir = dir
	return m.Run()
}

// repoRoot is the module root, for tests that read the example spec.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "..")
}
