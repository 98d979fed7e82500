package gittest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Isolate keeps the machine's git config out of a test and gives git one known identity, for the git CLI the test
// runs and the one the code under test runs alike. It returns the test's home folder.
func Isolate(t *testing.T) (home string) {
	t.Helper()
	home = t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("GIT_CONFIG_GLOBAL", filepath.Join(home, ".gitconfig"))
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	for _, v := range []string{"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL",
		"GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	Run(t, home, "config", "--global", "user.name", "Gen Erator")
	Run(t, home, "config", "--global", "user.email", "gen@example.com")
	return home
}

// Run runs the git CLI in dir and returns its output, failing the test when git fails.
func Run(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := Try(dir, args...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// Try runs the git CLI in dir and returns its output and error. git gets the local transport (a path or file://
// remote, a submodule from a folder) whatever the process's environment says: the first build in a test process takes
// every transport away from the whole process (preview's goOffline, meant for the CLI), and a test's own git push after
// it failed or passed by the order the tests ran in.
func Try(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_ALLOW_PROTOCOL=file")
	out, err := cmd.CombinedOutput()
	return string(out), err
}
