package flux

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
	"sigs.k8s.io/kustomize/api/konfig"

	"github.com/kronform/kronform-gen/generator/spec"
)

// SystemNamespaces are the namespaces every cluster has: the API server creates them itself (Talos' clusters too).
var SystemNamespaces = []string{"default", "kube-node-lease", "kube-public", "kube-system"}

// Files are the files of the tree on disk, as Lint reads them: paths relative to the tree, slash-separated.
type Files interface {
	Paths() []string
	File(p string) ([]byte, bool)
}

// Lint warns of the tree's objects placed in a namespace the cluster may not have when Flux applies them. The API
// server refuses an object in a namespace that does not exist, and kustomize-controller applies a Kustomization all
// or nothing: one Secret in a missing namespace keeps every secret of the cluster from being applied or updated, and
// a missing Cilium namespace keeps Cilium from being installed or upgraded.
//
// Known are the system namespaces, the Flux namespace (flux bootstrap creates it), and those that a Namespace object
// under the cluster's folder creates, as flux bootstrap's Kustomization builds that folder (see appliedFiles): it
// applies Namespaces before the Kustomization objects it declares, so they exist before any of those reconciles. A
// namespace that another Kustomization the cluster applies from this repository creates (declared under the
// cluster's folder, or by such a Kustomization's build, at any depth) is there once that one has applied it. The
// generated Kustomizations depend on none of the user's, so until then the generated one fails (on a new cluster, its
// first reconciles, retried every flux.retryInterval); and when the creator depends on the generated one (directly or
// through others), never, on a cluster without the namespace: each waits for the other. The warning says which.
// Dependencies are read from the Kustomizations in the tree (the generated ones as they stand on disk). The tree
// itself creates none: a Namespace in a generated folder would be pruned, with all it holds, once the spec no longer
// needed it. These are warnings:
// something outside the repository may create the namespace (kubectl, another source). tree is the tree on disk
// (nil: none), read only when a namespace is not known otherwise. Only the clusters that loaded whole are looked at
// (see spec.Model.Sound).
func Lint(m *spec.Model, tree Files) (warnings spec.Problems) {
	var x *treeIndex // built once, when a namespace is not known otherwise
	for i, c := range m.Clusters {
		if !m.Sound(i) {
			continue
		}
		known := slices.Clone(SystemNamespaces)
		if !slices.Contains(known, c.Flux.Namespace) {
			known = append(known, c.Flux.Namespace)
		}
		var (
			created  []string
			appliers []applier
			read     bool
		)
		// whereFrom says how a namespace comes to exist: ok when it is there before any generated Kustomization
		// reconciles; else the Kustomizations whose builds create it (none: nothing in the repository does). The
		// generated Kustomizations depend on none of the user's, so none of those is there before them.
		whereFrom := func(ns string) (ok bool, creators []applier) {
			if slices.Contains(known, ns) || tree == nil {
				return slices.Contains(known, ns), nil
			}
			if !read {
				if x == nil {
					x = newTreeIndex(tree)
				}
				created, appliers = x.namespacesIn(x.appliedFiles(c.Flux.Path, "")), clusterAppliers(x, c, m.RepositoryPath)
				read = true
			}
			if slices.Contains(created, ns) {
				return true, nil
			}
			for _, a := range appliers {
				if a.applied && slices.Contains(a.namespaces, ns) {
					creators = append(creators, a)
				}
			}
			return false, creators
		}
		kustomization := func(name string) string { return path.Join(c.Flux.Path, name+".yaml") }
		warn := func(field, ns, name, consequence string, creators []applier) {
			id := c.Flux.Namespace + "/" + name
			hint := fmt.Sprintf("create it: a Namespace in a YAML file under %s/ (named in the kustomization.yaml on its "+
				"way, if a folder has one), which flux bootstrap's Kustomization applies before the Kustomizations it "+
				"declares; if something outside the repository creates it, that Kustomization fails until it does", c.Flux.Path)
			if len(creators) == 0 {
				warnings = append(warnings, m.Problem(field, hint,
					"namespace %q is not one the cluster is known to have (%s), and no Namespace under %s/ nor in a "+
						"Kustomization the cluster applies from this repository creates it: %s while it is missing", ns,
					strings.Join(known, ", "), c.Flux.Path, consequence))
				return
			}
			// One that does not wait for the target, nor for one that is never ready, creates the namespace in the end;
			// one that does, never before it.
			for _, a := range creators {
				if dependency(appliers, a.id, id) == nil && neverReady(appliers, a.id) == nil {
					warnings = append(warnings, m.Problem(field, fmt.Sprintf("to have it there first, create it under %s/ "+
						"instead (named in the kustomization.yaml on its way, if a folder has one): flux bootstrap's "+
						"Kustomization applies it before the Kustomizations it declares", c.Flux.Path),
						"namespace %q is created by Kustomization %s (%s), which the %s Kustomization (%s) does not "+
							"depend on (kronform-gen's Kustomizations depend on none of yours): where %s has not applied "+
							"it yet, as on a new cluster, %s until it has (%s retries every %s, flux.retryInterval)",
						ns, a.id, a.file, name, kustomization(name), a.id, consequence, name, c.Flux.RetryInterval))
					return
				}
			}
			for _, a := range creators {
				if dependency(appliers, a.id, id) != nil {
					continue
				}
				// Never ready: a Kustomization waits for each one it depends on to be ready, and one on a cycle never
				// is; a suspended one is never reconciled on a new cluster.
				hint := fmt.Sprintf("create it under %s/ instead (named in the kustomization.yaml on its way, if a folder "+
					"has one), which flux bootstrap's Kustomization applies before the Kustomizations it declares, or "+
					"fix the dependsOn on that chain", c.Flux.Path)
				chain := neverReady(appliers, a.id)
				last := chain[len(chain)-1]
				if !slices.ContainsFunc(appliers, func(b applier) bool { return b.id == last }) {
					warnings = append(warnings, m.Problem(field, hint, "namespace %q is created only by Kustomization %s "+
						"(%s), which waits for %s, which no Kustomization of this repository declares for the cluster "+
						"(%s): Flux applies no Kustomization whose dependsOn it cannot find, so unless something outside "+
						"the repository creates %s, %s while the namespace is missing", ns, a.id, a.file, last,
						chainText(appliers, chain), last, consequence))
					return
				}
				if slices.Index(chain, last) == len(chain)-1 {
					warnings = append(warnings, m.Problem(field, hint, "namespace %q is created only by Kustomization %s "+
						"(%s), which is never applied on a new cluster: it waits for %s, which is suspended (%s): %s "+
						"while the namespace is missing", ns, a.id, a.file, last, chainText(appliers, chain), consequence))
					return
				}
				warnings = append(warnings, m.Problem(field, hint, "namespace %q is created only by Kustomization %s (%s), "+
					"which is never applied: its dependsOn closes a cycle (%s), and a Kustomization waits for every one "+
					"it depends on to be ready: %s while the namespace is missing", ns, a.id, a.file,
					chainText(appliers, chain), consequence))
				return
			}
			a := creators[0]
			warnings = append(warnings, m.Problem(field, fmt.Sprintf("create it under %s/ instead (named in the "+
				"kustomization.yaml on its way, if a folder has one), which flux bootstrap's Kustomization applies before "+
				"the Kustomizations it declares, or break that chain", c.Flux.Path),
				"namespace %q is created only by Kustomization %s (%s), which depends on the %s Kustomization (%s): "+
					"where the namespace does not exist yet, as on a new cluster, %s, and %s waits for %s, so neither "+
					"is ever applied", ns, a.id, a.file, name, chainText(appliers, dependency(appliers, a.id, id)),
				consequence, a.id, name))
		}
		if ok, creators := whereFrom(c.Cilium.Namespace); !ok {
			warn(fmt.Sprintf("clusters[%d].cilium.namespace", i), c.Cilium.Namespace, CiliumName,
				fmt.Sprintf("the API server refuses the HelmRepository and HelmRelease %s there, and the %s "+
					"Kustomization (%s) fails, so Cilium is neither installed nor upgraded", ReleaseName, CiliumName,
					kustomization(CiliumName)), creators)
		} else if !slices.Contains(known, c.Cilium.Namespace) {
			known = append(known, c.Cilium.Namespace)
		}
		for j, s := range c.Secrets {
			ok, creators := whereFrom(s.Namespace)
			if ok {
				continue
			}
			warn(fmt.Sprintf("clusters[%d].secrets[%d].namespace", i, j), s.Namespace, SecretsName,
				fmt.Sprintf("the API server refuses Secret %s/%s, and Flux applies the %s Kustomization (%s) all or "+
					"nothing, so none of the cluster's secrets is applied or updated", s.Namespace, s.Name, SecretsName,
					kustomization(SecretsName)), creators)
		}
	}
	return warnings
}

