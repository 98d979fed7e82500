package cli

import "testing"

// FuzzSharedScan feeds the shared-object scan's readers of user files any bytes: each must answer, never crash or
// recurse without end (a string of YAML that parses as itself, an alias inside its own anchor). The seeds run with
// every go test; `go test -fuzz FuzzSharedScan ./generator/cli` searches further.
func FuzzSharedScan(f *testing.F) {
	for _, seed := range []string{
		"namePrefix: x-\nnote: see https://example.com/namePrefix\n",
		"spec:\n  values:\n    cluster: ${cluster_name:=alpha}\n",
		"metadata:\n  name: cni-${cluster_name:=alpha}\n",
		"transformers:\n  - |\n    kind: PrefixTransformer\n    prefix: cil\n",
		"patches:\n  - patch: |\n      - {op: copy, from: /a, path: /metadata/name}\n",
		"resources: [../infrastructure, ./x]\n",
		"apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nspec: {path: ./infrastructure/${c}}\n",
		"a: &a {b: *a}\nnamePrefix: ${x}\n",
		"replacements:\n  - source: {kind: ConfigMap}\n",
	} {
		f.Add([]byte(seed))
	}
	names := [][]byte{[]byte("cilium"), []byte("host-fw-control-plane")}
	in := map[string]bool{"": true, "infrastructure": true, "infrastructure/x/y.yaml": true}
	f.Fuzz(func(t *testing.T, b []byte) {
		variableInName(b)
		renames(b, names)
		copiesValues(b)
		builds("kustomization.yaml", b, "", in)
		builds("apps/x.yaml", b, "", in)
	})
}
