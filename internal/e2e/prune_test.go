package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kronform/kronform-gen/internal/testenv"
)

// TestFluxLeavesWhatDiffSaysItLeaves checks, with Flux's own controllers, what diff says of a removed object
// (docs/ci.md): kustomize-controller leaves it in the cluster when its Kustomization has prune: false on both sides,
// when the Kustomization is gone having had prune: false (its finalizer deletes by its deletionPolicy: MirrorPrune,
// the default, follows prune; Delete deletes whatever prune says; Orphan never deletes), or when the object is
// labelled or annotated kustomize.toolkit.fluxcd.io/prune: disabled, the value in any case; it deletes the rest. When prune turns from false to true in
// the revision that removes the object, either may happen: the Kustomization reconciles the new revision with the
// spec it has, and flux-system may or may not have applied its new spec yet; an object removed while prune was
// false leaves the inventory, so a later reconcile with prune: true does not delete it either.
func TestFluxLeavesWhatDiffSaysItLeaves(t *testing.T) {
	testenv.Require(t)
	f := startFleet(t)
	const ns = "default"
	kustomization := func(name string, prune bool, extra string) {
		testenv.WriteFile(t, filepath.Join(f.repo, "clusters", cluster, name+".yaml"), fmt.Sprintf(`apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: %s
  namespace: flux-system
spec:
  interval: 10m0s
  path: ./output/apps/%s
  prune: %t
  sourceRef:
    kind: GitRepository
    name: flux-system
%s`, name, name, prune, extra))
	}
	const pruneDisabled = "  annotations:\n    kustomize.toolkit.fluxcd.io/prune: disabled\n"
	configMap := func(ks, name, annotations string) {
		testenv.WriteFile(t, filepath.Join(f.repo, "apps", ks, name+".yaml"), fmt.Sprintf(
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\n%sdata:\n  x: '1'\n", name, ns, annotations))
	}
	remove := func(t *testing.T, paths ...string) {
		t.Helper()
		for _, p := range paths {
			if err := os.RemoveAll(filepath.Join(f.repo, p)); err != nil {
				t.Fatal(err)
			}
		}
	}
	cm := func(name string) *unstructured.Unstructured { return object(t, "v1", "ConfigMap", ns, name) }
	exists := func(name string) bool {
		obj, err := f.api.Get(cm(name))
		return err == nil && !deleting(obj)
	}
	waitGone := func(t *testing.T, name string) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for exists(name) {
			if time.Now().After(deadline) {
				t.Fatalf("Flux did not delete ConfigMap %s", name)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	appliedAt := func(t *testing.T, name, revision string) *unstructured.Unstructured {
		t.Helper()
		obj, err := f.api.WaitFor(f.kustomization(name), "applied at "+revision, 2*time.Minute, func(o *unstructured.Unstructured) bool {
			got, _, _ := unstructured.NestedString(o.Object, "status", "lastAppliedRevision")
			observed, _, _ := unstructured.NestedInt64(o.Object, "status", "observedGeneration")
			return got == revision && observed == o.GetGeneration()
		})
		if err != nil {
			t.Fatalf("%v\n%s", err, kustomizationStates(t, f.api, []string{"flux-system", name}))
		}
		return obj
	}
	waitKustomizationGone := func(t *testing.T, name string) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			if _, err := f.api.Get(f.kustomization(name)); err != nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("Flux did not delete the %s Kustomization", name)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// diff's verdict on each removed ConfigMap: its KeptInCluster reason, "" for deleted.
	diff := func(t *testing.T) map[string]string {
		t.Helper()
		cmd := exec.Command(f.gen.bin, "diff", "--ref", "HEAD", "--output", "json", "-f", f.gen.spec, "--out", f.gen.out)
		cmd.Env = append(os.Environ(), f.gen.env...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err == nil {
			t.Fatalf("diff finds no change:\n%s%s", out, stderr.String())
		}
		var rep struct {
			Objects []struct{ Kind, Name, Change, KeptInCluster string }
		}
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatalf("diff: %v\n%s%s", err, out, stderr.String())
		}
		got := map[string]string{}
		for _, o := range rep.Objects {
			if o.Kind == "ConfigMap" && o.Change == "removed" {
				got[o.Name] = o.KeptInCluster
			}
		}
		return got
	}
	expect := func(t *testing.T, step string, got map[string]string, kept, deleted []string) {
		t.Helper()
		if len(got) != len(kept)+len(deleted) {
			t.Errorf("%s: diff lists %v as removed, want %v kept and %v deleted", step, got, kept, deleted)
		}
		for _, n := range kept {
			if r, ok := got[n]; !ok || r == "" {
				t.Errorf("%s: diff does not say Flux leaves %s in the cluster (%q)", step, n, r)
			}
		}
		for _, n := range deleted {
			if r, ok := got[n]; !ok || r != "" {
				t.Errorf("%s: diff says Flux leaves %s in the cluster (%q)", step, n, r)
			}
		}
	}

	kustomization("keep", false, "")
	configMap("keep", "keep-a", "")
	configMap("keep", "keep-b", "")
	kustomization("prune", true, "")
	configMap("prune", "prune-a", "")
	configMap("prune", "prune-b", "")
	configMap("prune", "prune-c", pruneDisabled)
	configMap("prune", "prune-d", "  labels:\n    kustomize.toolkit.fluxcd.io/prune: disabled\n")
	configMap("prune", "prune-e", "  annotations:\n    kustomize.toolkit.fluxcd.io/prune: Disabled\n")
	configMap("prune", "prune-f", "")
	kustomization("gone", false, "")
	configMap("gone", "gone-a", "")
	kustomization("gone-pruned", true, "")
	configMap("gone-pruned", "gone-pruned-a", "")
	kustomization("gone-delete", false, "  deletionPolicy: Delete\n")
	configMap("gone-delete", "gone-delete-a", "")
	kustomization("gone-orphan", true, "  deletionPolicy: Orphan\n")
	configMap("gone-orphan", "gone-orphan-a", "")
	kustomization("flip", false, "")
	configMap("flip", "flip-a", "")
	configMap("flip", "flip-b", "")
	kustomization("flip-late", false, "")
	configMap("flip-late", "flip-late-a", "")
	configMap("flip-late", "flip-late-b", "")
	f.commit("Kustomizations of the user's own")
	revision := f.reconcile()
	for _, n := range []string{"keep", "prune", "gone", "gone-pruned", "gone-delete", "gone-orphan", "flip", "flip-late"} {
		appliedAt(t, n, revision)
	}

	t.Run("prune: false on both sides, and the labels and annotations that keep an object", func(t *testing.T) {
		// reconcile: disabled added to an object Flux applied: Flux applies it no more, so the object in the cluster
		// never holds it, and goes with the rest.
		configMap("prune", "prune-f", "  annotations:\n    kustomize.toolkit.fluxcd.io/reconcile: disabled\n")
		f.commit("prune-f: reconcile: disabled")
		appliedAt(t, "prune", f.reconcile())
		remove(t, "apps/keep/keep-b.yaml", "apps/prune/prune-b.yaml", "apps/prune/prune-c.yaml", "apps/prune/prune-d.yaml",
			"apps/prune/prune-e.yaml", "apps/prune/prune-f.yaml")
		expect(t, "removed", diff(t), []string{"keep-b", "prune-c", "prune-d", "prune-e"}, []string{"prune-b", "prune-f"})
		f.commit("objects removed")
		revision := f.reconcile()
		appliedAt(t, "keep", revision)
		appliedAt(t, "prune", revision)
		waitGone(t, "prune-b")
		waitGone(t, "prune-f")
		for _, n := range []string{"keep-b", "prune-c", "prune-d", "prune-e"} {
			if !exists(n) {
				t.Errorf("Flux deleted %s", n)
			}
		}
	})

	t.Run("Kustomizations gone", func(t *testing.T) {
		for _, n := range []string{"gone", "gone-pruned", "gone-delete", "gone-orphan"} {
			remove(t, "clusters/"+cluster+"/"+n+".yaml", "apps/"+n)
		}
		expect(t, "gone", diff(t), []string{"gone-a", "gone-orphan-a"}, []string{"gone-pruned-a", "gone-delete-a"})
		f.commit("Kustomizations removed")
		f.reconcile()
		for _, n := range []string{"gone", "gone-pruned", "gone-delete", "gone-orphan"} {
			waitKustomizationGone(t, n)
		}
		waitGone(t, "gone-pruned-a")
		waitGone(t, "gone-delete-a")
		for _, n := range []string{"gone-a", "gone-orphan-a"} {
			if !exists(n) {
				t.Errorf("Flux deleted %s", n)
			}
		}
	})

	// prune: false -> true in the revision that removes an object. Which spec the Kustomization reconciles that
	// revision with depends on whether flux-system applied the new one first: both orders are forced here.
	t.Run("prune turned on beside the removal", func(t *testing.T) {
		suspend := func(name string, suspended bool) {
			apply(t, f.api, map[string]any{
				"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
				"metadata": map[string]any{"name": name, "namespace": testenv.FluxNamespace},
				"spec":     map[string]any{"suspend": suspended},
			})
		}
		// flip reconciles the new revision before flux-system turns its prune on (flux-system is held back);
		// flip-late only after (it is held back, flux-system is not).
		f.applySuspended(cluster, true)
		suspend("flip-late", true)
		kustomization("flip", true, "")
		kustomization("flip-late", true, "")
		remove(t, "apps/flip/flip-b.yaml", "apps/flip-late/flip-late-b.yaml")
		expect(t, "prune turned on", diff(t), nil, []string{"flip-b", "flip-late-b"})
		f.commit("prune turned on, objects removed")
		head := f.head()
		requestReconcile(t, f.api, f.source)
		appliedAt(t, "flip", head)
		if !exists("flip-b") {
			t.Fatal("flip, with prune: false still, deleted flip-b")
		}
		f.applySync(cluster, true)
		f.reconcile()
		obj := appliedAt(t, "flip", head)
		if prune, _, _ := unstructured.NestedBool(obj.Object, "spec", "prune"); !prune {
			t.Fatal("flux-system did not turn flip's prune on")
		}
		if !exists("flip-b") {
			t.Error("flip-b was deleted after all")
		} else {
			t.Logf("flip reconciled the revision with prune: false first: flip-b stays in the cluster, out of its inventory: %v",
				obj.Object["status"].(map[string]any)["inventory"])
		}
		obj = get(t, f.api, "kustomize.toolkit.fluxcd.io/v1", "Kustomization", testenv.FluxNamespace, "flip-late")
		if prune, _, _ := unstructured.NestedBool(obj.Object, "spec", "prune"); !prune {
			t.Fatal("flux-system did not turn flip-late's prune on")
		}
		suspend("flip-late", false)
		appliedAt(t, "flip-late", head)
		waitGone(t, "flip-late-b")
	})
}

// applySuspended applies flux bootstrap's Kustomization, at clusters/<folder>, suspended or not.
func (f *fleet) applySuspended(folder string, suspended bool) {
	apply(f.t, f.api, map[string]any{
		"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
		"metadata": map[string]any{"name": "flux-system", "namespace": testenv.FluxNamespace},
		"spec": map[string]any{
			"interval": "10m0s", "path": "./output/clusters/" + folder, "prune": true, "suspend": suspended,
			"sourceRef": map[string]any{"kind": "GitRepository", "name": "flux-system"},
		},
	})
}

// head is the revision of the repository's last commit, as Flux names it.
func (f *fleet) head() string {
	f.t.Helper()
	out, err := exec.Command("git", "-C", f.root, "rev-parse", "HEAD").Output()
	if err != nil {
		f.t.Fatal(err)
	}
	return "main@sha1:" + strings.TrimSpace(string(out))
}
