package preview_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kronform/kronform-gen/generator/preview"
)

func helmRelease(apiVersion, namespace, name string) string {
	return "apiVersion: " + apiVersion + "\nkind: HelmRelease\nmetadata:\n  name: " + name + "\n  namespace: " + namespace +
		"\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: cilium\n      sourceRef:\n        kind: HelmRepository\n        name: cilium\n"
}

// A user's own Cilium HelmRelease, applied by their Kustomization, and the one kronform-gen generates are one object
// in the API server (the same group, kind, namespace and name, whatever the version): Flux applies it from both, by
// turns, and the Kustomization that stops building it prunes it. Objects that differ in namespace, group or cluster
// are not one.
func TestSharedObjects(t *testing.T) {
	files := map[string]string{
		"clusters/hel1/cilium.yaml":                          fluxKustomization("cilium", "./infrastructure/hel1/cilium"),
		"clusters/hel1/infrastructure.yaml":                  fluxKustomization("infra-controllers", "./infrastructure/controllers"),
		"clusters/hel1/apps.yaml":                            fluxKustomization("apps", "./apps"),
		"infrastructure/hel1/cilium/helmrelease.yaml":        helmRelease("helm.toolkit.fluxcd.io/v2", "kube-system", "cilium"),
		"infrastructure/hel1/cilium/cm.yaml":                 configMap("settings"),
		"infrastructure/controllers/cilium/release.yaml":     helmRelease("helm.toolkit.fluxcd.io/v2beta2", "kube-system", "cilium"),
		"infrastructure/controllers/cilium/other-group.yaml": "apiVersion: example.com/v1\nkind: HelmRelease\nmetadata:\n  name: cilium\n  namespace: kube-system\n",
		"apps/cm.yaml":      configMap("settings"),
		"apps/release.yaml": helmRelease("helm.toolkit.fluxcd.io/v2", "apps", "cilium"),
		// Another cluster applies the same object in its own API server.
		"clusters/fsn1/cilium.yaml":         fluxKustomization("cilium", "./infrastructure/hel1/cilium"),
		"clusters/fsn1/infrastructure.yaml": fluxKustomization("infra", "./infrastructure/fsn1"),
		"infrastructure/fsn1/other.yaml":    configMap("other"),
	}
	res, err := buildTree(t, files, preview.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := preview.SharedObjects(res.Builds, nil)
	want := []preview.Shared{
		{Cluster: "hel1", Kind: "ConfigMap", Namespace: "flux-system", Name: "settings", Kustomizations: []string{"apps", "cilium"}},
		{Cluster: "hel1", Group: "helm.toolkit.fluxcd.io", Kind: "HelmRelease", Namespace: "kube-system", Name: "cilium",
			Kustomizations: []string{"cilium", "infra-controllers"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("shared objects (-want +got):\n%s", diff)
	}
	if len(got) != len(want) {
		return
	}
	if o := got[1].Object(); o != "HelmRelease kube-system/cilium" {
		t.Errorf("Object() = %q", o)
	}

	// Of a kind the caller knows to be cluster-scoped, objects of one name are one whatever namespace kustomize gave
	// them (the API server drops it).
	got = preview.SharedObjects(res.Builds, func(group, kind string) bool { return group == "helm.toolkit.fluxcd.io" && kind == "HelmRelease" })
	want[1] = preview.Shared{Cluster: "hel1", Group: "helm.toolkit.fluxcd.io", Kind: "HelmRelease", Name: "cilium",
		Kustomizations: []string{"apps", "cilium", "infra-controllers"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("shared objects, HelmReleases taken as cluster-scoped (-want +got):\n%s", diff)
	}
}
