package preview_test

import (
	"strings"
	"testing"

	"github.com/kronform/kronform-gen/generator/preview"
)

// A removed object is one Flux deletes, unless kustomize-controller leaves it: its Kustomization has prune: false
// before and after the change, or had it and is gone (its finalizer deletes by the spec it had), or the object is
// annotated kustomize.toolkit.fluxcd.io/prune: disabled. When prune changes in the same change the controller may
// use either spec first, so the object counts as deleted.
func TestDiffSaysWhatFluxLeavesInTheCluster(t *testing.T) {
	apps := func(prune bool, extra ...string) string {
		k := fluxKustomization("apps", "./apps", extra...)
		if !prune {
			k = strings.Replace(k, "  prune: true\n", "  prune: false\n", 1)
		}
		return k
	}
	tree := func(k string, objects ...string) map[string][]byte {
		files := map[string][]byte{"apps/a.yaml": []byte(configMap("a", "x: '1'"))}
		if k != "" {
			files["clusters/c1/apps.yaml"] = []byte(k)
		}
		for i, o := range objects {
			files["apps/"+string(rune('b'+i))+".yaml"] = []byte(o)
		}
		return files
	}
	kept := configMap("kept", "x: '1'")
	kept = strings.Replace(kept, "  namespace: flux-system\n", "  namespace: flux-system\n  annotations:\n    kustomize.toolkit.fluxcd.io/prune: disabled\n", 1)
	// kustomize-controller deletes nothing labelled or annotated prune: disabled, whatever the case of the value. It
	// skips reconcile: disabled and ssa: Ignore too, in the cluster, but does not apply an object that says so either:
	// the object in the cluster may lack it, and then goes.
	marked := func(name, where, key, value string) string {
		return strings.Replace(configMap(name, "x: '1'"), "  namespace: flux-system\n", "  namespace: flux-system\n  "+where+":\n    "+key+": "+value+"\n", 1)
	}
	cases := []struct {
		name     string
		old, new map[string][]byte
		want     map[string]string // key -> KeptInCluster of each removed object
	}{
		{"prune: true", tree(apps(true), configMap("b")), tree(apps(true)),
			map[string]string{"c1/ConfigMap/flux-system/b": ""}},
		{"prune: false on both sides", tree(apps(false), configMap("b")), tree(apps(false)),
			map[string]string{"c1/ConfigMap/flux-system/b": "Kustomization c1/apps has prune: false"}},
		{"prune: false, Kustomization gone", tree(apps(false), configMap("b")), tree(""),
			map[string]string{"c1/ConfigMap/flux-system/a": "Kustomization c1/apps had prune: false, and is gone",
				"c1/ConfigMap/flux-system/b": "Kustomization c1/apps had prune: false, and is gone"}},
		// The finalizer deletes by the deletionPolicy it had: MirrorPrune (the default) follows prune, Delete and
		// WaitForTermination delete whatever prune says, Orphan never deletes.
		{"prune: false, deletionPolicy: Delete, Kustomization gone", tree(apps(false, "deletionPolicy: Delete"), configMap("b")), tree(""),
			map[string]string{"c1/ConfigMap/flux-system/a": "", "c1/ConfigMap/flux-system/b": ""}},
		{"prune: false, deletionPolicy: WaitForTermination, Kustomization gone", tree(apps(false, "deletionPolicy: WaitForTermination"), configMap("b")), tree(""),
			map[string]string{"c1/ConfigMap/flux-system/a": "", "c1/ConfigMap/flux-system/b": ""}},
		{"prune: true, deletionPolicy: Orphan, Kustomization gone", tree(apps(true, "deletionPolicy: Orphan"), configMap("b")), tree(""),
			map[string]string{"c1/ConfigMap/flux-system/a": "Kustomization c1/apps had deletionPolicy: Orphan, and is gone",
				"c1/ConfigMap/flux-system/b": "Kustomization c1/apps had deletionPolicy: Orphan, and is gone"}},
		{"prune: false, deletionPolicy: Delete on both sides", tree(apps(false, "deletionPolicy: Delete"), configMap("b")), tree(apps(false, "deletionPolicy: Delete")),
			map[string]string{"c1/ConfigMap/flux-system/b": "Kustomization c1/apps has prune: false"}},
		{"labelled, or annotated in another case", tree(apps(true),
			marked("l", "labels", "kustomize.toolkit.fluxcd.io/prune", "disabled"),
			marked("r", "annotations", "kustomize.toolkit.fluxcd.io/reconcile", "disabled"),
			marked("s", "annotations", "kustomize.toolkit.fluxcd.io/ssa", "Ignore"),
			marked("u", "annotations", "kustomize.toolkit.fluxcd.io/prune", "Disabled"),
			marked("o", "annotations", "kustomize.toolkit.fluxcd.io/ssa", "IfNotPresent")), tree(apps(true)),
			map[string]string{"c1/ConfigMap/flux-system/l": "it is labelled kustomize.toolkit.fluxcd.io/prune: disabled",
				"c1/ConfigMap/flux-system/r": "",
				"c1/ConfigMap/flux-system/s": "",
				"c1/ConfigMap/flux-system/u": "it is annotated kustomize.toolkit.fluxcd.io/prune: Disabled",
				"c1/ConfigMap/flux-system/o": ""}},
		{"prune turned on", tree(apps(false), configMap("b")), tree(apps(true)),
			map[string]string{"c1/ConfigMap/flux-system/b": ""}},
		{"prune turned off", tree(apps(true), configMap("b")), tree(apps(false)),
			map[string]string{"c1/ConfigMap/flux-system/b": ""}},
		{"annotated", tree(apps(true), kept, configMap("b")), tree(apps(true)),
			map[string]string{"c1/ConfigMap/flux-system/kept": "it is annotated kustomize.toolkit.fluxcd.io/prune: disabled",
				"c1/ConfigMap/flux-system/b": ""}},
	}
	for _, c := range cases {
		changes, err := preview.Diff(buildFiles(t, c.old, preview.Options{}), buildFiles(t, c.new, preview.Options{}), "HEAD", "working tree")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got := map[string]string{}
		for _, ch := range changes {
			if ch.Change != preview.Removed {
				continue
			}
			got[ch.Key] = ch.KeptInCluster
			if note := "# Flux leaves it in the cluster: " + ch.KeptInCluster + "\n"; (ch.KeptInCluster != "") != strings.Contains(ch.Diff, note) {
				t.Errorf("%s: %s: the diff's note does not match %q:\n%s", c.name, ch.Key, ch.KeptInCluster, ch.Diff)
			}
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: removed %v, want %v", c.name, got, c.want)
			continue
		}
		for k, w := range c.want {
			if g, ok := got[k]; !ok || g != w {
				t.Errorf("%s: %s kept %q, want %q", c.name, k, g, w)
			}
		}
		want := 0
		for _, w := range c.want {
			if w != "" {
				want++
			}
		}
		if n := preview.Kept(changes); n != want {
			t.Errorf("%s: Kept = %d, want %d", c.name, n, want)
		}
	}
}

