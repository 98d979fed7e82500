package cli

import (
	"fmt"

	"github.com/kronform/kronform-gen/generator/tree"
)

// openTree locks the output tree for generate and completes or undoes the write a killed run left there, saying
// which, before anything reads the tree: the render keeps secret files from it, and the transition check and the
// bootstrap and prune guards read it too, which on half a tree would judge a mix of two. The lock is held until the
// Writer is closed, so that no other kronform-gen writes the tree between those reads and the write.
func (a *app) openTree() (*tree.Writer, error) {
	// Bad input, as the readers judge it (exit 2): a staging folder that is a link or a file.
	if err := tree.Staging(a.outDir); err != nil {
		return nil, fail(ExitUsage, "%s: %v", a.outDir, err)
	}
	w, err := tree.Open(a.outDir)
	if err != nil {
		return nil, fail(ExitFailure, "%s: %v", a.outDir, err)
	}
	if note := w.Recovered.String(); note != "" {
		fmt.Fprintf(a.stderr, "note: %s: %s\n", a.outDir, note)
	}
	return w, nil
}

// refusePending refuses to judge or build a tree holding an unfinished write (a committed journal): the commands that
// only read the tree never finish one (generate does, first). In CI the staging folder can only have come from git,
// and applying it would let a pull request rewrite the tree it is judged on (or write outside it).
func (a *app) refusePending(command string) error {
	if err := tree.Staging(a.outDir); err != nil {
		return fail(ExitUsage, "%s: %v", a.outDir, err)
	}
	if !tree.Pending(a.outDir) {
		return nil
	}
	// A generate running now holds the lock: its write is in progress, and what it keeps in the staging folder is
	// what completes or undoes it, not something to remove.
	if tree.Writing(a.outDir) {
		return fail(ExitUsage, "another kronform-gen is writing %s; %s reads only whole trees: try again when it is done",
			a.outDir, command)
	}
	return fail(ExitUsage, "%s holds an unfinished write (%s/%s): run kronform-gen generate to finish (or undo) it; %s "+
		"reads only whole trees and writes nothing. In a fresh clone it was committed by mistake: remove it from git",
		a.outDir, a.outDir, tree.TxnDir, command)
}
