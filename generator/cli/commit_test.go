package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kronform/kronform-gen/internal/gittest"
)

// setCilium writes the spec with the example's cilium chart version replaced.
func (p *project) setCilium(version string) {
	p.t.Helper()
	spec, err := os.ReadFile(filepath.Join(repoRoot(p.t), "cluster-spec.yaml"))
	if err != nil {
		p.t.Fatal(err)
	}
	spec = bytes.Replace(spec, []byte("version: 1.13.4"), []byte("version: "+version), 1)
	if err := os.WriteFile(p.spec, spec, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// The tester's repro: both sides of a merge regenerated, the merge conflicts, the user takes their side of the spec
// and of owned.json but leaves owned.json unmerged in the index. A commit now would drop the merged branch as a
// parent and write owned.json three times into the tree, so generate --commit refuses before writing anything; in a
// linked work tree the cherry-pick in progress is found through its .git file.
func TestCommitRefusedWhileGitIsMidOperation(t *testing.T) {
	p := newProject(t)
	gittest.Isolate(t)
	gitRepo(t, p.dir)
	regenerate := func(version string) {
		t.Helper()
		p.setCilium(version)
		gittest.Run(t, p.dir, "commit", "-q", "-m", "spec "+version, "cluster-spec.yaml")
		if code, _, stderr := p.run("generate", "--commit", "-m", "cilium "+version); code != 0 {
			t.Fatalf("generate --commit: exit %d\n%s", code, stderr)
		}
	}
	gittest.Run(t, p.dir, "checkout", "-q", "-b", "a")
	regenerate("1.13.5")
	gittest.Run(t, p.dir, "checkout", "-q", "-")
	regenerate("1.13.6")
	if out, err := gittest.Try(p.dir, "merge", "a"); err == nil {
		t.Fatalf("the merge did not conflict:\n%s", out)
	}
	gittest.Run(t, p.dir, "checkout", "--ours", "cluster-spec.yaml")
	gittest.Run(t, p.dir, "add", "cluster-spec.yaml")
	gittest.Run(t, p.dir, "checkout", "--ours", "--", "output/.kronform-gen/owned.json")

	head := gittest.Run(t, p.dir, "rev-parse", "HEAD")
	before := p.read(release)
	code, _, stderr := p.run("generate", "--commit", "-m", "merged")
	if code != 2 || !strings.Contains(stderr, "a merge is in progress with unmerged paths (output/.kronform-gen/owned.json, output/"+
		release+")") || !strings.Contains(stderr, "git merge --abort") {
		t.Fatalf("generate --commit during a merge: exit %d, want 2 and what is in progress\n%s", code, stderr)
	}
	if p.read(release) != before || gittest.Run(t, p.dir, "rev-parse", "HEAD") != head {
		t.Error("a refused generate --commit wrote the tree or committed")
	}

	// Resolved in the index, the merge is still git's to finish: its commit needs MERGE_HEAD as second parent.
	gittest.Run(t, p.dir, "add", "output")
	if code, _, stderr := p.run("generate", "--commit", "-m", "merged"); code != 2 || !strings.Contains(stderr, "a merge is in progress: ") {
		t.Fatalf("generate --commit during a merge without conflicts: exit %d\n%s", code, stderr)
	}
	gittest.Run(t, p.dir, "merge", "--abort")

	linked := filepath.Join(t.TempDir(), "linked")
	gittest.Run(t, p.dir, "worktree", "add", "-q", "-b", "c", linked)
	if out, err := gittest.Try(linked, "cherry-pick", "a"); err == nil {
		t.Fatalf("the cherry-pick did not conflict:\n%s", out)
	}
	code, _, stderr = run(t, "generate", "--commit", "--spec", filepath.Join(linked, "cluster-spec.yaml"), "--out", filepath.Join(linked, "output"))
	if code != 2 || !strings.Contains(stderr, "a cherry-pick is in progress with unmerged paths") ||
		!strings.Contains(stderr, "git cherry-pick --abort") {
		t.Fatalf("generate --commit during a cherry-pick in a linked work tree: exit %d\n%s", code, stderr)
	}
}

// The author is whom git would name: here an identity set for the project's folder through includeIf, which go-git's
// config reading does not follow; the committer is set apart, from the environment.
func TestCommitAuthorFollowsIncludeIf(t *testing.T) {
	p := newProject(t)
	home := gittest.Isolate(t)
	r := gitRepo(t, p.dir)
	dir, err := filepath.EvalSymlinks(p.dir)
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(home, "work.gitconfig")
	gittest.Run(t, home, "config", "--file", work, "user.name", "Work Person")
	gittest.Run(t, home, "config", "--file", work, "user.email", "work@example.com")
	gittest.Run(t, home, "config", "--global", "includeIf.gitdir:"+dir+"/.path", work)
	t.Setenv("GIT_COMMITTER_NAME", "Commit Ter")
	t.Setenv("GIT_COMMITTER_EMAIL", "committer@example.com")
	p.setCilium("1.13.5")
	if code, _, stderr := p.run("generate", "--commit", "-m", "cilium 1.13.5"); code != 0 {
		t.Fatalf("generate --commit: exit %d\n%s", code, stderr)
	}
	head, _ := r.Head()
	c, _ := r.CommitObject(head.Hash())
	if c.Author.Name != "Work Person" || c.Author.Email != "work@example.com" ||
		c.Committer.Name != "Commit Ter" || c.Committer.Email != "committer@example.com" {
		t.Errorf("author %s <%s>, committer %s <%s>; want Work Person <work@example.com>, Commit Ter <committer@example.com>",
			c.Author.Name, c.Author.Email, c.Committer.Name, c.Committer.Email)
	}

	// git refuses to guess (user.useConfigOnly) and kronform-gen says so before writing.
	gittest.Run(t, home, "config", "--global", "--unset", "includeIf.gitdir:"+dir+"/.path")
	gittest.Run(t, home, "config", "--global", "--unset", "user.email")
	gittest.Run(t, home, "config", "--global", "user.useConfigOnly", "true")
	p.setCilium("1.13.6")
	before := p.read(release)
	code, _, stderr := p.run("generate", "--commit")
	if code != 2 || !strings.Contains(stderr, "no git author (git var GIT_AUTHOR_IDENT: no email was given and auto-detection is disabled)") {
		t.Fatalf("without an email and with user.useConfigOnly: exit %d\n%s", code, stderr)
	}
	if p.read(release) != before {
		t.Error("a refused generate --commit wrote the tree")
	}
}

// commit.gpgsign asks for signed commits; go-git would write an unsigned one without a word, so --commit refuses.
func TestCommitRefusedWhenCommitsMustBeSigned(t *testing.T) {
	p := newProject(t)
	gittest.Isolate(t)
	gitRepo(t, p.dir)
	gittest.Run(t, p.dir, "config", "commit.gpgsign", "true")
	p.setCilium("1.13.5")
	head := gittest.Run(t, p.dir, "rev-parse", "HEAD")
	before := p.read(release)
	code, _, stderr := p.run("generate", "--commit")
	if code != 2 || !strings.Contains(stderr, "commit.gpgsign is set and kronform-gen cannot sign commits") {
		t.Fatalf("generate --commit with commit.gpgsign: exit %d\n%s", code, stderr)
	}
	if p.read(release) != before || gittest.Run(t, p.dir, "rev-parse", "HEAD") != head {
		t.Error("a refused generate --commit wrote the tree or committed")
	}
}

// Owned files that git ignores and does not track are left out, as git add would leave them; a tracked file is
// committed though a rule matches it, since ignore rules do not apply to tracked files.
func TestCommitLeavesOutIgnoredUntrackedFiles(t *testing.T) {
	p := newProject(t)
	home := gittest.Isolate(t)
	gitRepo(t, p.dir)
	excludes := filepath.Join(home, "excludes")
	if err := os.WriteFile(excludes, []byte("hetzner/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gittest.Run(t, home, "config", "--global", "core.excludesFile", excludes)
	if err := os.WriteFile(filepath.Join(p.dir, ".gitignore"), []byte("/output/"+release+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gittest.Run(t, p.dir, "rm", "-r", "-q", "--cached", "output/hetzner")
	gittest.Run(t, p.dir, "add", ".gitignore")
	gittest.Run(t, p.dir, "commit", "-q", "-m", "hetzner is not committed")
	p.setCilium("1.13.5")
	code, _, stderr := p.run("generate", "--commit", "-m", "cilium 1.13.5")
	if code != 0 {
		t.Fatalf("generate --commit: exit %d\n%s", code, stderr)
	}
	want := "not committed, ignored by git and untracked (git add -f would take them): " +
		"hetzner/kronform/firewall-template.form, hetzner/kronform/firewall-template.json\n"
	if !strings.Contains(stderr, want) {
		t.Errorf("no word of the ignored files, want %q:\n%s", want, stderr)
	}
	if files := gittest.Run(t, p.dir, "ls-tree", "-r", "--name-only", "HEAD", "output/hetzner"); files != "" {
		t.Errorf("ignored untracked files were committed:\n%s", files)
	}
	if !strings.Contains(gittest.Run(t, p.dir, "show", "HEAD:output/"+release), "version: 1.13.5") {
		t.Error("the tracked release, matched by .gitignore, was not committed")
	}
}

// A message given empty or blank is refused, as git refuses it, rather than replaced by the default or committed.
func TestCommitRefusesAnEmptyMessage(t *testing.T) {
	refusedBeforeWriting(t, "-m: the commit message is empty", []string{"--commit", "-m", "   \n\t"}, []string{"--commit", "-m", ""})
}

// -m is the message of --commit: given without it (or with --commit=false), generate wrote the tree, committed
// nothing and said nothing of the message, so a user who asked for a commit found none. It is refused, before
// anything is written.
func TestCommitMessageWithoutCommitIsRefused(t *testing.T) {
	refusedBeforeWriting(t, "-m is the commit message of --commit", []string{"-m", "cilium 1.13.5"},
		[]string{"--commit=false", "--message", "cilium 1.13.5"})
}

// refusedBeforeWriting runs generate with each list of arguments in a repository whose spec changes the Cilium release,
// and wants each refused as bad usage (exit 2, stderr holding want) with nothing written or committed.
func refusedBeforeWriting(t *testing.T, want string, runs ...[]string) {
	t.Helper()
	p := newProject(t)
	gittest.Isolate(t)
	gitRepo(t, p.dir)
	p.setCilium("1.13.5")
	head := gittest.Run(t, p.dir, "rev-parse", "HEAD")
	before := p.read(release)
	for _, args := range runs {
		code, _, stderr := p.run(append([]string{"generate"}, args...)...)
		if code != 2 || !strings.Contains(stderr, want) {
			t.Errorf("generate %q: exit %d\n%s", args, code, stderr)
		}
	}
	if p.read(release) != before || gittest.Run(t, p.dir, "rev-parse", "HEAD") != head {
		t.Error("a refused generate wrote the tree or committed")
	}
}

// The default message names the spec relative to the work tree's root however --spec named it, and by its base name
// when it lies outside the repository.
func TestDefaultCommitMessageNamesTheSpecInTheRepository(t *testing.T) {
	p := newProject(t)
	gittest.Isolate(t)
	r := gitRepo(t, p.dir)
	message := func() string {
		t.Helper()
		head, _ := r.Head()
		c, _ := r.CommitObject(head.Hash())
		return c.Message
	}
	p.setCilium("1.13.5")
	if code, _, stderr := p.run("generate", "--commit"); code != 0 {
		t.Fatalf("generate --commit: exit %d\n%s", code, stderr)
	}
	if got := message(); got != "kronform-gen: regenerate from cluster-spec.yaml" {
		t.Errorf("absolute --spec inside the repository: message %q", got)
	}

	spec, err := os.ReadFile(p.spec)
	if err != nil {
		t.Fatal(err)
	}
	spec = bytes.Replace(spec, []byte("version: 1.13.5"), []byte("version: 1.13.6"), 1)
	elsewhere := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := os.WriteFile(elsewhere, spec, 0o644); err != nil {
		t.Fatal(err)
	}
	// The spec names its secret sources relative to itself.
	if err := os.Symlink(filepath.Join(p.dir, "examples"), filepath.Join(filepath.Dir(elsewhere), "examples")); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := run(t, "generate", "--commit", "--spec", elsewhere, "--out", p.out); code != 0 {
		t.Fatalf("generate --commit with a spec outside the repository: exit %d\n%s", code, stderr)
	}
	if got := message(); got != "kronform-gen: regenerate from fleet.yaml" {
		t.Errorf("--spec outside the repository: message %q", got)
	}
}

// go-git cannot read a split index; the refusal says so and how to get an index it reads.
func TestCommitWithASplitIndex(t *testing.T) {
	p := newProject(t)
	gittest.Isolate(t)
	gitRepo(t, p.dir)
	gittest.Run(t, p.dir, "update-index", "--split-index")
	p.setCilium("1.13.5")
	before := p.read(release)
	code, _, stderr := p.run("generate", "--commit")
	if code != 2 || !strings.Contains(stderr, "go-git cannot read the git index (unknown extension), as when it is split: "+
		"run git update-index --no-split-index") {
		t.Fatalf("generate --commit with a split index: exit %d\n%s", code, stderr)
	}
	if p.read(release) != before {
		t.Error("a refused generate --commit wrote the tree")
	}
	gittest.Run(t, p.dir, "update-index", "--no-split-index")
	if code, _, stderr := p.run("generate", "--commit"); code != 0 {
		t.Fatalf("generate --commit after git update-index --no-split-index: exit %d\n%s", code, stderr)
	}
}
