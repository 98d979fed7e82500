package testenv

import (
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// gitHTTPBackend is Git's own smart-HTTP server, run as a CGI program.
const gitHTTPBackend = "/usr/lib/git-core/git-http-backend"

// StartGitServer serves the Git repository at repoDir (a working tree or a
// bare repository) read-only over smart HTTP on 127.0.0.1 until the test
// ends, and returns its clone URL, http://127.0.0.1:PORT/NAME where NAME is
// the folder's name.
func StartGitServer(t testing.TB, repoDir string) string {
	t.Helper()
	if _, err := os.Stat(gitHTTPBackend); err != nil {
		t.Fatalf("git server: %v (install Debian's git package)", err)
	}
	abs, err := filepath.Abs(repoDir)
	if err != nil {
		t.Fatal(err)
	}
	handler := &cgi.Handler{
		Path: gitHTTPBackend,
		Env: []string{
			"GIT_PROJECT_ROOT=" + filepath.Dir(abs),
			// Serve without a git-daemon-export-ok file in the repository.
			"GIT_HTTP_EXPORT_ALL=1",
		},
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return srv.URL + "/" + filepath.Base(abs)
}

