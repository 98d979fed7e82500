package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kronform/kronform-gen/generator/tree"
)

// After every generate, warnShared looks for an object that one of kronform-gen's Kustomizations applies and another
// Kustomization too. In a bootstrapped fleet every cluster has such another one, flux bootstrap's, which applies
// gotk-components.yaml, hundreds of kB of CRDs: building them all made a no-op generate of 100 clusters ten times
// slower, and one of 1000 take minutes instead of seconds. Where no file but kronform-gen's names one of its objects
// (a CiliumNetworkPolicy of the user's says cilium only in cilium.io), nothing is built: each further cluster costs
// about the bytes read. Where one does, the object is found and warned of.
func TestWarnSharedBuildsOnlyWhereAnotherFileNamesAnObject(t *testing.T) {
	components := fakeComponents(t)
	release := func(interval string) string {
		return "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: cilium\n  namespace: kube-system\n" +
			"spec:\n  interval: " + interval + "\n  chart:\n    spec:\n      chart: cilium\n      sourceRef:\n        kind: HelmRepository\n        name: cilium\n"
	}
	write := func(root, p, s string) {
		t.Helper()
		p = filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fleet := func(n int) (string, *tree.Tree) {
		out := t.TempDir()
		gen := tree.New()
		for i := range n {
			c := fmt.Sprintf("c%02d", i)
			write(out, "clusters/"+c+"/flux-system/gotk-components.yaml", components.String())
			write(out, "clusters/"+c+"/flux-system/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- gotk-components.yaml\n- gotk-sync.yaml\n")
			write(out, "clusters/"+c+"/flux-system/gotk-sync.yaml", gotkSync(c))
			for p, s := range map[string]string{
				"clusters/" + c + "/cilium.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: cilium\n  namespace: flux-system\n" +
					"spec:\n  interval: 10m0s\n  path: ./infrastructure/" + c + "/cilium\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
				"infrastructure/" + c + "/cilium/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- helmrelease.yaml\n",
				"infrastructure/" + c + "/cilium/helmrelease.yaml":   release("10m"),
			} {
				write(out, p, s)
				if err := gen.Add(p, []byte(s)); err != nil {
					t.Fatal(err)
				}
			}
		}
		// The user's own policies speak of Cilium, but name none of kronform-gen's objects.
		write(out, "apps/policy.yaml", "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: cilium-operator-egress\n  namespace: apps\n")
		return out, gen
	}

	allocs := func(out string, gen *tree.Tree) (uint64, string) {
		var stderr bytes.Buffer
		a := &app{outDir: out, stderr: &stderr}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		a.warnShared(gen, nil, nil)
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc, stderr.String()
	}
	const n = 8
	out, gen := fleet(n)
	total, warned := allocs(out, gen)
	if warned != "" {
		t.Errorf("warned of an object no other file names:\n%s", warned)
	}
	per := float64(total) / n
	t.Logf("%.0f bytes allocated per cluster, for %d bytes of gotk-components.yaml", per, components.Len())
	if per > 4*float64(components.Len()) {
		t.Errorf("each cluster allocates %.1f times its gotk-components.yaml: the fleet is built though no file names an object of kronform-gen's",
			per/float64(components.Len()))
	}
	// Nor is flux bootstrap's gotk-components.yaml read to look for names: it holds Flux's own components.
	if per > float64(components.Len())/4 {
		t.Errorf("each cluster allocates %.2f times its gotk-components.yaml: flux bootstrap's components are read", per/float64(components.Len()))
	}

	// A user's copy of the release, applied by flux bootstrap's Kustomization from the cluster's folder.
	write(out, "clusters/c03/my-cilium.yaml", release("30m"))
	if _, warned := allocs(out, gen); !strings.Contains(warned, "warning: cluster c03: HelmRelease kube-system/cilium is applied by 2 Flux Kustomizations (cilium, flux-system)") ||
		strings.Count(warned, "warning:") != 1 {
		t.Errorf("the user's copy of the HelmRelease is not warned of once:\n%s", warned)
	}
	// A copy in every cluster (a user taking over their Cilium) builds every cluster, but not Flux's CRDs, which
	// flux-system alone applies: parsing those in each cluster made such a generate of 100 clusters take 40 s.
	for i := range n {
		write(out, fmt.Sprintf("clusters/c%02d/my-cilium.yaml", i), release("30m"))
	}
	total, warned = allocs(out, gen)
	if strings.Count(warned, "warning:") != n {
		t.Errorf("the user's copies are not warned of once per cluster:\n%s", warned)
	}
	per = float64(total) / n
	t.Logf("every cluster built: %.0f bytes allocated per cluster, for %d bytes of gotk-components.yaml", per, components.Len())
	// About 7 times without the CRDs (a build's own cost, this stand-in being small), 120 times with them.
	if per > 20*float64(components.Len()) {
		t.Errorf("each cluster allocates %.1f times its gotk-components.yaml: Flux's CRDs are built", per/float64(components.Len()))
	}
}
