package preview_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/kustomize"
	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kronform/kronform-gen/generator/preview"
)

// fluxBuild is what kustomize-controller builds for a Flux Kustomization of the tree at dir, with Flux's own code
// (fluxcd/pkg/kustomize): its generator rewrites the folder's kustomization file, or writes one, on a copy of the tree
// (as the controller does in its working copy), then its build runs. No postBuild: that is the controller's next step.
func fluxBuild(t *testing.T, dir string, k preview.Kustomization) []byte {
	t.Helper()
	root := t.TempDir()
	copyDir(t, dir, root)
	data, err := yaml.Marshal(map[string]any{
		"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
		"metadata": map[string]any{"name": k.Name, "namespace": k.Namespace},
		"spec":     k.Spec,
	})
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := yaml.Unmarshal(data, &obj); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, filepath.FromSlash(k.Spec.Path))
	if _, err := kustomize.NewGenerator(root, unstructured.Unstructured{Object: obj}).WriteFile(path); err != nil {
		t.Fatalf("%s: Flux's generator: %v", k.Name, err)
	}
	m, err := kustomize.SecureBuild(root, path, false)
	if err != nil {
		t.Fatalf("%s: Flux's build: %v", k.Name, err)
	}
	out, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// documents are the YAML documents of a build, sorted.
func documents(b []byte) []string {
	docs := strings.Split(string(b), "---\n")
	slices.Sort(docs)
	return docs
}

// Every Flux Kustomization of a tree builds as kustomize-controller builds it with Flux's own generator and build.
// A folder whose kustomization file lists its bases under the deprecated bases: (and no resources:) was built as
// written, where Flux's generator gives every kustomization file without resources buildMetadata: [originAnnotations]
// (its guard against "kustomization.yaml is empty"), so Flux applies its objects with config.kubernetes.io/origin
// annotations. A kustomization file with a field kustomize does not know (a typo, commonLabel) failed to build, as the
// kustomize CLI fails, where Flux's generator reads the file leniently and writes it back without that field, so Flux
// builds it (and a Kustomization with targetNamespace, which kronform-gen merged in the same way, built it too).
func TestBuildEqualsFluxGeneratorAndBuild(t *testing.T) {
	fluxKs := func(name, path, extra string) []byte {
		return []byte("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: " + name +
			", namespace: flux-system}\nspec:\n  interval: 10m\n  path: " + path + "\n  prune: true\n" +
			"  sourceRef: {kind: GitRepository, name: flux-system}\n" + extra)
	}
	cm := func(name string) []byte {
		return []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\ndata: {a: b}\n")
	}
	dir := t.TempDir()
	writeTree(t, dir, map[string][]byte{
		"clusters/c/plain.yaml":              fluxKs("plain", "./apps/plain", ""),
		"clusters/c/bases.yaml":              fluxKs("bases", "./apps/bases", ""),
		"clusters/c/generators.yaml":         fluxKs("generators", "./apps/generators", ""),
		"clusters/c/nofile.yaml":             fluxKs("nofile", "./apps/nofile", ""),
		"clusters/c/unknown.yaml":            fluxKs("unknown", "./apps/unknown", ""),
		"clusters/c/pasted.yaml":             fluxKs("pasted", "./apps/pasted", ""),
		"clusters/c/overrides.yaml":          fluxKs("overrides", "./apps/bases", "  targetNamespace: prod\n  namePrefix: p-\n"),
		"clusters/c/dup.yaml":                fluxKs("dup", "./apps/dup", ""),
		"clusters/c/yml.yaml":                fluxKs("yml", "./apps/yml", ""),
		"clusters/c/typos.yaml":              fluxKs("typos", "./apps/typos", ""),
		"apps/dup/kustomization.yaml":        []byte("resources: [cm.yaml]\nnamePrefix: a-\nnamePrefix: b-\n"),
		"apps/dup/cm.yaml":                   cm("dup"),
		"apps/yml/kustomization.yml":         []byte("bases: [../base]\n"),
		"apps/typos/kustomization.yaml":      []byte("Resources: [cm.yaml]\ncommonLabel: {a: b}\nnameprefx: x-\ns3cr3t-v@lue: x\n"),
		"apps/typos/cm.yaml":                 cm("typos"),
		"apps/base/kustomization.yaml":       []byte("resources: [cm.yaml]\n"),
		"apps/base/cm.yaml":                  cm("base"),
		"apps/plain/kustomization.yaml":      []byte("resources: [cm.yaml, ../base]\n"),
		"apps/plain/cm.yaml":                 cm("plain"),
		"apps/bases/kustomization.yaml":      []byte("bases: [../base]\n"),
		"apps/generators/kustomization.yaml": []byte("configMapGenerator:\n- name: gen\n  literals: [a=b]\n"),
		"apps/nofile/cm.yaml":                cm("nofile"),
		"apps/unknown/kustomization.yaml":    []byte("resources: [cm.yaml]\ncommonLabel: {a: b}\n"),
		"apps/unknown/cm.yaml":               cm("unknown"),
		"apps/pasted/kustomization.yaml":     []byte("resources: [cm.yaml]\ns3cr3t-v@lue: x\n"),
		"apps/pasted/cm.yaml":                cm("pasted"),
	})
	res, _ := buildDir(t, dir)
	if len(res.Builds) != 10 {
		t.Fatalf("%d builds, want 10", len(res.Builds))
	}
	for _, b := range res.Builds {
		got, err := b.YAML(true)
		if err != nil {
			t.Fatal(err)
		}
		// Flux applies in an order of its own (by kind, with server-side apply), not in the build's: the build prints
		// the CLI's order, so the objects are compared as a set.
		if want := fluxBuild(t, dir, b.Kustomization); !slices.Equal(documents(got), documents(want)) {
			t.Errorf("%s (%s): build differs from Flux's (-flux +preview):\n%s", b.ID(), b.Path, cmp.Diff(string(want), string(got)))
		}
		// What Flux drops is named, as a typo to mend.
		note := `apps/unknown/kustomization.yaml: unknown field "commonLabel": kustomize-controller drops it`
		if noted := slices.ContainsFunc(b.Notes, func(n string) bool { return strings.HasPrefix(n, note) }); noted != (b.Name == "unknown") {
			t.Errorf("%s: notes %q", b.ID(), b.Notes)
		}
		// ...but not a value pasted where a key belongs.
		if b.Name == "pasted" && (len(b.Notes) != 1 || strings.Contains(b.Notes[0], "v@lue")) {
			t.Errorf("%s: notes %q", b.ID(), b.Notes)
		}
		// Every field dropped is named, or counted when it cannot be a field's name.
		typos := `apps/typos/kustomization.yaml: unknown fields "commonLabel", "nameprefx" and 1 more not shown: ` +
			`kustomize-controller drops them`
		if b.Name == "typos" && (len(b.Notes) != 1 || !strings.HasPrefix(b.Notes[0], typos) || strings.Contains(b.Notes[0], "v@lue")) {
			t.Errorf("%s: notes %q, want one starting %q", b.ID(), b.Notes, typos)
		}
		// A repeated key is no field kustomize lacks: the CLI builds the file (the last one counts), and so does Flux.
		if b.Name == "dup" && len(b.Notes) != 0 {
			t.Errorf("%s: notes %q", b.ID(), b.Notes)
		}
	}
	// The tree itself is untouched: Flux's generator wrote only into its copies.
	if _, err := os.Stat(filepath.Join(dir, "apps", "nofile", "kustomization.yaml")); err == nil {
		t.Error("a kustomization file was written into the tree")
	}
}
