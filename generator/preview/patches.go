package preview

import (
	"encoding/base64"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// Patches write values too, and a patch that changes a Secret is as much a plaintext Secret as the Secret it
// changes: kustomize's patches, patchesStrategicMerge and patchesJson6902 in a kustomization file (inline, or in a
// file they name), and a Flux Kustomization's spec.patches, which kustomize-controller adds to the kustomization it
// builds. Diffs mask the inline ones that may touch a Secret; check reports those that write a value in the clear.

// patch is one patch as a kustomization or a Flux Kustomization gives it.
type patch struct {
	where  string // patches[0], spec.patches[1], ...
	body   string
	inline *kyaml.Node // the scalar holding the body, when inline
	// target is the patch's target; nil when it has none (a strategic merge patch names its object itself).
	target *kyaml.Node
	// config: the patch is a patch transformer's configuration (see transformerPatches).
	config bool
}

// patchesOf lists the patches a document declares: as a kustomization (patches, patchesStrategicMerge,
// patchesJson6902) and as a Flux Kustomization (spec.patches). read gives the files a kustomization names (path:),
// relative to the repository; nil leaves them out, and so does a file that is not there. A SOPS-encrypted file is
// read as it stands: kustomize-controller decrypts it before the build, so its ciphertext values are none in the
// clear, and a value sops left unencrypted is written as it stands.
func patchesOf(doc *kyaml.Node, dir string, read func(string) ([]byte, bool)) []patch {
	r := root(doc)
	var out []patch
	// mapped is a patch given as a mapping: its target, and its body inline (under bodyField) or in a file (path).
	mapped := func(where string, e *kyaml.Node, bodyField string) (patch, bool) {
		p := patch{where: where, target: field(e, "target")}
		if b := field(e, bodyField); b != nil && b.Kind == kyaml.ScalarNode {
			p.body, _ = text(b)
			p.inline = b
		} else if file, ok := text(field(e, "path")); ok {
			b, ok := readPatch(dir, file, read)
			if !ok {
				return p, false
			}
			p.body = string(b)
		} else {
			return p, false
		}
		return p, true
	}
	entries := func(where string, lists []*kyaml.Node) {
		n := 0
		for _, list := range lists {
			list = deref(list)
			if list == nil || list.Kind != kyaml.SequenceNode {
				continue
			}
			for _, e := range list.Content {
				p := patch{where: fmt.Sprintf("%s[%d]", where, n)}
				n++
				e = deref(e)
				switch {
				case e != nil && e.Kind == kyaml.ScalarNode: // patchesStrategicMerge: a file, or the patch itself
					s, _ := text(e)
					if isInlinePatch(s) {
						p.body, p.inline = s, e
					} else if b, ok := readPatch(dir, s, read); ok {
						p.body = string(b)
					} else {
						continue
					}
				case e != nil && e.Kind == kyaml.MappingNode:
					var ok bool
					if p, ok = mapped(p.where, e, "patch"); !ok {
						continue
					}
				default:
					continue
				}
				out = append(out, p)
			}
		}
	}
	entries("patches", fields(r, "patches"))
	entries("patchesStrategicMerge", fields(r, "patchesStrategicMerge"))
	entries("patchesJson6902", fields(r, "patchesJson6902"))
	entries("spec.patches", fields(field(r, "spec"), "patches"))
	return append(out, transformerPatches(r, dir, read, mapped)...)
}

// transformerPatches are the patches of a configuration of kustomize's patch transformers, which a kustomization's
// transformers give (a file, a folder whose kustomization lists them, or inline) and which patch as its patches do:
// PatchTransformer (patch or path, and a target), PatchJson6902Transformer (jsonOp or path, and a target) and
// PatchStrategicMergeTransformer (patches inline, paths). Files are read from the folder of the kustomization that
// lists the transformers: dir and read, as patchesOf.
func transformerPatches(r *kyaml.Node, dir string, read func(string) ([]byte, bool), mapped func(string, *kyaml.Node, string) (patch, bool)) []patch {
	var out []patch
	kinds := fields(r, "kind")
	switch {
	case hasText(kinds, "PatchTransformer"):
		if p, ok := mapped("patch", r, "patch"); ok {
			out = append(out, p)
		}
	case hasText(kinds, "PatchJson6902Transformer"):
		if p, ok := mapped("jsonOp", r, "jsonOp"); ok {
			out = append(out, p)
		}
	case hasText(kinds, "PatchStrategicMergeTransformer"):
		for _, b := range fields(r, "patches") {
			if b = deref(b); b != nil && b.Kind == kyaml.ScalarNode {
				s, _ := text(b)
				out = append(out, patch{where: "patches", body: s, inline: b})
			}
		}
		n := 0
		for _, list := range fields(r, "paths") {
			if list = deref(list); list == nil || list.Kind != kyaml.SequenceNode {
				continue
			}
			for _, e := range list.Content {
				where := fmt.Sprintf("paths[%d]", n)
				n++
				if file, ok := text(e); ok {
					if b, ok := readPatch(dir, file, read); ok {
						out = append(out, patch{where: where, body: string(b)})
					}
				}
			}
		}
	}
	for i := range out {
		out[i].config = true
	}
	return out
}

// isInlinePatch tells an inline patch from a file name among patchesStrategicMerge, as kustomize does: a file name
// reads as one plain string.
func isInlinePatch(s string) bool {
	var n kyaml.Node
	if kyaml.Unmarshal([]byte(s), &n) != nil {
		return true // not a file name either: masked, to be safe
	}
	r := root(&n)
	return r != nil && r.Kind != kyaml.ScalarNode
}

func readPatch(dir, file string, read func(string) ([]byte, bool)) ([]byte, bool) {
	if read == nil {
		return nil, false
	}
	p := path.Clean(path.Join(dir, file))
	if path.IsAbs(file) || p == ".." || strings.HasPrefix(p, "../") {
		return nil, false
	}
	return read(p)
}

// mayTouchSecret says whether a patch may change a Secret: the patch names one itself, or its target may select one.
// kustomize applies a patch with a target to every object the target selects, whatever kind a strategic merge
// patch's body gives (the object keeps its own): only the target counts. A target whose kind is a Secret's (and not
// a ConfigMap's: a pattern that selects both, or none, is not about Secrets) may; one with any other kind cannot; and
// one whose kind would select a Secret among others may when a Secret of the tree matches its name (secrets; nil
// stands for a tree not known, where any may). A patch that cannot be read may too.
func (p patch) mayTouchSecret(secrets *SecretNames) bool {
	if p.target != nil {
		kinds := fields(p.target, "kind")
		switch {
		case kindNamesSecret(kinds):
			return true
		case kindMaySelectSecret(kinds):
			if secrets.mayMatch(p.target) {
				return true
			}
		}
	}
	docs, err := decodeAll([]byte(p.body))
	if err != nil {
		return true
	}
	for _, d := range docs {
		if len(secretObjects(d)) > 0 {
			return true
		}
		if r := root(d); r != nil && r.Kind == kyaml.SequenceNode {
			if p.target == nil {
				return true // a JSON patch without a target, which kustomize refuses
			}
			if slices.ContainsFunc(r.Content, makesSecret) {
				return true
			}
		}
	}
	return false
}

// secretKindSpellings are how kustomize's object IDs spell the kind of a Secret: as written, or as the base64 text
// of a !!binary tag, which kustomize keeps undecoded in an ID but decodes in the object it prints.
var secretKindSpellings = []string{"Secret", base64.StdEncoding.EncodeToString([]byte("Secret"))}

// kindMaySelectSecret says whether a target's kind selects Secrets, among other kinds or alone: no kind (or an empty
// one) selects every object, and kustomize's selectors are regular expressions.
func kindMaySelectSecret(kinds []*kyaml.Node) bool {
	if len(kinds) == 0 {
		return true
	}
	for _, k := range kinds {
		if re, ok := kindPattern(k); !ok || re == nil || selectsSecret(re, k) {
			return true
		}
	}
	return false
}

// kindNamesSecret says whether a target's kind is about Secrets: it selects them and not ConfigMaps, the kind that
// holds the same data in the clear. A kind that is no string or no pattern is taken as one.
func kindNamesSecret(kinds []*kyaml.Node) bool {
	for _, k := range kinds {
		if re, ok := kindPattern(k); !ok || re != nil && selectsSecret(re, k) && !re.MatchString("ConfigMap") {
			return true
		}
	}
	return false
}

// kindPattern is a target's kind as kustomize matches it: nil for an empty one, which selects every kind; false
// when it is not a string or not a pattern.
func kindPattern(k *kyaml.Node) (*regexp.Regexp, bool) {
	s, ok := text(k)
	if !ok {
		return nil, false
	}
	if s == "" {
		return nil, true
	}
	re, err := regexp.Compile("^(?:" + s + ")$")
	return re, err == nil
}

// selectsSecret says whether a kind pattern selects a Secret, as its kind is written or as the base64 text of a
// !!binary tag (which kustomize keeps undecoded in an ID), or is that text itself.
func selectsSecret(re *regexp.Regexp, k *kyaml.Node) bool {
	for _, kind := range secretKindSpellings {
		if re.MatchString(kind) {
			return true
		}
	}
	s, _ := text(k)
	b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
	return err == nil && string(b) == "Secret"
}

// maskPatches masks, in place, the inline patches of a document that may touch a Secret: the values a strategic
// merge patch gives data and stringData, and those a JSON patch writes there. It says whether it masked any.
func maskPatches(doc *kyaml.Node) bool {
	masked := false
	for _, p := range patchesOf(doc, "", nil) {
		if p.inline == nil || !p.mayTouchSecret(nil) {
			continue
		}
		body := maskPatchBody(p.body)
		*p.inline = kyaml.Node{Kind: kyaml.ScalarNode, Tag: "!!str", Value: body, Anchor: p.inline.Anchor}
		masked = true
	}
	return masked
}

func maskPatchBody(body string) string {
	const hidden = "# (not shown: the patch is not valid YAML and may hold Secret values)\n"
	docs, err := decodeAll([]byte(body))
	if err != nil {
		return hidden
	}
	seen := map[*kyaml.Node]bool{}
	for _, d := range docs {
		r := root(d)
		switch {
		case r == nil:
		case r.Kind == kyaml.SequenceNode: // a JSON patch
			for _, op := range r.Content {
				switch value, whole := secretOp(op); {
				case value == nil:
				case whole:
					maskSecretObject(value, seen)
				default:
					maskNodeValues(value, seen)
				}
			}
		default:
			maskSecretObject(r, seen)
			for _, obj := range secretObjects(d) {
				maskSecretObject(obj, seen)
			}
		}
	}
	out, ok := encodeDocuments(docs)
	if !ok {
		return hidden
	}
	return string(out)
}

// plaintext reports the values in the clear that a patch which may touch a Secret of the tree (see mayTouchSecret)
// writes: those a strategic merge patch gives data and stringData, and those a JSON patch adds, replaces or tests
// under /data or /stringData (or whole, at the root). Keys are named after the patch (patches[0].stringData.token,
// patches[1]/data/token).
func (p patch) plaintext(document int, secrets *SecretNames) (PlaintextSecret, bool) {
	s := PlaintextSecret{Document: document}
	if p.target != nil {
		s.Name, _ = text(field(p.target, "name"))
		s.Namespace, _ = text(field(p.target, "namespace"))
	}
	if !p.mayTouchSecret(secrets) {
		return s, false
	}
	docs, err := decodeAll([]byte(p.body))
	if err != nil {
		s.Keys = []string{p.where + " (not valid YAML)"}
		return s, true
	}
	for _, d := range docs {
		r := root(d)
		switch {
		case r == nil:
		case r.Kind == kyaml.SequenceNode:
			for _, op := range r.Content {
				if makesSecret(op) {
					// The object the target selects becomes a Secret, with whatever values it holds.
					s.Keys = append(s.Keys, p.where+"/kind")
				}
				if copiesIntoSecret(op) {
					s.Keys = append(s.Keys, p.where+pointerKey(op))
				}
				switch value, whole := secretOp(op); {
				case value == nil:
				case whole:
					s.Keys = append(s.Keys, plaintextKeys(value, p.where+".")...)
				case inClearValue(value):
					s.Keys = append(s.Keys, p.where+pointerKey(op))
				}
			}
		default:
			if s.Name == "" {
				s.Namespace, s.Name = identity(r)
			}
			s.Keys = append(s.Keys, plaintextKeys(r, p.where+".")...)
			for _, obj := range secretObjects(d) {
				if obj != r {
					s.Keys = append(s.Keys, plaintextKeys(obj, p.where+".")...)
				}
			}
		}
	}
	slices.Sort(s.Keys)
	s.Keys = slices.Compact(s.Keys)
	return s, len(s.Keys) > 0
}

// secretOp is the value a JSON patch operation writes into a Secret's values: under /data or /stringData, or the whole
// object (path "", whole set), whose data and stringData are then the values. It is nil for any other operation.
func secretOp(op *kyaml.Node) (value *kyaml.Node, whole bool) {
	kind, _ := text(field(op, "op"))
	if kind != "add" && kind != "replace" && kind != "test" {
		return nil, false
	}
	value = field(op, "value")
	ptr, ok := text(field(op, "path"))
	segments := strings.Split(ptr, "/")
	switch {
	case value == nil || !ok:
		return nil, false
	case ptr == "":
		return value, true
	case len(segments) > 1 && isSecretField(unescapePointer(segments[1])):
		return value, false
	}
	return nil, false
}

// pointerKey is a JSON patch operation's path as a report names it: a key that is not one the API server takes is
// not shown (see plaintextKeys).
func pointerKey(op *kyaml.Node) string {
	ptr, _ := text(field(op, "path"))
	if segments := strings.Split(ptr, "/"); len(segments) > 2 && !validKey(unescapePointer(segments[2])) {
		ptr = "/" + segments[1] + "/(a key that is not valid, not shown)"
	}
	return ptr
}

// copiesIntoSecret says whether a JSON patch operation copies or moves a value into a Secret's values from a field
// that is none of them (an annotation, a label, a field an earlier operation added): the value, in the clear where it
// stood, stands in the Secret as it is.
func copiesIntoSecret(op *kyaml.Node) bool {
	kind, _ := text(field(op, "op"))
	if kind != "copy" && kind != "move" {
		return false
	}
	to, _ := text(field(op, "path"))
	from, _ := text(field(op, "from"))
	into, out := strings.Split(to, "/"), strings.Split(from, "/")
	return (to == "" || len(into) > 1 && isSecretField(unescapePointer(into[1]))) &&
		!(len(out) > 1 && isSecretField(unescapePointer(out[1])))
}

// makesSecret says whether a JSON patch operation may turn the object it patches into a Secret: it adds or replaces
// /kind with Secret (as kustomize reads the value: a !!binary tag decoded), or copies or moves some value there.
// kustomize applies it to whatever the target selects, a ConfigMap say, whose values then stand in a Secret.
func makesSecret(op *kyaml.Node) bool {
	kind, _ := text(field(op, "op"))
	if ptr, _ := text(field(op, "path")); ptr != "/kind" {
		return false
	}
	switch kind {
	case "add", "replace":
		v, _ := text(field(op, "value"))
		return v == "Secret"
	case "copy", "move":
		return true
	}
	return false
}

func unescapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

// fluxPatchSecrets reports the patches of a Flux Kustomization document, and those a patch transformer's
// configuration gives inline (its files are read from the kustomization that lists it: see KustomizationSecrets),
// that write a value in the clear into a Secret of the tree.
func fluxPatchSecrets(doc *kyaml.Node, document int, secrets *SecretNames) []PlaintextSecret {
	var out []PlaintextSecret
	for _, p := range patchesOf(doc, "", nil) {
		if !strings.HasPrefix(p.where, "spec.") && !p.config {
			continue // a kustomization's own, reported by KustomizationSecrets for the files kustomize reads as one
		}
		if s, ok := p.plaintext(document, secrets); ok {
			out = append(out, s)
		}
	}
	return out
}
