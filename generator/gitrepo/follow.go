package gitrepo

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// What Flux applies is a branch of the remote its GitRepository names, as pushed, not HEAD: commits that are not
// pushed yet reach Flux together with the next change. These read the remote-tracking branches (refs/remotes/...),
// that is the remote as this clone last fetched or pushed it.

// RemoteBranch is the remote-tracking reference (refs/remotes/REMOTE/BRANCH) of branch on the remote whose fetch URL
// is url, compared as the same repository (scheme, user, port and a .git suffix aside). ok is false when no remote
// has that URL or the branch was never fetched from it.
func (r *Repo) RemoteBranch(url, branch string) (ref string, ok bool, err error) {
	cfg, err := r.repo.Config()
	if err != nil {
		return "", false, fmt.Errorf("reading git config: %w", err)
	}
	want := repoURL(url)
	var names []string
	for name := range cfg.Remotes {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		rc := cfg.Remotes[name]
		if len(rc.URLs) == 0 || repoURL(rc.URLs[0]) != want {
			continue
		}
		ref := plumbing.NewRemoteReferenceName(name, branch)
		if _, err := r.repo.Reference(ref, true); err == nil {
			return ref.String(), true, nil
		} else if !errors.Is(err, plumbing.ErrReferenceNotFound) {
			return "", false, err
		}
	}
	return "", false, nil
}

// Tag is the reference of a tag as this clone holds it (refs/tags/TAG, as last fetched); ok is false when there is none.
func (r *Repo) Tag(tag string) (ref string, ok bool, err error) {
	name := plumbing.NewTagReferenceName(tag)
	if _, err := r.repo.Reference(name, true); err != nil {
		if errors.Is(err, plumbing.ErrReferenceNotFound) {
			return "", false, nil
		}
		return "", false, err
	}
	return name.String(), true, nil
}

// Upstream is the remote-tracking reference of the current branch's upstream (branch.NAME.remote and .merge; a
// local upstream, remote ".", is that branch). ok is false when HEAD is detached, the branch has no upstream, or the
// upstream was never fetched.
func (r *Repo) Upstream() (ref string, ok bool, err error) {
	head, err := r.repo.Reference(plumbing.HEAD, false)
	if err != nil {
		if errors.Is(err, plumbing.ErrReferenceNotFound) {
			return "", false, nil
		}
		return "", false, err
	}
	if head.Type() != plumbing.SymbolicReference || !head.Target().IsBranch() {
		return "", false, nil
	}
	cfg, err := r.repo.Config()
	if err != nil {
		return "", false, fmt.Errorf("reading git config: %w", err)
	}
	b, found := cfg.Branches[head.Target().Short()]
	if !found || b.Remote == "" || !b.Merge.IsBranch() {
		return "", false, nil
	}
	up := plumbing.NewRemoteReferenceName(b.Remote, b.Merge.Short())
	if b.Remote == "." {
		up = b.Merge
	}
	if _, err := r.repo.Reference(up, true); err != nil {
		if errors.Is(err, plumbing.ErrReferenceNotFound) {
			return "", false, nil
		}
		return "", false, err
	}
	return up.String(), true, nil
}

// Unpushed counts the commits of HEAD that the commit ref (a full reference name) does not hold and that change the
// output folder: what reaches Flux only with the next push. The walk from HEAD stops at the merge bases of the two.
func (r *Repo) Unpushed(ref string) (int, error) {
	head, err := r.repo.Head()
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading HEAD: %w", err)
	}
	bc, err := r.refCommit(ref)
	if err != nil {
		return 0, err
	}
	if head.Hash() == bc.Hash {
		return 0, nil
	}
	hc, err := r.repo.CommitObject(head.Hash())
	if err != nil {
		return 0, err
	}
	bases, err := hc.MergeBase(bc)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		// A shallow clone lacks the history below its boundary, which the merge base search walks: the commit of ref
		// itself bounds the walk from HEAD, when HEAD descends from it (a walk that passes the boundary fails below).
		bases, err = []*object.Commit{bc}, nil
	}
	if err != nil {
		return 0, err
	}
	stop := map[plumbing.Hash]bool{}
	for _, c := range bases {
		stop[c.Hash] = true
	}
	n := 0
	seen := map[plumbing.Hash]bool{}
	queue := []*object.Commit{hc}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if seen[c.Hash] || stop[c.Hash] {
			continue
		}
		seen[c.Hash] = true
		changes, err := r.changesOutput(c)
		if err != nil {
			return 0, err
		}
		if changes {
			n++
		}
		err = c.Parents().ForEach(func(p *object.Commit) error {
			queue = append(queue, p)
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	return n, nil
}

// refCommit is the commit a full reference name points to, through an annotated tag.
func (r *Repo) refCommit(ref string) (*object.Commit, error) {
	base, err := r.repo.Reference(plumbing.ReferenceName(ref), true)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ref, err)
	}
	h := base.Hash()
	if tag, err := r.repo.TagObject(h); err == nil {
		c, err := tag.Commit()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
		return c, nil
	}
	c, err := r.repo.CommitObject(h)
	if err != nil {
		return nil, fmt.Errorf("%s is not a commit: %w", ref, err)
	}
	return c, nil
}

// changesOutput says whether a commit's output folder differs from its first parent's (a root commit's from none).
func (r *Repo) changesOutput(c *object.Commit) (bool, error) {
	t, err := r.outputTree(c)
	if err != nil {
		return false, err
	}
	if c.NumParents() == 0 {
		return t != nil && len(t.Entries) > 0, nil
	}
	p, err := c.Parent(0)
	if err != nil {
		return false, err
	}
	pt, err := r.outputTree(p)
	if err != nil {
		return false, err
	}
	switch {
	case t == nil || pt == nil:
		return (t == nil) != (pt == nil), nil
	default:
		return t.Hash != pt.Hash, nil
	}
}

// repoURL is a git URL reduced to host and path, so that the forms of one repository compare equal:
// ssh://git@github.com/o/r, git@github.com:o/r.git and https://github.com/o/r all give github.com/o/r.
func repoURL(u string) string {
	s := strings.TrimSpace(u)
	scheme := ""
	if i := strings.Index(s, "://"); i >= 0 {
		scheme, s = strings.ToLower(s[:i]), s[i+3:]
	}
	if scheme == "file" || (scheme == "" && (strings.HasPrefix(s, "/") || strings.HasPrefix(s, "."))) {
		return strings.TrimSuffix(strings.TrimSuffix(s, "/"), ".git")
	}
	host, rest, _ := strings.Cut(s, "/")
	if scheme == "" {
		// scp-like: [user@]host:path
		if h, p, ok := strings.Cut(s, ":"); ok && !strings.Contains(h, "/") {
			host, rest = h, p
		}
	}
	if i := strings.LastIndex(host, "@"); i >= 0 {
		host = host[i+1:]
	}
	if h, _, ok := strings.Cut(host, ":"); ok && scheme != "" {
		host = h // a port
	}
	rest = strings.TrimSuffix(strings.TrimSuffix(strings.Trim(rest, "/"), ".git"), "/")
	return strings.ToLower(host) + "/" + rest
}
