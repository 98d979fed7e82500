package preview

import (
	"fmt"
	"path"
	"slices"
	"strings"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// kustomize's value transformers write a value of their own (a label, an annotation, a prefix, a namespace) at every
// field their field specs name, and create the field when a spec says create: a spec naming a Secret's data or
// stringData writes that value, in the clear, into every Secret it selects. A kustomization does so through its
// labels' fields, and through the field specs its configurations give its commonLabels, labels, commonAnnotations,
// namePrefix, nameSuffix and namespace; a ValueAddTransformer, through its targets' fieldPath.

// valueTransformerKinds are the builtin transformers that write their value at the fields their fieldSpecs name, each
// with the fields of its configuration giving the value.
var valueTransformerKinds = map[string][]string{"LabelTransformer": {"labels"}, "AnnotationsTransformer": {"annotations"},
	"PrefixTransformer": {"prefix"}, "SuffixTransformer": {"suffix"}, "PrefixSuffixTransformer": {"prefix", "suffix"},
	"NamespaceTransformer": {"metadata"}, "ImageTagTransformer": {"imageTag"}}

// configurationFields are the field spec lists of a kustomization's configurations that carry one of its own values,
// each with the fields of the kustomization giving the value.
var configurationFields = map[string][]string{
	"commonLabels": {"commonLabels", "labels"}, "labels": {"commonLabels", "labels"},
	"templateLabels": {"commonLabels", "labels"}, "volumeClaimTemplateLabels": {"commonLabels", "labels"},
	"commonAnnotations": {"commonAnnotations"}, "namePrefix": {"namePrefix"}, "nameSuffix": {"nameSuffix"},
	"namespace": {"namespace"},
}

// fieldSpecSecrets reports where a kustomization document's labels and configurations, and the value transformer
// configurations among its transformers, write a value into a Secret's data or stringData (see
// secretFieldSpec). Keys name the field spec (labels[0].fields[1].stringData, configurations[0].commonAnnotations[0].data,
// transformers[2].fieldSpecs[0].stringData/token), never the value.
func fieldSpecSecrets(doc *kyaml.Node, dir string, read func(string) ([]byte, bool), secrets *SecretNames) (PlaintextSecret, bool) {
	r := root(doc)
	s := PlaintextSecret{Document: 1}
	for i, l := range items(field(r, "labels")) {
		if !holdsValue(field(l, "pairs")) {
			continue
		}
		for j, fs := range items(field(l, "fields")) {
			if p, ok := secretFieldSpec(fs); ok {
				s.Keys = append(s.Keys, fmt.Sprintf("labels[%d].fields[%d].%s", i, j, p))
			}
		}
	}
	for i, c := range items(field(r, "configurations")) {
		file, ok := text(c)
		if !ok {
			continue
		}
		for _, cfg := range fileConfigs(path.Join(dir, file), read, map[string]bool{}) {
			docs, err := decodeAll([]byte(cfg))
			if err != nil || len(docs) == 0 {
				continue
			}
			visitFields(root(docs[0]), map[*kyaml.Node]bool{}, func(k, v *kyaml.Node) {
				list, _ := text(k)
				given := false
				for _, f := range configurationFields[list] {
					given = given || holdsValue(field(r, f))
				}
				if !given {
					return
				}
				for j, fs := range items(v) {
					if p, ok := secretFieldSpec(fs); ok {
						s.Keys = append(s.Keys, fmt.Sprintf("configurations[%d].%s[%d].%s", i, list, j, p))
					}
				}
			})
		}
	}
	for i, t := range items(field(r, "transformers")) {
		entry, ok := text(t)
		if !ok {
			continue
		}
		configs, inline := inlineConfigs(entry)
		if !inline {
			configs = fileConfigs(path.Join(dir, entry), read, map[string]bool{})
		}
		for _, c := range configs {
			docs, err := decodeAll([]byte(c))
			if err != nil || len(docs) == 0 {
				continue
			}
			s.Keys = append(s.Keys, transformerFieldSpecs(root(docs[0]), fmt.Sprintf("transformers[%d].", i), secrets)...)
		}
	}
	slices.Sort(s.Keys)
	return s, len(s.Keys) > 0
}

// transformerFieldSpecs are the fields of a Secret's values a value transformer's configuration writes its value at.
func transformerFieldSpecs(cfg *kyaml.Node, prefix string, secrets *SecretNames) []string {
	var keys []string
	kinds := fields(cfg, "kind")
	if hasText(kinds, "ValueAddTransformer") {
		if !holdsValue(field(cfg, "value")) {
			return nil
		}
		for j, t := range items(field(cfg, "targets")) {
			sel := field(t, "selector")
			if sel != nil {
				kinds := fields(sel, "kind")
				if !kindNamesSecret(kinds) && !(kindMaySelectSecret(kinds) && secrets.mayMatch(sel)) {
					continue
				}
			}
			p, _ := text(field(t, "fieldPath"))
			if first, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/"); isSecretField(first) {
				keys = append(keys, fmt.Sprintf("%stargets[%d].%s", prefix, j, p))
			}
		}
		return keys
	}
	for k, values := range valueTransformerKinds {
		given := false
		for _, f := range values {
			given = given || holdsValue(field(cfg, f))
		}
		if !hasText(kinds, k) || !given {
			continue
		}
		for j, fs := range items(field(cfg, "fieldSpecs")) {
			if p, ok := secretFieldSpec(fs); ok {
				keys = append(keys, fmt.Sprintf("%sfieldSpecs[%d].%s", prefix, j, p))
			}
		}
	}
	return keys
}

