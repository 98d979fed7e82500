package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds the loader arbitrary bytes: it must never panic, and whatever it rejects it must reject with
// well-formed problems (a file, a line, a message) in sorted order.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("../render/testdata/golden/*/cluster-spec.yaml")
	seeds = append(seeds, "../../cluster-spec.yaml")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("apiVersion: kronform.dev/v1alpha1\nkind: ClusterSpec\nclusters: [{name: a, cilium: {version: '>=1'}}]\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Load("fuzz.yaml", data, Options{})
		if err == nil {
			if len(m.Clusters) == 0 {
				t.Fatal("a spec without clusters was accepted")
			}
			return
		}
		problems, ok := err.(Problems)
		if !ok {
			t.Fatalf("Load returned %T, not Problems: %v", err, err)
		}
		if len(problems) == 0 {
			t.Fatal("empty Problems returned as an error")
		}
		for i, p := range problems {
			if p.File != "fuzz.yaml" || p.Msg == "" || p.Pos.Line < 0 || strings.Contains(p.Msg, "\x00panic") {
				t.Fatalf("malformed problem %+v", p)
			}
			if i > 0 && problems[i-1].Pos.Line > p.Pos.Line {
				t.Fatalf("problems out of order: %v then %v", problems[i-1], p)
			}
		}
	})
}
