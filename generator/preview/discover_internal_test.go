package preview

import (
	"os"
	"path/filepath"
	"testing"
)

// A fleet's flux-system folders hold the same gotk-components.yaml in every cluster: Flux's CRDs, hundreds of kB of
// YAML that name the Kustomization kind, so that every cluster's was parsed in full (a no-op generate of 1000
// bootstrapped clusters took 45 s instead of 6). The same contents are parsed once.
func TestKustomizationsInParsesTheSameContentsOnce(t *testing.T) {
	crd, err := os.ReadFile(filepath.Join("..", "validate", "crds", "kustomize.toolkit.fluxcd.io_kustomizations.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	data := append(crd, []byte(`---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: flux-system, namespace: flux-system}
spec: {interval: 10m, path: ./clusters/alpha, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}
`)...)
	first, err := kustomizationsIn(data)
	if err != nil || len(first) != 1 || first[0].Name != "flux-system" || first[0].Spec.Path != "./clusters/alpha" {
		t.Fatalf("%+v, %v", first, err)
	}
	first[0].Cluster, first[0].File = "alpha", "clusters/alpha/flux-system/gotk-components.yaml" // the caller's fields
	allocs := testing.AllocsPerRun(10, func() {
		again, err := kustomizationsIn(data)
		if err != nil || len(again) != 1 || again[0].Name != "flux-system" || again[0].Cluster != "" {
			t.Fatalf("again: %+v, %v", again, err)
		}
	})
	if allocs > 10 {
		t.Errorf("the same contents again: %.0f allocations, parsed anew", allocs)
	}
}

// A spec.path climbing above the repository's root is where kustomize-controller's securejoin puts it, the root: Flux
// builds ../apps/alpha as apps/alpha, and build did not refuse it ("leaves the repository") while Flux applies it.
func TestSpecPathAboveTheRootIsClampedAsFluxDoes(t *testing.T) {
	dir := t.TempDir()
	for p, data := range map[string]string{
		"clusters/alpha/apps.yaml": `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec: {interval: 10m, path: ../../apps/alpha, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}
`,
		"apps/alpha/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: default}\n",
	} {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src, err := FromDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := src.Kustomizations()
	if err != nil || len(ks) != 1 || ks[0].Path != "apps/alpha" || ks[0].Outside != nil {
		t.Fatalf("Kustomizations: %+v, %v; want apps at apps/alpha", ks, err)
	}
}