// applier is a Flux Kustomization that the cluster's Flux has, as Lint reads it.
type applier struct {
	id         string   // namespace/name
	file       string   // the file that declares it
	dependsOn  []string // namespace/name
	declaredBy string   // the Kustomization whose build declares it; "" for flux bootstrap's
	suspended  bool
	applied    bool     // applied from this repository: not suspended, from the cluster's source, inside the tree
	namespaces []string // those that Namespace objects of its build create (applied ones only)
}

// clusterAppliers lists the Flux Kustomizations that the cluster's Flux has from this repository: those declared in
// the files flux bootstrap's Kustomization applies (the cluster's folder, see appliedFiles), and those declared in
// the files each applied one applies, at any depth; not flux bootstrap's own. Applied are those that are not
// suspended, read the cluster's GitRepository (the spec's flux.gitRepository) and whose path lies inside the tree:
// only their builds are read. The others count for their dependsOn alone: one waits for them all the same.
// Only documents that hold a kind: Kustomization entry are parsed (see mayHoldKind).
func clusterAppliers(x *treeIndex, c spec.Cluster, repositoryPath string) []applier {
	var out []applier
	seen := map[string]bool{}
	done := map[string]bool{c.Flux.Path: true}
	dirNamespace := map[string]string{} // the targetNamespace a folder is built with
	declarer := map[string]string{}     // the Kustomization that builds a folder
	queue := []string{c.Flux.Path}
	for len(queue) > 0 {
		dir := queue[0]
		queue = queue[1:]
		for _, af := range x.appliedFiles(dir, dirNamespace[dir]) {
			f := af.path
			data, ok := x.tree.File(f)
			if !ok || !mayHoldKind(data, "Kustomization") || !bytes.Contains(data, []byte("kustomize.toolkit.fluxcd.io")) {
				continue
			}
			for _, doc := range documents(data) {
				if kind := blockKind(doc); !mayHoldKind(doc, "Kustomization") || kind != "" && kind != "Kustomization" &&
					!strings.HasSuffix(kind, "List") {
					continue // the Kustomization CRD of gotk-components.yaml (its names say kind: Kustomization) above all
				}
				var obj struct {
					fluxKustomization `yaml:",inline"`
					Items             []fluxKustomization
				}
				if yaml.Unmarshal(doc, &obj) != nil {
					continue
				}
				objs := []fluxKustomization{obj.fluxKustomization}
				if strings.HasSuffix(obj.Kind, "List") {
					objs = obj.Items // kustomize applies a List's items one by one
				}
				for _, k := range objs {
					if k.Kind != "Kustomization" || !strings.HasPrefix(k.APIVersion, "kustomize.toolkit.fluxcd.io/") ||
						k.Metadata.Name == "" {
						continue
					}
					if af.namespace != "" {
						k.Metadata.Namespace = af.namespace // kustomize's namespace transformer sets it
					}
					src := k.Spec.SourceRef
					if src.Namespace == "" {
						src.Namespace = k.Metadata.Namespace
					}
					id := k.Metadata.Namespace + "/" + k.Metadata.Name
					p, inside := spec.InTree(k.Spec.Path, repositoryPath)
					if seen[id] {
						continue
					}
					seen[id] = true
					a := applier{id: id, file: f, declaredBy: declarer[dir], suspended: k.Spec.Suspend}
					// flux bootstrap's own counts for what depends on it; its build is the one Lint reads first.
					a.applied = !k.Spec.Suspend && src.Kind == "GitRepository" && src.Name == c.Flux.GitRepository &&
						src.Namespace == c.Flux.Namespace && inside && p != c.Flux.Path
					for _, d := range k.Spec.DependsOn {
						if d.Namespace == "" {
							d.Namespace = k.Metadata.Namespace
						}
						a.dependsOn = append(a.dependsOn, d.Namespace+"/"+d.Name)
					}
					if a.applied {
						// kustomize-controller builds the path with the targetNamespace as the kustomization's namespace.
						a.namespaces = x.namespacesIn(x.appliedFiles(p, k.Spec.TargetNamespace))
						if !done[p] {
							done[p] = true
							dirNamespace[p] = k.Spec.TargetNamespace
							declarer[p] = id
							queue = append(queue, p)
						}
					}
					out = append(out, a)
				}
			}
		}
	}
	return out
}

