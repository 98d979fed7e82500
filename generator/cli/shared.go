package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/kronform/kronform-gen/generator/preview"
	"github.com/kronform/kronform-gen/generator/render"
	"github.com/kronform/kronform-gen/generator/tree"
)

// printShared warns of each object that two Kustomizations of a cluster apply. Flux refuses neither: each applies its
// copy by turns, relabelling the object kustomize.toolkit.fluxcd.io/name and /namespace as its own, and the one that
// stops building the object prunes it if it applied it last (kustomize-controller deletes only what bears its own
// labels), while the other still applies it: for a HelmRelease, an uninstall. This is how a cluster meets
// kronform-gen with a Cilium HelmRelease of its own.
func (a *app) printShared(shared []preview.Shared) {
	for _, s := range shared {
		pruned := "prunes it if it applied it last (each labels the object as its own)"
		if s.Kind == "HelmRelease" && s.Group == "helm.toolkit.fluxcd.io" {
			pruned += ", and helm-controller then uninstalls the release (for Cilium, the CNI: pods lose their network)"
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
//
// Building every Kustomization of a bootstrapped fleet means parsing flux bootstrap's gotk-components.yaml once per
// cluster, hundreds of kB of YAML each: ten times a no-op generate of the whole fleet. So the tree is built only when
// a file that is not kronform-gen's could make the name of one of the objects its Kustomizations apply, or takes
// kronform-gen's own files into another build (see namedElsewhere): an object of another Kustomization is one of
// them only if it bears the name, and Flux writes a name only from what the files hold, as kustomize builds it (a
// namePrefix or nameSuffix added to the rest of it) and postBuild then substitutes it (a variable's value, whole or in
// part). The build then names each object as Flux applies it, but for a name made of a variable from a Secret: the
// build masks its values, and so the name, which is then no name of kronform-gen's (a gap, as in build and diff). A
// variable whose value is more than a name or a part of one (lines of YAML; a spec.path's value that climbs with ..)
// goes unseen by namedElsewhere (see nameWalk and reaches), and so does what is not built: a Kustomization of
// another source, or one whose build fails.
//
// entries are the tree's entries on disk as the caller listed them (nil: listed here), and disk the tree as the
// caller read it (nil: read here, when a build is needed): generate has walked the tree after its write, and check
// has read it whole.
func (a *app) warnShared(t *tree.Tree, entries []string, disk *tree.Disk) {
	fsys := tree.Files(a.outDir)
	read := func(p string) ([]byte, error) {
		if disk != nil {
			if b, ok := disk.File(p); ok {
				return b, nil
			}
		}
		return fs.ReadFile(fsys, p)
	}
	if !a.namedElsewhere(t, entries, read) {
		return
	}
	// A large file no kustomize reads (a disk image beside the tree at a repository's root) is not read whole.
	if disk == nil {
		var err error
		if disk, err = tree.ReadDisk(a.outDir); err != nil {
			return
		}
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
	// Flux's CRDs, nearly all of a bootstrapped cluster's bytes, are applied by flux-system alone and never by
	// kronform-gen: they cannot be shared with its objects, and each build would parse them again.
	src, err := preview.FromFiles(withoutFluxCRDs(files))
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
	// kronform-gen writes a namespaced object with its namespace, and one without is of a cluster-scoped kind (its
	// host policies): another build's copy of it may have been given a namespace, which the API server drops.
	type groupKind struct{ group, kind string }
	clusterScoped := map[groupKind]bool{}
	for _, b := range res.Builds {
		if generated[b.Cluster+"/"+b.Name] {
			for _, r := range b.Resources {
				if r.GetNamespace() == "" {
					clusterScoped[groupKind{r.GetGvk().Group, r.GetGvk().Kind}] = true
				}
			}
		}
	}
	var ours []preview.Shared
	for _, s := range preview.SharedObjects(res.Builds, func(group, kind string) bool { return clusterScoped[groupKind{group, kind}] }) {
		for _, name := range s.Kustomizations {
			if generated[s.Cluster+"/"+name] {
				ours = append(ours, s)
				break
			}
		}
	}
	a.printShared(ours)
}

// namedElsewhere says whether a file of the folder --out names that kronform-gen did not write (nor a large one
// kustomize does not read) may make the name of an object that kronform-gen's Kustomizations apply: it holds the name
// whole, or it may rename what another file holds, or it takes kronform-gen's file of the object into a build of its
// own (see builds). Those that rename are a namePrefix or nameSuffix (a kustomization file's, a Component's, a Flux
// Kustomization's spec) or kustomize's prefix and suffix transformers, which make a name of parts, where one of the
// names may begin or end with it (see renames); and a Flux Kustomization's postBuild where a file holds a variable (${)
// in a name (see nameWalk), or anywhere if a file has kustomize copy values from field to field (copiesValues): its
// value, inline or from a ConfigMap, may be the name or a part of it. A variable elsewhere (a host, a container's
// environment) names nothing, nor does a prefix no name begins with (an environment's, a team's), and both are common:
// building a fleet for them made a no-op generate of 1000 bootstrapped clusters three times slower. Which
// Kustomization's build reads which file is the build's to say, so these count wherever they are: a fleet that uses
// them is built. Each file is read and let go: the whole tree is read only when one does. paths are the tree's entries
// (nil: listed here); read reads one.
func (a *app) namedElsewhere(t *tree.Tree, paths []string, read func(p string) ([]byte, error)) bool {
	if paths == nil {
		var err error
		if paths, err = tree.Entries(a.outDir, []string{"."}); err != nil {
			return true
		}
	}
	paths = slices.Clone(paths) // the caller's, which DeleteFunc would reorder
	// kronform-gen's own bookkeeping names its files, not objects; flux bootstrap writes (and rewrites) Flux's own
	// components alone into gotk-components.yaml, most of what a bootstrapped fleet's tree holds.
	paths = slices.DeleteFunc(paths, func(p string) bool {
		_, ours := t.File(p)
		return ours || !preview.ManifestName(p) || strings.HasPrefix(p, tree.StateDir+"/") ||
			strings.HasSuffix("/"+p, "/"+render.BootstrapDir+"/gotk-components.yaml")
	})
	if len(paths) == 0 {
		return false // a tree of kronform-gen's files alone: its own files are not read for names
	}
	names, objects := appliedNames(t)
	if len(names) == 0 {
		return false
	}
	// kronform-gen's files of objects and the folders above them, from the root of the repository Flux follows ("").
	in := map[string]bool{"": true}
	for _, o := range objects {
		for o = path.Join(t.RepositoryPath(), o); !in[o]; o = path.Dir(o) {
			in[o] = true
			if !strings.Contains(o, "/") {
				break
			}
		}
	}
	// postBuild substitutes a variable into a name where a file holds it in one, or where some file has kustomize
	// copy a value (which may hold it) into one.
	var postBuild, variable, namedByVariable, copies bool
	for _, p := range paths {
		b, err := read(p)
		if err != nil {
			continue
		}
		if renames(b, names) {
			return true
		}
		postBuild = postBuild || bytes.Contains(b, []byte("postBuild"))
		if bytes.Contains(b, []byte("${")) {
			variable = true
			namedByVariable = namedByVariable || variableInName(b)
		}
		copies = copies || copiesValues(b)
		if postBuild && (namedByVariable || variable && copies) {
			return true
		}
		for _, n := range names {
			if containsName(b, n) {
				return true
			}
		}
		// flux bootstrap's Kustomization applies the cluster's folder (bootstrapPathProblems), where kronform-gen
		// writes its Kustomizations alone; and parsing its gotk-sync.yaml made each cluster cost three times more.
		if !strings.HasSuffix("/"+p, "/"+render.BootstrapDir+"/gotk-sync.yaml") && builds(p, b, t.RepositoryPath(), in) {
			return true
		}
	}
	return false
}

// builds says whether the file p (its contents b) takes kronform-gen's files of objects into a build that is not
// one of kronform-gen's Kustomizations, though it names none of the objects: a kustomization file whose resources
// (components, bases, crds) list one of them or a folder that holds one, or a Flux Kustomization whose spec.path is
// such a folder, however far above them (kustomize-controller builds a folder without a kustomization file as every
// YAML file below it, down to the folders that have one, built from theirs). in holds the paths, from the root of the
// repository Flux follows, of kronform-gen's files of objects and of every folder above one ("" for the root), and
// repositoryPath is the tree's folder there. A Kustomization of another source, or one that cannot build, counts all
// the same: the build says. Only what may reach such a path is parsed: flux bootstrap's files of every cluster are
// read on each generate.
func builds(p string, b []byte, repositoryPath string, in map[string]bool) bool {
	if preview.IsKustomizationFile(p) {
		dir := path.Join(repositoryPath, path.Dir(p))
		if dir == "." {
			dir = "" // the root, as in holds it
		}
		if !in[dir] && !bytes.Contains(b, []byte("..")) {
			return false // its resources lie in its folder, below, which holds none
		}
		var k struct{ Resources, Components, Bases, Crds []string }
		if yaml.Unmarshal(b, &k) != nil {
			return false
		}
		for _, r := range slices.Concat(k.Resources, k.Components, k.Bases, k.Crds) {
			if r != "" && in[path.Join(dir, r)] {
				return true
			}
		}
		return false
	}
	if !bytes.Contains(b, []byte("kustomize.toolkit.fluxcd.io")) {
		return false
	}
	docs := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var k struct {
			APIVersion string `yaml:"apiVersion"`
			Kind       string `yaml:"kind"`
			Spec       struct{ Path string }
		}
		if err := docs.Decode(&k); errors.Is(err, io.EOF) {
			return false
		} else if err != nil {
			var typeErr *yaml.TypeError
			if !errors.As(err, &typeErr) {
				return false // the rest of the stream does not parse
			}
		}
		if k.Kind == "Kustomization" && strings.HasPrefix(k.APIVersion, "kustomize.toolkit.fluxcd.io/") && reaches(k.Spec.Path, in) {
			return true
		}
	}
}

// reaches says whether a Flux Kustomization's spec.path p, from the root of the repository, is one of in's paths. A
// Kustomization that another's build declares has its spec substituted by that one's postBuild: a path with a variable
// (${) may be any folder below the one its part before the variable names (./infrastructure/${cluster}), or any at all
// if the variable may complete a climb (..). A variable's value that itself climbs (..) goes unseen.
func reaches(p string, in map[string]bool) bool {
	head, tail, variable := strings.Cut(p, "${")
	if !variable {
		return in[strings.TrimLeft(path.Clean("/"+p), "/")]
	}
	if strings.Contains(tail, "..") || strings.HasSuffix(head, ".") {
		return true
	}
	dir := strings.TrimLeft(path.Dir(path.Clean("/"+head+"x")), "/") // the folder the variable's value extends
	for e := range in {
		if dir == "" || e == dir || strings.HasPrefix(e, dir+"/") {
			return true
		}
	}
	return false
}

// copiesValues says whether b may have kustomize copy the value of one field of an object into another, its name
// among them: replacements (a kustomization file's field, or ReplacementTransformer's configuration), a JSON patch's
// copy or move, or vars substituted where a configuration's varReference says.
func copiesValues(b []byte) bool {
	for _, s := range []string{"replacements", "ReplacementTransformer", "varReference"} {
		if bytes.Contains(b, []byte(s)) {
			return true
		}
	}
	return (bytes.Contains(b, []byte("copy")) || bytes.Contains(b, []byte("move"))) && jsonPatchCopies.Match(b)
}

// jsonPatchCopies is a JSON patch operation (RFC 6902) that copies or moves a value, in YAML or JSON.
var jsonPatchCopies = regexp.MustCompile(`\bop['"]?\s*:\s*['"]?(copy|move)\b`)

// variableInName says whether b, YAML or JSON documents, holds a variable (${) where kustomize takes the name of an
// object from (see nameWalk.variable); b that does not parse counts, as kustomize may read it otherwise.
func variableInName(b []byte) bool {
	return anyDocument(bytes.NewReader(b), true, func(doc *yaml.Node) bool { return (nameWalk{}).variable(doc, inValue) })
}

// anyDocument says whether f holds for a YAML document of r; a stream that does not parse from some document on
// answers unparsed there.
func anyDocument(r io.Reader, unparsed bool, f func(doc *yaml.Node) bool) bool {
	docs := yaml.NewDecoder(r)
	for {
		var doc yaml.Node
		if err := docs.Decode(&doc); errors.Is(err, io.EOF) {
			return false
		} else if err != nil {
			return unparsed
		}
		if f(&doc) {
			return true
		}
	}
}

// anyDocumentInText is anyDocument for a string value that may be YAML of its own (an inline patch, a transformer's
// configuration). One that does not parse is text, and so is one that parses as a lone scalar (${var:=default}, a URL,
// a note): it would be that same string again, read without end. Every string inside a mapping or a sequence is
// shorter than the text it is read from, so a walk that reads strings again through this ends.
func anyDocumentInText(s string, f func(doc *yaml.Node) bool) bool {
	return anyDocument(strings.NewReader(s), false, func(doc *yaml.Node) bool {
		if len(doc.Content) == 1 && doc.Content[0].Kind == yaml.ScalarNode {
			return false
		}
		return f(doc)
	})
}

// nameContext is where a YAML node stands, for nameWalk.
type nameContext int

const (
	inValue      nameContext = iota // any other value
	inName                          // an object's name, whole or in part
	inMetadata                      // a mapping whose name is an object's: metadata, or a generator's entry
	inGenerators                    // configMapGenerator's or secretGenerator's entries
)

// nameWalk is the nodes of one document that nameWalk.variable has looked at, in each context: an alias's node is
// looked at once (an anchor may hold an alias to itself, and aliases of aliases make a document of a few lines
// exponentially large).
type nameWalk map[nameWalkKey]bool

type nameWalkKey struct {
	n   *yaml.Node
	ctx nameContext
}

// variable says whether the node n, standing in ctx, holds a variable (${) that kustomize may write into an object's
// name: in the name of a metadata (at any depth: a List's items, a strategic merge patch), of a configMapGenerator's
// or secretGenerator's entry, in the value of a JSON patch's operation on a name, in a mapping's key, or in a string
// that is such YAML itself (an inline patch). A variable elsewhere (a host, an environment variable's value, a
// chart's values) reaches a name only if kustomize copies it there (copiesValues), or if its value makes YAML of the
// field it stands in (a value of several lines, which no name needs).
func (w nameWalk) variable(n *yaml.Node, ctx nameContext) bool {
	if w[nameWalkKey{n, ctx}] {
		return false // looked at already, or being looked at: it holds nothing more
	}
	w[nameWalkKey{n, ctx}] = true
	switch n.Kind {
	case yaml.DocumentNode:
		return slices.ContainsFunc(n.Content, func(c *yaml.Node) bool { return w.variable(c, ctx) })
	case yaml.AliasNode:
		return w.variable(n.Alias, ctx)
	case yaml.SequenceNode:
		if ctx == inGenerators {
			ctx = inMetadata
		} else if ctx != inName {
			ctx = inValue
		}
		return slices.ContainsFunc(n.Content, func(c *yaml.Node) bool { return w.variable(c, ctx) })
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			return false
		}
		if ctx == inName {
			return true
		}
		if !strings.ContainsAny(n.Value, ":\n") {
			return false
		}
		// A string of YAML: an inline patch, a PatchJson6902Transformer's jsonOp.
		return anyDocumentInText(n.Value, func(doc *yaml.Node) bool { return (nameWalk{}).variable(doc, inValue) })
	case yaml.MappingNode:
		pairs := mappingPairs(n, nil)
		// A JSON patch operation's value reaches a name where its path says name (or metadata, whose name the value
		// holds then).
		op, opPath := false, ""
		for _, kv := range pairs {
			switch kv[0].Value {
			case "op":
				op = true
			case "path":
				opPath = kv[1].Value
			}
		}
		renaming := op && (strings.Contains(opPath, "name") || strings.HasSuffix(opPath, "metadata") || strings.Contains(opPath, "${"))
		for _, kv := range pairs {
			key, value := kv[0], kv[1]
			if strings.Contains(key.Value, "${") {
				return true
			}
			c := inValue
			switch {
			case ctx == inName, ctx == inMetadata && key.Value == "name", renaming && key.Value == "value":
				c = inName
			case key.Value == "metadata":
				c = inMetadata
			case key.Value == "configMapGenerator", key.Value == "secretGenerator":
				c = inGenerators
			}
			if w.variable(value, c) {
				return true
			}
		}
	}
	return false
}

// mappingPairs are the keys and values of a mapping node, those it merges (<<: *anchor) included; merged are the
// mappings merged on the way to it (nil: none), each taken once.
func mappingPairs(m *yaml.Node, merged map[*yaml.Node]bool) [][2]*yaml.Node {
	if merged == nil {
		merged = map[*yaml.Node]bool{}
	}
	if merged[m] {
		return nil
	}
	merged[m] = true
	var out [][2]*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, value := m.Content[i], m.Content[i+1]
		if key.Tag == "!!merge" || key.Value == "<<" && key.Style == 0 {
			values := []*yaml.Node{value}
			if value.Kind == yaml.SequenceNode {
				values = value.Content
			}
			for _, v := range values {
				for v.Kind == yaml.AliasNode {
					v = v.Alias
				}
				if v.Kind == yaml.MappingNode {
					out = append(out, mappingPairs(v, merged)...)
				}
			}
			continue
		}
		out = append(out, [2]*yaml.Node{key, value})
	}
	return out
}

// renames says whether b may rename an object to one of names: it sets a namePrefix or nameSuffix (kustomize's and
// Flux's field), or the prefix or suffix of kustomize's PrefixSuffixTransformer, PrefixTransformer or
// SuffixTransformer (in a file of its own, or inline in a kustomization file's transformers), that one of names begins
// or ends with, or that holds a variable (${), which postBuild may substitute. Every name a build makes begins with the
// last prefix it added and ends with the last suffix (but for the hash kustomize then adds to a generated ConfigMap's
// or Secret's, which one of names would end with only by chance): a prefix that begins none of names keeps the object
// it renames from being one of them. b that does not parse counts, as kustomize may read it otherwise.
func renames(b []byte, names [][]byte) bool {
	if !slices.ContainsFunc(affixWords, func(w string) bool { return bytes.Contains(b, []byte(w)) }) {
		return false
	}
	return anyDocument(bytes.NewReader(b), true, func(doc *yaml.Node) bool {
		return (affixWalk{names: names, seen: map[*yaml.Node]bool{}}).renames(doc)
	})
}

// affixWords are the words of a file that may give a prefix or suffix to names.
var affixWords = []string{"namePrefix", "nameSuffix", "PrefixTransformer", "SuffixTransformer"}

// affixWalk is a walk of one document for the prefixes and suffixes that may make one of names; seen are the nodes
// looked at, each once (see nameWalk).
type affixWalk struct {
	names [][]byte
	seen  map[*yaml.Node]bool
}

// renames says whether the node n, at any depth, gives a prefix or suffix that may make one of names (see renames).
func (w affixWalk) renames(n *yaml.Node) bool {
	if w.seen[n] {
		return false
	}
	w.seen[n] = true
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		return slices.ContainsFunc(n.Content, func(c *yaml.Node) bool { return w.renames(c) })
	case yaml.AliasNode:
		return w.renames(n.Alias)
	case yaml.ScalarNode:
		// A string of YAML: a transformer's configuration inline in a kustomization file.
		if !strings.ContainsAny(n.Value, ":\n") || !slices.ContainsFunc(affixWords, func(w string) bool { return strings.Contains(n.Value, w) }) {
			return false
		}
		return anyDocumentInText(n.Value, func(doc *yaml.Node) bool {
			return (affixWalk{names: w.names, seen: map[*yaml.Node]bool{}}).renames(doc)
		})
	case yaml.MappingNode:
		for _, kv := range mappingPairs(n, nil) {
			key, value := kv[0].Value, kv[1]
			for value.Kind == yaml.AliasNode {
				value = value.Alias
			}
			var affix func(name, affix []byte) bool
			switch key {
			case "namePrefix", "prefix":
				affix = bytes.HasPrefix
			case "nameSuffix", "suffix":
				affix = bytes.HasSuffix
			}
			if affix != nil && value.Kind == yaml.ScalarNode && value.Value != "" {
				if strings.Contains(value.Value, "${") ||
					slices.ContainsFunc(w.names, func(name []byte) bool { return affix(name, []byte(value.Value)) }) {
					return true
				}
				continue
			}
			if w.renames(value) {
				return true
			}
		}
	}
	return false
}

