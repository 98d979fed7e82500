package cli

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/kronform/kronform-gen/generator/gitrepo"
	"github.com/kronform/kronform-gen/generator/tree"
)

// defaultCommitMessage is used by generate --commit without -m.
const defaultCommitMessage = "kronform-gen: regenerate from %s"

// pendingCommit is a commit of the owned paths, checked before anything is written.
type pendingCommit struct {
	repo              *gitrepo.Repo
	paths             []string
	author, committer *object.Signature
	msg               string
}

// prepareCommit refuses, before generate writes anything, when the commit could not be made as asked: no
// repository, an operation git has not finished, no author, staged changes the commit would sweep in, or a commit
// that should be signed.
func (a *app) prepareCommit(t *tree.Tree, msg string) (*pendingCommit, error) {
	repo, err := gitrepo.Open(a.outDir)
	if err != nil {
		return nil, fail(ExitUsage, "--commit: %v", err)
	}
	if err := repo.Unfinished(); err != nil {
		return nil, fail(ExitUsage, "--commit: refusing to commit: %v. Nothing was written.", err)
	}
	old, err := tree.ReadOwned(a.outDir)
	if err != nil {
		return nil, fail(ExitUsage, "--commit: %v", err)
	}
	// The owned paths: what was generated before (so removals are committed) and what is generated now.
	owned := map[string]bool{tree.OwnedFile: true, tree.StateDir + "/.gitignore": true}
	for p := range old.Files {
		owned[p] = true
	}
	for _, p := range t.Paths() {
		owned[p] = true
	}
	paths := slices.Sorted(maps.Keys(owned))
	staged, err := repo.StagedOutside(paths)
	if err != nil {
		return nil, fail(ExitUsage, "--commit: %v", err)
	}
	if len(staged) > 0 {
		return nil, fail(ExitUsage, "--commit: refusing to commit: other changes are staged (%s); commit or unstage them "+
			"(git restore --staged PATH) first. Nothing was written.", strings.Join(staged, ", "))
	}
	author, committer, err := repo.Identity()
	if err != nil {
		return nil, fail(ExitUsage, "--commit: %v. Nothing was written.", err)
	}
	// Committing unsigned where the user asked for signed commits would slip past the policy they set.
	if signs, err := repo.SignsCommits(); err != nil {
		return nil, fail(ExitUsage, "--commit: %v. Nothing was written.", err)
	} else if signs {
		return nil, fail(ExitUsage, "--commit: refusing to commit: commit.gpgsign is set and kronform-gen cannot sign "+
			"commits; run generate without --commit and commit the owned files with git (git add %s; git commit). "+
			"Nothing was written.", a.outDir)
	}
	if msg == "" {
		// Named as in the repository: an absolute path would put this machine's folders into the history.
		name, ok := repo.RelPath(a.specPath)
		if !ok {
			name = filepath.Base(a.specPath)
		}
		msg = fmt.Sprintf(defaultCommitMessage, name)
	}
	return &pendingCommit{repo: repo, paths: paths, author: author, committer: committer, msg: msg}, nil
}

// commit stages exactly the owned paths and commits them, but for those git add would refuse as ignored and
// untracked: git would not commit them either. The ignore rules are read after the write, which may change them.
func (a *app) commit(p *pendingCommit) error {
	skip, err := p.repo.IgnoredUntracked(p.paths)
	if err != nil {
		return fail(ExitFailure, "--commit: the tree was written but not committed: %v", err)
	}
	paths := p.paths
	if len(skip) > 0 {
		paths = slices.DeleteFunc(slices.Clone(paths), func(s string) bool { return slices.Contains(skip, s) })
		fmt.Fprintf(a.stderr, "not committed, ignored by git and untracked (git add -f would take them): %s\n", strings.Join(skip, ", "))
	}
	h, err := p.repo.CommitPaths(paths, p.msg, p.author, p.committer)
	if err != nil {
		return fail(ExitFailure, "--commit: the tree was written but not committed: %v", err)
	}
	if h.IsZero() {
		fmt.Fprintln(a.stderr, "nothing to commit: the owned files are as committed")
		return nil
	}
	fmt.Fprintf(a.stderr, "committed %s %q\n", h.String()[:12], firstLine(p.msg))
	// Only the owned paths are committed; a spec left out makes the commit fail its own drift check in CI.
	if differs, err := p.repo.DiffersFromHead(a.specPath); err == nil && differs {
		fmt.Fprintf(a.stderr, "note: %s differs from the commit; commit it too, or kronform-gen check fails on this commit\n", a.specPath)
	}
	return nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
