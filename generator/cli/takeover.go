package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/kronform/kronform-gen/generator/cilium"
	"github.com/kronform/kronform-gen/generator/flux"
	"github.com/kronform/kronform-gen/generator/preview"
	"github.com/kronform/kronform-gen/generator/render"
	"github.com/kronform/kronform-gen/generator/spec"
	"github.com/kronform/kronform-gen/generator/tree"
)

// A repository that Flux ran before kronform-gen may already apply a Cilium HelmRelease of the user's under the
// namespace and name kronform-gen's takes (cilium.namespace/cilium). kronform-gen's then replaces that object, and
// helm-controller upgrades the release it manages to the spec's chart and values: the user's release is the "before"
// of the transition, as kronform-gen's own would be. It is found by building, at the baseline, what the cluster's
// Flux Kustomizations apply (preview: kustomize and postBuild, as kustomize-controller does; SOPS files stay
// encrypted), and only where the cluster is bootstrapped there and kronform-gen's release is new to it.

// takeover is a HelmRelease of the user's that Flux applies now under the namespace and name of kronform-gen's Cilium
// release, read as the release before the change.
type takeover struct {
	id    string // its namespace/name
	by    string // the Kustomization that applies it, and its path: "flux-system/infra, path ./infrastructure"
	chart string // its chart version, as a version or range kronform-gen models
	// values are its values as helm-controller merges them: the entries of its valuesFrom that this run reads (see
	// readValuesFrom), in order, then its spec.values. readFrom names those entries ("ConfigMap/cilium-values");
	// unreadFrom the others, each with why ("ConfigMap/cilium-values: ..."), which helm-controller reads in the
	// cluster. settled are the values merged after the last of those (its spec.values among them): what none of them
	// can change. secret are the dotted keys whose value was substituted from a Secret (postBuild) or is SOPS
	// ciphertext, which this run does not decrypt.
	values     map[string]any
	readFrom   []string
	unreadFrom []string
	settled    map[string]any
	secret     []string
	dropped    []string // the dotted keys of values that the spec's release does not set (see transitions)
	// suspended names the Kustomization it is read from when that one is suspended (see readUserReleases).
	suspended string
	// reinstall, when set, says how the Helm release it manages differs from kronform-gen's (see releaseTarget): then
	// helm-controller uninstalls it and installs kronform-gen's, and nothing else of it is read.
	reinstall string
	// unreadable, when set, says why none of the settings its agents run can be read, although its chart version can
	// (helm-controller adds to the file's values: see readTakeover); unknownSettings gives it.
	unreadable string
}

// userRelease is what looking for a cluster's takeover found: the release, or why what Flux applies could not be
// read ("" when the tree applies no such release, or the cluster is not bootstrapped there). mayApply says that
// whether Flux applies such a release at all is what could not be read (a build that fails, one Flux builds from
// elsewhere): there may be none. chart is the version read of a release found whose settings cannot be read.
type userRelease struct {
	found    *takeover
	why      string
	mayApply bool
	chart    string
	// refuse, when set, says why generate must not write the tree at all: kustomize-controller does not apply the
	// release as the file has it, and would not apply kronform-gen's in its place either (see kustomizeMark).
	refuse string
}

// userReleases looks, for the clusters named by want (indexes of m.Clusters whose Cilium release is new to the
// baseline), for a HelmRelease of the user's that Flux applies now under cilium.namespace/cilium. A cluster counts
// only when flux bootstrap's Kustomization for its folder is in the baseline: Flux then runs there from this tree.
// Each tree is read and built once, for all the clusters whose baselines read it that need it (by a few at a time);
// a fleet whose releases are all kronform-gen's already asks for none.
func userReleases(m *spec.Model, bases []*baseline, want []int) map[int]userRelease {
	out := map[int]userRelease{}
	groups := map[string][]int{} // by the tree the baselines read
	var order []*baseline        // the first baseline of each tree
	for _, i := range want {
		base := bases[i]
		if base.all == nil {
			continue
		}
		if groups[base.tree] == nil {
			order = append(order, base)
		}
		groups[base.tree] = append(groups[base.tree], i)
	}
	for _, base := range order {
		for i, r := range base.userReleases(m, groups[base.tree]) {
			out[i] = r
		}
	}
	return out
}

// bootstrappedAt says whether the tree holds flux bootstrap's Kustomization for the cluster's folder: only the files
// directly in its flux-system folder are read (files gives them).
func bootstrappedAt(c spec.Cluster, files func(dir string) (map[string][]byte, error), repositoryPath string) bool {
	dir, err := files(path.Join(c.Flux.Path, render.BootstrapDir))
	if err != nil || len(dir) == 0 {
		return false
	}
	ks, err := bootstraps(slices.Sorted(maps.Keys(dir)), func(p string) ([]byte, bool) {
		b, ok := dir[p]
		return b, ok
	}, repositoryPath)
	if err != nil {
		return false
	}
	_, ok := preview.Bootstrap(path.Base(c.Flux.Path), ks)
	return ok
}

// treeRepositoryPath is where the baseline's tree lies in the repository Flux follows: as its ownership record says,
// or, in a tree kronform-gen has not written yet, as the spec says.
func treeRepositoryPath(base *baseline, repositoryPath string) string {
	if _, err := base.read(tree.OwnedFile); err == nil {
		return base.repositoryPath()
	}
	return repositoryPath
}

// userReleases builds what the baseline's Flux Kustomizations apply for the clusters (indexes of m.Clusters) and
// reads the HelmRelease cilium.namespace/cilium each applies. Builds that fail are named, never their errors' text: a
// Kustomization of the user's may hold SOPS-encrypted Secrets, which are not decrypted here, and no value is printed.
// Finding the Kustomizations reads files whose errors preview redacts: those are given, so the file can be repaired.
func (b *baseline) userReleases(m *spec.Model, clusters []int) map[int]userRelease {
	out := map[int]userRelease{}
	fail := func(why string) map[int]userRelease {
		for _, i := range clusters {
			out[i] = userRelease{why: why, mayApply: true}
		}
		return out
	}
	repositoryPath := treeRepositoryPath(b, m.RepositoryPath)
	files, err := b.all()
	if err != nil {
		clusters = slices.DeleteFunc(clusters, func(i int) bool { return !bootstrappedAt(m.Clusters[i], b.files, repositoryPath) })
		return fail(fmt.Sprintf("the tree %s cannot be read", b.label))
	}
	if !mayHoldHelmRelease(files) {
		return out
	}
	files = withoutFluxCRDs(files)
	// The folders are looked up in one pass: a fleet's tree holds thousands of files.
	byDir := map[string]map[string][]byte{}
	for p, data := range files {
		if path.Base(path.Dir(p)) == render.BootstrapDir {
			if byDir[path.Dir(p)] == nil {
				byDir[path.Dir(p)] = map[string][]byte{}
			}
			byDir[path.Dir(p)][p] = data
		}
	}
	dirFiles := func(dir string) (map[string][]byte, error) { return byDir[dir], nil }
	clusters = slices.DeleteFunc(clusters, func(i int) bool { return !bootstrappedAt(m.Clusters[i], dirFiles, repositoryPath) })
	if len(clusters) == 0 {
		return out
	}
	src, err := preview.FromFiles(files)
	if err != nil {
		return fail(fmt.Sprintf("the tree %s cannot be read", b.label))
	}
	src.SetRepositoryPath(repositoryPath)
	ks, err := src.Kustomizations()
	if err != nil {
		// preview's error names the file and why, a file that may hold a Secret redacted: the user repairs it.
		return fail(fmt.Sprintf("the Flux Kustomizations %s cannot be read (%s)", b.label, strings.ReplaceAll(err.Error(), "\n", "; ")))
	}
	// A few clusters at a time: a build holds every object of a cluster (flux bootstrap's CRDs among them), and the
	// whole fleet's at once, on a first generate in a repository Flux already runs, would hold them all.
	for chunk := range slices.Chunk(clusters, takeoverBatch) {
		if err := readUserReleases(src, ks, m, chunk, b.label, files, out); err != nil {
			return fail(fmt.Sprintf("what Flux applies %s cannot be built", b.label))
		}
	}
	return out
}

