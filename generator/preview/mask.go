package preview

import (
	"strings"

	"sigs.k8s.io/kustomize/api/resource"
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

// maskResource replaces every value of a Secret's data and stringData with its mask.
func maskResource(r *resource.Resource) {
	if r.GetKind() != "Secret" {
		return
	}
	maskNode(r.RNode.YNode())
}

// maskNode masks the Secret values of one document's root mapping.
func maskNode(doc *kyaml.Node) {
	if doc.Kind == kyaml.DocumentNode && len(doc.Content) > 0 {
		doc = doc.Content[0]
	}
	if doc.Kind != kyaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], doc.Content[i+1]
		if !isSecretField(k.Value) || v.Kind != kyaml.MappingNode {
			continue
		}
		for j := 1; j < len(v.Content); j += 2 {
			val := v.Content[j]
			*val = kyaml.Node{Kind: kyaml.ScalarNode, Tag: "!!str", Value: Mask(val.Value), Style: kyaml.SingleQuotedStyle}
		}
	}
}

func isSecretField(name string) bool { return name == "data" || name == "stringData" }
