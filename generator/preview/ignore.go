package preview

import (
	"bytes"
	"path"
	"slices"
	"strings"

	"github.com/fluxcd/pkg/sourceignore"
	"github.com/fluxcd/pkg/sourceignore/gitignore"

	"github.com/kronform/kronform-gen/internal/parallel"
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
	mayMatch := func(p string) bool {
		return slices.ContainsFunc(defaultLiterals, func(l string) bool { return strings.Contains(p, l) })
	}
	if len(ps) > 0 {
		matcher = sourceignore.NewMatcher(append(sourceignore.VCSPatterns(nil), ps...))
		mayMatch = func(string) bool { return true }
	}
	// Every file is matched against every pattern: on every core, as the files of a fleet are many, and only those
	// that may match at all.
	paths := make([]string, 0, len(files))
	for p := range files {
		if mayMatch(p) {
			paths = append(paths, p)
		}
	}
	ignored := make([]bool, len(paths))
	parallel.For(len(paths), 0, func(i int) { ignored[i] = matcher.Match(strings.Split(paths[i], "/"), false) })
	if !slices.Contains(ignored, true) {
		return files
	}
	out := make(map[string][]byte, len(files))
	for p, b := range files {
		out[p] = b
	}
	for i, p := range paths {
		if ignored[i] {
			delete(out, p)
		}
	}
	return out
}

// defaultLiterals are the literal parts of source-controller's default patterns (which negate nothing): a path one of
// them matches holds that pattern's longest literal part, so a path holding none of them is kept unmatched.
var defaultLiterals = func() []string {
	var out []string
	for _, list := range []string{sourceignore.ExcludeVCS, sourceignore.ExcludeExt, sourceignore.ExcludeCI, sourceignore.ExcludeExtra} {
		for _, p := range strings.Split(list, ",") {
			if strings.ContainsAny(p, "[!\\") {
				return []string{""} // a class, a negation or an escape: no literal to rely on, every path may match
			}
			longest := ""
			for _, piece := range strings.FieldsFunc(p, func(r rune) bool { return r == '*' || r == '?' || r == '/' }) {
				if len(piece) > len(longest) {
					longest = piece
				}
			}
			if longest == "" {
				return []string{""} // a pattern with no literal part: every path may match
			}
			out = append(out, longest)
		}
	}
	return out
}()

// folders are the folders a slash-separated file path lies in, outermost first.
func folders(p string) []string {
	dir := path.Dir(p)
	if dir == "." {
		return nil
	}
	return strings.Split(dir, "/")
}
