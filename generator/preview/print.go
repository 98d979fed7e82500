package preview

import (
	"fmt"
	"regexp"
	"strconv"
	"unicode/utf8"

	"sigs.k8s.io/kustomize/api/resource"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/kronform/kronform-gen/generator/manifest"
	"github.com/kronform/kronform-gen/internal/parallel"
)

// YAML prints the build as `kustomize build` does: one document per object, separated by ---. Secret values are
// masked unless reveal is set.
func (b *Build) YAML(reveal bool) ([]byte, error) {
	var out []byte
	for i, r := range b.Resources {
		y, err := resourceYAML(r, reveal)
		if err != nil {
			return nil, fmt.Errorf("%s: %s/%s: %w", b.ID(), r.GetKind(), r.GetName(), err)
		}
		if i > 0 {
			out = append(out, "---\n"...)
		}
		out = append(out, y...)
	}
	return out, nil
}

// YAMLAll prints every build (Build.YAML), on every core, in the order given.
func YAMLAll(builds []*Build, reveal bool) ([][]byte, error) {
	out := make([][]byte, len(builds))
	errs := make([]error, len(builds))
	parallel.For(len(builds), 0, func(i int) { out[i], errs[i] = builds[i].YAML(reveal) })
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// resourceYAML prints one object as kustomize does (resource.AsYAML: the object as JSON, then sigs.k8s.io/yaml's
// JSONToYAML, so keys come out sorted and scalars as JSON typed them), from its JSON value (objectValue). Secret
// values are masked unless reveal is set, and placeholders of masked variables print as their masks, with or without
// reveal (a SOPS value left encrypted stays masked).
func resourceYAML(r *resource.Resource, reveal bool) ([]byte, error) {
	m, err := objectValue(r)
	if err != nil {
		return nil, err
	}
	if !reveal {
		maskObject(m)
	}
	maskValuePlaceholders(m)
	return manifest.ValueToYAML(m)
}

// objectValue is an object as kustomize prints it and Flux applies it, as a JSON value (a new one, free to change):
// aliases and merge keys resolved, tags decoded (kind: !!binary U2VjcmV0 is a Secret). The usual object is turned into
// it straight from its node tree; an object holding anything whose JSON typing is subtle (floats, timestamps, custom
// tags, merge keys, anchors, large or non-decimal integers, duplicate keys) takes kustomize's own round trip.
func objectValue(r *resource.Resource) (map[string]any, error) {
	if v, ok := jsonValue(r.RNode.YNode()); ok {
		if m, isMap := v.(map[string]any); isMap {
			return m, nil
		}
	}
	j, err := r.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return manifest.JSONValue(j)
}

// maskObject masks the values of a Secret, decided on its kind as applied.
func maskObject(m map[string]any) {
	if kind, _ := m["kind"].(string); kind == "Secret" {
		maskSecret(m)
	}
}

// decimal is an integer as YAML and JSON both write it, in the range of int64 once parsed.
var decimal = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)

// jsonValue is the JSON value of a node tree as kyaml's MarshalJSON and a JSON decoder that keeps integers would give
// it: map[string]any, []any, string, int64, bool or nil. ok is false when the tree holds anything else; then only
// the round trip itself says what it becomes.
func jsonValue(n *kyaml.Node) (any, bool) {
	if n == nil || n.Anchor != "" {
		return nil, false
	}
	switch n.Kind {
	case kyaml.DocumentNode:
		if len(n.Content) != 1 {
			return nil, false
		}
		return jsonValue(n.Content[0])
	case kyaml.MappingNode:
		if n.ShortTag() != kyaml.NodeTagMap {
			return nil, false
		}
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != kyaml.ScalarNode || k.Anchor != "" || k.ShortTag() != kyaml.NodeTagString || !utf8.ValidString(k.Value) {
				return nil, false
			}
			if _, dup := m[k.Value]; dup {
				return nil, false
			}
			v, ok := jsonValue(n.Content[i+1])
			if !ok {
				return nil, false
			}
			m[k.Value] = v
		}
		return m, true
	case kyaml.SequenceNode:
		if n.ShortTag() != kyaml.NodeTagSeq {
			return nil, false
		}
		s := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, ok := jsonValue(c)
			if !ok {
				return nil, false
			}
			s[i] = v
		}
		return s, true
	case kyaml.ScalarNode:
		switch n.ShortTag() {
		case kyaml.NodeTagString:
			return n.Value, utf8.ValidString(n.Value)
		case kyaml.NodeTagNull:
			return nil, true
		case kyaml.NodeTagBool:
			switch n.Value {
			case "true", "True", "TRUE":
				return true, true
			case "false", "False", "FALSE":
				return false, true
			}
		case kyaml.NodeTagInt:
			if decimal.MatchString(n.Value) {
				i, err := strconv.ParseInt(n.Value, 10, 64)
				return i, err == nil
			}
		}
	}
	return nil, false
}
