package preview

import (
	"bytes"
	"maps"
	"regexp"
	"slices"
	"sync"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// SecretNames are the names of the Secrets a tree holds or generates, for telling whether a patch whose target's
// kind does not name Secret can select one (see patch.mayTouchSecret): every Secret document in any file (any file
// can be a kustomize resource), every secretGenerator and SecretGenerator (in a file, or inline among generators),
// each as written and with each namePrefix and nameSuffix a kustomization or Flux Kustomization of the tree gives, and
// each prefix and suffix a prefix or suffix transformer's configuration gives (kustomize matches a target's name against an object's name as written and as its prefixes and suffixes make it). Namespaces and labels are not compared:
// kustomize and Flux change them too, so a target that differs from a Secret only there is taken to match it.
type SecretNames struct {
	paths []string
	read  func(string) ([]byte, bool)

	once               sync.Once
	names              []string
	prefixes, suffixes []string
	// anyName: a file that may hold a Secret does not parse, or a Secret's name is not a string.
	anyName bool
}

// NewSecretNames reads the names from the tree's files (read gives them) when first asked.
func NewSecretNames(paths []string, read func(string) ([]byte, bool)) *SecretNames {
	return &SecretNames{paths: paths, read: read}
}

func (s *SecretNames) load() {
	names := map[string]bool{}
	prefixes, suffixes := map[string]bool{"": true}, map[string]bool{"": true}
	add := func(set map[string]bool, nodes []*kyaml.Node) {
		for _, n := range nodes {
			if t, ok := text(n); ok {
				set[t] = true
			}
		}
	}
	for _, p := range s.paths {
		data, ok := s.read(p)
		if !ok {
			continue
		}
		kustomization := IsKustomizationFile(p)
		secret := mayHoldSecret(data)
		if !kustomization && !secret && !bytes.Contains(data, []byte("namePrefix")) && !bytes.Contains(data, []byte("nameSuffix")) &&
			!bytes.Contains(data, []byte("fixTransformer")) {
			continue
		}
		docs, err := decodeAll(data)
		if err != nil {
			s.anyName = s.anyName || secret
			continue
		}
		for _, d := range docs {
			r := root(d)
			objects := secretObjects(d)
			if hasText(fields(r, "kind"), "SecretGenerator") {
				objects = append(objects, r)
			}
			for _, obj := range objects {
				if n, ok := text(field(field(obj, "metadata"), "name")); ok {
					names[n] = true
				} else {
					s.anyName = true
				}
			}
			for _, gens := range fields(r, "secretGenerator") {
				if gens = deref(gens); gens != nil && gens.Kind == kyaml.SequenceNode {
					for _, g := range gens.Content {
						add(names, fields(g, "name"))
					}
				}
			}
			// SecretGenerator configurations a kustomization's generators give inline (those in files are read above).
			for _, gens := range fields(r, "generators") {
				if gens = deref(gens); gens != nil && gens.Kind == kyaml.SequenceNode {
					for _, g := range gens.Content {
						entry, _ := text(g)
						configs, _ := inlineConfigs(entry)
						for _, c := range configs {
							cd, err := decodeAll([]byte(c))
							if err != nil || len(cd) == 0 || !hasText(fields(root(cd[0]), "kind"), "SecretGenerator") {
								continue
							}
							if n, ok := text(field(field(root(cd[0]), "metadata"), "name")); ok {
								names[n] = true
							} else {
								s.anyName = true
							}
						}
					}
				}
			}
			// A kustomization's, or a Flux Kustomization's spec's; any other object's too, which only adds names.
			for _, m := range []*kyaml.Node{r, field(r, "spec")} {
				add(prefixes, fields(m, "namePrefix"))
				add(suffixes, fields(m, "nameSuffix"))
			}
			// A prefix or suffix transformer's configuration, in a file or inline among a kustomization's transformers.
			configs := []*kyaml.Node{r}
			for _, entry := range texts(field(r, "transformers")) {
				inline, _ := inlineConfigs(entry)
				for _, c := range inline {
					if cd, err := decodeAll([]byte(c)); err == nil && len(cd) > 0 {
						configs = append(configs, root(cd[0]))
					}
				}
			}
			for _, c := range configs {
				kinds := fields(c, "kind")
				if hasText(kinds, "PrefixTransformer") || hasText(kinds, "SuffixTransformer") || hasText(kinds, "PrefixSuffixTransformer") {
					add(prefixes, fields(c, "prefix"))
					add(suffixes, fields(c, "suffix"))
				}
			}
		}
	}
	s.names = slices.Sorted(maps.Keys(names))
	s.prefixes, s.suffixes = slices.Sorted(maps.Keys(prefixes)), slices.Sorted(maps.Keys(suffixes))
}

// mayMatch says whether a patch target's name may select a Secret of the tree; nil (a tree not known) says it may.
func (s *SecretNames) mayMatch(target *kyaml.Node) bool {
	if s == nil {
		return true
	}
	s.once.Do(s.load)
	if s.anyName {
		return true
	}
	patterns := fields(target, "name")
	if len(patterns) == 0 {
		return len(s.names) > 0
	}
	for _, n := range patterns {
		pattern, ok := text(n)
		if !ok {
			return true
		}
		if pattern == "" {
			if len(s.names) > 0 {
				return true
			}
			continue
		}
		re, err := regexp.Compile("^(?:" + pattern + ")$")
		if err != nil {
			return true
		}
		for _, name := range s.names {
			for _, p := range s.prefixes {
				for _, x := range s.suffixes {
					if re.MatchString(p + name + x) {
						return true
					}
				}
			}
		}
	}
	return false
}