// mayHoldHelmRelease says whether a build of the tree can hold a HelmRelease at all, before it is built: kustomize
// writes an object's kind only as a file holds it, so some file names the kind, or a kustomization names a resource,
// base or component that the tree lacks (a remote one, which is not fetched here: its build fails, and the note says
// so), or a Flux Kustomization may be built from elsewhere (another source, a path outside the tree: not read here,
// and the note says so). flux bootstrap's gotk-components.yaml (Flux's CRDs name the kind) is not read for it: flux
// bootstrap writes, and rewrites, Flux's own components alone there, as warnShared takes it; nor is its
// gotk-sync.yaml, whose Kustomization applies the cluster folder from the repository itself. A repository Flux runs holds flux
// bootstrap's files for every cluster, and until kronform-gen's release is pushed, every generate looks here.
func mayHoldHelmRelease(files map[string][]byte) bool {
	dirs := map[string]bool{}
	for p := range files {
		for d := path.Dir(p); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	names := konfig.RecognizedKustomizationFileNames()
	for p, data := range files {
		if bootstrapComponents(p) {
			continue
		}
		if bytes.Contains(data, []byte("HelmRelease")) ||
			bytes.Contains(data, []byte("kustomize.toolkit.fluxcd.io")) && !bootstrapSync(p) ||
			slices.Contains(names, path.Base(p)) && namesAbsent(p, data, files, dirs) {
			return true
		}
	}
	return false
}

// namesAbsent says whether a kustomization file names, as a resource, base or component, what the tree does not hold
// (a URL, a remote base, a path outside the tree or missing); a file that cannot be read as one counts as naming one.
func namesAbsent(file string, data []byte, files map[string][]byte, dirs map[string]bool) bool {
	var k struct {
		Resources  []string `json:"resources"`
		Bases      []string `json:"bases"`
		Components []string `json:"components"`
	}
	if yaml.Unmarshal(data, &k) != nil {
		return true
	}
	for _, r := range slices.Concat(k.Resources, k.Bases, k.Components) {
		p := path.Join(path.Dir(file), r)
		if _, ok := files[p]; !ok && !dirs[p] && p != "." || strings.Contains(r, "://") {
			return true
		}
	}
	return false
}

// bootstrapComponents says whether a file of the tree is flux bootstrap's gotk-components.yaml.
func bootstrapComponents(p string) bool {
	return strings.HasSuffix("/"+p, "/"+render.BootstrapDir+"/gotk-components.yaml")
}

// bootstrapSync says whether a file of the tree is flux bootstrap's gotk-sync.yaml.
func bootstrapSync(p string) bool {
	return strings.HasSuffix("/"+p, "/"+render.BootstrapDir+"/gotk-sync.yaml")
}

// withoutFluxCRDs is the tree with the CustomResourceDefinitions left out of flux bootstrap's gotk-components.yaml:
// nearly all of its bytes (the real file is close to a megabyte), which a build of each bootstrapped cluster's folder
// would parse again, and none of which a HelmRelease of the user's, a Kustomization or a postBuild source is. The
// rest of the file stays, for the patches flux-system's kustomization.yaml may apply to Flux's Deployments. The
// files given are not changed.
func withoutFluxCRDs(files map[string][]byte) map[string][]byte {
	out := make(map[string][]byte, len(files))
	for p, data := range files {
		if bootstrapComponents(p) {
			data = withoutCRDs(data)
		}
		out[p] = data
	}
	return out
}

// withoutCRDs drops the YAML documents of a multi-document file whose kind, at column 0 as flux bootstrap writes it,
// is CustomResourceDefinition; every other document is kept, byte for byte.
func withoutCRDs(data []byte) []byte {
	var out []byte
	start, crd := 0, false
	for i := 0; i < len(data); {
		next := len(data)
		if j := bytes.IndexByte(data[i:], '\n'); j >= 0 {
			next = i + j + 1
		}
		line := bytes.TrimRight(data[i:next], " \t\r\n")
		if rest, ok := bytes.CutPrefix(line, []byte("---")); ok && (len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t') && i > start {
			if !crd {
				out = append(out, data[start:i]...)
			}
			start, crd = i, false
		} else if string(line) == "kind: CustomResourceDefinition" {
			crd = true
		}
		i = next
	}
	if !crd {
		out = append(out, data[start:]...)
	}
	return out
}

// takeoverBatch is how many clusters userReleases builds at once: enough to keep every core busy.
const takeoverBatch = 8

// readUserReleases builds what the Kustomizations ks apply for the clusters (indexes of m.Clusters) and records the
// release each applies in out; an error that is no Kustomization's own fails them all. files are the tree's files,
// in which a mark on the release (kustomizeMark) is looked for, to name the file that sets it.
func readUserReleases(src *preview.Source, ks []preview.Kustomization, m *spec.Model, clusters []int, label string,
	files map[string][]byte, out map[int]userRelease) error {
	folders := map[string]bool{}
	for _, i := range clusters {
		folders[path.Base(m.Clusters[i].Flux.Path)] = true
	}
	var seeds []preview.Kustomization
	for _, k := range ks {
		if folders[k.Cluster] {
			seeds = append(seeds, k)
		}
	}
	// kustomize-controller returns early for a suspended Kustomization and deletes nothing it applied: if it ever ran,
	// what it holds is in the cluster, run by the other controllers, and the Kustomizations it declared reconcile on
	// their own. So a suspended one is built as if resumed, with all it declares (as diff builds one suspended on one
	// side only), round by round as its build declares more.
	var opts preview.Options
	res, err := src.Build(seeds, opts)
	for {
		var more []string
		for _, s := range res.Skipped {
			if s.Spec.Suspend && !slices.Contains(opts.Resume, s.ID()) {
				more = append(more, s.ID())
			}
		}
		if len(more) == 0 {
			break
		}
		opts.Resume = append(opts.Resume, more...)
		res, err = src.Build(seeds, opts)
	}
	names := map[string]string{} // namespace/name by ID
	byID := map[string]preview.Kustomization{}
	for _, k := range res.Kustomizations {
		names[k.ID()] = k.Namespace + "/" + k.Name
		byID[k.ID()] = k
	}
	failed := map[string][]string{} // by cluster folder: the Kustomizations that do not build
	// elsewhere, by cluster folder: the Kustomizations Flux builds from elsewhere than this tree (another source, a path
	// outside it), which may apply the release as well as a build that fails. Every suspended one was resumed above:
	// one skipped still is built from elsewhere.
	elsewhere := map[string][]string{}
	for _, s := range res.Skipped {
		elsewhere[s.Cluster] = append(elsewhere[s.Cluster], string(preview.MaskPlaceholders([]byte(
			fmt.Sprintf("%s/%s (%s)", s.Namespace, s.Name, s.Reason)))))
	}
	for _, e := range unjoin(err) {
		var be *preview.Error
		if errors.As(e, &be) {
			folder, name, _ := strings.Cut(be.ID, "/")
			if n, ok := names[be.ID]; ok {
				name = n
			}
			failed[folder] = append(failed[folder], string(preview.MaskPlaceholders([]byte(name))))
		} else if e != nil {
			return e
		}
	}
	for _, i := range clusters {
		c := m.Clusters[i]
		folder := path.Base(c.Flux.Path)
		var copies []*preview.Build
		var objects []*resource.Resource
		for _, bd := range res.Builds {
			if bd.Cluster != folder || appliedElsewhere(bd.Kustomization, byID) {
				continue
			}
			for _, r := range bd.Resources {
				if r.GetKind() == "HelmRelease" && strings.HasPrefix(r.GetApiVersion(), "helm.toolkit.fluxcd.io/") &&
					r.GetNamespace() == c.Cilium.Namespace && r.GetName() == flux.ReleaseName {
					copies, objects = append(copies, bd), append(objects, r)
				}
			}
		}
		// A copy applied now is what helm-controller runs, whatever a suspended one last applied.
		if slices.ContainsFunc(copies, func(bd *preview.Build) bool { return !bd.Spec.Suspend }) {
			for j := len(copies) - 1; j >= 0; j-- {
				if copies[j].Spec.Suspend {
					copies, objects = slices.Delete(copies, j, j+1), slices.Delete(objects, j, j+1)
				}
			}
		}
		id := c.Cilium.Namespace + "/" + flux.ReleaseName
		switch {
		case len(copies) == 0 && len(failed[folder]) > 0:
			slices.Sort(failed[folder])
			out[i] = userRelease{mayApply: true, why: fmt.Sprintf("Kustomization %s does not build here (kronform-gen build shows "+
				"why), so whether Flux applies a HelmRelease %s %s is unknown", strings.Join(failed[folder], ", "), id, label)}
		case len(copies) == 0 && len(elsewhere[folder]) > 0:
			slices.Sort(elsewhere[folder])
			out[i] = userRelease{mayApply: true, why: fmt.Sprintf("Kustomization %s is not built from this tree, so whether Flux "+
				"applies a HelmRelease %s is unknown", strings.Join(elsewhere[folder], ", "), id)}
		case len(copies) == 0:
		case !sameObjects(objects):
			var by []string
			for _, bd := range copies {
				by = append(by, bd.Namespace+"/"+bd.Name)
			}
			out[i] = userRelease{why: fmt.Sprintf("Kustomizations %s apply different copies of HelmRelease %s %s, by turns, so "+
				"which one helm-controller runs now is unknown", strings.Join(by, ", "), id, label)}
		default:
			out[i] = readApplied(c, objects[0], copies, res.Builds, folder, files)
		}
	}
	return nil
}

// readApplied is what the one release r that the Kustomizations by apply (builds are all the cluster's) gives: a
// refusal where it runs in another cluster (remoteRelease) or carries a mark with which kustomize-controller would not
// apply kronform-gen's in its place (kustomizeMark); unknown where a Kustomization that applies it is so marked
// (markedApplier) or it is marked ssa: IfNotPresent; else the takeover as read (readTakeover).
func readApplied(c spec.Cluster, r *resource.Resource, by, builds []*preview.Build, folder string, files map[string][]byte) userRelease {
	if why := remoteRelease(c, r, by[0]); why != "" {
		return userRelease{refuse: why}
	}
	if why := markedApplier(builds, folder, by, c.Cilium.Namespace+"/"+flux.ReleaseName); why != "" {
		return userRelease{mayApply: true, why: why}
	}
	mark := kustomizeMark(r)
	if mark != nil && mark.live {
		return markedRelease(c, r, mark, by[0], files)
	}
	t, why := readTakeover(r, builds, by, folder)
	if mark != nil && (t == nil || t.reinstall == "") {
		// ssa: IfNotPresent: what runs is whatever was created first. A release target that is not kronform-gen's is
		// still taken for one (the refusal of a reinstall is the stronger).
		return markedRelease(c, r, mark, by[0], files)
	}
	if t != nil {
		t.by = fmt.Sprintf("%s/%s, path %s", by[0].Namespace, by[0].Name, by[0].Spec.Path)
		if by[0].Spec.Suspend {
			t.by += ", suspended"
			t.suspended = by[0].Namespace + "/" + by[0].Name
		}
	}
	return userRelease{found: t, why: why}
}

// appliedElsewhere says that kustomize-controller applies what k builds in another cluster: k, or a Kustomization
// that declares it (byID holds the build's Kustomizations by ID), has spec.kubeConfig, with which kustomize-controller
// applies all a build holds, the Kustomizations it declares among them, in the cluster that kubeconfig names
// (fluxcd/kustomize-controller v1.9.6, KustomizationReconciler.reconcile: runtimeClient.WithKubeConfig). A HelmRelease
// it applies is another cluster's object, which kronform-gen's does not replace: no takeover.
func appliedElsewhere(k preview.Kustomization, byID map[string]preview.Kustomization) bool {
	for seen := map[string]bool{}; !seen[k.ID()]; {
		seen[k.ID()] = true
		if k.Spec.KubeConfig != nil {
			return true
		}
		parent, ok := byID[k.DeclaredBy]
		if !ok {
			return false
		}
		k = parent
	}
	return false
}

// markedApplier says why what the Kustomizations by apply is unknown when one of them, as its parent applies it,
// carries a mark with which kustomize-controller does not keep it in the cluster as the tree has it (kustomizeMark:
// reconcile: disabled, ssa: Ignore or IfNotPresent, or a value substituted from what is not read here): the
// Kustomization in the cluster is whatever was applied before, with whatever path and patches; "" when none does.
// ssa: Merge still applies every field the tree sets. id is the release's namespace/name.
func markedApplier(builds []*preview.Build, folder string, by []*preview.Build, id string) string {
	for _, k := range by {
		for _, b := range builds {
			if b.Cluster != folder {
				continue
			}
			for _, r := range b.Resources {
				if r.GetKind() != "Kustomization" || !strings.HasPrefix(r.GetApiVersion(), "kustomize.toolkit.fluxcd.io/") ||
					r.GetNamespace() != k.Namespace || r.GetName() != k.Name {
					continue
				}
				if m := kustomizeMark(r); m != nil && (m.unknown || !strings.EqualFold(m.value, "Merge")) {
					kind := "annotation"
					if m.label {
						kind = "label"
					}
					return string(preview.MaskPlaceholders([]byte(fmt.Sprintf("Kustomization %s/%s, which applies HelmRelease %s, "+
						"has the %s %s: %s, so kustomize-controller does not keep it in the cluster as this tree has it: "+
						"what it applies there is unknown (remove the %s from its file, and from the object in the cluster, "+
						"to have it read here)", k.Namespace, k.Name, id, kind, m.key, m.value, kind))))
				}
			}
		}
	}
	return ""
}

// sameObjects says whether the objects are one object as built, byte for byte.
func sameObjects(objects []*resource.Resource) bool {
	first, err := objects[0].MarshalJSON()
	if err != nil {
		return false
	}
	for _, r := range objects[1:] {
		if b, err := r.MarshalJSON(); err != nil || !bytes.Equal(b, first) {
			return false
		}
	}
	return true
}

// userHelmRelease is what readTakeover reads of a HelmRelease.
type userHelmRelease struct {
	Metadata struct {
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		ReleaseName      string `json:"releaseName"`
		TargetNamespace  string `json:"targetNamespace"`
		StorageNamespace string `json:"storageNamespace"`
		Chart            *struct {
			Spec struct {
				Chart     string `json:"chart"`
				Version   string `json:"version"`
				SourceRef struct {
					Kind string `json:"kind"`
				} `json:"sourceRef"`
			} `json:"spec"`
		} `json:"chart"`
		ChartRef *struct {
			Kind      string `json:"kind"`
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"chartRef"`
		Values     map[string]any    `json:"values"`
		ValuesFrom []valuesReference `json:"valuesFrom"`
		Suspend    bool              `json:"suspend"`
		Upgrade    struct {
			PreserveValues bool `json:"preserveValues"`
		} `json:"upgrade"`
		PostRenderers []json.RawMessage `json:"postRenderers"`
		KubeConfig    *struct {
			SecretRef *struct {
				Name string `json:"name"`
			} `json:"secretRef"`
			ConfigMapRef *struct {
				Name string `json:"name"`
			} `json:"configMapRef"`
		} `json:"kubeConfig"`
	} `json:"spec"`
}

// decodeRelease is a user's HelmRelease as built, numbers as json.Number.
func decodeRelease(r *resource.Resource) (userHelmRelease, error) {
	var hr userHelmRelease
	j, err := r.MarshalJSON()
	if err != nil {
		return hr, err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	return hr, dec.Decode(&hr)
}

// valuesReference is one entry of a HelmRelease's spec.valuesFrom.
type valuesReference struct {
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	ValuesKey  string `json:"valuesKey"`
	TargetPath string `json:"targetPath"`
	Optional   bool   `json:"optional"`
}

// readTakeover reads a user's HelmRelease as built: its chart version (spec.chart.spec.version, or, for a chartRef,
// the OCIRepository's spec.ref.tag or spec.ref.semver, or the HelmChart's spec.version, found in the cluster's
// builds), its values and what it reads values from (the ConfigMaps that by, the builds applying it, apply with it
// are read). A version that cannot be read as one kronform-gen models leaves the release unread, and why says so.
func readTakeover(r *resource.Resource, builds, by []*preview.Build, folder string) (*takeover, string) {
	hr, err := decodeRelease(r)
	if err != nil {
		return nil, "it cannot be read"
	}
	id := hr.Metadata.Namespace + "/" + flux.ReleaseName
	if moved := releaseTarget(hr); len(moved) > 0 {
		return &takeover{reinstall: strings.Join(moved, ", ")}, ""
	}
	if hr.Spec.Suspend {
		// helm-controller returns early for a suspended HelmRelease (fluxcd/helm-controller, HelmReleaseReconciler's
		// Reconcile: "Return early if the object is suspended"): the Helm release in the cluster is what it last
		// ran, whenever that was, not what the file says. kronform-gen's release, applied by kustomize-controller under
		// the same field manager, sets no spec.suspend: server-side apply drops a field its manager no longer applies
		// (fluxcd/pkg ssa, ResourceManager.apply: a Patch of type Apply, ForceOwnership, under the controller's field
		// owner), so helm-controller reconciles it again and upgrades from that unknown state. The ways out of a
		// release that cannot be read hold here.
		return nil, fmt.Sprintf("HelmRelease %s has spec.suspend: true, so helm-controller does not reconcile it: the Helm "+
			"release in the cluster is whatever it last installed or upgraded, not what the file says", id)
	}
	var chart, from, none string // none: why there is no version, when there is none
	switch {
	case hr.Spec.ChartRef != nil:
		ref := hr.Spec.ChartRef
		ns := ref.Namespace
		if ns == "" {
			ns = hr.Metadata.Namespace
		}
		from = fmt.Sprintf("its chartRef, %s %s/%s", ref.Kind, ns, ref.Name)
		src := findObject(builds, folder, ref.Kind, ns, ref.Name)
		if src == nil {
			return nil, fmt.Sprintf("HelmRelease %s takes its chart from %s, which no Kustomization of the cluster applies from this "+
				"tree: its chart version cannot be read", id, from[len("its chartRef, "):])
		}
		switch ref.Kind {
		case "OCIRepository":
			if chart = stringAt(src, "spec.ref.semver"); chart == "" {
				chart = stringAt(src, "spec.ref.tag")
			}
			if stringAt(src, "spec.ref.digest") != "" {
				// The digest wins over a tag or a range, and names an artifact, not a version.
				chart, none = "", fmt.Sprintf("HelmRelease %s takes its chart by digest (%s): which version that is cannot be read here", id, from)
			}
		case "HelmChart":
			chart = stringAt(src, "spec.version")
		}
	case hr.Spec.Chart != nil:
		from, chart = "spec.chart.spec.version", hr.Spec.Chart.Spec.Version
	}
	switch masked := preview.MaskPlaceholders([]byte(chart)); {
	case none != "":
		return nil, none
	case chart == "" && from == "":
		return nil, fmt.Sprintf("HelmRelease %s names no chart: its chart version cannot be read", id)
	case chart == "":
		return nil, fmt.Sprintf("HelmRelease %s names no chart version (%s): which one helm-controller "+
			"installs cannot be read here", id, from)
	case !bytes.Equal(masked, []byte(chart)) || sopsValue(chart):
		return nil, fmt.Sprintf("HelmRelease %s has its chart version (%s) substituted from a Secret or SOPS-encrypted, which is "+
			"not decrypted here", id, from)
	}
	if _, err := spec.ResolveCiliumVersion(chart); err != nil {
		return nil, fmt.Sprintf("HelmRelease %s names chart version %s (%s), which kronform-gen does not model: %v", id, chart, from, err)
	}
	t := &takeover{id: id, chart: chart}
	// What helm-controller adds to the file's values makes none of them readable; the chart version stays the file's
	// (the warning of skipped minor releases reads it).
	if hr.Spec.Upgrade.PreserveValues {
		// helm-controller upgrades with Helm's ReuseValues set from it (fluxcd/helm-controller, internal/action,
		// newUpgrade): the values of the release it last ran stay under the file's, whatever they were. kronform-gen's
		// release sets no spec.upgrade, so its upgrade resets them (ResetValues).
		t.unreadable = fmt.Sprintf("HelmRelease %s has spec.upgrade.preserveValues: true, so helm-controller keeps the values of "+
			"the release it last ran under the file's: what the release runs is not only what the file says", id)
	} else if len(hr.Spec.PostRenderers) > 0 {
		// helm-controller runs the rendered manifests through them (kustomize patches and images) before it applies
		// them: a patch may change cilium-config or the agents' DaemonSet, whatever the values say. kronform-gen's
		// release has none.
		t.unreadable = fmt.Sprintf("HelmRelease %s has spec.postRenderers, which helm-controller applies to the chart's "+
			"manifests after Helm renders them (cilium-config and the agents' DaemonSet among them): what the agents run is "+
			"not only what its values say", id)
	}
	t.values, _ = wholeNumbers(hr.Spec.Values).(map[string]any)
	t.settled = t.values
	if len(hr.Spec.ValuesFrom) > 0 {
		// helm-controller (ChartValuesFromReferences) merges each reference in order, then spec.values on top, a
		// mapping key by key and anything else replacing, as cilium.DeepMerge does; what a reference not read here
		// sets is unknown, and only what is merged after it is settled. A reference with a targetPath is set with
		// Helm's --set parser into the values merged so far, which from fluxcd/pkg's chartutil on hold spec.values'
		// own nested maps: it wins over spec.values there, and its value (a comma, then key=value) may set any key.
		// Only keys set at the top level, which the last merge writes whole, stay settled after one.
		merged, settled := map[string]any{}, map[string]any{}
		targetPath := false
		for _, v := range hr.Spec.ValuesFrom {
			name := v.Kind + "/" + v.Name
			if v.ValuesKey != "" {
				name += " (" + v.ValuesKey + ")"
			}
			name = string(preview.MaskPlaceholders([]byte(name)))
			values, why := readValuesFrom(v, hr.Metadata.Namespace, builds, by, folder)
			if why != "" {
				t.unreadFrom = append(t.unreadFrom, name+": "+why)
				settled = map[string]any{}
				targetPath = targetPath || v.TargetPath != ""
				continue
			}
			t.readFrom = append(t.readFrom, name)
			merged, settled = cilium.DeepMerge(merged, values), cilium.DeepMerge(settled, values)
		}
		t.values, t.settled = cilium.DeepMerge(merged, t.values), cilium.DeepMerge(settled, t.values)
		if targetPath {
			t.settled = maps.Clone(t.settled)
			maps.DeleteFunc(t.settled, func(_ string, v any) bool { _, nested := v.(map[string]any); return nested })
		}
	}
	t.secret = maskedKeys(t.values, "")
	return t, ""
}

// The annotations with which kustomize-controller does not keep an object as the build has it: reconcile: disabled
// (not applied), and ssa: IfNotPresent, Ignore or Merge (not overwritten, not applied, or merged with what others set).
const (
	reconcileAnnotation = "kustomize.toolkit.fluxcd.io/reconcile"
	ssaAnnotation       = "kustomize.toolkit.fluxcd.io/ssa"
)

// mark is a label or annotation of kustomize-controller's that an object carries, and what it does to the object.
type mark struct {
	key, value string
	label      bool // a label, not an annotation
	// live says that it keeps kustomize-controller from applying the object as built while the object in the cluster
	// carries it, whatever the build has: kronform-gen's release, which takes the object's place, included.
	live bool
	// unknown says that the value is substituted by Flux (spec.postBuild) from what is not read here: a variable left
	// as written, or a value from a Secret. It may be any of the marks, so it counts as one that is live.
	unknown bool
}

// kustomizeMark is the mark of kustomize-controller's that keeps it from applying an object as the build has it; nil
// when the object carries none. kustomize-controller's apply (fluxcd/kustomize-controller, KustomizationReconciler.apply)
// gives fluxcd/pkg's ssa ResourceManager the ExclusionSelector {reconcile: disabled, ssa: Ignore}, the
// IfNotPresentSelector {ssa: IfNotPresent}, and the cleanup exclusion {ssa: Merge}; ssa (utils.AnyInMetadata) matches
// each against labels and annotations alike, the value case-insensitively. So:
//   - reconcile: disabled, ssa: Ignore: shouldSkipApply skips the object when the object built OR the one in the
//     cluster matches. The release in the cluster is not what the file says; and an object in the cluster that carries
//     the mark (given with kubectl annotate, as Flux's docs suggest to pause one: kustomize-controller, skipping the
//     object, never writes it there) keeps it once the file drops it, so kronform-gen's release would not be
//     applied in its place either, while its host policies would: nothing of this change holds until the mark is
//     gone from the cluster too. (kustomize-controller's docs, "Suspending and resuming", also say to set it to
//     enabled in the source: with disabled in the cluster, shouldSkipApply still skips it, so it is removed there.)
//   - ssa: Merge: the object is applied, but cleanupMetadata, which takes back the fields of the field managers
//     kubectl (kubectl apply) and before-first-apply and its own Update ones (KustomizationReconciler.apply's
//     Cleanup.FieldManagers; kubectl edit's, kubectl-edit, is none of them and stays in any case), is skipped when the object built OR the one in the cluster carries it: the release in the
//     cluster holds what others set besides the file, and so would kronform-gen's on its first apply, while the
//     object in the cluster still carries the mark. Not harmless, then: refused as the two above.
//   - ssa: IfNotPresent: shouldSkipApply skips the object when the one BUILT carries it and one exists in the cluster.
//     The release in the cluster is whatever was created first, not what the file says; kronform-gen's release, which
//     does not carry it, is applied over it. That is a release whose settings cannot be read, and the ways out of one
//     hold.
//
// Any other value (ssa: Override, reconcile: enabled) matches no selector: the object is applied as built. A value
// that still holds a variable (${...}: its substituteFrom source is not in the tree) or a Secret's value (masked here)
// is whatever Flux substitutes in the cluster, and is taken for a live mark: kustomize-controller matches what it
// applies after postBuild (fluxcd/kustomize-controller, KustomizationReconciler.reconcile: r.build, which substitutes
// the variables, then r.apply).
func kustomizeMark(r *resource.Resource) *mark {
	for _, label := range []bool{false, true} {
		meta := r.GetAnnotations()
		if label {
			meta = r.GetLabels()
		}
		for _, key := range []string{reconcileAnnotation, ssaAnnotation} {
			if v := meta[key]; strings.Contains(v, "${") || !bytes.Equal(preview.MaskPlaceholders([]byte(v)), []byte(v)) {
				return &mark{key: key, value: v, label: label, live: true, unknown: true}
			}
		}
		for _, m := range []mark{{key: reconcileAnnotation, value: "disabled", live: true}, {key: ssaAnnotation, value: "Ignore", live: true},
			{key: ssaAnnotation, value: "Merge", live: true}, {key: ssaAnnotation, value: "IfNotPresent"}} {
			if v := meta[m.key]; strings.EqualFold(v, m.value) {
				m.value, m.label = v, label
				return &m
			}
		}
	}
	return nil
}

// markedRelease is what a user's release r that carries a mark of kustomize-controller's (kustomizeMark) gives: why
// its settings cannot be read (ssa: IfNotPresent), or why generate refuses the change (the others), naming the file
// of the tree that sets the mark, the mark, and what to do (with the Helm release to compare: helmReleaseOf).
func markedRelease(c spec.Cluster, r *resource.Resource, m *mark, by *preview.Build, files map[string][]byte) userRelease {
	id := c.Cilium.Namespace + "/" + flux.ReleaseName
	kind, verb := "annotation", "annotate"
	if m.label {
		kind, verb = "label", "label"
	}
	where := fmt.Sprintf("what Kustomization %s/%s builds from path %s", by.Namespace, by.Name, by.Spec.Path)
	if in := filesSetting(files, by, m.key); len(in) > 0 {
		where = strings.Join(in, ", ")
	}
	set := fmt.Sprintf("HelmRelease %s (Kustomization %s/%s, path %s) has the %s %s: %s, set in %s", id, by.Namespace,
		by.Name, by.Spec.Path, kind, m.key, m.value, where)
	set = string(preview.MaskPlaceholders([]byte(set)))
	if !m.live {
		return userRelease{why: fmt.Sprintf("%s: kustomize-controller creates it when the cluster has none and never applies "+
			"it over one that exists, so the release in the cluster is whatever was created first, not what the file says "+
			"(to have it read here, remove the %s from %s and let Flux apply that)", set, kind, where)}
	}
	what := fmt.Sprintf("kustomize-controller applies no object that carries it, in the tree or in the cluster: the release "+
		"in the cluster is not what the file says, and while the object in the cluster carries the %s, kronform-gen's "+
		"HelmRelease, which replaces it under that name, would not be applied either, while its host policies would", kind)
	if m.unknown {
		what = fmt.Sprintf("its value is substituted by Flux (spec.postBuild) from what is not read here, and may be "+
			"disabled, Ignore or Merge, with which kustomize-controller does not apply the release as the file says, and "+
			"while the object in the cluster carries the %s, would not apply kronform-gen's HelmRelease in its place "+
			"either, or not only as written", kind)
	} else if strings.EqualFold(m.value, "Merge") {
		what = fmt.Sprintf("kustomize-controller applies the fields the file sets, but keeps those that kubectl apply set in "+
			"the cluster (field manager kubectl, whose fields it otherwise takes back) while the tree or the object in the cluster carries it: the release in "+
			"the cluster is not only what the file says, and while the object in the cluster carries the %s, kronform-gen's "+
			"HelmRelease, which replaces it under that name, would keep them too", kind)
	}
	storage, release := helmReleaseOf(r)
	return userRelease{refuse: fmt.Sprintf("%s: %s; rollOutCiliumPods cannot settle that. Remove the %s from %s and from "+
		"the object in the cluster (kubectl -n %s %s helmrelease %s %s-); commit, push and let Flux apply your release as "+
		"the file says (compare it first: helm -n %s get values %s); then run generate again. Nothing was written",
		set, what, kind, where, c.Cilium.Namespace, verb, flux.ReleaseName, m.key,
		preview.MaskPlaceholders([]byte(storage)), preview.MaskPlaceholders([]byte(release)))}
}

// remoteRelease says why generate refuses a user's release r that helm-controller runs in another cluster
// (spec.kubeConfig), applied by the build by; "" when it runs in this one. kronform-gen's release would replace the
// object under that name, and a changed kubeConfig is no release target change to helm-controller
// (fluxcd/helm-controller internal/action ReleaseTargetChanged compares the storage namespace, the release namespace
// and name and the chart name only): it would install Cilium in this cluster and leave the other cluster's release
// running unmanaged. Moving the object out of the way must not uninstall that release: helm-controller uninstalls the
// release of a HelmRelease deleted while not suspended (HelmReleaseReconciler.reconcileDelete), and a HelmRelease
// under another name whose releaseName names an existing release takes it over by an upgrade (internal/reconcile
// DetermineReleaseState: "found existing release in storage", unmanaged).
func remoteRelease(c spec.Cluster, r *resource.Resource, by *preview.Build) string {
	hr, err := decodeRelease(r)
	if err != nil || hr.Spec.KubeConfig == nil {
		return ""
	}
	kubeconfig := "spec.kubeConfig"
	if ref := hr.Spec.KubeConfig.SecretRef; ref != nil && ref.Name != "" {
		kubeconfig += " (Secret " + ref.Name + ")"
	} else if ref := hr.Spec.KubeConfig.ConfigMapRef; ref != nil && ref.Name != "" {
		kubeconfig += " (ConfigMap " + ref.Name + ")"
	}
	storage, release := helmReleaseOf(r)
	id := c.Cilium.Namespace + "/" + flux.ReleaseName
	return string(preview.MaskPlaceholders([]byte(fmt.Sprintf("HelmRelease %s (Kustomization %s/%s, path %s) has %s: "+
		"helm-controller runs it in the cluster that kubeconfig names, not in this one. kronform-gen's HelmRelease would "+
		"replace it under that name; helm-controller would then install Cilium in this cluster and leave the release in the "+
		"other cluster running as it is, no longer managed (a changed kubeConfig is no release target change to "+
		"helm-controller, so nothing uninstalls it). Move yours out of the way without uninstalling that release: set "+
		"spec.suspend: true on it and let Flux apply that (a HelmRelease deleted while not suspended uninstalls its "+
		"release); then replace it by a copy under another name whose spec.releaseName is %s (and spec.storageNamespace "+
		"%s), which takes that release over; commit, push and let Flux apply it; then run generate again. Nothing was written",
		id, by.Namespace, by.Name, by.Spec.Path, kubeconfig, release, storage))))
}

// helmReleaseOf is where helm-controller keeps the Helm release of a HelmRelease, as helm's -n and release name: its
// spec.storageNamespace, else its namespace; its spec.releaseName, else its name after spec.targetNamespace and a
// hyphen where that is set (fluxcd/helm-controller api/v2, HelmRelease.GetReleaseName and GetStorageNamespace). The
// HelmRelease's own namespace and name where it cannot be read.
func helmReleaseOf(r *resource.Resource) (namespace, name string) {
	namespace, name = r.GetNamespace(), r.GetName()
	hr, err := decodeRelease(r)
	if err != nil {
		return namespace, name
	}
	if hr.Spec.StorageNamespace != "" {
		namespace = hr.Spec.StorageNamespace
	}
	switch {
	case hr.Spec.ReleaseName != "":
		name = hr.Spec.ReleaseName
	case hr.Spec.TargetNamespace != "":
		name = hr.Spec.TargetNamespace + "-" + name
	}
	return namespace, name
}

// filesSetting lists, sorted, the files of the tree that may set a mark on what the build applies: the Flux
// Kustomization's own file (its spec.commonMetadata), and those under the folder it builds that name the key and a
// HelmRelease, or are kustomization files (commonAnnotations, a patch).
func filesSetting(files map[string][]byte, by *preview.Build, key string) []string {
	var out []string
	if data, ok := files[by.File]; ok && by.File != "" && bytes.Contains(data, []byte(key)) {
		out = append(out, by.File)
	}
	if by.Path == "" {
		return out // outside the tree
	}
	names := konfig.RecognizedKustomizationFileNames()
	for p, data := range files {
		if p == by.File || by.Path != "." && !strings.HasPrefix(p, by.Path+"/") || !bytes.Contains(data, []byte(key)) {
			continue
		}
		if bytes.Contains(data, []byte("HelmRelease")) || slices.Contains(names, path.Base(p)) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// readValuesFrom reads the values a valuesFrom reference of a HelmRelease in namespace gives, as helm-controller reads
// them in the cluster, where it can be done exactly: a ConfigMap that one of the builds applying the release (by)
// applies with it, and no other build of the cluster, read at its valuesKey (values.yaml unless named) as YAML
// values. Else why says what is not read: a Secret (not decrypted, nor read, here), a targetPath (set with Helm's
// --set parser), a ConfigMap this tree does not apply with the release (it may be in the cluster all the same), one
// kustomize-controller does not keep as built, one SOPS-encrypted, a key it lacks (another field manager may have
// added it in the cluster), values that do not parse (helm-controller then fails, and runs what it ran before).
func readValuesFrom(ref valuesReference, namespace string, builds, by []*preview.Build, folder string) (map[string]any, string) {
	switch name := []byte(ref.Name); {
	case ref.TargetPath != "":
		return nil, "with a targetPath, which is not read here: helm-controller sets it (Helm's --set syntax, which may " +
			"name more keys) over spec.values, but for the keys spec.values sets at its top level"
	case ref.Kind == "Secret":
		return nil, "a Secret, which is not read here"
	case ref.Kind != "ConfigMap":
		return nil, "neither a ConfigMap nor a Secret"
	case !bytes.Equal(preview.MaskPlaceholders(name), name):
		return nil, "its name substituted from a Secret"
	}
	var found []*resource.Resource
	var from []*preview.Build
	var hashed []string // ConfigMaps a generator named so, with its hash suffix: "flux-system/infra applies ..."
	for _, b := range builds {
		if b.Cluster != folder {
			continue
		}
		for _, r := range b.Resources {
			if r.GetKind() != "ConfigMap" || r.GetApiVersion() != "v1" || r.GetNamespace() != namespace {
				continue
			}
			if r.GetName() == ref.Name {
				found, from = append(found, r), append(from, b)
			} else if suffix, ok := strings.CutPrefix(r.GetName(), ref.Name+"-"); ok && generatorHash.MatchString(suffix) {
				hashed = append(hashed, fmt.Sprintf("Kustomization %s/%s applies ConfigMap %s/%s", b.Namespace, b.Name,
					namespace, r.GetName()))
			}
		}
	}
	switch {
	case len(found) == 0 && len(hashed) > 0:
		// kustomize's nameReference knows no HelmRelease: the name stays as written, and helm-controller finds no such
		// ConfigMap (or another one, applied elsewhere).
		return nil, fmt.Sprintf("no Kustomization of the cluster applies it from this tree; %s, a name with a generator's "+
			"hash suffix, which kustomize writes into a HelmRelease's valuesFrom only with a configuration (configurations:) "+
			"whose nameReference for ConfigMap has the fieldSpec spec/valuesFrom/name of kind HelmRelease",
			string(preview.MaskPlaceholders([]byte(strings.Join(hashed, ", ")))))
	case len(found) == 0:
		return nil, "no Kustomization of the cluster applies it from this tree"
	case len(found) > 1 || !slices.Contains(by, from[0]):
		return nil, "not applied from this tree by the Kustomization that applies the release alone"
	}
	obj, err := found[0].Map()
	if err != nil {
		return nil, "it cannot be read"
	}
	if ssa := found[0].GetAnnotations()[ssaAnnotation]; kustomizeMark(found[0]) != nil || ssa != "" && !strings.EqualFold(ssa, "Override") {
		return nil, "kustomize-controller does not keep it as this tree has it (" + reconcileAnnotation + ", " + ssaAnnotation + ")"
	}
	if _, ok := obj["sops"]; ok {
		return nil, "SOPS-encrypted, which is not decrypted here"
	}
	key := ref.ValuesKey
	if key == "" {
		key = "values.yaml"
	}
	data, _ := obj["data"].(map[string]any)
	text, ok := data[key].(string)
	if !ok {
		return nil, "it has no key " + string(preview.MaskPlaceholders([]byte(key))) + " here"
	}
	j, err := yaml.YAMLToJSON([]byte(text))
	if err != nil {
		return nil, "its " + string(preview.MaskPlaceholders([]byte(key))) + " does not parse as values"
	}
	var values map[string]any
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	if err := dec.Decode(&values); err != nil {
		return nil, "its " + string(preview.MaskPlaceholders([]byte(key))) + " does not parse as values"
	}
	values, _ = wholeNumbers(values).(map[string]any)
	return values, ""
}

// generatorHash is the suffix kustomize's configMapGenerator adds to a name: a dash, then ten characters of the
// content's hash.
var generatorHash = regexp.MustCompile(`^[a-z0-9]{10}$`)

// releaseTarget lists how the Helm release a user's HelmRelease manages differs from the one kronform-gen's manages
// (release cilium of chart cilium, stored in and installed into the HelmRelease's namespace): helm-controller, finding
// the object's release target changed (its ReleaseTargetChanged: storage namespace, release namespace, release name,
// chart name), uninstalls the release it installed before it installs the new one. The chart's name is known only for
// a chart from a HelmRepository (chart.spec.chart names it); nil when nothing differs.
func releaseTarget(hr userHelmRelease) []string {
	var out []string
	name := hr.Spec.ReleaseName
	if name == "" {
		name = flux.ReleaseName
		if hr.Spec.TargetNamespace != "" {
			name = hr.Spec.TargetNamespace + "-" + flux.ReleaseName
		}
	}
	if name != flux.ReleaseName {
		out = append(out, fmt.Sprintf("release name %s, not %s", name, flux.ReleaseName))
	}
	if ns := hr.Spec.TargetNamespace; ns != "" && ns != hr.Metadata.Namespace {
		out = append(out, fmt.Sprintf("targetNamespace %s, not %s", ns, hr.Metadata.Namespace))
	}
	if ns := hr.Spec.StorageNamespace; ns != "" && ns != hr.Metadata.Namespace {
		out = append(out, fmt.Sprintf("storageNamespace %s, not %s", ns, hr.Metadata.Namespace))
	}
	if c := hr.Spec.Chart; c != nil && c.Spec.SourceRef.Kind == "HelmRepository" && c.Spec.Chart != "cilium" {
		out = append(out, fmt.Sprintf("chart %s, not cilium", c.Spec.Chart))
	}
	for i := range out {
		out[i] = string(preview.MaskPlaceholders([]byte(out[i])))
	}
	return out
}

// findObject is the object of that kind, namespace and name that one of the cluster's builds applies; nil when none does.
func findObject(builds []*preview.Build, folder, kind, namespace, name string) map[string]any {
	for _, b := range builds {
		if b.Cluster != folder {
			continue
		}
		for _, r := range b.Resources {
			if r.GetKind() == kind && r.GetNamespace() == namespace && r.GetName() == name &&
				strings.HasPrefix(r.GetApiVersion(), "source.toolkit.fluxcd.io/") {
				if m, err := r.Map(); err == nil {
					return m
				}
			}
		}
	}
	return nil
}

// stringAt is the string at a dotted path of an object's fields; "" when there is none.
func stringAt(obj map[string]any, key string) string {
	v, _ := cilium.ValueAt(obj, key)
	s, _ := v.(string)
	return s
}

// maskedKeys lists, sorted, the dotted keys of values whose value holds a placeholder of preview's (substituted by
// postBuild from a Secret) or is SOPS ciphertext: neither is decrypted here. Keys print masked.
func maskedKeys(values map[string]any, prefix string) []string {
	var out []string
	for k, v := range values {
		key := prefix + string(preview.MaskPlaceholders([]byte(k)))
		switch x := v.(type) {
		case map[string]any:
			out = append(out, maskedKeys(x, key+".")...)
		default:
			b, _ := json.Marshal(x)
			if s, _ := x.(string); !bytes.Equal(preview.MaskPlaceholders(b), b) || sopsValue(s) {
				out = append(out, key)
			}
		}
	}
	slices.Sort(out)
	return out
}

// reinstallWarning words a takeover whose release target differs from kronform-gen's: not an upgrade, an uninstall.
func (t takeover) reinstallWarning(c spec.Cluster, label string) string {
	return fmt.Sprintf("warning: cluster %s: Flux applies a HelmRelease of yours under the name kronform-gen's takes, %s/%s (read "+
		"%s: Kustomization %s), whose Helm release is not kronform-gen's (%s): once kronform-gen's replaces the object, "+
		"helm-controller finds the release target changed, uninstalls your release (Cilium, the CNI: pods lose their network) "+
		"and then installs kronform-gen's; kronform-gen cannot write that target, so this is a reinstall of Cilium, not an "+
		"upgrade, and the transition checks took it for a first install\n", c.Name, c.Cilium.Namespace, flux.ReleaseName,
		label, t.by, t.reinstall)
}

// unknownSettings says why the settings the takeover's agents run cannot be read, as far as the transition checks
// read them (keys, cilium.SettingsKeys): the keys among them that its values leave to a valuesFrom not read here, or that
// are substituted from a Secret (or SOPS ciphertext); "" when every one is read. Those are unknown as a release that
// cannot be read is: the agents may run anything there. Audit mode read as on (policyAuditMode: true) enforces
// nothing, whatever the rest: then only it counts.
func (t takeover) unknownSettings(keys []string) string {
	if t.unreadable != "" {
		return t.unreadable
	}
	if audit, _ := cilium.ValueAt(t.values, "policyAuditMode"); audit == true && !t.unread("policyAuditMode") {
		keys = []string{"policyAuditMode"}
	}
	var fromFrom, fromSecret []string
	for _, k := range keys {
		switch {
		case len(t.unreadFrom) > 0 && !isSet(t.settled, k):
			fromFrom = append(fromFrom, k)
		case slices.Contains(t.secret, k):
			fromSecret = append(fromSecret, k)
		}
	}
	if len(fromFrom)+len(fromSecret) == 0 {
		return ""
	}
	var parts []string
	if len(fromFrom) > 0 {
		parts = append(parts, fmt.Sprintf("leaves %s to its valuesFrom (%s), which helm-controller reads in the cluster, not here",
			strings.Join(fromFrom, ", "), strings.Join(t.unreadFrom, "; ")))
	}
	if len(fromSecret) > 0 {
		parts = append(parts, fmt.Sprintf("has %s substituted from a Secret or SOPS-encrypted, which is not decrypted here",
			strings.Join(fromSecret, ", ")))
	}
	them := "them"
	if len(fromFrom)+len(fromSecret) == 1 {
		them = "it"
	}
	return fmt.Sprintf("HelmRelease %s (Kustomization %s, chart %s) %s: the transition checks read %s of the agents' settings",
		t.id, t.by, t.chart, strings.Join(parts, ", and "), them)
}

// unread says whether the value at a dotted key is not read here: a valuesFrom not read here may set it, and nothing
// merged after it does, or it is substituted from a Secret (or SOPS ciphertext).
func (t takeover) unread(key string) bool {
	return len(t.unreadFrom) > 0 && !isSet(t.settled, key) || slices.Contains(t.secret, key)
}

// isSet says whether values set the dotted key.
func isSet(values map[string]any, key string) bool {
	_, set := cilium.ValueAt(values, key)
	return set
}

// sopsValue says whether a value is SOPS ciphertext (a file encrypted with an encrypted_regex that matches it).
func sopsValue(v string) bool { return strings.HasPrefix(v, "ENC[") && strings.HasSuffix(v, "]") }

// note words what a takeover reads, for the note generate prints: what the transition checks took for the release
// before the change, the values of the user's that the spec drops, and what could not be compared.
func (t takeover) note(c spec.Cluster, tr transition) string {
	var b strings.Builder
	fmt.Fprintf(&b, "note: cluster %s: Flux applies a HelmRelease of yours under the name kronform-gen's takes, %s/%s (read %s: "+
		"Kustomization %s, chart %s): kronform-gen's replaces it, and helm-controller upgrades that release to the spec's "+
		"chart and values. The transition checks, the restart note and the warning of skipped minor releases take it for the "+
		"release before this change", c.Name, c.Cilium.Namespace, flux.ReleaseName, tr.base.label, t.by, t.chart)
	if t.suspended != "" {
		fmt.Fprintf(&b, " (Kustomization %s is suspended, which deletes nothing it applied: if it ever applied this release, "+
			"helm-controller runs it still)", t.suspended)
	}
	if len(t.dropped) > 0 {
		fmt.Fprintf(&b, "; of its values, the spec does not set %s: the release takes the chart's defaults for them (to keep "+
			"one, set it in the spec)", strings.Join(t.dropped, ", "))
	}
	if len(t.readFrom) > 0 {
		fmt.Fprintf(&b, "; of its valuesFrom, %s, which the Kustomization applies with it, is read here and merged under its "+
			"spec.values, as helm-controller merges them", strings.Join(t.readFrom, ", "))
	}
	if len(t.unreadFrom) > 0 {
		fmt.Fprintf(&b, "; its valuesFrom not read here (%s) is read by helm-controller in the cluster: values set there are "+
			"not compared, and count as unset, but the transition checks read none of them (what they read of the agents' "+
			"settings is merged after it, or is audit mode on)", strings.Join(t.unreadFrom, "; "))
	}
	if len(t.secret) > 0 {
		fmt.Fprintf(&b, "; %s, substituted from a Secret or SOPS-encrypted, which is not decrypted here, is compared masked, "+
			"so counted as changed", strings.Join(t.secret, ", "))
	}
	// A mark given in the cluster alone (kubectl annotate, as Flux's docs pause one object) is not in any file: with
	// it kustomize-controller leaves the user's release as it is while it applies the host policies (kustomizeMark).
	fmt.Fprintf(&b, ". A %s: disabled or %s: Ignore mark set on it in the cluster alone (kubectl annotate or label) cannot "+
		"be seen here, and with it kustomize-controller would not apply kronform-gen's HelmRelease while it applies the host "+
		"policies: before pushing, check kubectl -n %s get helmrelease %s -o jsonpath='{.metadata.annotations} "+
		"{.metadata.labels}' and remove such a mark first.\n", reconcileAnnotation, ssaAnnotation, c.Cilium.Namespace, flux.ReleaseName)
	return b.String()
}

// droppedKeys lists, sorted, those of the changed dotted keys that old sets and new does not.
func droppedKeys(changed []string, old, new map[string]any) []string {
	var out []string
	for _, k := range changed {
		if _, ok := cilium.ValueAt(old, k); !ok {
			continue
		}
		if _, ok := cilium.ValueAt(new, k); !ok {
			out = append(out, k)
		}
	}
	return out
}
