package cli_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestScripts runs testdata/script/*.txtar against the real binary: each script is a small session at a terminal,
// with the files it needs inline. UPDATE_SCRIPTS=1 rewrites the expected output in place.
func TestScripts(t *testing.T) {
	example, err := os.ReadFile(filepath.Join(repoRoot(t), "cluster-spec.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: os.Getenv("UPDATE_SCRIPTS") == "1",
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", binDir+string(os.PathListSeparator)+env.Getenv("PATH"))
			// Scripts that want the bundled example copy it from here rather than keeping a second copy; its demo
			// secret sources and PUBLIC demo key come along under examples/, where the spec names them.
			if err := os.CopyFS(filepath.Join(env.WorkDir, "examples"), os.DirFS(filepath.Join(repoRoot(t), "examples"))); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(env.WorkDir, "example-spec.yaml"), example, 0o644)
		},
	})
}