// fluxKustomization is what clusterAppliers reads of a Flux Kustomization.
type fluxKustomization struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct{ Name, Namespace string }
	Spec       struct {
		Path            string
		Suspend         bool
		TargetNamespace string                                 `yaml:"targetNamespace"`
		SourceRef       struct{ Kind, Name, Namespace string } `yaml:"sourceRef"`
		DependsOn       []struct{ Name, Namespace string }     `yaml:"dependsOn"`
	}
}

// waitsFor lists the Kustomizations a waits for: those it depends on, and the one that declares it (it exists only
// once that one has applied it).
func (a applier) waitsFor() []string {
	if a.declaredBy == "" || slices.Contains(a.dependsOn, a.declaredBy) {
		return a.dependsOn
	}
	return append(slices.Clip(a.dependsOn), a.declaredBy)
}

// chainText shows a chain of Kustomizations each waiting for the next, saying where one waits for the Kustomization
// that declares it rather than depends on it.
func chainText(appliers []applier, chain []string) string {
	byID := map[string]applier{}
	for _, a := range appliers {
		byID[a.id] = a
	}
	parts := slices.Clone(chain)
	for i := 1; i < len(chain); i++ {
		if a := byID[chain[i-1]]; a.declaredBy == chain[i] && !slices.Contains(a.dependsOn, chain[i]) {
			parts[i] += " (which declares it)"
		}
	}
	return strings.Join(parts, " -> ")
}

