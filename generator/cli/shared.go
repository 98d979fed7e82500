package cli

import (
	"fmt"
	"strings"

	"github.com/kronform/kronform-gen/generator/preview"
	"github.com/kronform/kronform-gen/generator/tree"
)

// printShared warns of each object that two Kustomizations of a cluster apply. Flux refuses neither: each applies its
// copy by turns, and the one that stops building the object prunes it while the other still applies it, which for
// a HelmRelease is an uninstall. This is how a cluster meets kronform-gen with a Cilium HelmRelease of its own.
func (a *app) printShared(shared []preview.Shared) {
	for _, s := range shared {
		pruned := "can prune it"
		if s.Kind == "HelmRelease" && s.Group == "helm.toolkit.fluxcd.io" {
			pruned = "can prune it, and helm-controller then uninstalls the release (for Cilium, the CNI: pods lose their network)"
		}
		fmt.Fprintf(a.stderr, "warning: cluster %s: %s is applied by %d Flux Kustomizations (%s): Flux applies their "+
			"copies by turns, each undoing the other, and the one that stops applying it %s. Keep one copy, and do "+
			"not commit both: to remove another without a prune, first add the annotation "+
			"kustomize.toolkit.fluxcd.io/prune: disabled to it and make that live (a commit of its own), then delete it "+
			"(in the same commit as the copy that stays, if that one is new)\n", s.Cluster, s.Object(), len(s.Kustomizations), strings.Join(s.Kustomizations, ", "), pruned)
	}
}

// warnShared builds, after a write, the clusters in which the tree holds a Kustomization kronform-gen did not
// generate (flux bootstrap's, the user's), and warns of the objects one of kronform-gen's Kustomizations applies that
// another applies too: the user's own Cilium HelmRelease, say, of the same name. A cluster of kronform-gen's
// Kustomizations alone shares nothing (their objects are unique by construction) and is not built. A tree that does
// not build warns of nothing here: check and build report it.
func (a *app) warnShared(t *tree.Tree) {
	// A large file no kustomize reads (a disk image beside the tree at a repository's root) is not read whole.
	disk, err := tree.ReadDisk(a.outDir)
	if err != nil {
		return
	}
	files := map[string][]byte{}
	for _, p := range disk.Paths() {
		if disk.Size(p) > tree.ReadWhole && !preview.ManifestName(p) {
			continue
		}
		if b, ok := disk.File(p); ok {
			files[p] = b
		}
	}
	src, err := preview.FromFiles(files)
	if err != nil {
		return
	}
	ks, err := src.Kustomizations()
	if err != nil {
		return
	}
	foreign := map[string]bool{}
	generated := map[string]bool{} // cluster/name of kronform-gen's Kustomizations
	for _, k := range ks {
		if _, ok := t.File(k.File); ok {
			generated[k.ID()] = true
		} else {
			foreign[k.Cluster] = true
		}
	}
	var seeds []preview.Kustomization
	for _, k := range ks {
		if foreign[k.Cluster] {
			seeds = append(seeds, k)
		}
	}
	if len(seeds) == 0 {
		return
	}
	res, _ := src.Build(seeds, preview.Options{})
	var ours []preview.Shared
	for _, s := range preview.SharedObjects(res.Builds) {
		for _, name := range s.Kustomizations {
			if generated[s.Cluster+"/"+name] {
				ours = append(ours, s)
				break
			}
		}
	}
	a.printShared(ours)
}
