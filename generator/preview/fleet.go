package preview

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"sigs.k8s.io/kustomize/api/resource"

	"github.com/kronform/kronform-gen/internal/parallel"
)

// Result is what Build found and built.
type Result struct {
	// Builds are the selected Kustomizations that built, sorted by cluster, then name.
	Builds []*Build
	// Kustomizations are every Kustomization of the clusters built, those Flux would skip included: the ones declared
	// under clusters/<cluster>/ and the ones that builds declare, at any depth. Sorted by cluster, then name.
	Kustomizations []Kustomization
	// Skipped are selected Kustomizations that Flux does not apply from this tree, so they were not built.
	Skipped []Skipped
	// Decrypted and Keyless count, over the Builds, the SOPS files and objects Options.Decrypt decrypted, and those
	// whose recipients the key opens none of (left encrypted, and noted).
	Decrypted, Keyless int
}

// Skipped is a Kustomization that Flux would not apply from this tree, and why.
type Skipped struct {
	Kustomization
	Reason string
}

// node is one Kustomization of a cluster on its way through the build: kustomize (and decryption), then postBuild
// once the Kustomizations providing its substituteFrom sources have had theirs.
type node struct {
	k Kustomization
	// skip says why Flux does not apply it from this tree; forced builds it anyway (the user named it), but then it
	// neither provides sources nor declares Kustomizations, as in the cluster.
	skip    string
	forced  bool
	b       *Build
	err     error
	built   bool // kustomize ran (b or err is set)
	indexed bool // its ConfigMaps and Secrets are in the providers
	final   bool // postBuild ran, or the node failed
}

func (n *node) applied() bool { return n.skip == "" }

// cluster is the state of one cluster's builds.
type cluster struct {
	name   string
	own    SourceRef
	byName map[string]*node
	nodes  []*node
	// providers are the Kustomizations whose builds hold each ConfigMap and Secret (the first, in name order, when
	// two do), keyed by the objects as kustomize built them.
	providers map[objectKey]*node
	errs      []error // Kustomizations whose name clashes
	// unbuilt are the Kustomizations Flux applies that kustomize could not build: what they hold is unknown.
	unbuilt []string
}

// SourceRef names a Flux source object.
type SourceRef struct{ Kind, Namespace, Name string }

func (r SourceRef) String() string { return r.Kind + " " + r.Namespace + "/" + r.Name }