// secretFieldSpec says whether a field spec names a field of a Secret's values: its path starts at data or
// stringData, and its kind, group and version (each matching any when empty, as kustomize selects) take a Secret's.
func secretFieldSpec(fs *kyaml.Node) (string, bool) {
	kind, _ := text(field(fs, "kind"))
	group, _ := text(field(fs, "group"))
	version, _ := text(field(fs, "version"))
	p, _ := text(field(fs, "path"))
	first, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	return p, (kind == "" || kind == "Secret") && group == "" && (version == "" || version == "v1") && isSecretField(first)
}

// holdsValue says whether a node holds a value that is not empty: a scalar, or a mapping with a value that is not.
func holdsValue(n *kyaml.Node) bool {
	n = deref(n)
	if n == nil {
		return false
	}
	if n.Kind == kyaml.ScalarNode {
		s, _ := text(n)
		return s != "" && n.ShortTag() != kyaml.NodeTagNull
	}
	held := false
	visitFields(n, map[*kyaml.Node]bool{}, func(_, v *kyaml.Node) { held = held || holdsValue(v) })
	return held
}

// maskFieldSpecValues masks, in place, the values a document writes into a Secret's values through field specs (see
// fieldSpecSecrets), for showing it in a diff: the pairs of a kustomization's labels entry with such a field, and the
// value of a value transformer's configuration with one. A kustomization's configurations, in files a diff does not
// read, may give its commonLabels, labels and commonAnnotations such fields: with any, their values are masked. It
// says whether it masked any.
func maskFieldSpecValues(doc *kyaml.Node) bool {
	r := root(doc)
	seen := map[*kyaml.Node]bool{}
	masked := false
	configured := len(items(field(r, "configurations"))) > 0
	for _, l := range items(field(r, "labels")) {
		if configured || slices.ContainsFunc(items(field(l, "fields")), func(fs *kyaml.Node) bool {
			_, ok := secretFieldSpec(fs)
			return ok
		}) {
			masked = maskNodeValues(field(l, "pairs"), seen) || masked
		}
	}
	if configured {
		for _, f := range []string{"commonLabels", "commonAnnotations"} {
			masked = maskNodeValues(field(r, f), seen) || masked
		}
	}
	if len(transformerFieldSpecs(r, "", nil)) > 0 {
		for _, v := range []*kyaml.Node{field(r, "value"), field(r, "labels"), field(r, "annotations"), field(r, "prefix"),
			field(r, "suffix"), field(r, "imageTag"), field(field(r, "metadata"), "namespace")} {
			masked = maskNodeValues(v, seen) || masked
		}
	}
	return masked
}
