package preview

import (
	"encoding/base64"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"sigs.k8s.io/kustomize/api/resource"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

// The controller's own rules: valid variable names, and the opt-out label or annotation.
var varName = regexp.MustCompile(`^[_[:alpha:]][_[:alpha:][:digit:]]*$`)

const substituteKey = "kustomize.toolkit.fluxcd.io/substitute"

// postBuild applies spec.postBuild and spec.commonMetadata to a build, as kustomize-controller does after kustomize
// build. substituteFrom sources are looked up among the objects the cluster's Kustomizations build (sources), since
// there is no cluster to read them from; a source that is not there is noted and its variables are left as written.
// Values from Secrets are substituted masked unless reveal is set.
func postBuild(b *Build, sources map[objectKey]*resource.Resource, reveal bool) error {
	if pb := b.Spec.PostBuild; pb != nil {
		vars := map[string]string{}
		unresolved := false
		for _, ref := range pb.SubstituteFrom {
			key := objectKey{ref.Kind, b.Namespace, ref.Name}
			src, ok := sources[key]
			if !ok {
				if !ref.Optional {
					unresolved = true
					b.Notes = append(b.Notes, fmt.Sprintf("postBuild.substituteFrom %s/%s is not built from this tree "+
						"(it may exist in the cluster): its variables are left unsubstituted", ref.Kind, ref.Name))
				}
				continue
			}
			if ref.Kind == "Secret" && b.in != nil {
				b.in.mu.Lock()
				b.in.secretVars = true
				b.in.mu.Unlock()
			}
			from, note, err := sourceVars(src, reveal)
			if err != nil {
				return fmt.Errorf("postBuild.substituteFrom %s/%s: %w", ref.Kind, ref.Name, err)
			}
			if note != "" {
				b.Notes = append(b.Notes, note)
			}
			maps.Copy(vars, from)
		}
		for k, v := range pb.Substitute {
			vars[k] = strings.ReplaceAll(v, "\n", "") // inline values win, newlines dropped as the controller does
		}
		for _, k := range slices.Sorted(maps.Keys(vars)) {
			if !varName.MatchString(k) {
				return fmt.Errorf("postBuild: '%s' var name is invalid, must match '%s'", k, varName)
			}
		}
		if len(vars) > 0 || pb.SubstituteStrategy == kustomizev1.SubstituteStrategyAlways {
			for _, r := range b.Resources {
				if err := substitute(r, vars, unresolved); err != nil {
					return fmt.Errorf("postBuild: %s/%s: %w", maskPlaceholders(r.GetKind()), maskPlaceholders(r.GetName()), b.in.redact(err))
				}
			}
		}
	}
	if cm := b.Spec.CommonMetadata; cm != nil {
		for _, r := range b.Resources {
			if len(cm.Labels) > 0 {
				l := r.GetLabels()
				maps.Copy(l, cm.Labels)
				if err := r.SetLabels(l); err != nil {
					return err
				}
			}
			if len(cm.Annotations) > 0 {
				a := r.GetAnnotations()
				maps.Copy(a, cm.Annotations)
				if err := r.SetAnnotations(a); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// substitute runs Flux's envsubst on one object (see substitution). Unknown variables become empty, as in the cluster;
// but when a source could not be resolved their expressions are kept as written, so the preview shows a gap rather
// than a wrong value.
func substitute(r *resource.Resource, vars map[string]string, keepUnknown bool) error {
	if r.GetLabels()[substituteKey] == "disabled" || r.GetAnnotations()[substituteKey] == "disabled" {
		return nil
	}
	y, err := r.AsYAML()
	if err != nil {
		return err
	}
	out, err := substitution{vars: vars, keepUnknown: keepUnknown}.eval(string(y))
	if err != nil {
		return fmt.Errorf("variable substitution failed: %w", err)
	}
	j, err := sigsyaml.YAMLToJSON([]byte(out))
	if err != nil {
		return fmt.Errorf("YAMLToJSON: %w", err)
	}
	return r.UnmarshalJSON(j)
}

// sourceVars reads a ConfigMap's data, or a Secret's data (base64) and stringData, as variables. A Secret's values are
// placeholders (see placeholder.go) unless reveal is set: of the ciphertext for a SOPS value, else of the value Flux
// would substitute.
func sourceVars(r *resource.Resource, reveal bool) (map[string]string, string, error) {
	vars := map[string]string{}
	var note string
	data := stringMap(r, "data")
	if r.GetKind() == "ConfigMap" {
		for k, v := range data {
			vars[k] = strings.ReplaceAll(v, "\n", "")
		}
		return vars, "", nil
	}
	for k, v := range data {
		switch {
		case isEncrypted(v):
			vars[k] = placeholder(placeholderSOPS, v)
			note = fmt.Sprintf("variables from Secret/%s are SOPS-encrypted: shown as %s (use --decrypt with the key)", r.GetName(), maskSOPS)
		default:
			dec, err := base64.StdEncoding.DecodeString(v)
			switch {
			case err != nil && reveal:
				return nil, "", fmt.Errorf("data.%s is not base64", k)
			case err != nil:
				vars[k] = placeholder(placeholderPlain, v)
			case reveal:
				vars[k] = strings.ReplaceAll(string(dec), "\n", "")
			default:
				vars[k] = placeholder(placeholderPlain, strings.ReplaceAll(string(dec), "\n", ""))
			}
		}
	}
	for k, v := range stringMap(r, "stringData") {
		switch {
		case isEncrypted(v):
			vars[k] = placeholder(placeholderSOPS, v)
		case !reveal:
			vars[k] = placeholder(placeholderPlain, strings.ReplaceAll(v, "\n", ""))
		default:
			vars[k] = strings.ReplaceAll(v, "\n", "")
		}
	}
	return vars, note, nil
}

// stringMap reads a top-level mapping of scalars (data, stringData).
func stringMap(r *resource.Resource, field string) map[string]string {
	out := map[string]string{}
	n, err := r.Pipe(kyaml.Lookup(field))
	if err != nil || n == nil || n.YNode().Kind != kyaml.MappingNode {
		return out
	}
	c := n.YNode().Content
	for i := 0; i+1 < len(c); i += 2 {
		out[c[i].Value] = c[i+1].Value
	}
	return out
}
