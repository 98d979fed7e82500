package preview

import (
	"slices"
	"strings"
)

// Shared is one object that two or more Kustomizations of a cluster apply. Flux does not refuse it: each
// Kustomization applies its own copy in turn (each undoing the other's fields, its owner labels
// kustomize.toolkit.fluxcd.io/name and /namespace included), each lists the object in its inventory, and the one that
// stops building it prunes it if its labels are on the object then (it applied it last), whatever the other still
// applies. A HelmRelease so pruned uninstalls its release.
type Shared struct {
	Cluster string
	// Group is the object's API group ("" for the core group), which with Kind, Namespace and Name is its identity in
	// the API server: two Kustomizations writing one version each still write the same object.
	Group, Kind, Namespace, Name string
	// Kustomizations are the names of those that apply it, sorted.
	Kustomizations []string
}

// Object names the object as messages print it: Kind namespace/name, or Kind name for a cluster-scoped one.
func (s Shared) Object() string {
	if s.Namespace == "" {
		return s.Kind + " " + s.Name
	}
	return s.Kind + " " + s.Namespace + "/" + s.Name
}

// SharedObjects lists the objects that more than one of the builds applies in the same cluster, sorted by cluster,
// kind, namespace and name. Builds of one Kustomization count once. clusterScoped says which kinds the caller knows
// to be cluster-scoped (nil: none): kustomize gives a namespace (a kustomization file's, Flux's targetNamespace) to a
// custom resource whose scope it does not know, a CiliumClusterwideNetworkPolicy say, and the API server drops it, so
// an object of such a kind is one whatever namespace a build gives it.
func SharedObjects(builds []*Build, clusterScoped func(group, kind string) bool) []Shared {
	type key struct{ cluster, group, kind, namespace, name string }
	by := map[key][]string{}
	for _, b := range builds {
		for _, r := range b.Resources {
			gvk := r.GetGvk()
			namespace := r.GetNamespace()
			if clusterScoped != nil && clusterScoped(gvk.Group, gvk.Kind) {
				namespace = ""
			}
			// As the diff keys them: a name substituted from a Secret prints masked.
			k := key{b.Cluster, gvk.Group, maskPlaceholders(gvk.Kind), maskPlaceholders(namespace), maskPlaceholders(r.GetName())}
			if !slices.Contains(by[k], b.Name) {
				by[k] = append(by[k], b.Name)
			}
		}
	}
	var out []Shared
	for k, names := range by {
		if len(names) < 2 {
			continue
		}
		slices.Sort(names)
		out = append(out, Shared{Cluster: k.cluster, Group: k.group, Kind: k.kind, Namespace: k.namespace, Name: k.name, Kustomizations: names})
	}
	slices.SortFunc(out, func(a, b Shared) int {
		return strings.Compare(strings.Join([]string{a.Cluster, a.Kind, a.Group, a.Namespace, a.Name}, "\x00"),
			strings.Join([]string{b.Cluster, b.Kind, b.Group, b.Namespace, b.Name}, "\x00"))
	})
	return out
}
