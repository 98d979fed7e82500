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

// Lint warns of the tree's objects placed in a namespace the cluster is not known to have. The API server refuses
// an object in a namespace that does not exist, and kustomize-controller applies a Kustomization all or nothing: one
// Secret in a missing namespace keeps every secret of the cluster from being applied or updated, and a missing Cilium
// namespace keeps Cilium from being installed or upgraded. Known are the system namespaces, the Flux namespace (flux
// bootstrap creates it), and those that a Namespace object in a YAML file under the cluster's folder creates, as flux
// bootstrap's Kustomization builds that folder (see appliedFiles): it applies them, and a Kustomization that needs
// one retries until it exists. The tree itself
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
		hint := fmt.Sprintf("create it: a Namespace in a YAML file under %s/ (named in the kustomization.yaml on its "+
			"way, if a folder has one), which flux bootstrap's Kustomization applies; if something outside the tree "+
			"creates it, that Kustomization fails until it does", c.Flux.Path)
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

// NamespacesIn lists, sorted, the namespaces that Namespace objects (apiVersion v1) create in the files
// kustomize-controller applies for a Kustomization at dir (see appliedFiles), those in the items of a List too
// (kustomize applies them one by one). Only the documents that hold a kind: Namespace entry are parsed: flux
// bootstrap's gotk-components.yaml, below every cluster's folder, is hundreds of KB of CRDs, and this runs on every
// generate and check. A document that does not parse creates none.
func NamespacesIn(tree Files, dir string) []string {
	if tree == nil {
		return nil
	}
	var out []string
	for _, p := range appliedFiles(tree, dir) {
		data, ok := tree.File(p)
		if !ok || !mayHoldNamespace(data) {
			continue
		}
		for _, doc := range documents(data) {
			if !mayHoldNamespace(doc) {
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
					out = append(out, o.Metadata.Name)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// appliedFiles lists the files of the tree that kustomize-controller builds for a Kustomization whose path is dir:
// a folder with a kustomization file, the resources that names (any file, whatever its name; a folder, as kustomize
// builds it); a folder without one, as kustomize-controller generates its kustomization: every .yaml and .yml file
// in it and below, down to the folders that have a kustomization file, built from that.
func appliedFiles(tree Files, dir string) []string {
	paths := tree.Paths()
	isFile := make(map[string]bool, len(paths))
	kustomizations := map[string]string{} // folder -> its kustomization file (kustomize refuses a folder with two)
	for _, p := range paths {
		isFile[p] = true
		if slices.Contains(konfig.RecognizedKustomizationFileNames(), path.Base(p)) && kustomizations[path.Dir(p)] == "" {
			kustomizations[path.Dir(p)] = p
		}
	}
	kustomizationIn := func(d string) string { return kustomizations[d] }
	var out []string
	seen := map[string]bool{}
	var build func(d string)
	build = func(d string) {
		if seen[d] {
			return
		}
		seen[d] = true
		if k := kustomizationIn(d); k != "" {
			data, _ := tree.File(k)
			var kust struct {
				Resources, Crds, Bases []string
			}
			if err := yaml.Unmarshal(data, &kust); err != nil {
				return // kustomize cannot read it: the Kustomization fails, and applies nothing
			}
			for _, r := range slices.Concat(kust.Resources, kust.Crds, kust.Bases) {
				r = path.Clean(path.Join(d, r)) // one that leaves the tree, or is a URL, names nothing here
				if strings.HasPrefix(r, "../") {
					continue
				}
				if isFile[r] {
					out = append(out, r)
				} else {
					build(r)
				}
			}
			return
		}
		for _, p := range paths {
			if !strings.HasPrefix(p, d+"/") {
				continue
			}
			sub := ""
			for f := path.Dir(p); f != d; f = path.Dir(f) {
				if kustomizationIn(f) != "" {
					sub = f
				}
			}
			switch {
			case sub != "":
				build(sub)
			case path.Ext(p) == ".yaml" || path.Ext(p) == ".yml":
				out = append(out, p)
			}
		}
	}
	build(dir)
	slices.Sort(out)
	return slices.Compact(out)
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

// mayHoldNamespace says whether data holds a kind: Namespace entry, in block or flow YAML or in JSON, quoted or not:
// every Namespace object does. (A CRD's text says Namespace often, in descriptions and as Namespaced; seldom so.)
func mayHoldNamespace(data []byte) bool {
	word := func(c byte) bool {
		return c == '_' || c == '-' || c == '.' || c == '/' || unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c))
	}
	for i := 0; ; {
		j := bytes.Index(data[i:], []byte("Namespace"))
		if j < 0 {
			return false
		}
		j += i
		i = j + len("Namespace")
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
