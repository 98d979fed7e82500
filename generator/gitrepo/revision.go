package gitrepo

import (
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// commitOf is the commit a revision names, as `git rev-parse REV^{commit}` reads it, or an error saying why there is
// none. go-git's own resolver misreads some of what git reads: it takes a hash prefix before a ref of the same name
// (a branch named 8408 when a commit starts with 8408), picks one commit of an ambiguous prefix, searches REV^{/TEXT}
// depth-first along first parents (git takes the youngest match), and passes over ^{tag} of what is no tag. So only
// the name is given to go-git; the suffixes (~N, ^N, ^{}, ^{commit}, ^{object}, ^{tag}, ^{/TEXT}) are walked here, and
// anything else is refused. REV:PATH, :/TEXT and @{...} never get here (the command refuses them).
func (r *Repo) commitOf(rev string) (*object.Commit, error) {
	name, rest := rev, ""
	if i := strings.IndexAny(rev, "~^"); i >= 0 {
		name, rest = rev[:i], rev[i:]
	}
	c, tag, err := r.named(rev, name)
	if err != nil {
		return nil, err
	}
	done := name
	for rest != "" {
		var step string
		switch {
		case strings.HasPrefix(rest, "^{/"):
			// The search runs to its last "}" (its text may hold one); only ~N and ^N may follow, as in git.
			end := strings.LastIndexByte(rest, '}')
			if end < 0 || strings.Trim(rest[end+1:], "~^0123456789") != "" {
				return nil, fmt.Errorf("%s: after a search of commit messages (^{/TEXT}) only ~N and ^N are read", rev)
			}
			step, rest = rest[:end+1], rest[end+1:]
			if c, err = search(c, step[3:len(step)-1]); err != nil {
				return nil, fmt.Errorf("%s: %w", rev, err)
			}
		case strings.HasPrefix(rest, "^{"):
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				return nil, fmt.Errorf("%s: missing \"}\"", rev)
			}
			step, rest = rest[:end+1], rest[end+1:]
			switch step {
			case "^{}", "^{commit}", "^{object}":
			case "^{tag}":
				if !tag || done != name {
					return nil, fmt.Errorf("%s: %s names no annotated tag; leave ^{tag} out", rev, done)
				}
			default:
				return nil, fmt.Errorf("%s: %s does not name a commit; pass a commit, a branch or a tag", rev, step)
			}
		case rest[0] == '~' || rest[0] == '^':
			op := rest[0]
			digits := len(rest[1:]) - len(strings.TrimLeft(rest[1:], "0123456789"))
			step, rest = rest[:1+digits], rest[1+digits:]
			n := 1
			if digits > 0 {
				if n, err = strconv.Atoi(step[1:]); err != nil {
					return nil, fmt.Errorf("%s: %q is no number", rev, step[1:])
				}
			}
			if c, err = walk(c, op, n, done); err != nil {
				return nil, fmt.Errorf("%s: no such commit: %w", rev, err)
			}
		default: // A..B, A...B, A^!, A^-, A^@: ranges, not one commit
			return nil, fmt.Errorf("%s: names no one commit (%q after %s); pass a commit", rev, rest, done)
		}
		done += step
	}
	return c, nil
}

