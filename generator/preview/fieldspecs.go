package preview

import (
	"fmt"
	"path"
	"slices"
	"strings"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// kustomize's value transformers write a value of their own (a label, an annotation, a prefix, a namespace, an image
// tag, a replica count) at every field their field specs name, and create the field when a spec says create: a spec
// naming a Secret's data or stringData writes that value, in the clear, into every Secret it selects. A kustomization
// does so through its labels' fields, and through the field specs its configurations give its commonLabels, labels,
// commonAnnotations, namePrefix, nameSuffix, namespace, images, replicas and vars; a ValueAddTransformer, through its
// targets' fieldPath. Images and vars only rewrite a value already there (see rewritingLists).

// valueTransformerKinds are the builtin transformers that write their value at the fields their fieldSpecs name, each
// with the fields of its configuration giving the value.
var valueTransformerKinds = map[string][]string{"LabelTransformer": {"labels"}, "AnnotationsTransformer": {"annotations"},
	"PrefixTransformer": {"prefix"}, "SuffixTransformer": {"suffix"}, "PrefixSuffixTransformer": {"prefix", "suffix"},
	"NamespaceTransformer": {"metadata"}, "ImageTagTransformer": {"imageTag"}, "ReplicaCountTransformer": {"replica"}}

// configurationFields are the field spec lists of a kustomization's configurations that carry one of its own values
// (see configuredValues).
var configurationFields = []string{"commonLabels", "labels", "templateLabels", "volumeClaimTemplateLabels",
	"commonAnnotations", "namePrefix", "nameSuffix", "namespace", "images", "replicas", "varReference"}

// rewritingLists are the configuration lists whose transformers never create a field, and rewrite only a value
// already standing at one: the images' an image reference naming the image, the vars' a string holding $(VAR). In a
// Secret's values such a value stands in the clear already, which the Secret's own report covers; ciphertext and
// base64 never match. So they write nothing into a Secret that check would not report anyway, and reporting them
// would only fail an ordinary kustomization (a ConfigMap's data/image, no kind) that kustomize writes no Secret for.
// A diff still masks their values (see maskFieldSpecValues), which costs only a hidden tag.
var rewritingLists = map[string]bool{"images": true, "varReference": true}

// configuredValues are the values of a kustomization k that kustomize writes at the field specs its configurations
// give the list: for the label lists, its commonLabels and every labels entry's pairs (which of them a list serves
// depends on includeSelectors and includeTemplates: any may); for images, each entry's new name, tag, digest and
// tag suffix (its name is only matched against the value already there); for replicas, each entry's count; for
// varReference, each of its vars that reads an object other than a Secret (one reading a Secret copies a value in the
// clear or ciphertext already where it stands, which that Secret's own report covers, as with replacements).
func configuredValues(k *kyaml.Node, list string) []*kyaml.Node {
	var out []*kyaml.Node
	switch list {
	case "commonLabels", "labels", "templateLabels", "volumeClaimTemplateLabels":
		out = append(out, field(k, "commonLabels"))
		for _, l := range items(field(k, "labels")) {
			out = append(out, field(l, "pairs"))
		}
	case "commonAnnotations", "namePrefix", "nameSuffix", "namespace":
		out = append(out, field(k, list))
	case "images":
		for _, img := range items(field(k, "images")) {
			for _, f := range []string{"newName", "newTag", "digest", "tagSuffix"} {
				out = append(out, field(img, f))
			}
		}
	case "replicas":
		for _, r := range items(field(k, "replicas")) {
			out = append(out, field(r, "count"))
		}
	case "varReference":
		for _, v := range items(field(k, "vars")) {
			if !hasText(fields(field(v, "objref"), "kind"), "Secret") {
				out = append(out, v)
			}
		}
	}
	return out
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
				if rewritingLists[list] || !slices.ContainsFunc(configuredValues(r, list), holdsValue) {
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

// holdsValue says whether a node holds a value that is not empty: a scalar, or a mapping or list with a value that
// is not.
func holdsValue(n *kyaml.Node) bool {
	n = deref(n)
	if n == nil {
		return false
	}
	switch n.Kind {
	case kyaml.ScalarNode:
		s, _ := text(n)
		return s != "" && n.ShortTag() != kyaml.NodeTagNull
	case kyaml.SequenceNode:
		return slices.ContainsFunc(items(n), holdsValue)
	}
	held := false
	visitFields(n, map[*kyaml.Node]bool{}, func(_, v *kyaml.Node) { held = held || holdsValue(v) })
	return held
}

// maskFieldSpecValues masks, in place, the values a document writes into a Secret's values through field specs (see
// fieldSpecSecrets), for showing it in a diff: the pairs of a kustomization's labels entry with such a field, and the
// value of a value transformer's configuration with one. A kustomization's configurations, in files a diff does not
// read, may give any of configurationFields such fields: with any configurations, every value of the kustomization
// they could write is masked (see configuredValues; vars name where a value is read, and hold none). It says whether
// it masked any.
func maskFieldSpecValues(doc *kyaml.Node) bool {
	r := root(doc)
	seen := map[*kyaml.Node]bool{}
	masked := false
	configured := len(items(field(r, "configurations"))) > 0
	for _, l := range items(field(r, "labels")) {
		if slices.ContainsFunc(items(field(l, "fields")), func(fs *kyaml.Node) bool {
			_, ok := secretFieldSpec(fs)
			return ok
		}) {
			masked = maskNodeValues(field(l, "pairs"), seen) || masked
		}
	}
	if configured {
		for _, list := range configurationFields {
			if list == "varReference" {
				continue
			}
			for _, v := range configuredValues(r, list) {
				masked = maskNodeValues(v, seen) || masked
			}
		}
	}
	if len(transformerFieldSpecs(r, "", nil)) > 0 {
		for _, v := range []*kyaml.Node{field(r, "value"), field(r, "labels"), field(r, "annotations"), field(r, "prefix"),
			field(r, "suffix"), field(r, "imageTag"), field(field(r, "metadata"), "namespace"), field(field(r, "replica"), "count")} {
			masked = maskNodeValues(v, seen) || masked
		}
	}
	return masked
}