// Build builds what Flux would apply for every cluster of the seeds (the Kustomizations declared under
// clusters/<cluster>/, as Kustomizations returns them), the way Flux reconciles a cluster: flux bootstrap's
// Kustomization applies clusters/<cluster>, and every Kustomization object that any build of the cluster holds is
// itself reconciled, at any depth. Kustomizations that Flux does not apply from this tree (suspended, or with another
// source) are skipped. postBuild runs once the Kustomizations that build its substituteFrom sources have had
// theirs, since Flux reads a source as it stands in the cluster, substituted.
//
// Failures come back as *Error values joined into one error, alongside the result (never nil): only for selected
// Kustomizations, and a Kustomization fails only with itself or a Kustomization that provides one of its sources.
func (s *Source) Build(seeds []Kustomization, opts Options) (*Result, error) {
	serial, err := s.customSchemas()
	if err != nil {
		return &Result{}, err
	}
	workers := opts.Workers // 0: one per CPU
	if serial {
		workers = 1
	}
	clusters := map[string]*cluster{}
	var order []*cluster
	for _, k := range seeds {
		if opts.Cluster != "" && k.Cluster != opts.Cluster {
			continue
		}
		c := clusters[k.Cluster]
		if c == nil {
			c = &cluster{name: k.Cluster, own: ownSource(k.Cluster, seeds), byName: map[string]*node{}, providers: map[objectKey]*node{}}
			clusters[k.Cluster] = c
			order = append(order, c)
		}
		c.add(k, opts)
	}

	for {
		// kustomize every node that is new since the last round, across all clusters at once.
		var todo []*node
		for _, c := range order {
			for _, n := range c.nodes {
				if !n.built && (n.applied() || n.forced) {
					todo = append(todo, n)
				}
			}
		}
		parallel.For(len(todo), workers, func(i int) {
			n := todo[i]
			n.b, n.err = s.kustomize(n.k, serial, opts.Decrypt)
			if n.err == nil {
				n.err = n.b.in.redact(decryption(n.b, opts.Decrypt))
			}
		})
		// A build that failed only in decryption keeps its objects: they still say which sources it would provide, so
		// that a Kustomization needing one fails naming it rather than noting the source absent.
		for _, n := range todo {
			n.built = true
			n.final = n.err != nil
			if n.b == nil && n.applied() {
				c := clusters[n.k.Cluster]
				c.unbuilt = append(c.unbuilt, n.k.ID())
			}
		}
		for _, c := range order {
			slices.Sort(c.unbuilt)
			c.indexProviders()
		}

		// postBuild whatever is ready, round by round, until something new is declared or nothing more is ready.
		grew := false
		for !grew {
			var ready []*node
			for _, c := range order {
				ready = append(ready, c.ready(false)...)
			}
			if len(ready) == 0 {
				// What waits only on sources that no build holds takes them as absent; after that, what still waits
				// is in a cycle, or waits on one.
				for _, c := range order {
					ready = append(ready, c.ready(true)...)
				}
			}
			if len(ready) == 0 {
				cycles := false
				for _, c := range order {
					cycles = c.failCycles() || cycles
				}
				if cycles {
					continue
				}
				break
			}
			parallel.For(len(ready), workers, func(i int) { clusters[ready[i].k.Cluster].postBuild(ready[i], opts.Decrypt != nil) })
			for _, n := range ready {
				n.final = true
				if n.err == nil && n.applied() {
					grew = clusters[n.k.Cluster].declare(n, opts) || grew
				}
			}
		}
		if !grew {
			break
		}
	}

	res := &Result{}
	var failed []error
	for _, c := range order {
		for _, n := range c.sorted() {
			res.Kustomizations = append(res.Kustomizations, n.k)
			if !selected(n.k, opts) {
				continue
			}
			switch {
			case n.err != nil:
				failed = append(failed, &Error{ID: n.k.ID(), Err: n.err})
			case !n.applied() && !n.forced:
				res.Skipped = append(res.Skipped, Skipped{Kustomization: n.k, Reason: n.skip})
			case n.b != nil:
				res.Builds = append(res.Builds, n.b)
				res.Decrypted += n.b.opened
				res.Keyless += n.b.keyless
			}
		}
		for _, e := range c.errs {
			var ke *Error
			if errors.As(e, &ke) && (opts.Name == "" || ke.ID == c.name+"/"+opts.Name) {
				failed = append(failed, e)
			}
		}
	}
	return res, errors.Join(failed...)
}

func selected(k Kustomization, opts Options) bool {
	return (opts.Cluster == "" || k.Cluster == opts.Cluster) && (opts.Name == "" || k.Name == opts.Name)
}

// ownSource is the GitRepository that flux bootstrap made for a cluster: the one its bootstrap Kustomization
// reads. A tree without it (not bootstrapped yet) has bootstrap's default, flux-system/flux-system.
func ownSource(clusterName string, seeds []Kustomization) SourceRef {
	if k, ok := Bootstrap(clusterName, seeds); ok {
		return k.Source()
	}
	// Not bootstrapped yet, or its files are kept elsewhere: what sits directly at the bootstrap path is applied from
	// the bootstrap GitRepository, and the Kustomizations kronform-gen writes there name it (the spec's
	// flux.gitRepository). When those agree, that is the one; else bootstrap's default.
	dir := ClustersDir + "/" + clusterName
	var found []SourceRef
	for _, k := range seeds {
		if k.Cluster == clusterName && path.Dir(k.File) == dir && k.Spec.SourceRef.Kind == "GitRepository" {
			found = append(found, k.Source())
		}
	}
	if len(found) > 0 && !slices.ContainsFunc(found, func(r SourceRef) bool { return r != found[0] }) {
		return found[0]
	}
	return SourceRef{"GitRepository", "flux-system", "flux-system"}
}

// Bootstrap is the Kustomization that flux bootstrap made for a cluster, among the Kustomizations found in a tree:
// declared under clusters/<cluster>/flux-system/, it applies clusters/<cluster> from a GitRepository. false when
// the cluster has none in this tree (not bootstrapped yet, or its files kept elsewhere).
func Bootstrap(clusterName string, ks []Kustomization) (Kustomization, bool) {
	for _, k := range ks {
		if k.FromBootstrap(clusterName) && k.Path == ClustersDir+"/"+clusterName {
			return k, true
		}
	}
	return Kustomization{}, false
}