// named is the commit a revision's name part names, and whether the name is an annotated tag. A ref comes before a
// hash prefix of the same spelling, as in git; a hash prefix has 4 digits or more and names one commit.
func (r *Repo) named(rev, name string) (*object.Commit, bool, error) {
	if name == "" || name == "@" {
		name = "HEAD"
	}
	for _, rule := range plumbing.RefRevParseRules {
		ref, err := r.repo.Reference(plumbing.ReferenceName(fmt.Sprintf(rule, name)), true)
		if err != nil {
			continue
		}
		if c, err := r.repo.CommitObject(ref.Hash()); err == nil {
			return c, false, nil
		}
		t, err := r.repo.TagObject(ref.Hash())
		if err != nil {
			return nil, false, fmt.Errorf("%s: %s points to no commit", rev, ref.Name())
		}
		c, err := t.Commit()
		if err != nil {
			return nil, false, fmt.Errorf("%s: the tag %s points to no commit", rev, ref.Name())
		}
		return c, true, nil
	}
	if len(name) < 4 || len(name) > len(plumbing.ZeroHash)*2 || strings.Trim(name, "0123456789abcdef") != "" {
		return nil, false, fmt.Errorf("resolving %q: %w", rev, plumbing.ErrReferenceNotFound)
	}
	var found []*object.Commit
	for _, h := range r.hashesWithPrefix(name) {
		c, err := r.repo.CommitObject(h)
		if err != nil {
			continue
		}
		found = append(found, c)
	}
	switch len(found) {
	case 0:
		return nil, false, fmt.Errorf("resolving %q: %w", rev, plumbing.ErrReferenceNotFound)
	case 1:
		return found[0], false, nil
	}
	return nil, false, fmt.Errorf("%s: the short hash %s is ambiguous: %d commits start with it; give more digits",
		rev, name, len(found))
}

// hashesWithPrefix lists the objects whose hash starts with the hex digits p.
func (r *Repo) hashesWithPrefix(p string) []plumbing.Hash {
	even, err := hex.DecodeString(p[:len(p)&^1])
	if err != nil {
		return nil
	}
	var hashes []plumbing.Hash
	keep := func(h plumbing.Hash) {
		if strings.HasPrefix(h.String(), p) {
			hashes = append(hashes, h)
		}
	}
	// The fast way is the filesystem storage's, which reads the pack indexes.
	if fi, ok := r.repo.Storer.(interface {
		HashesWithPrefix(prefix []byte) ([]plumbing.Hash, error)
	}); ok {
		hs, err := fi.HashesWithPrefix(even)
		if err != nil {
			return nil
		}
		for _, h := range hs {
			keep(h)
		}
		return hashes
	}
	iter, err := r.repo.Storer.IterEncodedObjects(plumbing.AnyObject)
	if err != nil {
		return nil
	}
	_ = iter.ForEach(func(o plumbing.EncodedObject) error {
		keep(o.Hash())
		return nil
	})
	return hashes
}

// walk follows n first parents (op '~') or takes the n-th parent (op '^', ^0 the commit itself) of c, which the
// revision done names; the error says why there is no such commit.
func walk(c *object.Commit, op byte, n int, done string) (*object.Commit, error) {
	if op == '^' {
		if n == 0 {
			return c, nil
		}
		if n > c.NumParents() {
			return nil, fmt.Errorf("%s has %d parent(s), not %d", done, c.NumParents(), n)
		}
		return c.Parent(n - 1)
	}
	for i := 0; i < n; i++ {
		if c.NumParents() == 0 {
			return nil, fmt.Errorf("the history of %s has only %d commit(s) along first parents (%s~%d is the oldest)",
				done, i+1, done, i)
		}
		p, err := c.Parent(0)
		if err != nil {
			return nil, err
		}
		c = p
	}
	return c, nil
}

// search is the youngest commit (by commit date, as git orders it) reachable from c whose message matches the
// regular expression; "!-" before it takes those that do not match, "!!" stands for a literal "!".
func search(c *object.Commit, text string) (*object.Commit, error) {
	negate := false
	switch {
	case strings.HasPrefix(text, "!-"):
		negate, text = true, text[2:]
	case strings.HasPrefix(text, "!!"):
		text = text[1:]
	case strings.HasPrefix(text, "!"):
		return nil, fmt.Errorf("^{/!...}: after \"!\" only \"-\" or \"!\" is defined")
	}
	re, err := regexp.Compile(text)
	if err != nil {
		return nil, fmt.Errorf("^{/%s}: %w", text, err)
	}
	var found *object.Commit
	err = object.NewCommitIterCTime(c, nil, nil).ForEach(func(x *object.Commit) error {
		if re.MatchString(x.Message) != negate {
			found = x
			return storer.ErrStop
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, errors.New("no commit message reachable matches " + strconv.Quote(text))
	}
	return found, nil
}
