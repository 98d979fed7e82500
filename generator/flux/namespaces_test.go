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
		`(default, kube-node-lease, kube-public, kube-system, flux-system), and no Namespace under clusters/lab/ nor in a ` +
		`Kustomization the cluster applies from this repository creates it: the API server refuses Secret apps/sb, and ` +
		`Flux applies the secrets Kustomization (clusters/lab/secrets.yaml) all or nothing, so none of the cluster's ` +
		`secrets is applied or updated while it is missing (create it: a Namespace in a YAML file under clusters/lab/ ` +
		`(named in the kustomization.yaml on its way, if a folder has one), which flux bootstrap's Kustomization applies ` +
		`before the Kustomizations it declares; if something outside the repository creates it, that Kustomization ` +
		`fails until it does)`
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

// A namespace that another Kustomization the cluster applies from this repository creates (the user's own, declared
// under the cluster's folder or by such a Kustomization's build) is there once that one has applied it. The generated
// Kustomizations depend on none of the user's: the warning says that the first reconciles on a new cluster fail until
// then, not that nothing creates it; and when the creator itself waits for secrets, that neither is ever applied. One
// that Flux does not apply from this repository (suspended, another source, a path outside the tree) creates nothing.
func TestLintNamespaceOfAnotherKustomization(t *testing.T) {
	const ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n"
	ks := func(name, path, extra string) string {
		return "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: " + name +
			"\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: " + path + "\n  prune: true\n" +
			"  sourceRef: {kind: GitRepository, name: flux-system}\n" + extra
	}
	notDependedOn := `namespace "apps" is created by Kustomization flux-system/apps (clusters/lab/apps.yaml), which the ` +
		`secrets Kustomization (clusters/lab/secrets.yaml) does not depend on (kronform-gen's Kustomizations depend on ` +
		`none of yours): where flux-system/apps has not applied it yet, as on a new cluster, the API server refuses ` +
		`Secret apps/sa, and Flux applies the secrets Kustomization (clusters/lab/secrets.yaml) all or nothing, so none ` +
		`of the cluster's secrets is applied or updated until it has (secrets retries every 2m, flux.retryInterval) ` +
		`(to have it there first, create it under clusters/lab/ instead`
	nothing := `and no Namespace under clusters/lab/ nor in a Kustomization the cluster applies from this repository creates it`
	cases := []struct {
		name string
		tree files
		want string // in the one warning; "" for none
	}{
		{"the user's Kustomization creates it", files{"clusters/lab/apps.yaml": ks("apps", "./apps", ""), "apps/ns.yaml": ns}, notDependedOn},
		{"through its kustomization.yaml, a List", files{"clusters/lab/apps.yaml": ks("apps", "apps", ""),
			"apps/kustomization.yaml": "resources: [base]\n", "apps/base/kustomization.yaml": "resources: [all.json]\n",
			"apps/base/all.json": `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"apps"}}]}`},
			notDependedOn},
		{"declared in a subfolder of the cluster's, with other documents", files{
			"clusters/lab/apps/ks.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n" + ks("apps", "./apps", ""),
			"apps/ns.yaml":              ns}, `created by Kustomization flux-system/apps (clusters/lab/apps/ks.yaml), which the secrets Kustomization`},
		{"declared by another Kustomization's build", files{"clusters/lab/infra.yaml": ks("infra", "./infra", ""),
			"infra/apps.yaml": ks("apps", "./apps", ""), "apps/ns.yaml": ns},
			`created by Kustomization flux-system/apps (infra/apps.yaml), which the secrets Kustomization`},
		{"the creator waits for secrets", files{"clusters/lab/apps.yaml": ks("apps", "./apps", "  dependsOn: [{name: secrets}]\n"), "apps/ns.yaml": ns},
			`namespace "apps" is created only by Kustomization flux-system/apps (clusters/lab/apps.yaml), which depends on the ` +
				`secrets Kustomization (flux-system/apps -> flux-system/secrets): where the namespace does not exist yet, as ` +
				`on a new cluster, the API server refuses Secret apps/sa`},
		{"the creator waits for secrets through cilium", files{"clusters/lab/apps.yaml": ks("apps", "./apps", "  dependsOn: [{name: cilium, namespace: flux-system}]\n"),
			"clusters/lab/cilium.yaml": ks("cilium", "./infrastructure/lab/cilium", "  dependsOn: [{name: secrets}]\n"), "apps/ns.yaml": ns},
			`(flux-system/apps -> flux-system/cilium -> flux-system/secrets)`},
		{"the creator waits for secrets through a Kustomization of another source", files{
			"clusters/lab/apps.yaml": ks("apps", "./apps", "  dependsOn: [{name: ext}]\n"), "apps/ns.yaml": ns,
			"clusters/lab/ext.yaml": strings.Replace(ks("ext", "./ext", "  dependsOn: [{name: secrets}]\n"), "name: flux-system}", "name: other}", 1)},
			`(flux-system/apps -> flux-system/ext -> flux-system/secrets)`},
		{"the creator depends on itself", files{"clusters/lab/apps.yaml": ks("apps", "./apps", "  dependsOn: [{name: apps}]\n"), "apps/ns.yaml": ns},
			`namespace "apps" is created only by Kustomization flux-system/apps (clusters/lab/apps.yaml), which is never ` +
				`applied: its dependsOn closes a cycle (flux-system/apps -> flux-system/apps), and a Kustomization waits for ` +
				`every one it depends on to be ready: the API server refuses Secret apps/sa`},
		{"the creator waits on a cycle of others", files{"clusters/lab/apps.yaml": ks("apps", "./apps", "  dependsOn: [{name: b}]\n"), "apps/ns.yaml": ns,
			"clusters/lab/b.yaml": ks("b", "./b", "  dependsOn: [{name: c}]\n"), "clusters/lab/c.yaml": ks("c", "./c", "  dependsOn: [{name: b}]\n")},
			`which is never applied: its dependsOn closes a cycle (flux-system/apps -> flux-system/b -> flux-system/c -> flux-system/b)`},
		{"the creator waits for a suspended one", files{"clusters/lab/apps.yaml": ks("apps", "./apps", "  dependsOn: [{name: s}]\n"), "apps/ns.yaml": ns,
			"clusters/lab/s.yaml": ks("s", "./s", "  suspend: true\n")},
			`which is never applied on a new cluster: it waits for flux-system/s, which is suspended (flux-system/apps -> flux-system/s)`},
		{"targetNamespace renames the Namespace of its build", files{"clusters/lab/apps.yaml": ks("apps", "./apps", "  targetNamespace: apps\n"),
			"apps/ns.yaml": strings.Replace(ns, "name: apps", "name: other", 1)}, notDependedOn},
		{"a kustomization.yaml namespace renames the Namespace of its build", files{"clusters/lab/apps.yaml": ks("apps", "./apps", ""),
			"apps/kustomization.yaml": "namespace: apps\nresources: [ns.yaml]\n", "apps/ns.yaml": strings.Replace(ns, "name: apps", "name: other", 1)},
			notDependedOn},
		{"a kustomization.yaml namespace places the Kustomizations it declares", files{
			"clusters/lab/apps/kustomization.yaml": "namespace: flux-system\nresources: [ks.yaml]\n",
			"clusters/lab/apps/ks.yaml":            strings.Replace(ks("apps", "./apps", ""), "  namespace: flux-system\n", "", 1), "apps/ns.yaml": ns},
			`created by Kustomization flux-system/apps (clusters/lab/apps/ks.yaml), which the secrets Kustomization`},
		{"declared in a List", files{"clusters/lab/list.yaml": "apiVersion: v1\nkind: List\nitems:\n- " +
			strings.ReplaceAll(strings.TrimSuffix(ks("apps", "./apps", ""), "\n"), "\n", "\n  ") + "\n", "apps/ns.yaml": ns},
			`created by Kustomization flux-system/apps (clusters/lab/list.yaml), which the secrets Kustomization`},
		{"declared by a Kustomization that waits for secrets", files{"clusters/lab/infra.yaml": ks("infra", "./infra", "  dependsOn: [{name: secrets}]\n"),
			"infra/apps.yaml": ks("apps", "./apps", ""), "apps/ns.yaml": ns},
			`namespace "apps" is created only by Kustomization flux-system/apps (infra/apps.yaml), which depends on the secrets ` +
				`Kustomization (flux-system/apps -> flux-system/infra (which declares it) -> flux-system/secrets)`},
		{"declared by a Kustomization on a cycle", files{"clusters/lab/infra.yaml": ks("infra", "./infra", "  dependsOn: [{name: infra}]\n"),
			"infra/apps.yaml": ks("apps", "./apps", ""), "apps/ns.yaml": ns},
			`which is never applied: its dependsOn closes a cycle (flux-system/apps -> flux-system/infra (which declares it) -> flux-system/infra)`},
		{"the creator depends on a Kustomization nothing declares", files{"clusters/lab/apps.yaml": ks("apps", "./apps", "  dependsOn: [{name: secrets, namespace: team}]\n"),
			"apps/ns.yaml": ns},
			`namespace "apps" is created only by Kustomization flux-system/apps (clusters/lab/apps.yaml), which waits for ` +
				`team/secrets, which no Kustomization of this repository declares for the cluster (flux-system/apps -> team/secrets): ` +
				`Flux applies no Kustomization whose dependsOn it cannot find, so unless something outside the repository creates ` +
				`team/secrets, the API server refuses Secret apps/sa`},
		{"the creator depends on flux bootstrap's Kustomization", files{"clusters/lab/apps.yaml": ks("apps", "./apps", "  dependsOn: [{name: flux-system}]\n"),
			"clusters/lab/flux-system/gotk-sync.yaml": ks("flux-system", "./clusters/lab", ""), "apps/ns.yaml": ns}, notDependedOn},
		{"suspended", files{"clusters/lab/apps.yaml": ks("apps", "./apps", "  suspend: true\n"), "apps/ns.yaml": ns}, nothing},
		{"from another source", files{"clusters/lab/apps.yaml": strings.Replace(ks("apps", "./apps", ""), "name: flux-system}", "name: other}", 1), "apps/ns.yaml": ns}, nothing},
		{"a Kustomization of another API group", files{"clusters/lab/apps.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" +
			"metadata: {name: apps, namespace: flux-system}\nspec: {path: ./apps, sourceRef: {kind: GitRepository, name: flux-system}}\n", "apps/ns.yaml": ns}, nothing},
		{"another cluster's", files{"clusters/lab2/apps.yaml": ks("apps", "./apps", ""), "apps/ns.yaml": ns}, nothing},
		{"not applied: its file is not in the cluster folder's kustomization", files{"clusters/lab/kustomization.yaml": "resources: [flux-system]\n",
			"clusters/lab/apps.yaml": ks("apps", "./apps", ""), "apps/ns.yaml": ns}, nothing},
		{"created under the cluster's folder, renamed by a kustomization.yaml namespace", files{
			"clusters/lab/ns/kustomization.yaml": "namespace: apps\nresources: [ns.yaml]\n",
			"clusters/lab/ns/ns.yaml":            strings.Replace(ns, "name: apps", "name: other", 1)}, ""},
		{"created under the cluster's folder as well", files{"clusters/lab/apps.yaml": ks("apps", "./apps", ""), "apps/ns.yaml": ns,
			"clusters/lab/ns.yaml": ns}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := Lint(lintSpec(t, "kube-system", "flux-system", "apps"), c.tree)
			if c.want == "" {
				if len(w) > 0 {
					t.Fatalf("want no warning, got %v", w)
				}
				return
			}
			if len(w) != 1 {
				t.Fatalf("want one warning, got %v", w)
			}
			if !strings.Contains(w[0].String(), c.want) {
				t.Errorf("got  %s\nwant it to say %s", w[0], c.want)
			}
		})
	}
}

