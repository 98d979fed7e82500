package preview

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode"

	"sigs.k8s.io/kustomize/api/konfig"
	kustypes "sigs.k8s.io/kustomize/api/types"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	"sigs.k8s.io/yaml"

	"github.com/kronform/kronform-gen/generator/manifest"
)

// IsKustomizationFile says whether kustomize would read a file of this path as its folder's kustomization.
func IsKustomizationFile(p string) bool {
	return slices.Contains(konfig.RecognizedKustomizationFileNames(), path.Base(p))
}

// KustomizationSecrets lists the Secrets a kustomization file (p, relative to the tree) makes or changes with values
// kept in the clear: every secretGenerator literal, every env or file source that holds a value in the clear (a
// SOPS-encrypted one, which kustomize-controller decrypts before it builds, counts by what sops left in the clear in
// it: see clearFile), every patch that writes such a value into a Secret of the tree (inline, or from a file in the
// tree; see patch.mayTouchSecret, secrets nil taking any) or replacement that copies one there (see
// replacementSecrets), every label, annotation or other value its transformers write at a field of a Secret's values
// (see fieldSpecSecrets), and the same of the generator and transformer configurations it gives (see configSecrets
// and transformerSecrets). read gives the tree's files; a source that is not in the tree is left to the build, which
// fails on it. Only key names and source paths are reported, never values.
func KustomizationSecrets(p string, data []byte, read func(string) ([]byte, bool), secrets *SecretNames) ([]PlaintextSecret, error) {
	if !manifest.MayHoldSecret(data) && !slices.ContainsFunc([]string{"generators", "transformers", "replacements", "fields", "configurations"},
		func(w string) bool { return bytes.Contains(data, []byte(w)) }) {
		return nil, nil
	}
	var k kustypes.Kustomization
	if err := yaml.Unmarshal(data, &k); err != nil {
		return nil, err
	}
	dir := path.Dir(p)
	var out []PlaintextSecret
	for _, g := range k.SecretGenerator {
		if s, ok := generatorSecret(g, "secretGenerator.", dir, read); ok {
			out = append(out, s)
		}
	}
	out = append(out, configSecrets(k.Generators, dir, read)...)
	docs, err := decodeAll(data)
	if err != nil {
		return nil, err
	}
	for i, d := range docs {
		for _, pt := range patchesOf(d, dir, read) {
			if s, ok := pt.plaintext(i+1, secrets); ok && !strings.HasPrefix(pt.where, "spec.") && !pt.config {
				out = append(out, s)
			}
		}
		for _, s := range replacementSecrets(d, dir, read, secrets) {
			s.Document = i + 1
			out = append(out, s)
		}
	}
	if len(docs) > 0 {
		if s, ok := fieldSpecSecrets(docs[0], dir, read, secrets); ok {
			out = append(out, s)
		}
	}
	return append(out, transformerSecrets(k.Transformers, dir, read, secrets)...), nil
}

