package flux

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/kronform/kronform-gen/generator/spec"
)

// files is a tree on disk for Lint: path -> contents.
type files map[string]string

func (f files) Paths() []string { return slices.Sorted(maps.Keys(f)) }

func (f files) File(p string) ([]byte, bool) {
	s, ok := f[p]
	return []byte(s), ok
}

func lintSpec(t *testing.T, cilium, fluxNamespace string, namespaces ...string) *spec.Model {
	t.Helper()
	text := `apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
defaults:
  ageRecipients: [age13l5xnu5xcrr9cvqg3k2dtpezkygelplytj7nmg3hxcx9ul40ryzslcc2p9]
clusters:
  - name: lab
    apiServer: {host: api.lab.example.com}
    nodes: [{name: cp1, addresses: [192.0.2.10], roles: [control-plane]}]
    flux: {path: clusters/lab, namespace: ` + fluxNamespace + `}
    cilium: {version: 1.16.5, namespace: ` + cilium + `}
    secrets:
`
	for i, ns := range namespaces {
		text += "      - {name: s" + string(rune('a'+i)) + ", namespace: " + ns + ", data: {k: {env: K}}}\n"
	}
	m, err := spec.Load("spec.yaml", []byte(text), spec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLintWarnsOfNamespacesTheClusterMayNotHave(t *testing.T) {
	const ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n"
	cases := []struct {
		name         string
		cilium, flux string
		secrets      []string
		tree         files
		want         []string // field paths warned of
	}{
		{"system and Flux namespaces", "kube-system", "flux-system", []string{"default", "kube-system", "kube-public", "kube-node-lease", "flux-system"}, nil, nil},
		{"Flux in a namespace of its own", "kube-system", "flux", []string{"flux"}, nil, nil},
		{"a namespace nothing creates", "kube-system", "flux-system", []string{"kube-system", "apps"}, nil,
			[]string{"clusters[0].secrets[1].namespace"}},
		{"a Namespace under the cluster's folder creates it", "kube-system", "flux-system", []string{"apps"},
			files{"clusters/lab/namespaces.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n- a list\n---\n" + ns}, nil},
		{"in a subfolder, as flux bootstrap's Kustomization reads it", "kube-system", "flux-system", []string{"apps"},
			files{"clusters/lab/infra/ns.yml": ns}, nil},
		{"another cluster's folder creates it on that cluster", "kube-system", "flux-system", []string{"apps"},
			files{"clusters/lab2/ns.yaml": ns, "infrastructure/lab/ns.yaml": ns}, []string{"clusters[0].secrets[0].namespace"}},
		{"not a YAML file", "kube-system", "flux-system", []string{"apps"},
			files{"clusters/lab/ns.txt": ns}, []string{"clusters[0].secrets[0].namespace"}},
		{"a Namespace of another API", "kube-system", "flux-system", []string{"apps"},
			files{"clusters/lab/ns.yaml": strings.Replace(ns, "v1", "example.com/v1", 1)}, []string{"clusters[0].secrets[0].namespace"}},
		// kustomize inlines the items of a kind ending in List, which kustomize-controller then applies.
		{"a Namespace in a List", "kube-system", "flux-system", []string{"apps"},
			files{"clusters/lab/ns.yaml": "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: apps}\n"}, nil},
		{"a Namespace written as JSON", "kube-system", "flux-system", []string{"apps"},
			files{"clusters/lab/ns.yaml": `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"apps"}}`}, nil},
		{"a Namespace's name in another field", "kube-system", "flux-system", []string{"apps"},
			files{"clusters/lab/ns.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: apps}\ndata: {kind: Namespace}\n"},
			[]string{"clusters[0].secrets[0].namespace"}},
		// kustomize-controller builds a folder with a kustomization file from that file alone, and reads every
		// resource it names, whatever the file's name; a folder without one, every YAML file down to the folders
		// that have one.
		{"in a subfolder whose kustomization does not name it", "kube-system", "flux-system", []string{"apps"},
			files{"clusters/lab/extra/kustomization.yaml": "resources: [other.yaml]\n", "clusters/lab/extra/other.yaml": "kind: ConfigMap\n",
				"clusters/lab/extra/ns.yaml": ns}, []string{"clusters[0].secrets[0].namespace"}},
		{"named by a subfolder's kustomization, whatever its name", "kube-system", "flux-system", []string{"apps"},
			files{"clusters/lab/extra/kustomization.yaml": "resources: [ns.txt]\n", "clusters/lab/extra/ns.txt": ns}, nil},
		{"the cluster folder's own kustomization does not name it", "kube-system", "flux-system", []string{"apps"},
			files{"clusters/lab/kustomization.yaml": "resources: [flux-system]\n", "clusters/lab/ns.yaml": ns,
				"clusters/lab/flux-system/kustomization.yaml":   "resources: [gotk-components.yaml]\n",
				"clusters/lab/flux-system/gotk-components.yaml": strings.Replace(ns, "apps", "flux-system", 1)},
			[]string{"clusters[0].secrets[0].namespace"}},
		{"named through the cluster folder's kustomization, from outside it", "kube-system", "flux-system", []string{"apps"},
			files{"clusters/lab/kustomization.yaml": "resources: [infra]\n", "clusters/lab/infra/kustomization.yaml": "resources: [../../../shared/ns.yaml]\n",
				"shared/ns.yaml": ns}, nil},
		{"Cilium in a namespace nothing creates, a secret there", "cilium", "flux-system", []string{"cilium"}, nil,
			[]string{"clusters[0].cilium.namespace", "clusters[0].secrets[0].namespace"}},
		{"Cilium's namespace created under the cluster's folder", "apps", "flux-system", []string{"apps"},
			files{"clusters/lab/ns.yaml": ns}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var tree Files
			if c.tree != nil {
				tree = c.tree
			}
			var got []string
			for _, w := range Lint(lintSpec(t, c.cilium, c.flux, c.secrets...), tree) {
				got = append(got, w.Path)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("warned of %v, want %v", got, c.want)
			}
		})
	}
}

func TestLintSaysWhatFailsAndHowToFixIt(t *testing.T) {
	w := Lint(lintSpec(t, "kube-system", "flux-system", "kube-system", "apps"), nil)
	if len(w) != 1 {
		t.Fatalf("want one warning, got %v", w)
	}
	want := `spec.yaml:13:31: clusters[0].secrets[1].namespace: namespace "apps" is not one the cluster is known to have ` +
		`(default, kube-node-lease, kube-public, kube-system, flux-system), and no Namespace under clusters/lab/ creates ` +
		`it: the API server refuses Secret apps/sb, and Flux applies the secrets Kustomization (clusters/lab/secrets.yaml) ` +
		`all or nothing, so none of the cluster's secrets is applied or updated while it is missing (create it: a ` +
		`Namespace in a YAML file under clusters/lab/ (named in the kustomization.yaml on its way, if a folder has one), ` +
		`which flux bootstrap's Kustomization applies; if something ` +
		`outside the tree creates it, that Kustomization fails until it does)`
	if got := w[0].String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// flux bootstrap's gotk-components.yaml, under every cluster's folder, is hundreds of KB of CRDs whose text says
// Namespace many times, and creates the Flux namespace: the lint runs on every generate and check, so it parses only
// the documents that may be a Namespace, not the CRDs (a 100-cluster fleet paid about a second a run).
func TestNamespacesInParsesOnlyWhatMayBeANamespace(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: flux-system\n")
	for i := range 200 {
		fmt.Fprintf(&b, "---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: c%d.example.com\n"+
			"spec:\n  scope: Namespaced\n  names: {kind: C%d}\n  versions:\n  - name: v1\n    schema:\n      openAPIV3Schema:\n"+
			"        properties:\n          namespace: {type: string, description: Namespace of the referent.}\n"+
			"          kind: {type: string, enum: [Namespace, Secret]}\n", i, i)
	}
	tree := files{"clusters/lab/flux-system/gotk-components.yaml": b.String(), "clusters/lab/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n"}
	if got := NamespacesIn(tree, "clusters/lab"); !slices.Equal(got, []string{"apps", "flux-system"}) {
		t.Fatalf("NamespacesIn = %v", got)
	}
	// Parsing the CRDs with yaml.v3 takes tens of thousands of allocations; the two Namespaces, a few hundred.
	if allocs := testing.AllocsPerRun(5, func() { NamespacesIn(tree, "clusters/lab") }); allocs > 2000 {
		t.Errorf("NamespacesIn made %.0f allocations: it parses documents that cannot be a Namespace", allocs)
	}
}
