package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/kronform/kronform-gen/generator/flux"
	"github.com/kronform/kronform-gen/generator/preview"
	"github.com/kronform/kronform-gen/generator/render"
	"github.com/kronform/kronform-gen/generator/spec"
	"github.com/kronform/kronform-gen/generator/tree"
)

// A cluster folder that holds flux bootstrap's files is applied by Flux on a live cluster: its bootstrap
// Kustomization (clusters/<cluster>/flux-system) reconciles clusters/<cluster> with prune: true, so the
// Kustomizations kronform-gen writes there must keep naming the bootstrap's source, and must not vanish by accident.

// bootstraps are the Flux Kustomizations of the flux-system folders of a tree (paths slash-separated, relative to
// the tree; read gives a file's contents, false for a non-file): where preview.Bootstrap finds a cluster's. A
// cluster's files are read and let go before the next's: flux bootstrap's gotk-components.yaml is large, and a fleet
// has one in every cluster.
//
// repositoryPath is where the tree lies in the repository Flux follows (the spec's): bootstrap's spec.path is read
// from that repository's root, and one outside the tree is kept (Outside set) for bootstrapPathProblems to report.
func bootstraps(paths []string, read func(string) ([]byte, bool), repositoryPath string) ([]preview.Kustomization, error) {
	byFolder := map[string][]string{}
	for _, p := range paths {
		if parts := strings.Split(p, "/"); len(parts) > 3 && parts[0] == spec.ClustersDir && parts[2] == render.BootstrapDir {
			byFolder[parts[1]] = append(byFolder[parts[1]], p)
		}
	}
	var out []preview.Kustomization
	var errs []error
	for _, folder := range slices.Sorted(maps.Keys(byFolder)) {
		files := map[string][]byte{}
		for _, p := range byFolder[folder] {
			if b, ok := read(p); ok {
				files[p] = b
			}
		}
		src, err := preview.FromFiles(files)
		if err != nil {
			return nil, err
		}
		src.SetRepositoryPath(repositoryPath)
		ks, err := src.Kustomizations()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, ks...)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// bootstrapPathProblems are the clusters whose flux bootstrap applies their folder by another path from the
// repository's root than the spec's repositoryPath and flux.path make: kustomize-controller resolves every spec.path
// from that root, so the Kustomizations kronform-gen writes there would name folders Flux cannot find (or, the
// bootstrap unrecognised, no guard of a live cluster would hold). byCluster holds bootstraps' Kustomizations.
func bootstrapPathProblems(m *spec.Model, byCluster map[string][]preview.Kustomization) spec.Problems {
	var problems spec.Problems
	for i, c := range m.Clusters {
		folder := path.Base(c.Flux.Path)
		if _, ok := preview.Bootstrap(folder, byCluster[folder]); ok {
			continue
		}
		if k, prefix, ok := liveBootstrap(folder, byCluster[folder]); ok {
			hint := "write repositoryPath: " + prefix
			if prefix == "" {
				hint = "leave repositoryPath out"
			}
			problems = append(problems, m.Problem("repositoryPath", hint,
				"%s applies ./%s: the tree is %s of the repository Flux follows, not %s, and Flux would find none of the folders the Kustomizations in %s name",
				k.File, appliedPath(k), treeIn(prefix), treeIn(m.RepositoryPath), c.Flux.Path))
			continue
		}
		for _, k := range byCluster[folder] {
			if !k.FromBootstrap(folder) {
				continue
			}
			applied := appliedPath(k)
			problems = append(problems, m.Problem(fmt.Sprintf("clusters[%d].flux.path", i),
				"bootstrap the cluster again with --path "+path.Join(m.RepositoryPath, c.Flux.Path),
				"%s applies ./%s, which is not this cluster's folder (%s in the repository Flux follows): Flux does not apply what kronform-gen writes there",
				k.File, applied, path.Join(m.RepositoryPath, c.Flux.Path)))
			break
		}
	}
	return problems
}

// liveBootstrap is flux bootstrap's Kustomization for the cluster folder clusters/<folder> among bootstraps' ones,
// from whichever folder of the repository it applies it: one declared in the folder's flux-system/, from a
// GitRepository, whose spec.path is the cluster folder under some prefix. That prefix is where the bootstrap takes
// the tree to lie in the repository Flux follows ("" for its root). preview.Bootstrap recognises only the spec's
// repositoryPath; the guards of what Flux does on a live cluster use this, so that a repositoryPath changed in the
// same change (or written wrong) cannot hide a live cluster from them.
func liveBootstrap(folder string, ks []preview.Kustomization) (k preview.Kustomization, prefix string, ok bool) {
	dir := spec.ClustersDir + "/" + folder
	for _, k := range ks {
		if !k.FromBootstrap(folder) {
			continue
		}
		if prefix, ok := strings.CutSuffix("/"+appliedPath(k), "/"+dir); ok {
			return k, strings.TrimPrefix(prefix, "/"), true
		}
	}
	return preview.Kustomization{}, "", false
}

// appliedPath is a Kustomization's spec.path as kustomize-controller resolves it, from the repository's root and
// without ./ (an absolute path is taken from the root too).
func appliedPath(k preview.Kustomization) string {
	return strings.Trim(path.Clean("/"+k.Spec.Path), "/")
}

// treeIn names where a tree lies in a repository, for messages.
func treeIn(repositoryPath string) string {
	if repositoryPath == "" {
		return "the root"
	}
	return "the folder " + repositoryPath
}

// diskBootstraps reads the flux-system folders of the tree at a.outDir, and nothing else of it.
func (a *app) diskBootstraps(repositoryPath string) ([]preview.Kustomization, error) {
	entries, err := tree.Entries(a.outDir, []string{spec.ClustersDir})
	if err != nil {
		return nil, fail(ExitUsage, "reading %s: %v", a.outDir, err)
	}
	files := tree.Files(a.outDir)
	ks, err := bootstraps(entries, func(p string) ([]byte, bool) {
		b, err := fs.ReadFile(files, p)
		return b, err == nil
	}, repositoryPath)
	if err != nil {
		return nil, fail(ExitUsage, "reading flux bootstrap's files in %s: %v", a.outDir, err)
	}
	return ks, nil
}

// sourceProblems are the clusters whose generated Kustomizations name another source than the one flux bootstrap
// made for their folder (flux.namespace or flux.gitRepository changed, or the folder bootstrapped with other names):
// Flux would find no such source and apply nothing of them. Each is positioned at the spec field to change.
func sourceProblems(m *spec.Model, t *tree.Tree, boot []preview.Kustomization) (spec.Problems, error) {
	if len(boot) == 0 {
		return nil, nil
	}
	// Indexed once: a fleet has a bootstrap and a folder of Kustomizations per cluster, and a search of the whole tree
	// for each made a fleet's every generate quadratic in its size.
	byCluster := map[string][]preview.Kustomization{}
	for _, k := range boot {
		byCluster[k.Cluster] = append(byCluster[k.Cluster], k)
	}
	inFolder := map[string]map[string][]byte{}
	for _, p := range t.Paths() {
		dir := path.Dir(p)
		if path.Dir(dir) != spec.ClustersDir || len(byCluster[path.Base(dir)]) == 0 {
			continue
		}
		if inFolder[dir] == nil {
			inFolder[dir] = map[string][]byte{}
		}
		inFolder[dir][p], _ = t.File(p)
	}
	problems := bootstrapPathProblems(m, byCluster)
	for i, c := range m.Clusters {
		folder := path.Base(c.Flux.Path)
		b, ok := preview.Bootstrap(folder, byCluster[folder])
		if !ok {
			continue
		}
		own := b.Source()
		files := inFolder[c.Flux.Path]
		if files == nil {
			files = map[string][]byte{}
		}
		src, err := preview.FromFiles(files)
		if err != nil {
			return nil, err
		}
		generated, err := src.Kustomizations()
		if err != nil {
			return nil, err
		}
		var names, namespaces []string
		for _, k := range generated {
			ref := k.Source()
			if ref.Kind != own.Kind || ref.Name != own.Name {
				names = append(names, k.Name)
			}
			if ref.Namespace != own.Namespace {
				namespaces = append(namespaces, k.Name)
			}
		}
		at := fmt.Sprintf("clusters[%d].flux.", i)
		why := fmt.Sprintf("%s applies %s from %s, and Flux would find no source for Kustomizations naming another",
			b.File, c.Flux.Path, own)
		if len(names) > 0 {
			problems = append(problems, m.Problem(at+"gitRepository",
				fmt.Sprintf("write gitRepository: %s, or bootstrap the cluster again with the new name first", own.Name),
				"%q is not the GitRepository flux bootstrap made for this cluster: %s", c.Flux.GitRepository, why))
		}
		if len(namespaces) > 0 {
			problems = append(problems, m.Problem(at+"namespace",
				fmt.Sprintf("write namespace: %s, or bootstrap the cluster again in the new namespace first", own.Namespace),
				"%q is not the namespace of the GitRepository flux bootstrap made for this cluster: %s", c.Flux.Namespace, why))
		}
	}
	return problems.Sorted(), nil
}

// pruneGuard refuses to remove what kronform-gen wrote into a bootstrapped cluster folder that the spec no longer
// generates (the cluster removed or renamed, or its flux.path changed): the cluster's Flux would prune every
// Kustomization it applied, and with them Cilium (the CNI), the host policies and the Secrets. allowed names the
// folders (clusters/<folder>) whose pruning the user asked for; moved those where it lets a release move (releaseMoves).
func (a *app) pruneGuard(m *spec.Model, t *tree.Tree, boot []preview.Kustomization, allowed, moved []string) error {
	owned, err := tree.ReadOwned(a.outDir)
	if err != nil {
		return nil // the write refuses a damaged record, and prunes nothing
	}
	kept := map[string]bool{}
	for _, c := range m.Clusters {
		kept[c.Flux.Path] = true
	}
	// The owned files directly in each cluster folder that the spec no longer generates: the Flux Kustomizations.
	gone := map[string][]string{}
	for _, p := range slices.Sorted(maps.Keys(owned.Files)) {
		dir := path.Dir(p)
		if path.Dir(dir) != spec.ClustersDir || kept[dir] {
			continue
		}
		if _, still := t.File(p); !still {
			gone[path.Base(dir)] = append(gone[path.Base(dir)], p)
		}
	}
	var blocks, refused, syncFiles, suspends []string
	for _, folder := range slices.Sorted(maps.Keys(gone)) {
		b, _, ok := liveBootstrap(folder, boot)
		if !ok {
			continue // Flux does not apply the folder from this tree
		}
		if b.Spec.Suspend || !b.Spec.Prune {
			a.noteUnfollowedHold(m, folder, b, gone[folder]) // deletes nothing when it empties, if that is live
			continue
		}
		if slices.Contains(allowed, folder) {
			fmt.Fprintf(a.stderr, "note: --allow-prune=%s: Flux on that cluster will delete what %s applied\n", folder,
				strings.Join(gone[folder], ", "))
			continue
		}
		blocks = append(blocks, a.pruned(folder, b, gone[folder]))
		refused = append(refused, folder)
		syncFiles = append(syncFiles, b.File)
		if s := "flux suspend kustomization " + b.Name + " -n " + b.Namespace; !slices.Contains(suspends, s) {
			suspends = append(suspends, s)
		}
	}
	for _, folder := range allowed {
		if _, ok := gone[folder]; !ok && !slices.Contains(moved, folder) {
			fmt.Fprintf(a.stderr, "note: --allow-prune=%s: nothing kronform-gen wrote in %s/%s is removed\n", folder, spec.ClustersDir, folder)
		}
	}
	if len(blocks) == 0 {
		return nil
	}
	dirs := make([]string, len(refused))
	bootDirs := make([]string, len(refused))
	for i, f := range refused {
		dirs[i] = spec.ClustersDir + "/" + f
		bootDirs[i] = dirs[i] + "/" + render.BootstrapDir + "/"
	}
	// The refusal reads flux bootstrap's files in this tree, not the cluster; and kustomize-controller prunes with the
	// spec it had before it applied a revision, so a suspend or prune: false in the same change deletes all the same.
	// Flux applies a folder flux bootstrap points it at with prune: true, at whatever revision it holds then: unless
	// the folder holds bootstrap's files and the Kustomizations already, Flux prunes them (and itself).
	// TestFluxKeepsTheKustomizationsOfAMovedClusterFolder walks both orders with Flux's controllers.
	return fail(ExitUsage, "%s\nTo rename a cluster, keep its old flux.path (%s) in the spec: Flux goes on applying the "+
		"same Kustomizations from that folder. To move the folder, set prune: false in %s and make that live first (a "+
		"commit of its own); then, in one commit, change flux.path, generate, and copy %s into the new folder with the "+
		"new path in its gotk-sync.yaml; then run flux bootstrap at the new folder, and delete the old one. Never "+
		"bootstrap at a folder that does not hold bootstrap's files and the Kustomizations already: Flux would apply "+
		"it without them, and prune them. To decommission the cluster, either run flux uninstall on it (what Flux "+
		"applied stays) and delete %s in this change; or set suspend: true (or prune: false) in %s and make it live "+
		"before this change lands (%s, or a commit of its own), since Flux prunes by the settings it had before the "+
		"change; or pass --allow-prune=%s to let Flux delete all of the above. generate reads these files, not the "+
		"cluster: flux suspend or flux uninstall alone does not lift this refusal. Nothing was written.", strings.Join(blocks, "\n"),
		strings.Join(dirs, ", "), strings.Join(syncFiles, ", "), strings.Join(bootDirs, ", "), strings.Join(bootDirs, ", "),
		strings.Join(syncFiles, ", "),
		strings.Join(suspends, "; "), strings.Join(refused, ","))
}

// noteUnfollowedHold warns when what lets a cluster folder's removal through (suspend: true or prune: false in flux
// bootstrap's Kustomization, b) is in this tree but not in the one Flux follows (its branch as this clone last
// fetched it, see baselines): kustomize-controller prunes by the settings it had before it applied the revision that
// empties the folder, so unless the hold is live on the cluster already (flux suspend, or a commit Flux applied
// first), Flux deletes what files applied. generate cannot see the cluster, so it says so and goes on: the refusal
// it lifts names both ways to make the hold live.
func (a *app) noteUnfollowedHold(m *spec.Model, folder string, b preview.Kustomization, files []string) {
	src := b.Source()
	c := spec.Cluster{Name: folder, Flux: spec.Flux{Path: spec.ClustersDir + "/" + folder, Namespace: src.Namespace, GitRepository: src.Name}}
	bases, err := a.baselines(&spec.Model{Spec: spec.Spec{Clusters: []spec.Cluster{c}}})
	if err != nil || len(bases) != 1 || bases[0].label == "in "+a.outDir {
		return // no git repository: the tree on disk is all there is to judge by
	}
	base := bases[0]
	dir := path.Dir(b.File)
	there, err := base.files(dir)
	if err != nil || len(there) == 0 {
		return // the clone does not have flux bootstrap's files at that reference: nothing to compare with
	}
	ks, err := bootstraps(slices.Sorted(maps.Keys(there)), func(p string) ([]byte, bool) {
		data, ok := there[p]
		return data, ok
	}, m.RepositoryPath)
	if err != nil {
		return
	}
	followed, _, ok := liveBootstrap(folder, ks)
	if !ok || followed.Spec.Suspend || !followed.Spec.Prune {
		return
	}
	hold := "suspend: true"
	if !b.Spec.Suspend {
		hold = "prune: false"
	}
	// Flux following a tag applies a commit when the tag moves to it: pushing the branch alone does not bring it.
	first := "commit and push the " + hold + " on its own first"
	if base.tag != "" {
		first = fmt.Sprintf("commit the %s on its own first, move the tag %s to that commit and push it", hold, base.tag)
	}
	fmt.Fprintf(a.stderr, "warning: %s/%s: %s says %s, but not %s (%s): unless it is live on the cluster already (flux "+
		"suspend kustomization %s -n %s), Flux prunes by the settings it has when this change lands, and deletes what %s "+
		"applied; %s, and let Flux apply it\n", spec.ClustersDir, folder, b.File,
		hold, base.label, base.why, b.Name, b.Namespace, strings.Join(files, ", "), first)
}

// pruned words what Flux on a bootstrapped cluster deletes when the given Kustomization files disappear from its
// folder: the objects their builds apply, from the tree as it stands.
func (a *app) pruned(folder string, b preview.Kustomization, files []string) string {
	var out strings.Builder
	fmt.Fprintf(&out, "refusing to remove the Flux Kustomizations in %s/%s/: no cluster of the spec has that flux.path "+
		"any more, but flux bootstrap's %s applies the folder on a live cluster with prune: true, and Flux there "+
		"would delete:", spec.ClustersDir, folder, b.File)
	var builds []*preview.Build
	if src, err := preview.FromDir(a.outDir); err == nil {
		if ks, err := src.Kustomizations(); err == nil {
			res, _ := src.Build(ks, preview.Options{Cluster: folder})
			builds = res.Builds
		}
	}
	for _, f := range files {
		fmt.Fprintf(&out, "\n  %s:", f)
		i := slices.IndexFunc(builds, func(b *preview.Build) bool { return b.File == f })
		if i < 0 {
			out.WriteString(" (does not build: what it applied is unknown)")
			continue
		}
		var objects []string
		for _, r := range builds[i].Resources {
			o := r.GetKind() + " " + strings.TrimPrefix(r.GetNamespace()+"/"+r.GetName(), "/")
			if r.GetKind() == "HelmRelease" && r.GetName() == flux.ReleaseName {
				o += " (Cilium, the CNI: uninstalled, pods lose their network)"
			}
			objects = append(objects, o)
		}
		fmt.Fprintf(&out, " Kustomization %s/%s, %s", builds[i].Namespace, builds[i].Name, strings.Join(objects, ", "))
	}
	return out.String()
}

// releaseMoves are the bootstrapped clusters whose Cilium HelmRelease this change moves to another namespace
// (cilium.namespace changed): the cilium Kustomization applies the new one and prunes the one Flux applies now, and
// helm-controller uninstalls that release, Cilium (the CNI) with it, while the new release cannot install beside it
// (the cluster-wide objects belong to the old one until it is gone). Each is positioned at cilium.namespace; allowed
// names the folders (clusters/<folder>) where the user let Flux prune; moved are those of them where a release moves.
func (a *app) releaseMoves(m *spec.Model, steps []transition, boot []preview.Kustomization, allowed []string) (spec.Problems, []string) {
	var problems spec.Problems
	var moved []string
	for _, t := range steps {
		if t.reinstall != nil {
			problems = append(problems, a.reinstalls(m, t, boot, allowed)...)
			continue
		}
		if t.newRelease || t.releaseErr != nil || t.namespace[0] == t.namespace[1] {
			continue
		}
		c := m.Clusters[t.cluster]
		folder := path.Base(c.Flux.Path)
		b, ok := preview.Bootstrap(folder, boot)
		if !ok {
			continue // no live cluster applies the folder from this tree
		}
		// Not even a suspended bootstrap Kustomization keeps it: the cilium Kustomization it applied reconciles on its own.
		old := t.namespace[0] + "/" + flux.ReleaseName
		if slices.Contains(allowed, folder) {
			fmt.Fprintf(a.stderr, "note: --allow-prune=%s: Flux on that cluster will delete HelmRelease %s, and helm-controller "+
				"uninstalls Cilium with it\n", folder, old)
			moved = append(moved, folder)
			continue
		}
		problems = append(problems, m.Problem(fmt.Sprintf("clusters[%d].cilium.namespace", t.cluster),
			fmt.Sprintf("keep namespace: %s; moving Cilium is a reinstall, not a Flux change; or pass --allow-prune=%s to let Flux do it", t.namespace[0], folder),
			"%q moves the Cilium HelmRelease out of %s, where Flux applies it now (read %s): flux bootstrap's %s applies %s on "+
				"a live cluster, and its cilium Kustomization would prune HelmRelease %s, so helm-controller uninstalls Cilium (the "+
				"CNI: pods lose their network) while the release in %s cannot install beside it", c.Cilium.Namespace, t.namespace[0],
			t.base.label, b.File, c.Flux.Path, old, c.Cilium.Namespace))
	}
	return problems.Sorted(), moved
}

// reinstalls refuses the takeover of a HelmRelease of the user's whose Helm release target is not kronform-gen's
// (see releaseTarget) on a bootstrapped cluster, as releaseMoves refuses a move of kronform-gen's own: once
// kronform-gen's replaces the object, helm-controller uninstalls the release it tracked (Cilium, the CNI) before it
// installs kronform-gen's. --allow-prune names the clusters where the user lets that happen.
func (a *app) reinstalls(m *spec.Model, t transition, boot []preview.Kustomization, allowed []string) spec.Problems {
	c := m.Clusters[t.cluster]
	folder := path.Base(c.Flux.Path)
	if _, ok := preview.Bootstrap(folder, boot); !ok {
		return nil
	}
	if slices.Contains(allowed, folder) {
		fmt.Fprintf(a.stderr, "note: --allow-prune=%s: helm-controller on that cluster will uninstall your Cilium release and "+
			"install kronform-gen's\n", folder)
		return nil
	}
	return spec.Problems{m.Problem(fmt.Sprintf("clusters[%d].cilium", t.cluster),
		fmt.Sprintf("plan the reinstall, as pods have no network until kronform-gen's Cilium runs, and pass --allow-prune=%s "+
			"to let Flux do it", folder),
		"taking over your HelmRelease %s/%s (read %s: Kustomization %s) is a reinstall of Cilium on a live cluster, not a Flux "+
			"change: its Helm release is not kronform-gen's (%s), so once kronform-gen's replaces the object, helm-controller "+
			"finds the release target changed and uninstalls your release (Cilium, the CNI: pods lose their network) before it "+
			"installs kronform-gen's", c.Cilium.Namespace, flux.ReleaseName, t.base.label, t.reinstall.by, t.reinstall.reinstall)}
}

// pruneFolders reads --allow-prune's values as the folders under clusters/ they name: a value may also be written as
// the folder's path (clusters/alpha, ./clusters/alpha/), as the refusal prints it.
func pruneFolders(values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		v = strings.TrimSuffix(strings.TrimPrefix(v, "./"), "/")
		out[i] = strings.TrimPrefix(v, spec.ClustersDir+"/")
	}
	return out
}
