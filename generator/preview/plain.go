package preview

import (
	"bytes"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/resid"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// buildPlain is kustomize build for the commonest folder of a Flux repository, and of every folder kronform-gen
// writes: a kustomization file that lists local files as resources and says nothing else. It runs kustomize's own
// steps for such a folder (kio's reader, the resource factory, the resource map, kustomize's legacy order and its
// clean-up of build annotations) and leaves out two that cannot change the result there but cost most of the time:
// krusty's loading of the kustomization through its transformer and plugin machinery, which has nothing to do, and
// resolving YAML anchors in documents that have none, where kyaml deep-copies every mapping at every level
// (kyaml's DeAnchor; it still runs on any document with an anchor, alias, merge key or repeated key, where it can
// change something).
//
// Anything else, and anything it is not sure of, it declines (ok false): another field in the kustomization, a
// resource that is a folder or a URL, a List, a local-config or kustomize object, a document kustomize would refuse,
// two objects with one ID, two Namespace kinds of different groups (kustomize's legacy order treats those apart).
// krusty then builds the folder and reports any error in its own words. Tests hold its output byte for byte to
// krusty's and to the kustomize CLI's.
func buildPlain(fs filesys.FileSystem, dir string, kustomization []byte) (_ resmap.ResMap, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false // krusty will say what is wrong
		}
	}()
	files := plainResources(fs, dir, kustomization)
	if files == nil {
		return nil, false
	}
	rf := provider.NewDepProvider().GetResourceFactory()
	m := resmap.New()
	for _, f := range files {
		data, err := fs.ReadFile(f)
		if err != nil {
			return nil, false
		}
		nodes, ok := readPlain(data)
		if !ok {
			return nil, false
		}
		res, err := rf.ResourcesFromRNodes(nodes)
		if err != nil {
			return nil, false
		}
		for _, r := range res {
			if m.Append(r) != nil {
				return nil, false
			}
		}
	}
	if !sortLegacy(m) {
		return nil, false
	}
	m.RemoveBuildAnnotations()
	if m.RemoveOriginAnnotations() != nil || m.RemoveTransformerAnnotations() != nil {
		return nil, false
	}
	return m, true
}

// plainResources returns the files a plain kustomization lists, as paths of fs; nil when it is not plain.
func plainResources(fs filesys.FileSystem, dir string, kustomization []byte) []string {
	// yaml.v3 is enough to tell a plain file (kustomize reads YAML 1.1, but a value the two read differently, such as
	// yes or 1.0, is not a string to yaml.v3 and is declined below).
	var k map[string]any
	if yaml.Unmarshal(kustomization, &k) != nil {
		return nil
	}
	for field, v := range k {
		switch field {
		case "apiVersion":
			if v != kustypes.KustomizationVersion {
				return nil
			}
		case "kind":
			if v != kustypes.KustomizationKind {
				return nil
			}
		case "resources":
		default:
			return nil
		}
	}
	list, _ := k["resources"].([]any)
	if len(list) == 0 {
		return nil
	}
	files := make([]string, 0, len(list))
	for _, v := range list {
		r, _ := v.(string)
		clean := path.Clean(r)
		if !strings.Contains(r, ".") || strings.Contains(r, "://") || path.IsAbs(r) || clean == ".." || strings.HasPrefix(clean, "../") {
			return nil
		}
		p := filepath.Join(dir, filepath.FromSlash(clean))
		if !fs.Exists(p) || fs.IsDir(p) {
			return nil
		}
		files = append(files, p)
	}
	return files
}

// readPlain parses a resource file as kustomize does (kio.FromBytes, then the resource factory's checks); ok is
// false for anything buildPlain leaves to krusty.
func readPlain(data []byte) ([]*yaml.RNode, bool) {
	r := &kio.ByteReader{Reader: bytes.NewReader(data), OmitReaderAnnotations: true}
	nodes, err := r.Read()
	if err != nil || r.WrappingKind != "" {
		return nil, false
	}
	out := nodes[:0]
	for _, n := range nodes {
		if needsDeAnchor(n.YNode()) && n.DeAnchor() != nil {
			return nil, false
		}
		if n.IsNilOrEmpty() {
			continue
		}
		meta, err := n.GetValidatedMetadata()
		if err != nil || strings.HasSuffix(meta.Kind, "List") {
			return nil, false
		}
		if nilEntry, _ := n.HasNilEntryInList(); nilEntry {
			return nil, false
		}
		if _, local := meta.Annotations[konfig.IgnoredByKustomizeAnnotation]; local {
			return nil, false
		}
		if group, _, _ := strings.Cut(meta.APIVersion, "/"); group == "kustomize.config.k8s.io" {
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

// needsDeAnchor says whether kyaml's DeAnchor could change the node: it has an anchor, an alias or a merge key, or
// (out of caution: DeAnchor rebuilds every mapping key by key) a mapping repeats a key.
func needsDeAnchor(n *yaml.Node) bool {
	if n == nil {
		return false
	}
	if n.Anchor != "" || n.Kind == yaml.AliasNode {
		return true
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i]
			if key.Tag == yaml.MergeTag {
				return true
			}
			for j := 0; j < i; j += 2 {
				if n.Content[j].Value == key.Value {
					return true
				}
			}
		}
	}
	for _, c := range n.Content {
		if needsDeAnchor(c) {
			return true
		}
	}
	return false
}

// sortLegacy puts the resources in kustomize's legacy order, the default of `kustomize build` and of
// kustomize-controller: by kind priority (Namespace, ..., webhooks last) and group/version/kind, then by namespace
// and name as kustomize spells them. It declines (false) where that order has a special case or a tie.
func sortLegacy(m resmap.ResMap) bool {
	type entry struct {
		gvk resid.Gvk
		key string
		res *resource.Resource
	}
	rs := m.Resources()
	entries := make([]entry, len(rs))
	namespaceGVK := map[resid.Gvk]bool{}
	for i, r := range rs {
		id := r.CurId()
		if id.Kind == "Namespace" {
			namespaceGVK[id.Gvk] = true
		}
		ns, name := id.Namespace, id.Name
		if ns == "" {
			ns = "~X"
		}
		if name == "" {
			name = "~N"
		}
		entries[i] = entry{id.Gvk, ns + "|" + name, r}
	}
	if len(namespaceGVK) > 1 {
		return false
	}
	slices.SortFunc(entries, func(a, b entry) int {
		if !a.gvk.Equals(b.gvk) {
			if a.gvk.IsLessThan(b.gvk) {
				return -1
			}
			return 1
		}
		return strings.Compare(a.key, b.key)
	})
	for i := 1; i < len(entries); i++ {
		if entries[i].gvk.Equals(entries[i-1].gvk) && entries[i].key == entries[i-1].key {
			return false
		}
	}
	m.Clear()
	for _, e := range entries {
		if m.Append(e.res) != nil {
			return false
		}
	}
	return true
}