// A user's own Cilium HelmRelease handed to kronform-gen's cilium Kustomization is one object in both trees, so the
// diff lists it changed: but the Kustomization that applied it before prunes what it no longer builds, and may
// reconcile before the new one applies it, which deletes the HelmRelease and uninstalls Cilium. The diff says so,
// unless the old one leaves it in the cluster (annotated prune: disabled, or prune: false on both sides).
func TestDiffSaysWhenAnObjectMovesToAnotherKustomization(t *testing.T) {
	release := helmRelease("helm.toolkit.fluxcd.io/v2", "kube-system", "cilium")
	annotated := strings.Replace(release, "  namespace: kube-system\n", "  namespace: kube-system\n  annotations:\n    kustomize.toolkit.fluxcd.io/prune: disabled\n", 1)
	mine := func(r string, prune bool) map[string][]byte {
		k := fluxKustomization("infra-controllers", "./infrastructure/controllers")
		if !prune {
			k = strings.Replace(k, "  prune: true\n", "  prune: false\n", 1)
		}
		return map[string][]byte{
			"clusters/c1/infrastructure.yaml":         []byte(k),
			"infrastructure/controllers/release.yaml": []byte(r),
			"infrastructure/controllers/other.yaml":   []byte(configMap("other")),
			"clusters/c1/apps.yaml":                   []byte(fluxKustomization("apps", "./apps")),
			"apps/cm.yaml":                            []byte(configMap("apps")),
		}
	}
	handed := func(prune bool) map[string][]byte {
		files := mine("", prune)
		delete(files, "infrastructure/controllers/release.yaml")
		files["clusters/c1/cilium.yaml"] = []byte(fluxKustomization("cilium", "./infrastructure/c1/cilium"))
		files["infrastructure/c1/cilium/helmrelease.yaml"] = []byte(strings.Replace(release, "interval: 10m", "interval: 5m", 1))
		return files
	}
	for _, c := range []struct {
		name     string
		old, new map[string][]byte
		want     string
	}{
		{"pruned by the old one", mine(release, true), handed(true), "c1/infra-controllers"},
		{"annotated prune: disabled first", mine(annotated, true), handed(true), ""},
		{"prune: false on both sides", mine(release, false), handed(false), ""},
	} {
		changes, err := preview.Diff(buildFiles(t, c.old, preview.Options{}), buildFiles(t, c.new, preview.Options{}), "HEAD", "working tree")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var found *preview.ObjectChange
		for i, ch := range changes {
			if ch.Key == "c1/HelmRelease/kube-system/cilium" {
				found = &changes[i]
			}
		}
		if found == nil || found.Change != preview.Changed {
			t.Fatalf("%s: the HelmRelease is not listed changed: %+v", c.name, changes)
		}
		if found.MovedFrom != c.want {
			t.Errorf("%s: MovedFrom = %q, want %q", c.name, found.MovedFrom, c.want)
		}
		note := "# moves from Kustomization c1/infra-controllers to c1/cilium: c1/infra-controllers can prune it before c1/cilium applies it"
		if strings.Contains(found.Diff, note) != (c.want != "") {
			t.Errorf("%s: the diff's note does not match MovedFrom %q:\n%s", c.name, c.want, found.Diff)
		}
	}
}
