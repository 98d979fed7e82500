package gitrepo

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/kronform/kronform-gen/internal/gittest"
)

// commitOf names the commit `git rev-parse --verify REV^{commit}` names, or refuses the revision where git finds none:
// on a history with a merge whose side branch holds the youngest match of a message search, a branch named like a
// hash prefix of another commit, and a short hash two commits share.
func TestCommitOfAgreesWithGit(t *testing.T) {
	gittest.Isolate(t)
	dir := t.TempDir()
	commit := func(date, msg string) {
		t.Helper()
		t.Setenv("GIT_COMMITTER_DATE", date)
		t.Setenv("GIT_AUTHOR_DATE", date)
		gittest.Run(t, dir, "commit", "-q", "--allow-empty", "-m", msg)
	}
	gittest.Run(t, dir, "init", "-q", "-b", "main")
	if err := os.MkdirAll(filepath.Join(dir, "output"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "output", "a.yaml"), []byte("a: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gittest.Run(t, dir, "add", ".")
	commit("2020-01-01T00:00:00Z", "fix: old on main")
	gittest.Run(t, dir, "tag", "-a", "v1.0", "-m", "v1.0")
	gittest.Run(t, dir, "tag", "light")
	gittest.Run(t, dir, "checkout", "-q", "-b", "side")
	commit("2020-01-03T00:00:00Z", "fix: new on side")
	side := strings.TrimSpace(gittest.Run(t, dir, "rev-parse", "HEAD"))
	gittest.Run(t, dir, "checkout", "-q", "main")
	commit("2020-01-02T00:00:00Z", "main two")
	t.Setenv("GIT_COMMITTER_DATE", "2020-01-04T00:00:00Z")
	gittest.Run(t, dir, "merge", "-q", "--no-ff", "side", "-m", "merge side")
	// A branch spelled as the side commit's short hash: git takes the branch.
	gittest.Run(t, dir, "branch", side[:6], "main")
	// Commits no ref holds, until two share a short hash.
	tree := strings.TrimSpace(gittest.Run(t, dir, "rev-parse", "HEAD^{tree}"))
	var hashes []string
	for i := 0; i < 1000; i++ {
		t.Setenv("GIT_COMMITTER_DATE", "2020-02-01T00:00:00Z")
		out, err := gittest.Try(dir, "commit-tree", tree, "-m", "dangling "+strings.Repeat("x", i))
		if err != nil {
			t.Fatal(err, out)
		}
		hashes = append(hashes, strings.TrimSpace(out))
	}
	sort.Strings(hashes)
	ambiguous := ""
	for i := 1; i < len(hashes) && ambiguous == ""; i++ {
		if hashes[i][:4] == hashes[i-1][:4] {
			ambiguous = hashes[i][:4]
		}
	}
	if ambiguous == "" {
		t.Fatal("no two dangling commits share a short hash of 4 digits")
	}

	r, err := Open(filepath.Join(dir, "output"))
	if err != nil {
		t.Fatal(err)
	}
	for _, rev := range []string{
		"HEAD", "@", "main", "refs/heads/side", "heads/side", "side~0", "HEAD^", "HEAD^1", "HEAD^2", "HEAD~",
		"HEAD~2", "HEAD^^", "HEAD^0", "HEAD^{}", "HEAD^{commit}", "HEAD^{object}", "HEAD~1^{commit}~1",
		"v1.0", "v1.0^{}", "v1.0^{commit}", "v1.0^{tag}", "v1.0~0", "light", "light^{tag}", "HEAD^{tag}",
		"HEAD^^2", "HEAD~1^2", "HEAD^3", "HEAD~9", "HEAD^2^", "HEAD^{tree}", "HEAD^{blob}",
		"main^{/fix}", "main^{/^main}", "main^{/!-fix}", "main^{/nomatch}", "main^{/fix: new}", "side^{/fix}",
		side[:6], side[:7], side[:3], side, ambiguous, hashes[0][:12], "nope", "nope~1",
		"HEAD~1..HEAD", "HEAD..side", "HEAD...side", "main^!", "main^-", "main^-1", "main^@", "HEAD~1x", "HEAD^{/fix}~1", "HEAD^{/fix}^0", "HEAD^{/^fix: (old|new)}",
	} {
		want, gitErr := gittest.Try(dir, "rev-parse", "--verify", "-q", rev+"^{commit}")
		want = strings.TrimSpace(want)
		c, err := r.commitOf(rev)
		switch {
		case gitErr != nil && err == nil:
			t.Errorf("%s: commitOf gives %s, git names no commit", rev, c.Hash)
		case gitErr == nil && err != nil:
			t.Errorf("%s: commitOf: %v, git names %s", rev, err, want)
		case gitErr == nil && c.Hash.String() != want:
			t.Errorf("%s: commitOf gives %s, git names %s", rev, c.Hash, want)
		}
	}
}