// FromBootstrap says the Kustomization stands where flux bootstrap writes a cluster's own: declared under
// clusters/<cluster>/flux-system/, from a GitRepository. Whether it applies that cluster folder is its path's to say.
func (k Kustomization) FromBootstrap(clusterName string) bool {
	return k.Cluster == clusterName && k.DeclaredBy == "" && k.Spec.SourceRef.Kind == "GitRepository" &&
		strings.HasPrefix(k.File, ClustersDir+"/"+clusterName+"/flux-system/")
}

// Source is a Kustomization's sourceRef, its namespace defaulted to the Kustomization's as Flux does.
func (k Kustomization) Source() SourceRef {
	r := SourceRef{k.Spec.SourceRef.Kind, k.Spec.SourceRef.Namespace, k.Spec.SourceRef.Name}
	if r.Namespace == "" {
		r.Namespace = k.Namespace
	}
	return r
}

// add takes in a Kustomization; it reports whether it is new. A name already taken in another namespace is an error:
// build names Kustomizations cluster/name.
func (c *cluster) add(k Kustomization, opts Options) bool {
	if old := c.byName[k.Name]; old != nil {
		if old.k.Namespace != k.Namespace {
			c.errs = append(c.errs, &Error{ID: k.ID(), Err: fmt.Errorf(
				"two Kustomizations of cluster %s are named %s: %s/%s (%s) and %s/%s (%s); names must be unique in a cluster",
				c.name, k.Name, old.k.Namespace, k.Name, old.k.origin(), k.Namespace, k.Name, k.origin())})
		}
		return false // the same object again: flux-system's build holds the Kustomizations under clusters/<cluster>/
	}
	n := &node{k: k}
	switch ref := k.Source(); {
	case k.Spec.Suspend && !slices.Contains(opts.Resume, k.ID()):
		n.skip = "it is suspended (spec.suspend: true): Flux applies nothing from it until it is resumed"
	case ref != c.own:
		n.skip = fmt.Sprintf("its source is %s, not this repository's %s: Flux builds it from that source", ref, c.own)
	case k.Outside != nil:
		// The repository Flux follows holds more than the tree (repositoryPath): Flux builds it from elsewhere in it.
		var outside *outsideError
		if errors.As(k.Outside, &outside) {
			n.skip = fmt.Sprintf("its spec.path %q lies outside the tree, which is the folder %s of the repository Flux follows: Flux builds it from there",
				outside.path, outside.repositoryPath)
		} else {
			n.skip = k.Outside.Error()
		}
	}
	n.forced = n.skip != "" && opts.Name == k.Name
	c.byName[k.Name] = n
	c.nodes = append(c.nodes, n)
	return true
}

// origin says where a Kustomization comes from, for errors.
func (k Kustomization) origin() string {
	if k.DeclaredBy != "" {
		return "in the build of " + k.DeclaredBy
	}
	return k.File
}

func (c *cluster) sorted() []*node {
	return slices.SortedFunc(slices.Values(c.nodes), func(a, b *node) int { return strings.Compare(a.k.Name, b.k.Name) })
}

// indexProviders records the ConfigMaps and Secrets of Kustomizations Flux applies, as kustomize built them.
func (c *cluster) indexProviders() {
	for _, n := range c.sorted() {
		if n.b == nil || !n.applied() || n.indexed {
			continue
		}
		n.indexed = true
		for _, r := range n.b.Resources {
			if k := r.GetKind(); k == "ConfigMap" || k == "Secret" {
				key := objectKey{k, r.GetNamespace(), r.GetName()}
				if c.providers[key] == nil {
					c.providers[key] = n
				}
			}
		}
	}
}

// refs are the keys of a Kustomization's substituteFrom sources.
func refs(k Kustomization) []objectKey {
	if k.Spec.PostBuild == nil {
		return nil
	}
	var out []objectKey
	for _, ref := range k.Spec.PostBuild.SubstituteFrom {
		out = append(out, objectKey{ref.Kind, k.Namespace, ref.Name})
	}
	return out
}

func optional(k Kustomization, key objectKey) bool {
	for _, ref := range k.Spec.PostBuild.SubstituteFrom {
		if ref.Kind == key.kind && ref.Name == key.name && ref.Optional {
			return true
		}
	}
	return false
}

// ready lists the nodes whose postBuild can run: every source's provider is done. With absent set, a source that no
// build holds does not hold a node back either.
func (c *cluster) ready(absent bool) []*node {
	var out []*node
	for _, n := range c.nodes {
		if !n.built || n.final {
			continue
		}
		ok := true
		for _, key := range refs(n.k) {
			p := c.providers[key]
			if p == nil && !absent || p != nil && !p.final {
				ok = false
			}
		}
		if ok {
			out = append(out, n)
		}
	}
	return out
}