// transformerSecrets reports the patches of the patch transformer configurations among a kustomization's
// transformers that write a value in the clear into a Secret, as configSecrets does the generators': all of an
// inline configuration, and the files of one in a file or folder (its inline patches are reported where they are
// written, by PlaintextSecrets); and the replacements of ReplacementTransformer configurations that copy one there
// (see replacementSecrets).
func transformerSecrets(transformers []string, dir string, read func(string) ([]byte, bool), secrets *SecretNames) []PlaintextSecret {
	var out []PlaintextSecret
	for i, t := range transformers {
		configs, inline := inlineConfigs(t)
		if !inline {
			configs = fileConfigs(path.Join(dir, t), read, map[string]bool{})
		}
		for _, c := range configs {
			docs, err := decodeAll([]byte(c))
			if err != nil || len(docs) == 0 {
				continue
			}
			for _, pt := range patchesOf(docs[0], dir, read) {
				if !pt.config || !inline && pt.inline != nil {
					continue
				}
				pt.where = fmt.Sprintf("transformers[%d].%s", i, pt.where)
				if s, ok := pt.plaintext(1, secrets); ok {
					out = append(out, s)
				}
			}
			if hasText(fields(root(docs[0]), "kind"), "ReplacementTransformer") {
				for _, s := range replacementSecrets(docs[0], dir, read, secrets) {
					for k := range s.Keys {
						s.Keys[k] = fmt.Sprintf("transformers[%d].%s", i, s.Keys[k])
					}
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// KustomizationResources lists the files a kustomization file (p, relative to the tree) names as resources
// (resources, crds, bases), as paths relative to the tree: kustomize reads each as manifests, whatever its name.
// Entries that leave the tree are left out; those that name a folder, or nothing, are the caller's to skip.
func KustomizationResources(p string, data []byte) ([]string, error) {
	var k kustypes.Kustomization
	if err := yaml.Unmarshal(data, &k); err != nil {
		return nil, err
	}
	var out []string
	for _, list := range [][]string{k.Resources, k.Crds, k.Bases} {
		for _, r := range list {
			f := path.Clean(path.Join(path.Dir(p), r))
			if !path.IsAbs(r) && f != ".." && !strings.HasPrefix(f, "../") {
				out = append(out, f)
			}
		}
	}
	return out, nil
}

// generatorSecret reports a secretGenerator's literals, and its env and file sources in the clear, each key prefixed.
func generatorSecret(g kustypes.SecretArgs, prefix, dir string, read func(string) ([]byte, bool)) (PlaintextSecret, bool) {
	s := PlaintextSecret{Document: 1, Namespace: g.Namespace, Name: g.Name}
	for i, l := range g.LiteralSources {
		if !emptyLiteral(l) {
			s.Keys = append(s.Keys, prefix+"literals"+literalKey(l, i))
		}
	}
	envs := slices.Clone(g.EnvSources)
	if g.EnvSource != "" {
		envs = append(envs, g.EnvSource)
	}
	for _, e := range envs {
		if inClear(dir, e, read, true) {
			s.Keys = append(s.Keys, prefix+"envs."+e)
		}
	}
	for _, f := range g.FileSources {
		key, src, found := strings.Cut(f, "=")
		if !found {
			key, src = path.Base(f), f
		}
		if inClear(dir, src, read, false) {
			s.Keys = append(s.Keys, prefix+"files."+key)
		}
	}
	slices.Sort(s.Keys)
	return s, len(s.Keys) > 0
}

// literalKey names a literal (the i-th) in a report: .KEY, or by its index when it is not KEY=VALUE with a key the
// API server takes (a value pasted without its key would otherwise print whole; kustomize refuses such a literal).
func literalKey(l string, i int) string {
	if key, _, found := strings.Cut(l, "="); found && validKey(key) {
		return "." + key
	}
	return fmt.Sprintf("[%d] (not KEY=VALUE)", i)
}

// emptyLiteral says whether a literal is KEY= with nothing after it: kustomize writes the key with an empty value,
// which holds nothing to leak (as an empty data or stringData value does not; see inClearValue).
func emptyLiteral(l string) bool {
	key, value, found := strings.Cut(l, "=")
	return found && validKey(key) && value == ""
}

// validKey says whether a Secret or ConfigMap key is one the API server takes (IsConfigMapKey): neither . nor .. nor
// starting with .., of letters, digits, '-', '_' and '.'.
func validKey(k string) bool {
	return k != "" && k != "." && !strings.HasPrefix(k, "..") && len(k) <= 253 && strings.Trim(k, "-._abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == ""
}

// secretGeneratorConfig is the configuration of kustomize's SecretGenerator plugin, which a kustomization's
// generators give: the arguments of a secretGenerator, its name and namespace in metadata.
type secretGeneratorConfig struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	kustypes.SecretArgs `json:",inline"`
}

// configSecrets reports what the SecretGenerator configurations among a kustomization's generators make in the
// clear, as kustomize reads them: an entry that parses as objects is the configurations themselves (inline: literals
// and sources), any other names a file or a folder whose kustomization lists them (sources alone: their literals
// are reported where they are written, by PlaintextSecrets). Either way their sources are read from the folder of
// the kustomization that lists the generators.
func configSecrets(generators []string, dir string, read func(string) ([]byte, bool)) []PlaintextSecret {
	var out []PlaintextSecret
	for i, g := range generators {
		prefix := fmt.Sprintf("generators[%d].", i)
		configs, inline := inlineConfigs(g)
		if !inline {
			configs = fileConfigs(path.Join(dir, g), read, map[string]bool{})
		}
		for _, c := range configs {
			var cfg secretGeneratorConfig
			if yaml.Unmarshal([]byte(c), &cfg) != nil || cfg.Kind != "SecretGenerator" {
				continue
			}
			args := cfg.SecretArgs
			args.Name, args.Namespace = cfg.Metadata.Name, cfg.Metadata.Namespace
			if !inline {
				args.LiteralSources = nil
			}
			if s, ok := generatorSecret(args, prefix, dir, read); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// inlineConfigs are the documents of a generators entry that kustomize reads as objects (it tries that before taking
// the entry as a path); ok is false for a path.
func inlineConfigs(entry string) ([]string, bool) {
	docs, err := decodeAll([]byte(entry))
	if err != nil {
		return nil, false
	}
	var out []string
	for _, d := range docs {
		if r := root(d); r != nil && r.Kind == kyaml.MappingNode {
			b, err := kyaml.Marshal(d)
			if err != nil {
				return nil, false
			}
			out = append(out, string(b))
		}
	}
	return out, len(out) > 0
}

// fileConfigs are the documents of a generators entry that names a file of the tree, or a folder whose
// kustomization lists them as resources (at any depth).
func fileConfigs(p string, read func(string) ([]byte, bool), seen map[string]bool) []string {
	p = path.Clean(p)
	if p == ".." || strings.HasPrefix(p, "../") || seen[p] {
		return nil
	}
	seen[p] = true
	if b, ok := read(p); ok {
		docs, err := decodeAll(b)
		if err != nil {
			return nil
		}
		var out []string
		for _, d := range docs {
			if s, err := kyaml.Marshal(d); err == nil {
				out = append(out, string(s))
			}
		}
		return out
	}
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		k := path.Join(p, name)
		data, ok := read(k)
		if !ok {
			continue
		}
		resources, _ := KustomizationResources(k, data)
		var out []string
		for _, r := range resources {
			out = append(out, fileConfigs(r, read, seen)...)
		}
		return out
	}
	return nil
}

// inClear says whether a generator's source file is in the tree and holds a value in the clear (see clearFile). An
// empty file holds none, and neither does an env source (env) in the clear that gives no value (see envValues).
func inClear(dir, src string, read func(string) ([]byte, bool), env bool) bool {
	p := path.Clean(path.Join(dir, src))
	if path.IsAbs(src) || p == ".." || strings.HasPrefix(p, "../") {
		return false
	}
	b, ok := read(p)
	switch {
	case !ok || len(b) == 0:
		return false
	case env && !sopsFile(b):
		return envValues(b)
	}
	return clearFile(b)
}

// envValues says whether a dotenv file gives a value as kustomize reads it (kv's keyValuesFromLine): a line that is
// not blank, a comment, nor KEY= with nothing after it. A line without = counts: kustomize takes it as a key with an
// empty value, and that key may be a value pasted without its own.
func envValues(b []byte) bool {
	for i, l := range strings.Split(string(b), "\n") {
		if i == 0 {
			l = strings.TrimPrefix(l, "\ufeff")
		}
		l = strings.TrimLeftFunc(strings.TrimSuffix(l, "\r"), unicode.IsSpace)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if _, value, found := strings.Cut(l, "="); !found || value != "" {
			return true
		}
	}
	return false
}

// sopsFile says whether a file carries SOPS metadata in any format clearFile reads: dotenv, INI, YAML or JSON.
func sopsFile(b []byte) bool {
	return sopsEncrypted(b) || slices.ContainsFunc(strings.Split(string(b), "\n"), func(l string) bool { return strings.TrimSpace(l) == "[sops]" })
}

// clearFile says whether a file that a generator or a patch reads holds a value in the clear: it is not
// SOPS-encrypted, or it is and a value stands beside the ciphertext unencrypted (an unencrypted_suffix or an
// encrypted_regex that leaves it out, a value added by hand). kustomize-controller decrypts the file before the
// build, or uses it as it is when its format's marker is not there; either way such a value reaches the Secret as
// written. A Secret manifest's kind and metadata are no values (see plaintextKeys). Empty and null values hold
// nothing (sops leaves them as they are), nor do comments or sops' metadata.
func clearFile(b []byte) bool {
	lines := strings.Split(string(b), "\n")
	// clearComment: sops encrypts comments too (#ENC[...], ; ENC[...]).
	clearComment := func(l string) bool {
		c := strings.TrimSpace(l[1:])
		return c != "" && !isEncrypted(c)
	}
	switch {
	case slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), "sops_mac=") }):
		// dotenv: KEY=VALUE lines, sops' own keys prefixed sops_; any other line is read as it stands.
		for _, l := range lines {
			l = strings.TrimSpace(l)
			key, value, found := strings.Cut(l, "=")
			switch {
			case l == "":
			case strings.HasPrefix(l, "#"):
				if clearComment(l) {
					return true
				}
			case !found:
				return true
			case !strings.HasPrefix(key, "sops_") && value != "" && !isEncrypted(value):
				return true
			}
		}
		return false
	case slices.ContainsFunc(lines, func(l string) bool { return strings.TrimSpace(l) == "[sops]" }):
		// INI: key = value lines under sections, sops' own in [sops].
		section := ""
		for _, l := range lines {
			l = strings.TrimSpace(l)
			_, value, found := strings.Cut(l, "=")
			value = strings.TrimSpace(value)
			switch {
			case l == "":
			case strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]"):
				section = l
			case strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";"):
				if clearComment(l) {
					return true
				}
			case section == "[sops]":
			case !found:
				return true
			case value != "" && !isEncrypted(strings.Trim(value, `"`)):
				return true
			}
		}
		return false
	case !sopsEncrypted(b):
		return true
	}
	// YAML or JSON: every value outside the sops block of each document; of a Secret manifest (sops' own
	// encrypted_regex ^(data|stringData)$ leaves its kind and metadata in the clear), its values, as anywhere else.
	docs, err := decodeAll(b)
	if err != nil {
		return true
	}
	clear := false
	seen := map[*kyaml.Node]bool{}
	for _, d := range docs {
		r := root(d)
		if r == nil || r.Kind != kyaml.MappingNode {
			clear = clear || clearLeaf(r, seen)
			continue
		}
		if hasText(fields(r, "kind"), "Secret") {
			clear = clear || len(plaintextKeys(r, "")) > 0
			continue
		}
		visitFields(r, map[*kyaml.Node]bool{}, func(k, v *kyaml.Node) {
			if name, _ := text(k); name != "sops" && !clear {
				clear = clearLeaf(v, seen)
			}
		})
	}
	return clear
}

// clearLeaf says whether a node holds a scalar that is neither empty, null nor SOPS ciphertext.
func clearLeaf(n *kyaml.Node, seen map[*kyaml.Node]bool) bool {
	n = deref(n)
	if n == nil || seen[n] {
		return false
	}
	seen[n] = true
	switch n.Kind {
	case kyaml.ScalarNode:
		s, _ := text(n)
		return n.ShortTag() != kyaml.NodeTagNull && s != "" && !isEncrypted(s)
	case kyaml.MappingNode:
		clear := false
		visitFields(n, map[*kyaml.Node]bool{}, func(_, v *kyaml.Node) { clear = clear || clearLeaf(v, seen) })
		return clear
	}
	for _, c := range n.Content {
		if clearLeaf(c, seen) {
			return true
		}
	}
	return false
}

// sopsEncrypted says whether a file carries SOPS metadata in any of the formats kustomize-controller decrypts: a
// dotenv file's sops_mac line, or a sops block with a mac in a YAML or JSON document (binary files are stored as JSON).
func sopsEncrypted(b []byte) bool {
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "sops_mac=") {
			return true
		}
	}
	var doc struct {
		Sops struct {
			MAC string `json:"mac"`
		} `json:"sops"`
	}
	return yaml.Unmarshal(b, &doc) == nil && doc.Sops.MAC != ""
}