// The tree lies in the folder repositoryPath of the repository Flux follows: spec.path starts there.
func TestLintKustomizationPathsFromTheRepositoryRoot(t *testing.T) {
	text := `apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
repositoryPath: output
defaults:
  ageRecipients: [age13l5xnu5xcrr9cvqg3k2dtpezkygelplytj7nmg3hxcx9ul40ryzslcc2p9]
clusters:
  - name: lab
    apiServer: {host: api.lab.example.com}
    nodes: [{name: cp1, addresses: [192.0.2.10], roles: [control-plane]}]
    cilium: {version: 1.16.5, namespace: apps}
`
	m, err := spec.Load("spec.yaml", []byte(text), spec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ks := func(path string) string {
		return "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system}\n" +
			"spec: {path: " + path + ", sourceRef: {kind: GitRepository, name: flux-system}}\n"
	}
	ns := "apiVersion: v1\nkind: Namespace\nmetadata: {name: apps}\n"
	for path, want := range map[string]string{
		"./output/apps": "created by Kustomization flux-system/apps (clusters/lab/apps.yaml), which the cilium Kustomization",
		"./apps":        "no Namespace under clusters/lab/ nor in a Kustomization the cluster applies from this repository creates it: the API server refuses the HelmRepository",
	} {
		w := Lint(m, files{"clusters/lab/apps.yaml": ks(path), "apps/ns.yaml": ns})
		if len(w) != 1 || !strings.Contains(w[0].String(), want) {
			t.Errorf("spec.path %s: got %v, want a warning saying %s", path, w, want)
		}
	}
}

// The Kustomization CRD in gotk-components.yaml says kind: Kustomization in its names: when a namespace is not known
// otherwise, the lint looks for the cluster's Kustomizations, and must not parse the CRDs to find them.
func TestLintParsesOnlyWhatMayBeAKustomization(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: flux-system\n")
	for i := range 200 {
		fmt.Fprintf(&b, "---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: c%d.kustomize.toolkit.fluxcd.io\n"+
			"spec:\n  group: kustomize.toolkit.fluxcd.io\n  scope: Namespaced\n  names: {kind: Kustomization}\n  versions:\n  - name: v1\n    schema:\n"+
			"      openAPIV3Schema:\n        properties:\n          kind: {type: string, enum: [Kustomization, Secret]}\n", i)
	}
	tree := files{"clusters/lab/flux-system/gotk-components.yaml": b.String(),
		"clusters/lab/apps.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system}\n" +
			"spec: {path: ./apps, sourceRef: {kind: GitRepository, name: flux-system}}\n",
		"apps/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n"}
	m := lintSpec(t, "kube-system", "flux-system", "apps")
	if w := Lint(m, tree); len(w) != 1 || !strings.Contains(w[0].String(), "created by Kustomization flux-system/apps") {
		t.Fatalf("Lint = %v", w)
	}
	if allocs := testing.AllocsPerRun(5, func() { Lint(m, tree) }); allocs > 3000 {
		t.Errorf("Lint made %.0f allocations: it parses documents that cannot be a Flux Kustomization", allocs)
	}
}
