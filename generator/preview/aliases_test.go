package preview

import (
	"errors"
	"strings"
	"testing"
)

// TestLoopingAliasesAreFound: an alias inside the node its anchor names, however deep and through however many other
// aliases, is found at its line and column; aliases that only repeat an earlier node are not, even very many of them.
func TestLoopingAliasesAreFound(t *testing.T) {
	laughs := "a: &a [x, x, x, x, x, x, x, x]\n"
	for i, prev := 'b', 'a'; i <= 'k'; i, prev = i+1, i {
		laughs += string(i) + ": &" + string(i) + " [" + strings.Repeat("*"+string(prev)+", ", 8) + "x]\n"
	}
	for _, c := range []struct{ name, yaml, at string }{
		{"itself", "data: &d\n  a: *d\n", "2:6: *d"},
		{"deeper", "spec: &s\n  template:\n    spec: [1, {again: *s}]\n", "3:23: *s"},
		{"beside an alias that repeats a node", "a: &a\n  b: &b {x: 1}\n  c: [*b, &c {d: *a}]\n", "3:18: *a"},
		{"a merge key", "base: &base\n  x: 1\n  <<: *base\n", "3:7: *base"},
		{"in the second document", "a: 1\n---\nkind: ConfigMap\ndata: &d {k: [*d]}\n", "4:15: *d"},
		{"an earlier node repeated", "a: &a {x: 1}\nb: *a\nc: {d: *a, e: [*a, *a]}\n", ""},
		{"billion laughs", laughs, ""},
		{"no anchor, a star", "command: [ls, '*']\n", ""},
		{"not YAML", "a: &a [*a\n", ""},
	} {
		err := loopingAlias([]byte(c.yaml))
		switch {
		case c.at == "" && err != nil:
			t.Errorf("%s: %v, want no loop", c.name, err)
		case c.at != "" && (!errors.Is(err, errLoopingAlias) || !strings.HasPrefix(err.Error(), c.at+": ")):
			t.Errorf("%s: %v, want a loop at %s", c.name, err, c.at)
		}
	}
}

// TestBuildRefusesALoopingAlias: a resource that holds itself through an alias made kustomize walk it forever and the
// whole process die of a stack overflow (Flux's kustomize-controller runs the same code). The build of its
// Kustomization fails instead, naming the file, the line and the column, and the others build.
func TestBuildRefusesALoopingAlias(t *testing.T) {
	flux := func(name string) []byte {
		return []byte("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: " + name + ", namespace: flux-system}\n" +
			"spec: {interval: 10m, path: ./" + name + ", prune: true, sourceRef: {kind: GitRepository, name: flux-system}}\n")
	}
	src, err := FromFiles(map[string][]byte{
		"clusters/a/loop.yaml":    flux("loop"),
		"clusters/a/fine.yaml":    flux("fine"),
		"loop/kustomization.yaml": []byte("resources:\n- cm.yaml\n"),
		"loop/cm.yaml":            []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: loop}\ndata: &d\n  a: *d\n"),
		"fine/kustomization.yaml": []byte("resources:\n- cm.yaml\n"),
		"fine/cm.yaml":            []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\ndata: &d {a: b}\nbinaryData: *d\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	ks, err := src.Kustomizations()
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Build(ks, Options{})
	if err == nil || !strings.Contains(err.Error(), "loop/cm.yaml:5:6: *d: "+errLoopingAlias.Error()) {
		t.Fatalf("build: %v, want the looping alias named at loop/cm.yaml:5:6", err)
	}
	for _, k := range ks {
		if k.Name != "fine" {
			continue
		}
		if _, err := src.Build([]Kustomization{k}, Options{}); err != nil {
			t.Errorf("a Kustomization with an alias that repeats a node: %v", err)
		}
	}
}
