package preview

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kronform/kronform-gen/generator/render"
	"github.com/kronform/kronform-gen/generator/spec"
	"github.com/kronform/kronform-gen/internal/fleetgen"
)

// krustyYAML is kustomize's full engine on dir, as the build runs it, printed by kustomize.
func krustyYAML(fs filesys.FileSystem, dir string) (string, error) {
	m, err := runKrusty(fs, dir)
	if err != nil {
		return "", err
	}
	return describe(m), nil
}

// describe shows a build every way it is read: kustomize's printing, the build's own printing of each object, and
// each object's node tree as it stands (anchors and aliases included, were any left).
func describe(m resmap.ResMap) string {
	var b strings.Builder
	b.WriteString(printed(m.AsYaml()))
	for _, r := range m.Resources() {
		b.WriteString("# printed:\n")
		b.WriteString(printed(resourceYAML(r, true)))
		b.WriteString("# nodes:\n")
		s, err := r.RNode.String()
		b.WriteString(printed([]byte(s), err))
	}
	return b.String()
}

// printed is kustomize's printing of a build, or its error (a repeated key, say).
func printed(b []byte, err error) string {
	if err != nil {
		return "cannot print: " + err.Error()
	}
	return string(b)
}

// plainYAML is buildPlain on dir, printed by kustomize; ok false when it declines.
func plainYAML(t *testing.T, fs filesys.FileSystem, dir string) (string, bool) {
	t.Helper()
	k, err := fs.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m, ok := buildPlain(fs, dir, k)
	if !ok {
		return "", false
	}
	return describe(m), true
}

