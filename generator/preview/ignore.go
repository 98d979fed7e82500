package preview

import (
	"bytes"
	"path"
	"slices"
	"strings"

	"github.com/fluxcd/pkg/sourceignore"
	"github.com/fluxcd/pkg/sourceignore/gitignore"
)

// withoutIgnored drops from a tree the files that source-controller leaves out of a GitRepository's artifact, so that
// kustomize-controller never sees them (a Kustomization with path ./ would otherwise build the .sops.yaml that
// generate writes at the root). It does what source-controller v1.9.6 does: sourceignore.LoadIgnorePatterns over
// the checkout, every .sourceignore scoped to its own folder, parents before children and folders in name order;
// then fluxcd/pkg/artifact's storage.SourceIgnoreFilter, which matches each file against the VCS patterns and
// either those .sourceignore patterns or, when there are none, Flux's default exclusions (images, archives, CI
// files, **/.sops.yaml...). The tree's root is the repository's. spec.ignore of the GitRepository is not applied.
func withoutIgnored(files map[string][]byte) map[string][]byte {
	var ignoreFiles []string
	for p := range files {
		if path.Base(p) == sourceignore.IgnoreFile {
			ignoreFiles = append(ignoreFiles, p)
		}
	}
	slices.SortFunc(ignoreFiles, func(a, b string) int { return slices.Compare(folders(a), folders(b)) })
	var ps []gitignore.Pattern
	for _, p := range ignoreFiles {
		ps = append(ps, sourceignore.ReadPatterns(bytes.NewReader(files[p]), folders(p))...)
	}
	matcher := sourceignore.NewDefaultMatcher(ps, nil)
	if len(ps) > 0 {
		matcher = sourceignore.NewMatcher(append(sourceignore.VCSPatterns(nil), ps...))
	}
	out := make(map[string][]byte, len(files))
	for p, b := range files {
		if !matcher.Match(strings.Split(p, "/"), false) {
			out[p] = b
		}
	}
	return out
}

// folders are the folders a slash-separated file path lies in, outermost first.
func folders(p string) []string {
	dir := path.Dir(p)
	if dir == "." {
		return nil
	}
	return strings.Split(dir, "/")
}