// postBuild runs postBuild on a node whose providers are done. A source whose Kustomization failed fails it, naming
// that Kustomization: in the cluster the source would not be there, or not as the tree has it.
func (c *cluster) postBuild(n *node, reveal bool) {
	sources := map[objectKey]*resource.Resource{}
	for _, key := range refs(n.k) {
		p := c.providers[key]
		if p == nil {
			if len(c.unbuilt) > 0 && !optional(n.k, key) {
				n.b.Notes = append(n.b.Notes, fmt.Sprintf("postBuild.substituteFrom %s/%s may be held by a Kustomization that does not build: %s",
					key.kind, key.name, strings.Join(c.unbuilt, ", ")))
			}
			continue
		}
		if p.err != nil {
			n.err = fmt.Errorf("postBuild.substituteFrom %s/%s comes from Kustomization %s, which does not build", key.kind, key.name, p.k.ID())
			n.b = nil
			return
		}
		for _, r := range p.b.Resources {
			if r.GetKind() == key.kind && r.GetNamespace() == key.namespace && r.GetName() == key.name {
				sources[key] = r
				break
			}
		}
	}
	if n.forced {
		n.b.Notes = append(n.b.Notes, "built because it was named, although Flux does not apply it from this tree: "+n.skip)
	}
	if err := postBuild(n.b, sources, reveal); err != nil {
		n.err, n.b = err, nil
	}
}

// failCycles fails the nodes that wait on each other's sources, naming the cycle; it reports whether it found one.
// Nodes that wait on them then fail in turn, naming their provider.
func (c *cluster) failCycles() bool {
	found := false
	for _, n := range c.nodes {
		if !n.built || n.final {
			continue
		}
		if path := c.cycleFrom(n, n, nil, map[*node]bool{}); path != nil {
			n.err, n.b = fmt.Errorf("postBuild.substituteFrom sources form a cycle, which Flux cannot apply: %s", strings.Join(path, " → ")), nil
			found = true
		}
	}
	for _, n := range c.nodes {
		if n.err != nil {
			n.final = true
		}
	}
	return found
}

// cycleFrom looks for a way from n back to start through substituteFrom providers that are not done; it returns the
// steps, as "cluster/name needs Kind/name" lines, or nil.
func (c *cluster) cycleFrom(start, n *node, path []string, seen map[*node]bool) []string {
	if seen[n] {
		return nil
	}
	seen[n] = true
	for _, key := range refs(n.k) {
		p := c.providers[key]
		if p == nil || p.final {
			continue
		}
		step := append(slices.Clip(path), fmt.Sprintf("%s needs %s/%s from %s", n.k.ID(), key.kind, key.name, p.k.ID()))
		if p == start {
			return step
		}
		if found := c.cycleFrom(start, p, step, seen); found != nil {
			return found
		}
	}
	return nil
}

// declare takes in the Kustomizations that a node's build holds; Flux applies them, so they are reconciled in turn.
// It reports whether any is new.
func (c *cluster) declare(n *node, opts Options) bool {
	grew := false
	for _, r := range n.b.Resources {
		if r.GetKind() != "Kustomization" || !strings.HasPrefix(r.GetApiVersion(), kustomizev1.GroupVersion.Group+"/") {
			continue
		}
		k, err := kustomizationOf(r)
		err = n.b.in.redact(err)
		k.Cluster, k.DeclaredBy = c.name, n.k.ID()
		if err == nil {
			if k.Path, err = n.b.in.src.specPath(k.Spec.Path); errors.As(err, new(*outsideError)) {
				k.Outside, err = err, nil
			}
		}
		if err != nil {
			c.errs = append(c.errs, &Error{ID: k.ID(), Err: fmt.Errorf("declared by %s: %w", n.k.ID(), err)})
			continue
		}
		grew = c.add(k, opts) || grew
	}
	return grew
}

// kustomizationOf reads a built Flux Kustomization object as the controller's types decode it.
func kustomizationOf(r *resource.Resource) (Kustomization, error) {
	j, err := r.MarshalJSON()
	if err != nil {
		return Kustomization{Name: r.GetName(), Namespace: r.GetNamespace()}, err
	}
	var k kustomizev1.Kustomization
	if err := json.Unmarshal(j, &k); err != nil {
		return Kustomization{Name: r.GetName(), Namespace: r.GetNamespace()}, err
	}
	return Kustomization{Name: k.Name, Namespace: k.Namespace, Spec: k.Spec}, nil
}
