package preview

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/sourceignore"
)

// The literal pre-check must never keep a file the default patterns leave out: withoutIgnored agrees with matching
// every path against the defaults, on paths made from the patterns' own names at random depths and places.
func TestLiteralPreCheckKeepsNothingTheDefaultsIgnore(t *testing.T) {
	var names []string
	for _, list := range []string{sourceignore.ExcludeVCS, sourceignore.ExcludeExt, sourceignore.ExcludeCI, sourceignore.ExcludeExtra} {
		for _, p := range strings.Split(list, ",") {
			names = append(names, strings.TrimSuffix(strings.ReplaceAll(strings.TrimPrefix(p, "**/"), "*", "x"), "/"))
		}
	}
	names = append(names, "kustomization.yaml", "sops.yaml", "git", "x.jpgs", "photo.JPG", "github", "a.tar.gzip")
	r := rand.New(rand.NewPCG(3, 4))
	files := map[string][]byte{}
	for i := range 3000 {
		var segs []string
		for range 1 + r.IntN(4) {
			segs = append(segs, names[r.IntN(len(names))])
		}
		files[fmt.Sprintf("d%d/", i%7)+strings.Join(segs, "/")] = nil
		files[strings.Join(segs, "/")] = nil
	}
	matcher := sourceignore.NewDefaultMatcher(nil, nil)
	kept := withoutIgnored(files)
	ignored := 0
	for p := range files {
		_, got := kept[p]
		want := !matcher.Match(strings.Split(p, "/"), false)
		if got != want {
			t.Fatalf("%s: kept %v, the default patterns say %v", p, got, want)
		}
		if !want {
			ignored++
		}
	}
	if ignored < 1000 {
		t.Fatalf("only %d of %d paths ignored: the test does not exercise the patterns", ignored, len(files))
	}
}
