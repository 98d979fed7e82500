// Package gitrepo reads the output tree from a commit of the git repository that holds it, and commits the files
// kronform-gen owns, through go-git (no git binary, no checkout).
package gitrepo
