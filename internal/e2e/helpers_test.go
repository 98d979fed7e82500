package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "..")
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// kronformGen builds the real binary once per test run.
func kronformGen(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kronform-gen-e2e")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "kronform-gen")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/kronform-gen")
		cmd.Dir = repoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building kronform-gen: %v", buildErr)
	}
	return binPath
}
