package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kronform/kronform-gen/internal/testenv"
)

// TestFluxAppliesTheRevisionThatSuspendsIt shows, with Flux's own controllers, why diff builds a Kustomization
// suspended in the working tree only on both sides rather than leaving it out: flux bootstrap's Kustomization is not
// suspended when it reconciles the revision that suspends it, so it applies that revision, and a change committed
// beside suspend: true is live. diff must show that change; it showed nothing, and exited 0.
func TestFluxAppliesTheRevisionThatSuspendsIt(t *testing.T) {
	testenv.Require(t)
	f := startFleet(t)
	sync := filepath.Join(f.repo, "clusters", cluster, "flux-system", "gotk-sync.yaml")
	ciliumKs := filepath.Join(f.repo, "clusters", cluster, "cilium.yaml")
	edit := func(file, old, new string) {
		t.Helper()
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), old) {
			t.Fatalf("%s holds no %q:\n%s", file, old, b)
		}
		testenv.WriteFile(t, file, strings.Replace(string(b), old, new, 1))
	}
	edit(sync, "  prune: true\n", "  prune: true\n  suspend: true\n")
	edit(ciliumKs, "  prune: true\n", "  prune: false\n")

	out, err := f.gen.run("diff", "--ref", "HEAD")
	if err == nil || !strings.Contains(out, "+  suspend: true") || !strings.Contains(out, "-  prune: true\n+  prune: false") {
		t.Errorf("diff of a change committed beside flux-system's suspend: %v\n%s", err, out)
	}

	f.commit("flux-system suspended, with a change beside it")
	f.reconcile() // waits until flux-system applied this very revision
	obj, err := f.api.Get(f.kustomization("cilium"))
	if err != nil {
		t.Fatal(err)
	}
	if prune, _, _ := unstructured.NestedBool(obj.Object, "spec", "prune"); prune {
		t.Error("Flux did not apply the change committed beside flux-system's suspend")
	}
	if _, err := f.api.WaitFor(f.kustomization("flux-system"), "suspended", time.Minute, func(o *unstructured.Unstructured) bool {
		suspended, _, _ := unstructured.NestedBool(o.Object, "spec", "suspend")
		return suspended
	}); err != nil {
		t.Fatal(err)
	}
}
