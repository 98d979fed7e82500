// Package tree holds the output as an in-memory map of path to bytes and moves it to disk: it records which files it
// owns, writes them in one journaled transaction (old tree or new, never a mix, after a failure or a kill: every step
// after the commit is tried before it, and a write that still cannot be completed is undone), prunes only stale files
// it owns, and compares the tree with what is on disk. Open locks a tree for the whole of a writing run and deals with
// a killed write (completed where the tree is as it left it, undone where not) before the run reads the tree.
package tree