// containsName says whether b holds name as a whole name: not a part of a longer one (cilium in cilium.io/v2, or in
// cilium-operator), as an object's name of DNS letters, digits, '-' and '.' stands in YAML or JSON.
func containsName(b, name []byte) bool {
	nameByte := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_'
	}
	for i := 0; ; {
		j := bytes.Index(b[i:], name)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(name)
		if (start == 0 || !nameByte(b[start-1])) && (end == len(b) || !nameByte(b[end])) {
			return true
		}
		i = start + 1
	}
}

// appliedNames are the metadata names of the objects in kronform-gen's files, but for Kustomizations (kustomize's,
// and Flux's, which flux bootstrap's Kustomization applies, not one of kronform-gen's), and the files that hold them.
// The files are its own encoder's: a document's kind and metadata start at column 0, and the name is the line
// "  name: " under metadata.
func appliedNames(t *tree.Tree) (names [][]byte, files []string) {
	seen := map[string]bool{}
	for _, p := range t.Paths() {
		b, _ := t.File(p)
		holds := false
		for _, doc := range bytes.Split(b, []byte("\n---\n")) {
			if bytes.HasPrefix(doc, []byte("kind: Kustomization\n")) || bytes.Contains(doc, []byte("\nkind: Kustomization\n")) {
				continue
			}
			_, meta, ok := bytes.Cut(doc, []byte("\nmetadata:\n"))
			if !ok {
				continue
			}
			for line := range bytes.Lines(meta) {
				if len(line) == 0 || line[0] != ' ' {
					break
				}
				if name, ok := bytes.CutPrefix(bytes.TrimRight(line, "\r\n"), []byte("  name: ")); ok && len(name) > 0 {
					holds = true
					name = bytes.Trim(name, `"'`)
					if !seen[string(name)] {
						seen[string(name)] = true
						names = append(names, name)
					}
					break
				}
			}
		}
		if holds {
			files = append(files, p)
		}
	}
	return names, files
}