// TestPlainBuildTakesEveryGeneratedFolder: every folder kronform-gen writes (the example, a fleet) is built by the
// plain path, and each equals kustomize's full engine. (The builds of the same trees are also held to the kustomize
// CLI, in build_test.go.)
func TestPlainBuildTakesEveryGeneratedFolder(t *testing.T) {
	m, err := spec.Load("fleet.yaml", fleetgen.Spec(3), spec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := render.Fleet(m, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fleet, err := FromTree(res.Tree)
	if err != nil {
		t.Fatal(err)
	}
	example, err := FromDir(filepath.Join("..", "..", "output"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for name, src := range map[string]*Source{"the example": example, "a fleet": fleet} {
		ks, err := src.Kustomizations()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range ks {
			dir := src.abs(k.Path)
			got, ok := plainYAML(t, src.fs, dir)
			if !ok {
				t.Errorf("%s: %s is not built by the plain path", name, k.Path)
				continue
			}
			want, err := krustyYAML(src.fs, dir)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("%s: %s differs from krusty:\n%s\nvs\n%s", name, k.Path, got, want)
			}
			checked++
		}
	}
	if checked < 9 {
		t.Fatalf("checked %d folders, want at least 9", checked)
	}
}

// TestPlainBuildAgreesWithKrusty builds thousands of random folders both ways. Whenever the plain path builds one,
// krusty must build it too, to the same bytes; whatever it declines krusty handles (and reports, for bad input). The
// folders mix what the plain path must get right (kind order, namespaces, names that sort around kustomize's
// separators, empty and comment-only documents, CRLF, build annotations kustomize strips, anchors and merge keys it
// must resolve) with what it must decline (other kustomization fields, Lists, local-config objects, folders, missing
// names, duplicate IDs, two Namespace groups).
func TestPlainBuildAgreesWithKrusty(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	const folders = 3000
	built, declined, krustyFailed := 0, 0, 0
	for i := range folders {
		fs := filesys.MakeFsInMemory()
		files := randomFolder(rng)
		for p, data := range files {
			if err := fs.WriteFile("/f/"+p, []byte(data)); err != nil {
				t.Fatal(err)
			}
		}
		got, ok := plainYAML(t, fs, "/f")
		want, err := krustyYAML(fs, "/f")
		switch {
		case ok && err != nil:
			t.Fatalf("folder %d: the plain path built what krusty refuses (%v):\n%s", i, err, dump(files))
		case ok && got != want:
			t.Fatalf("folder %d: plain and krusty differ:\n%s\nplain:\n%s\nkrusty:\n%s", i, dump(files), got, want)
		case ok:
			built++
		case err != nil:
			krustyFailed++
			declined++
		default:
			declined++
		}
	}
	t.Logf("%d folders: %d built by the plain path, %d declined (%d of them refused by krusty)", folders, built, declined, krustyFailed)
	if built < folders/4 || declined < folders/10 || krustyFailed < folders/50 {
		t.Fatalf("the random folders do not exercise both sides: %d built, %d declined, %d refused", built, declined, krustyFailed)
	}
}

func dump(files map[string]string) string {
	var b strings.Builder
	for p, data := range files {
		fmt.Fprintf(&b, "== %s\n%s\n", p, data)
	}
	return b.String()
}

// randomFolder is a kustomization and the files it lists.
func randomFolder(rng *rand.Rand) map[string]string {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	files := map[string]string{}
	var resources []string
	for f := range 1 + rng.IntN(3) {
		name := fmt.Sprintf("r%d.yaml", f)
		var docs []string
		for range 1 + rng.IntN(4) {
			docs = append(docs, randomDoc(rng, pick))
		}
		sep := pick("---\n", "\n---\n", "--- \n", "---\n# between\n")
		data := pick("", "---\n", "# a header\n") + strings.Join(docs, sep) + pick("", "\n", "---\n")
		if rng.IntN(10) == 0 {
			data = strings.ReplaceAll(data, "\n", "\r\n")
		}
		files[name] = data
		resources = append(resources, pick(name, "./"+name, name))
	}
	if rng.IntN(12) == 0 {
		resources = append(resources, resources[0]) // listed twice: duplicate IDs
	}
	if rng.IntN(15) == 0 {
		files["sub/kustomization.yaml"] = "resources: [x.yaml]\n"
		files["sub/x.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: sub}\n"
		resources = append(resources, "sub")
	}
	if rng.IntN(20) == 0 {
		resources = append(resources, "missing.yaml")
	}
	k := pick("", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n", "kind: Kustomization\n")
	k += "resources:\n"
	for _, r := range resources {
		k += "- " + r + "\n"
	}
	switch rng.IntN(25) {
	case 0:
		k += "namespace: other\n"
	case 1:
		k += "labels: [{pairs: {a: b}}]\n"
	case 2:
		k += "sortOptions: {order: fifo}\n"
	}
	files["kustomization.yaml"] = k
	return files
}

// randomDoc is one YAML document: usually an object, sometimes something odd.
func randomDoc(rng *rand.Rand, pick func(...string) string) string {
	switch rng.IntN(40) {
	case 0:
		return ""
	case 1:
		return "# only a comment\n"
	case 2:
		return "apiVersion: v1\nkind: ConfigMapList\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: listed}\n"
	case 3:
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: x}\n" // no name
	case 4:
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: local\n  annotations: {config.kubernetes.io/local-config: \"true\"}\n"
	case 5:
		return "null\n"
	case 6:
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: nil-entry}\ndata:\n  list:\n  -\n"
	}
	gvk := pick("v1 Namespace", "v1 ConfigMap", "v1 Secret", "v1 Service", "apps/v1 Deployment",
		"apiextensions.k8s.io/v1 CustomResourceDefinition", "admissionregistration.k8s.io/v1 MutatingWebhookConfiguration",
		"cilium.io/v2 CiliumClusterwideNetworkPolicy", "example.com/v1 Widget", "example.com/v2 Widget", "v1 Widget",
		"rbac.authorization.k8s.io/v1 Role", "example.com/v1 Namespace", "helm.toolkit.fluxcd.io/v2 HelmRelease")
	api, kind, _ := strings.Cut(gvk, " ")
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: %s\nkind: %s\n", api, kind)
	b.WriteString("metadata:\n")
	fmt.Fprintf(&b, "  name: %s\n", pick("a", "b", "a-b", "ab", "a.b", "z", "'007'", "x|y"))
	if ns := pick("", "", "default", "kube-system", "a", "ab"); ns != "" {
		fmt.Fprintf(&b, "  namespace: %s\n", ns)
	}
	switch rng.IntN(8) {
	case 0:
		b.WriteString("  annotations:\n    config.kubernetes.io/origin: 'path: x.yaml'\n    keep: me\n")
	case 1:
		b.WriteString("  labels: {app: web, tier: \"1\"}\n")
	case 2:
		b.WriteString("  annotations: {}\n")
	case 3:
		b.WriteString("  annotations:\n    internal.config.kubernetes.io/path: x.yaml\n")
	}
	switch rng.IntN(10) {
	case 0:
		b.WriteString("base: &base {x: 1, y: [a, b]}\nother:\n  <<: *base\n  y: [c]\n")
	case 1:
		b.WriteString("a: &v hello\nb: *v\n")
	case 2:
		b.WriteString("dup: 1\ndup: 2\n")
	case 3:
		b.WriteString("spec:\n  replicas: 3\n  empty: null\n  when: 2001-02-03\n  yes: yes\n  text: |\n    two\n    lines\n")
	case 4:
		b.WriteString("data: {\"1\": one, \"01\": two, k: '3'}\n")
	case 5:
		b.WriteString("other:\n  <<: {x: 1}\n  y: 2\n") // a merge key without an anchor
	}
	return b.String()
}
