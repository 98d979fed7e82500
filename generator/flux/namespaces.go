package flux

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/kronform/kronform-gen/generator/spec"
)

// SystemNamespaces are the namespaces every cluster has: the API server creates them itself (Talos' clusters too).
var SystemNamespaces = []string{"default", "kube-node-lease", "kube-public", "kube-system"}

// Files are the files of the tree on disk, as Lint reads them: paths relative to the tree, slash-separated.
type Files interface {
	Paths() []string
	File(p string) ([]byte, bool)
}

// Lint warns of the tree's objects placed in a namespace the cluster is not known to have. The API server refuses
// an object in a namespace that does not exist, and kustomize-controller applies a Kustomization all or nothing: one
// Secret in a missing namespace keeps every secret of the cluster from being applied or updated, and a missing Cilium
// namespace keeps Cilium from being installed or upgraded. Known are the system namespaces, the Flux namespace (flux
// bootstrap creates it), and those that a Namespace object in a YAML file under the cluster's folder creates: flux
// bootstrap's Kustomization applies them, and a Kustomization that needs one retries until it exists. The tree itself
// creates none: a Namespace in a generated folder would be pruned, with all it holds, once the spec no longer needed
// it. These are warnings: something outside the tree may create the namespace (another Kustomization of the
// repository, kubectl). tree is the tree on disk (nil: none), read only when a namespace is not known otherwise.
// Only the clusters that loaded whole are looked at (see spec.Model.Sound).
func Lint(m *spec.Model, tree Files) (warnings spec.Problems) {
	for i, c := range m.Clusters {
		if !m.Sound(i) {
			continue
		}
		known := slices.Clone(SystemNamespaces)
		if !slices.Contains(known, c.Flux.Namespace) {
			known = append(known, c.Flux.Namespace)
		}
		var created []string
		read := false
		missing := func(ns string) bool {
			if slices.Contains(known, ns) {
				return false
			}
			if !read {
				created, read = NamespacesIn(tree, c.Flux.Path), true
			}
			return !slices.Contains(created, ns)
		}
		kustomization := func(name string) string { return path.Join(c.Flux.Path, name+".yaml") }
		hint := fmt.Sprintf("create it: a Namespace in a YAML file under %s/, which flux bootstrap's Kustomization "+
			"applies; if something outside the tree creates it, that Kustomization fails until it does", c.Flux.Path)
		if missing(c.Cilium.Namespace) {
			warnings = append(warnings, m.Problem(fmt.Sprintf("clusters[%d].cilium.namespace", i), hint,
				"namespace %q is not one the cluster is known to have (%s), and no Namespace under %s/ creates it: "+
					"the API server refuses the HelmRepository and HelmRelease %s there, and the %s Kustomization (%s) "+
					"fails, so Cilium is neither installed nor upgraded", c.Cilium.Namespace, strings.Join(known, ", "),
				c.Flux.Path, ReleaseName, CiliumName, kustomization(CiliumName)))
		} else if !slices.Contains(known, c.Cilium.Namespace) {
			known = append(known, c.Cilium.Namespace)
		}
		for j, s := range c.Secrets {
			if !missing(s.Namespace) {
				continue
			}
			warnings = append(warnings, m.Problem(fmt.Sprintf("clusters[%d].secrets[%d].namespace", i, j), hint,
				"namespace %q is not one the cluster is known to have (%s), and no Namespace under %s/ creates it: "+
					"the API server refuses Secret %s/%s, and Flux applies the %s Kustomization (%s) all or nothing, "+
					"so none of the cluster's secrets is applied or updated while it is missing", s.Namespace,
				strings.Join(known, ", "), c.Flux.Path, s.Namespace, s.Name, SecretsName, kustomization(SecretsName)))
		}
	}
	return warnings
}

// NamespacesIn lists, sorted, the namespaces that Namespace objects (apiVersion v1) in the YAML files below dir create.
// A file that does not parse adds those of its documents before the one that does not.
func NamespacesIn(tree Files, dir string) []string {
	if tree == nil {
		return nil
	}
	var out []string
	for _, p := range tree.Paths() {
		if !strings.HasPrefix(p, dir+"/") || (path.Ext(p) != ".yaml" && path.Ext(p) != ".yml") {
			continue
		}
		data, ok := tree.File(p)
		if !ok || !bytes.Contains(data, []byte("Namespace")) {
			continue
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var obj struct {
				APIVersion string `yaml:"apiVersion"`
				Kind       string `yaml:"kind"`
				Metadata   struct {
					Name string `yaml:"name"`
				} `yaml:"metadata"`
			}
			err := dec.Decode(&obj)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				var typeErr *yaml.TypeError
				if errors.As(err, &typeErr) {
					continue // a document of another shape (a list, a scalar): no Namespace
				}
				break
			}
			if obj.APIVersion == "v1" && obj.Kind == "Namespace" && obj.Metadata.Name != "" {
				out = append(out, obj.Metadata.Name)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