// dependency is the chain of dependsOn (or declaring Kustomizations, see waitsFor) by which the Kustomization from
// waits for to (from first, to last), among the appliers (a dependency that is not one of them ends a chain); nil
// when it does not.
func dependency(appliers []applier, from, to string) []string {
	deps := map[string][]string{}
	for _, a := range appliers {
		deps[a.id] = a.waitsFor()
	}
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, d := range deps[n] {
			if _, ok := prev[d]; ok {
				continue
			}
			prev[d] = n
			if d == to {
				chain := []string{d}
				for p := n; p != ""; p = prev[p] {
					chain = append([]string{p}, chain...)
				}
				return chain
			}
			queue = append(queue, d)
		}
	}
	return nil
}

// neverReady is the chain of dependsOn (or declaring Kustomizations, see waitsFor) by which the Kustomization from
// waits for one that is never ready on a new cluster: the chain closes a cycle (its last is one before it, as in
// a -> b -> a or a -> a), or ends at a suspended one (never reconciled), or at one that is none of the appliers (that
// the repository does not declare for the cluster: kustomize-controller does not apply a Kustomization whose
// dependency it cannot find); nil when there is none.
func neverReady(appliers []applier, from string) []string {
	byID := map[string]applier{}
	for _, a := range appliers {
		byID[a.id] = a
	}
	var chain []string
	state := map[string]int{} // 1: on the chain; 2: leads to none
	var visit func(n string) bool
	visit = func(n string) bool {
		chain = append(chain, n)
		a, ok := byID[n]
		if state[n] == 1 || ok && a.suspended || !ok && n != from {
			return true
		}
		if state[n] == 0 {
			state[n] = 1
			for _, d := range a.waitsFor() {
				if visit(d) {
					return true
				}
			}
			state[n] = 2
		}
		chain = chain[:len(chain)-1]
		return false
	}
	if visit(from) {
		return chain
	}
	return nil
}

