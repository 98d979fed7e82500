package preview

import (
	"strings"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// secretNodes are the Secret objects a document holds: the document itself, or the items of a List (kind List or
// any kind ending in List, as kustomize expands them, at any depth). kustomize and Flux apply each item, so each is
// scanned and masked like a document of its own.
func secretNodes(doc *kyaml.Node) []*kyaml.Node {
	if doc.Kind == kyaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil
		}
		doc = doc.Content[0]
	}
	if doc.Kind != kyaml.MappingNode {
		return nil
	}
	kind := ""
	if k := field(doc, "kind"); k != nil {
		kind = k.Value
	}
	if kind == "Secret" {
		return []*kyaml.Node{doc}
	}
	items := field(doc, "items")
	if !strings.HasSuffix(kind, "List") || items == nil || items.Kind != kyaml.SequenceNode {
		return nil
	}
	var out []*kyaml.Node
	for _, item := range items.Content {
		out = append(out, secretNodes(item)...)
	}
	return out
}
