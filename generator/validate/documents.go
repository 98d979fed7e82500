package validate

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	yamlv3 "gopkg.in/yaml.v3"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// document is one YAML document of a file: its bytes, the line it starts on, and its content as the API server would
// decode it. Its node tree, which maps a field path back to a line, is parsed only when a finding needs a position.
type document struct {
	raw    []byte
	line   int // 1-based line of the document's first line in the file
	object map[string]any
	node   *yamlv3.Node
}

// nodes parses the document's node tree on first use.
func (d *document) nodes() *yamlv3.Node {
	if d.node == nil {
		d.node = &yamlv3.Node{}
		_ = yamlv3.Unmarshal(d.raw, d.node) // positions only; sigs.k8s.io/yaml already accepted the document
	}
	return d.node
}

// splitDocuments splits a multi-document YAML file on "---" lines, as kubectl and kustomize do, and says on which
// line each document starts.
func splitDocuments(data []byte) (docs [][]byte, starts []int) {
	lines := bytes.SplitAfter(data, []byte("\n"))
	var cur []byte
	start := 1
	for i, l := range lines {
		if isSeparator(l) {
			docs, starts = append(docs, cur), append(starts, start)
			cur, start = nil, i+2
			continue
		}
		cur = append(cur, l...)
	}
	return append(docs, cur), append(starts, start)
}

func isSeparator(line []byte) bool {
	l := strings.TrimRight(string(line), "\r\n")
	return l == "---" || strings.HasPrefix(l, "--- ") || strings.HasPrefix(l, "---\t")
}

// parseDocuments decodes every non-empty document of a file. The values go through sigs.k8s.io/yaml, the decoder
// kubectl and Flux use, so scalars get the types the API server would see; numbers become int64 or float64 as in
// the server's JSON decoding.
func parseDocuments(data []byte) ([]document, error) {
	raws, starts := splitDocuments(data)
	var out []document
	for i, raw := range raws {
		j, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return out, fmt.Errorf("line %d: %w", starts[i], err)
		}
		if t := bytes.TrimSpace(j); len(t) == 0 || bytes.Equal(t, []byte("null")) {
			continue
		}
		var obj map[string]any
		if err := utiljson.Unmarshal(j, &obj); err != nil {
			return out, fmt.Errorf("line %d: a Kubernetes object must be a mapping: %w", starts[i], err)
		}
		out = append(out, document{raw: raw, line: starts[i], object: obj})
	}
	return out, nil
}

// position finds the line and column of a field path such as spec.ingress[0].toPorts[1].ports[0].port or
// metadata.labels[app]: a mapping entry is pointed at by its key, a list item by its first line. When the path goes
// deeper than the document (a missing required field), it stops at the deepest part that exists.
func (d *document) position(path string) (line, col int) {
	n := d.nodes()
	if n == nil || n.Kind != yamlv3.DocumentNode || len(n.Content) == 0 {
		return d.line, 1
	}
	n = n.Content[0]
	line, col = n.Line, n.Column
	for _, seg := range pathSegments(path) {
		at, next := child(n, seg)
		if next == nil {
			break
		}
		n = next
		line, col = at.Line, at.Column
	}
	return line + d.line - 1, col
}

// child returns the node where a mapping key or a sequence index is written, and the value under it.
func child(n *yamlv3.Node, seg string) (at, value *yamlv3.Node) {
	for n.Kind == yamlv3.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yamlv3.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == seg {
				return n.Content[i], n.Content[i+1]
			}
		}
	case yamlv3.SequenceNode:
		if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(n.Content) {
			return n.Content[i], n.Content[i]
		}
	}
	return nil, nil
}

// pathSegments splits a Kubernetes field path (field.Path's String form, or pruning's dotted form) into keys and
// indexes: "spec.ports[0].port" -> spec, ports, 0, port; "metadata.labels[a.b/c]" -> metadata, labels, a.b/c.
func pathSegments(p string) []string {
	var segs []string
	p = strings.TrimPrefix(p, ".")
	for p != "" {
		switch p[0] {
		case '.':
			p = p[1:]
		case '[':
			end := strings.IndexByte(p, ']')
			if end < 0 {
				return append(segs, p[1:])
			}
			segs = append(segs, p[1:end])
			p = p[end+1:]
		default:
			end := strings.IndexAny(p, ".[")
			if end < 0 {
				return append(segs, p)
			}
			segs = append(segs, p[:end])
			p = p[end:]
		}
	}
	return segs
}