// NamespacesIn lists, sorted, the namespaces that Namespace objects (apiVersion v1) create in the files
// kustomize-controller applies for a Kustomization at dir (see appliedFiles), those in the items of a List too
// (kustomize applies them one by one). Only the documents that hold a kind: Namespace entry are parsed: flux
// bootstrap's gotk-components.yaml, below every cluster's folder, is hundreds of KB of CRDs, and this runs on every
// generate and check. A document that does not parse creates none.
func NamespacesIn(tree Files, dir string) []string {
	if tree == nil {
		return nil
	}
	x := newTreeIndex(tree)
	return x.namespacesIn(x.appliedFiles(dir, ""))
}

// namespacesIn lists, sorted, the namespaces that Namespace objects in the files create (see NamespacesIn): a file
// built with a namespace (a kustomization's namespace, a targetNamespace) creates that one, as kustomize's namespace
// transformer renames every Namespace to it.
func (x *treeIndex) namespacesIn(files []appliedFile) []string {
	var out []string
	for _, f := range files {
		data, ok := x.tree.File(f.path)
		if !ok || !mayHoldKind(data, "Namespace") {
			continue
		}
		for _, doc := range documents(data) {
			if !mayHoldKind(doc, "Namespace") {
				continue
			}
			var obj struct {
				namespaceObject `yaml:",inline"`
				Items           []namespaceObject `yaml:"items"`
			}
			if err := yaml.Unmarshal(doc, &obj); err != nil {
				var typeErr *yaml.TypeError
				if !errors.As(err, &typeErr) {
					continue
				}
				// A document of another shape (a list, a scalar) in places: what decoded still counts.
			}
			objs := []namespaceObject{obj.namespaceObject}
			if strings.HasSuffix(obj.Kind, "List") {
				objs = obj.Items
			}
			for _, o := range objs {
				if o.APIVersion == "v1" && o.Kind == "Namespace" && o.Metadata.Name != "" {
					if f.namespace != "" {
						o.Metadata.Name = f.namespace
					}
					out = append(out, o.Metadata.Name)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// treeIndex is the tree's paths and the folders that hold a kustomization file, read once for every folder
// appliedFiles is asked about.
type treeIndex struct {
	tree           Files
	paths          []string // sorted
	isFile         map[string]bool
	kustomizations map[string]string // folder -> its kustomization file (kustomize refuses a folder with two)
}

func newTreeIndex(tree Files) *treeIndex {
	paths := slices.Sorted(slices.Values(tree.Paths()))
	x := &treeIndex{tree: tree, paths: paths, isFile: make(map[string]bool, len(paths)), kustomizations: map[string]string{}}
	for _, p := range paths {
		x.isFile[p] = true
		if slices.Contains(konfig.RecognizedKustomizationFileNames(), path.Base(p)) && x.kustomizations[path.Dir(p)] == "" {
			x.kustomizations[path.Dir(p)] = p
		}
	}
	return x
}

// appliedFile is a file that a Kustomization builds, and the namespace kustomize sets on its objects ("" for none):
// that of the outermost kustomization file on its way that has one, or the Kustomization's targetNamespace.
type appliedFile struct {
	path, namespace string
}

// appliedFiles lists the files of the tree that kustomize-controller builds for a Kustomization whose path is dir,
// with targetNamespace (""for none): a folder with a kustomization file, the resources that names (any file, whatever
// its name; a folder, as kustomize builds it); a folder without one, as kustomize-controller generates its
// kustomization: every .yaml and .yml file in it and below, down to the folders that have a kustomization file,
// built from that.
func (x *treeIndex) appliedFiles(dir, targetNamespace string) []appliedFile {
	paths, isFile := x.paths, x.isFile
	kustomizationIn := func(d string) string { return x.kustomizations[d] }
	var out []appliedFile
	seen := map[string]bool{}
	var build func(d, ns string)
	build = func(d, ns string) {
		if seen[d] {
			return
		}
		seen[d] = true
		if k := kustomizationIn(d); k != "" {
			data, _ := x.tree.File(k)
			var kust struct {
				Namespace              string
				Resources, Crds, Bases []string
			}
			if err := yaml.Unmarshal(data, &kust); err != nil {
				return // kustomize cannot read it: the Kustomization fails, and applies nothing
			}
			if ns == "" {
				ns = kust.Namespace
			}
			for _, r := range slices.Concat(kust.Resources, kust.Crds, kust.Bases) {
				r = path.Clean(path.Join(d, r)) // one that leaves the tree, or is a URL, names nothing here
				if strings.HasPrefix(r, "../") {
					continue
				}
				if isFile[r] {
					out = append(out, appliedFile{r, ns})
				} else {
					build(r, ns)
				}
			}
			return
		}
		below := paths // sorted: those below d are the ones from d/ up to, not with, d0 ('0' follows '/')
		if d != "." {
			lo, _ := slices.BinarySearch(paths, d+"/")
			hi, _ := slices.BinarySearch(paths, d+"0")
			below = paths[lo:hi]
		}
		for _, p := range below {
			sub := ""
			for f := path.Dir(p); f != d; f = path.Dir(f) {
				if kustomizationIn(f) != "" {
					sub = f
				}
				if f == "." {
					break
				}
			}
			switch {
			case sub != "":
				build(sub, ns)
			case path.Ext(p) == ".yaml" || path.Ext(p) == ".yml":
				out = append(out, appliedFile{p, ns})
			}
		}
	}
	build(dir, targetNamespace)
	slices.SortFunc(out, func(a, b appliedFile) int { return strings.Compare(a.path, b.path) })
	return slices.CompactFunc(out, func(a, b appliedFile) bool { return a.path == b.path })
}

// namespaceObject is what NamespacesIn reads of an object.
type namespaceObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
}

// documents splits a YAML stream at its document markers (a line that starts with ---, which no block or quoted
// scalar may hold); each part keeps its marker line. The parts are slices of data, not copies as apimachinery's
// YAMLReader makes them: gotk-components.yaml's hundreds of documents are split on every run.
func documents(data []byte) [][]byte {
	var out [][]byte
	start := 0
	for i := 0; i < len(data); {
		end := bytes.IndexByte(data[i:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += i + 1
		}
		line := data[i:end]
		if i > start && bytes.HasPrefix(line, []byte("---")) && (len(line) == 3 || strings.ContainsRune(" \t\r\n", rune(line[3]))) {
			out = append(out, data[start:i])
			start = i
		}
		i = end
	}
	return append(out, data[start:])
}

// blockKind is the value of a document's top-level kind in block YAML (a line that starts with kind:), unquoted; ""
// when it has none there (JSON, flow YAML), which only parsing tells.
func blockKind(doc []byte) string {
	for line := range bytes.Lines(doc) {
		if v, ok := bytes.CutPrefix(line, []byte("kind:")); ok {
			return strings.Trim(strings.TrimSpace(string(v)), `"'`)
		}
	}
	return ""
}

// mayHoldKind says whether data holds a kind: KIND entry (Namespace, Kustomization), in block or flow YAML or in
// JSON, quoted or not: every such object does. (A CRD's text says Namespace often, in descriptions and as
// Namespaced; seldom so.)
func mayHoldKind(data []byte, kind string) bool {
	word := func(c byte) bool {
		return c == '_' || c == '-' || c == '.' || c == '/' || unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c))
	}
	for i := 0; ; {
		j := bytes.Index(data[i:], []byte(kind))
		if j < 0 {
			return false
		}
		j += i
		i = j + len(kind)
		if i < len(data) && word(data[i]) {
			continue // Namespaced, NamespaceSelector
		}
		k := j
		if k > 0 && (data[k-1] == '"' || data[k-1] == '\'') {
			k--
		}
		for k > 0 && (data[k-1] == ' ' || data[k-1] == '\t') {
			k--
		}
		if k == 0 || data[k-1] != ':' {
			continue
		}
		k--
		for k > 0 && (data[k-1] == ' ' || data[k-1] == '\t') {
			k--
		}
		if k > 0 && (data[k-1] == '"' || data[k-1] == '\'') {
			k--
		}
		if k >= 4 && string(data[k-4:k]) == "kind" && (k == 4 || !word(data[k-5])) {
			return true
		}
	}
}
