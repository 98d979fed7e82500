// Package gitrepo reads the output tree from a commit of the git repository that holds it, commits the files
// kronform-gen owns, and says where a path stands against its work tree, through go-git (no git binary, no
// checkout).
package gitrepo
