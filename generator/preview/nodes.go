package preview

import (
	"slices"
	"strings"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// A file's documents are read as parsed, not as kustomize resolves them, so that a masked file can be printed in
// its own shape; every question about them is answered on the values kustomize would see: aliases are followed,
// merge keys (<<) merged, tags resolved (kind: !!binary U2VjcmV0 is a Secret to kustomize and the API server), and
// a key given twice counts with each of its values. Where the answer could go either way, it is the one that masks.

const tagBinary = "!!binary"

// deref follows an alias to the node it names.
func deref(n *kyaml.Node) *kyaml.Node {
	for i := 0; n != nil && n.Kind == kyaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// root is a document's top node, aliases followed.
func root(doc *kyaml.Node) *kyaml.Node {
	doc = deref(doc)
	if doc != nil && doc.Kind == kyaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil
		}
		return deref(doc.Content[0])
	}
	return doc
}

// text is the string a scalar holds as kustomize decodes it (a !!binary scalar base64-decoded); ok is false for
// anything else.
func text(n *kyaml.Node) (string, bool) {
	n = deref(n)
	if n == nil || n.Kind != kyaml.ScalarNode {
		return "", false
	}
	if n.ShortTag() == tagBinary {
		var s string
		if n.Decode(&s) != nil {
			return "", false
		}
		return s, true
	}
	return n.Value, true
}

func isMergeKey(n *kyaml.Node) bool {
	n = deref(n)
	return n != nil && n.Kind == kyaml.ScalarNode && n.ShortTag() == kyaml.MergeTag
}

// fields are the values a mapping gives a key: its own entries (each of them, should the key repeat), then those of
// the mappings it merges in, at any depth.
func fields(m *kyaml.Node, name string) []*kyaml.Node {
	var out []*kyaml.Node
	visitFields(m, map[*kyaml.Node]bool{}, func(k, v *kyaml.Node) {
		if s, ok := text(k); ok && s == name {
			out = append(out, v)
		}
	})
	return out
}

// visitFields calls fn on every key and value of a mapping, those it merges in included.
func visitFields(m *kyaml.Node, seen map[*kyaml.Node]bool, fn func(k, v *kyaml.Node)) {
	m = deref(m)
	if m == nil || m.Kind != kyaml.MappingNode || seen[m] {
		return
	}
	seen[m] = true
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if !isMergeKey(k) {
			fn(k, v)
			continue
		}
		v = deref(v)
		if v != nil && v.Kind == kyaml.SequenceNode {
			for _, src := range v.Content {
				visitFields(src, seen, fn)
			}
			continue
		}
		visitFields(v, seen, fn)
	}
}

// field is the first value a mapping gives a key, or nil.
func field(m *kyaml.Node, name string) *kyaml.Node {
	if f := fields(m, name); len(f) > 0 {
		return deref(f[0])
	}
	return nil
}

// hasText says whether any of the nodes is a scalar holding s.
func hasText(nodes []*kyaml.Node, s string) bool {
	for _, n := range nodes {
		if t, ok := text(n); ok && t == s {
			return true
		}
	}
	return false
}

// secretObjects are the Secret objects a document holds: the document itself, or the items of a List (kind List or
// any kind ending in List, as kustomize expands them, at any depth). kustomize and Flux apply each item, so each is
// scanned and masked like a document of its own. A kind that Flux's postBuild substitutes (kind: ${kind}) may be a
// Secret where Flux applies it, and counts as one.
func secretObjects(doc *kyaml.Node) []*kyaml.Node {
	return secretObjectsIn(root(doc), 0)
}

func secretObjectsIn(obj *kyaml.Node, depth int) []*kyaml.Node {
	if obj == nil || obj.Kind != kyaml.MappingNode || depth > 100 {
		return nil
	}
	kinds := fields(obj, "kind")
	if hasText(kinds, "Secret") || slices.ContainsFunc(kinds, substituted) {
		return []*kyaml.Node{obj}
	}
	list := false
	for _, k := range kinds {
		if t, ok := text(k); ok && strings.HasSuffix(t, "List") {
			list = true
		}
	}
	if !list {
		return nil
	}
	var out []*kyaml.Node
	for _, items := range fields(obj, "items") {
		if items = deref(items); items != nil && items.Kind == kyaml.SequenceNode {
			for _, item := range items.Content {
				out = append(out, secretObjectsIn(deref(item), depth+1)...)
			}
		}
	}
	return out
}

// substituted says whether a scalar holds an expression of Flux's postBuild substitution, ${...}, whose value is
// known only where Flux applies it.
func substituted(n *kyaml.Node) bool {
	s, ok := text(n)
	return ok && strings.Contains(s, "${")
}