// maskLiterals masks the literals of a document's secretGenerators (KEY=VALUE becomes KEY=*****), of a SecretGenerator
// configuration, and of those a kustomization's generators give inline (and the patches of the transformers it gives
// inline), for showing the file in a diff. It says whether it masked any.
func maskLiterals(doc *kyaml.Node) bool {
	masked := false
	seen := map[*kyaml.Node]bool{}
	mask := func(lits *kyaml.Node) {
		for _, l := range literalNodes(lits) {
			if seen[l] {
				continue
			}
			seen[l] = true
			s, _ := text(l)
			key, _, found := strings.Cut(s, "=")
			if !found || !validKey(key) {
				key = "" // no KEY=: the whole of it may be the value
			}
			*l = kyaml.Node{Kind: kyaml.ScalarNode, Tag: "!!str", Value: key + "=" + maskPlain, Anchor: l.Anchor}
			masked = true
		}
	}
	r := root(doc)
	for _, gens := range fields(r, "secretGenerator") {
		gens = deref(gens)
		if gens == nil || gens.Kind != kyaml.SequenceNode {
			continue
		}
		for _, g := range gens.Content {
			for _, lits := range fields(g, "literals") {
				mask(lits)
			}
		}
	}
	if hasText(fields(r, "kind"), "SecretGenerator") {
		for _, lits := range fields(r, "literals") {
			mask(lits)
		}
	}
	for _, gens := range append(fields(r, "generators"), fields(r, "transformers")...) {
		gens = deref(gens)
		if gens == nil || gens.Kind != kyaml.SequenceNode {
			continue
		}
		for _, g := range gens.Content {
			if g = deref(g); g == nil || seen[g] || g.Kind != kyaml.ScalarNode {
				continue
			}
			seen[g] = true
			entry, _ := text(g)
			if _, inline := inlineConfigs(entry); !inline {
				continue
			}
			*g = kyaml.Node{Kind: kyaml.ScalarNode, Tag: "!!str", Value: maskInlineConfigs(entry), Anchor: g.Anchor}
			masked = true
		}
	}
	return masked
}

// literalNodes are the scalars of a literals field: the items of a list, or the field itself.
func literalNodes(lits *kyaml.Node) []*kyaml.Node {
	lits = deref(lits)
	if lits == nil {
		return nil
	}
	items := lits.Content
	if lits.Kind == kyaml.ScalarNode {
		items = []*kyaml.Node{lits}
	}
	var out []*kyaml.Node
	for _, l := range items {
		if l = deref(l); l != nil && l.Kind == kyaml.ScalarNode {
			out = append(out, l)
		}
	}
	return out
}

// maskInlineConfigs is an inline generators entry with every document masked as a file's are; one that cannot be
// re-encoded is replaced whole.
func maskInlineConfigs(entry string) string {
	const hidden = "# (not shown: an inline generator or transformer that may hold Secret values)\n"
	docs, err := decodeAll([]byte(entry))
	if err != nil {
		return hidden
	}
	for _, d := range docs {
		maskDocument(d)
	}
	out, ok := encodeDocuments(docs)
	if !ok {
		return hidden
	}
	return string(out)
}
