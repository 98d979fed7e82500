package preview

import (
	"fmt"
	"strings"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// replacementSecrets reports the replacements of a kustomization document that copy a value into a Secret's data or
// stringData from an object that is not a Secret (a ConfigMap, say, whose values are in the clear): kustomize writes
// the value there as it stands, and creates the field with options.create. A replacement is given inline or in a
// file (path:, one replacement or a list of them), read from the kustomization's folder. A target whose select may
// pick a Secret of the tree counts as patch targets do (see patch.mayTouchSecret); one copying from a Secret moves a
// value that is in the clear or ciphertext already where it stands, which the Secret's own report covers.
func replacementSecrets(doc *kyaml.Node, dir string, read func(string) ([]byte, bool), secrets *SecretNames) []PlaintextSecret {
	var out []PlaintextSecret
	n := 0
	for _, list := range fields(root(doc), "replacements") {
		for _, e := range items(list) {
			where := fmt.Sprintf("replacements[%d]", n)
			n++
			reps := []*kyaml.Node{e}
			if file, ok := text(field(e, "path")); ok {
				reps = nil
				b, ok := readPatch(dir, file, read)
				if !ok {
					continue
				}
				docs, err := decodeAll(b)
				if err != nil {
					continue
				}
				for _, d := range docs {
					if r := root(d); r != nil && r.Kind == kyaml.SequenceNode {
						reps = append(reps, items(r)...)
					} else if r != nil {
						reps = append(reps, r)
					}
				}
			}
			for i, rep := range reps {
				w := where
				if len(reps) > 1 {
					w = fmt.Sprintf("%s[%d]", where, i)
				}
				if s, ok := replacementSecret(rep, w, secrets); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

func replacementSecret(rep *kyaml.Node, where string, secrets *SecretNames) (PlaintextSecret, bool) {
	var s PlaintextSecret
	s.Document = 1
	if hasText(fields(field(rep, "source"), "kind"), "Secret") {
		return s, false
	}
	for j, t := range items(field(rep, "targets")) {
		sel := field(t, "select")
		kinds := fields(sel, "kind")
		if !kindNamesSecret(kinds) && !(kindMaySelectSecret(kinds) && secrets.mayMatch(sel)) {
			continue
		}
		for _, fp := range items(field(t, "fieldPaths")) {
			p, _ := text(fp)
			first, _, _ := strings.Cut(p, ".")
			if isSecretField(first) || strings.Contains(first, "*") {
				s.Keys = append(s.Keys, fmt.Sprintf("%s.targets[%d].%s", where, j, p))
				if s.Name == "" {
					s.Name, _ = text(field(sel, "name"))
					s.Namespace, _ = text(field(sel, "namespace"))
				}
			}
		}
	}
	return s, len(s.Keys) > 0
}
