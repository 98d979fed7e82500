package preview

import (
	"strings"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// How a masked Secret value prints (flux2's conventions): SOPS ciphertext, or a value in the clear.
const (
	maskSOPS  = "**SOPS**"
	maskPlain = "*****"
)

// secretFields hold a Secret's values.
var secretFields = []string{"data", "stringData"}

// isEncrypted says whether a value is SOPS ciphertext.
func isEncrypted(v string) bool { return strings.HasPrefix(v, "ENC[") && strings.HasSuffix(v, "]") }

// Mask is how a Secret value prints: a value substituted from SOPS ciphertext prints as ciphertext does.
func Mask(v string) string {
	if isEncrypted(v) || strings.Contains(v, placeholderSOPS) {
		return maskSOPS
	}
	return maskPlain
}

// maskValue masks a Secret's data or stringData as a JSON value: each value of a mapping (at any depth), or the
// whole of anything else but null. The API server takes only a mapping of strings, but what kustomize prints is
// what it was given. A key that is not one the API server takes is most likely a value pasted where its key belongs:
// it becomes a placeholder, which prints masked (check names it "(a key that is not valid, not shown)").
func maskValue(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case map[string]any:
		var invalid []string
		for k, e := range x {
			x[k] = maskLeaves(e)
			if !validKey(k) {
				invalid = append(invalid, k)
			}
		}
		for _, k := range invalid {
			e := x[k]
			delete(x, k)
			x[placeholder(placeholderPlain, "key", k)] = e
		}
		return x
	}
	return maskLeaves(v)
}

func maskLeaves(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = maskLeaves(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = maskLeaves(e)
		}
		return x
	case string:
		return Mask(x)
	}
	return maskPlain
}

// maskSecret masks a Secret's values in its JSON value.
func maskSecret(m map[string]any) {
	for _, f := range secretFields {
		if v, ok := m[f]; ok {
			m[f] = maskValue(v)
		}
	}
}

// maskSecretObject masks, in place, the values a Secret object's node tree gives data and stringData, wherever they
// stand: under an alias, in a mapping merged in, given twice. A node masked through an alias is masked where it is
// defined too (labels: &v {pw: ...} with stringData: *v prints neither). A key of theirs that the API server would not
// take is most likely a value pasted where its key belongs: it is masked too, as build and diff print it (maskValue).
func maskSecretObject(obj *kyaml.Node, seen map[*kyaml.Node]bool) bool {
	masked := false
	for _, f := range secretFields {
		for _, v := range fields(obj, f) {
			if n := deref(v); n != nil && (n.Kind != kyaml.ScalarNode || n.ShortTag() != kyaml.NodeTagNull) {
				visitFields(n, map[*kyaml.Node]bool{}, func(k, _ *kyaml.Node) {
					if name, _ := text(k); !validKey(name) {
						setScalar(k, maskPlain)
						masked = true
					}
				})
				masked = maskNodeValues(n, seen) || masked
			}
		}
	}
	return masked
}

// maskNodeValues masks every scalar under n but the keys of mappings, following aliases; seen keeps a node shared
// through aliases from being walked twice.
func maskNodeValues(n *kyaml.Node, seen map[*kyaml.Node]bool) bool {
	n = deref(n)
	if n == nil || seen[n] {
		return false
	}
	seen[n] = true
	switch n.Kind {
	case kyaml.ScalarNode:
		setScalar(n, Mask(n.Value))
		return true
	case kyaml.MappingNode:
		masked := false
		for i := 1; i < len(n.Content); i += 2 {
			masked = maskNodeValues(n.Content[i], seen) || masked
		}
		return masked
	case kyaml.SequenceNode, kyaml.DocumentNode:
		masked := false
		for _, c := range n.Content {
			masked = maskNodeValues(c, seen) || masked
		}
		return masked
	}
	return false
}

// setScalar makes n a single-quoted string ("*****" as a plain scalar would read as an alias), keeping its anchor
// so that aliases to it still print as aliases.
func setScalar(n *kyaml.Node, v string) {
	*n = kyaml.Node{Kind: kyaml.ScalarNode, Tag: "!!str", Value: v, Style: kyaml.SingleQuotedStyle, Anchor: n.Anchor}
}

func isSecretField(name string) bool { return name == "data" || name == "stringData" }

// sopsShown are the sops metadata a masked file still shows: the public recipients and the settings. The rest (the
// data key wrapped for each recipient, the MAC, lastmodified) is masked: anyone holding a recipient's key, one a pull
// request may have added, could unwrap the data key and read the MAC, a hash of every value.
var sopsShown = map[string]bool{
	"recipient": true, "version": true, "encrypted_regex": true, "unencrypted_regex": true,
	"encrypted_suffix": true, "unencrypted_suffix": true, "encrypted_comment_regex": true,
	"unencrypted_comment_regex": true, "mac_only_encrypted": true,
}

// maskSOPSMetadata masks, in place, a document's sops block (but for sopsShown) and every SOPS-encrypted value in it.
func maskSOPSMetadata(doc *kyaml.Node, seen map[*kyaml.Node]bool) bool {
	masked := false
	var walk func(n *kyaml.Node, show bool)
	walk = func(n *kyaml.Node, show bool) {
		n = deref(n)
		if n == nil || seen[n] {
			return
		}
		seen[n] = true
		switch n.Kind {
		case kyaml.ScalarNode:
			if !show && n.ShortTag() != kyaml.NodeTagNull {
				setScalar(n, maskPlain)
				masked = true
			}
		case kyaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, _ := text(n.Content[i])
				walk(n.Content[i+1], sopsShown[k])
			}
		case kyaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, false)
			}
		}
	}
	for _, s := range fields(root(doc), "sops") {
		walk(s, false)
	}
	var encrypted func(n *kyaml.Node)
	encrypted = func(n *kyaml.Node) {
		n = deref(n)
		if n == nil || seen[n] {
			return
		}
		seen[n] = true
		if n.Kind == kyaml.ScalarNode && isEncrypted(n.Value) {
			setScalar(n, maskSOPS)
			masked = true
		}
		for _, c := range n.Content {
			encrypted(c)
		}
	}
	encrypted(doc)
	return masked
}
