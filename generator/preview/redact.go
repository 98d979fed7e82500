package preview

import (
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/kyaml/filesys"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/kronform/kronform-gen/generator/manifest"
)

// kustomize's and the YAML parsers' errors print what they read, and what they read may be a Secret: a literal that
// is no key=value, an env file's line of invalid UTF-8 (as bytes), an alias to an unknown anchor (pw: *the-value), a
// patch or an object dumped whole. A build records the files it reads (inputs); when its error comes and any of them
// may hold a secret value (mayHoldSecret, or decrypted for the build), or postBuild substituted variables
// from a Secret, the message keeps only kustomize's own wording and the names the build's kustomization files and
// objects give, and the tree's paths (manifest.Redact); everything else prints as (not shown). An error of a build
// that read no such file prints as kustomize wrote it.

// redactedError is an error whose message is redacted; errors.Is and As still see the error it replaces.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactError returns err with its message redacted, keeping the words keep takes.
func redactError(err error, keep func(string) bool) error {
	if err == nil {
		return nil
	}
	msg := manifest.Redact(err.Error(), keep)
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// redactFile redacts the error met reading a file of the tree, when the file may hold a secret value.
func (s *Source) redactFile(err error, data []byte) error {
	if err == nil || !manifest.MayHoldSecret(data) {
		return err
	}
	return redactError(err, s.names)
}

// names says whether a word of a message names a file or folder of the tree, by its path from the root or the last
// element of it.
func (s *Source) names(q string) bool {
	if q == "" || strings.ContainsAny(q, "\n") {
		return false
	}
	if s.fs.Exists(s.abs(strings.TrimPrefix(q, "/"))) {
		return true
	}
	s.baseNamesOnce.Do(func() {
		s.baseNames = map[string]bool{}
		_ = s.fs.Walk(s.root, func(p string, _ os.FileInfo, err error) error {
			if err == nil {
				s.baseNames[filepath.Base(p)] = true
			}
			return nil
		})
	})
	return s.baseNames[path.Base(filepath.ToSlash(q))]
}

// inputs are what a build read: the files, by their path in fs (the tree with what the build lays over it), those
// decrypted for it, and whether postBuild substituted variables from a Secret.
type inputs struct {
	src *Source
	fs  filesys.FileSystem

	mu         sync.Mutex
	read       []string
	seen       map[string]bool
	decrypted  map[string]bool
	secretVars bool
}

func newInputs(s *Source) *inputs {
	return &inputs{src: s, fs: s.fs, seen: map[string]bool{}, decrypted: map[string]bool{}}
}

func (in *inputs) add(p string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.seen[p] {
		in.seen[p] = true
		in.read = append(in.read, p)
	}
}

// over makes fs what the build reads from now on, and returns it with every read recorded.
func (in *inputs) over(fs filesys.FileSystem) filesys.FileSystem {
	in.fs = fs
	return recorder{fs, in}
}

// recorder records the files read through it.
type recorder struct {
	filesys.FileSystem
	in *inputs
}

func (r recorder) ReadFile(p string) ([]byte, error) {
	r.in.add(p)
	return r.FileSystem.ReadFile(p)
}

func (r recorder) Open(p string) (filesys.File, error) {
	r.in.add(p)
	return r.FileSystem.Open(p)
}

// redact redacts err when the build's inputs may hold a secret value; without inputs, it always does. The tree's
// paths are kept, and so are the names the build's kustomization files and objects give (see namesIn).
func (in *inputs) redact(err error) error {
	if err == nil {
		return nil
	}
	if in == nil {
		return redactError(err, nil)
	}
	in.mu.Lock()
	read := slices.Clone(in.read)
	secret := in.secretVars
	in.mu.Unlock()
	files := map[string][]byte{}
	for _, p := range read {
		data, rerr := in.fs.ReadFile(p)
		if rerr != nil {
			continue
		}
		files[p] = data
		secret = secret || in.decrypted[filepath.Clean(p)] || mayHoldSecret(data)
	}
	if !secret {
		return err
	}
	given := map[string]bool{}
	for _, p := range read {
		if data, ok := files[p]; ok && !in.decrypted[filepath.Clean(p)] {
			namesIn(given, in.src.rel(filepath.Dir(p)), IsKustomizationFile(p), data)
		}
	}
	known := func(w string) bool { return given[w] || in.src.names(w) }
	return redactError(err, func(w string) bool {
		if known(w) {
			return true
		}
		// Kind/namespace/name, as kustomize-controller names an object, or a path whose every step is known.
		steps := strings.Split(strings.Trim(w, "/"), "/")
		return len(steps) > 1 && !slices.ContainsFunc(steps, func(s string) bool { return s == "" || !known(s) })
	})
}

// namesIn adds to given the words a file of folder dir gives that are no values: its objects' and JSON patches' (see
// patchNames; a build prints them all); and of a kustomization file, its field names and what it lists (resources,
// components, patch and replacement files, generator names, sources and literal keys, field paths, targets, its
// inline patches' names), both as written and as paths from the tree's root, as kustomize prints them.
func namesIn(given map[string]bool, dir string, kustomization bool, data []byte) {
	docs, err := decodeAll(data)
	if err != nil {
		return
	}
	add := func(s string) {
		if s != "" {
			given[s] = true
		}
	}
	entry := func(s string) {
		add(s)
		if !strings.Contains(s, "://") {
			p := path.Join("/", dir, s)
			add(p)
			add(strings.TrimPrefix(p, "/"))
		}
	}
	for _, d := range docs {
		r := root(d)
		patchNames(r, add)
		if r == nil || r.Kind != kyaml.MappingNode {
			continue
		}
		if !kustomization {
			continue
		}
		keys(r, add, map[*kyaml.Node]bool{})
		for _, list := range []string{"resources", "components", "bases", "crds", "configurations", "generators",
			"transformers", "validators", "patchesStrategicMerge"} {
			for _, s := range texts(field(r, list)) {
				if !isInlinePatch(s) {
					entry(s)
				}
			}
		}
		for _, list := range []string{"patches", "patchesJson6902", "replacements"} {
			for _, p := range items(field(r, list)) {
				if s, ok := text(field(p, "path")); ok {
					entry(s)
				}
				if s, ok := text(field(p, "patch")); ok {
					if docs, err := decodeAll([]byte(s)); err == nil {
						for _, d := range docs {
							patchNames(root(d), add)
						}
					}
				}
				targets(p, add)
			}
		}
		for _, s := range texts(field(r, "patchesStrategicMerge")) {
			if docs, err := decodeAll([]byte(s)); err == nil && isInlinePatch(s) {
				for _, d := range docs {
					patchNames(root(d), add)
				}
			}
		}
		if s, ok := text(field(field(r, "openapi"), "path")); ok {
			entry(s)
		}
		for _, f := range []string{"namespace", "namePrefix", "nameSuffix"} {
			if s, ok := text(field(r, f)); ok {
				add(s)
			}
		}
		for _, list := range []string{"secretGenerator", "configMapGenerator"} {
			for _, g := range items(field(r, list)) {
				for _, f := range []string{"name", "namespace", "env"} {
					if s, ok := text(field(g, f)); ok {
						add(s)
						if f == "env" {
							entry(s)
						}
					}
				}
				for _, s := range texts(field(g, "envs")) {
					entry(s)
				}
				for _, s := range texts(field(g, "files")) {
					key, file, found := strings.Cut(s, "=")
					if !found {
						file = key
					}
					add(key)
					entry(file)
				}
				for _, s := range texts(field(g, "literals")) {
					if key, _, found := strings.Cut(s, "="); found {
						add(key)
					}
				}
			}
		}
		for _, v := range items(field(r, "vars")) {
			for _, n := range []*kyaml.Node{field(v, "name"), field(field(v, "objref"), "name"), field(field(v, "objref"), "kind"),
				field(field(v, "fieldref"), "fieldpath")} {
				if s, ok := text(n); ok {
					add(s)
				}
			}
		}
	}
}

// patchNames adds the names a document gives that may be a patch, or an object: a JSON patch's paths and their
// steps (/stringData/pw: the keys they name), and an object's kind, API version, name, namespace and data keys (a
// document without kind and apiVersion, such as a file a generator reads, gives none). Values never.
func patchNames(r *kyaml.Node, add func(string)) {
	switch {
	case r == nil:
	case r.Kind == kyaml.SequenceNode:
		for _, op := range items(r) {
			for _, f := range []string{"path", "from"} {
				if p, ok := text(field(op, f)); ok {
					add(p)
					for _, step := range strings.Split(p, "/") {
						add(unescapePointer(step))
					}
				}
			}
		}
	case r.Kind == kyaml.MappingNode && field(r, "kind") != nil && field(r, "apiVersion") != nil:
		md := field(r, "metadata")
		for _, n := range []*kyaml.Node{field(r, "kind"), field(r, "apiVersion"), field(md, "name"), field(md, "namespace")} {
			if s, ok := text(n); ok {
				add(s)
			}
		}
		for _, f := range []string{"data", "stringData", "binaryData"} {
			visitFields(field(r, f), map[*kyaml.Node]bool{}, func(k, _ *kyaml.Node) {
				if s, ok := text(k); ok {
					add(s)
				}
			})
		}
	}
}

// targets adds the names a patch or replacement gives its targets and source: kinds, names, namespaces, field paths.
func targets(p *kyaml.Node, add func(string)) {
	var walk func(n *kyaml.Node, depth int)
	walk = func(n *kyaml.Node, depth int) {
		n = deref(n)
		if n == nil || depth > 10 {
			return
		}
		switch n.Kind {
		case kyaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, _ := text(n.Content[i])
				if k == "patch" {
					continue // the patch itself, which may be a value
				}
				walk(n.Content[i+1], depth+1)
			}
		case kyaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, depth+1)
			}
		case kyaml.ScalarNode:
			if s, ok := text(n); ok {
				add(s)
			}
		}
	}
	for _, f := range []string{"target", "source", "targets"} {
		walk(field(p, f), 0)
	}
}

// keys adds the keys of every mapping under n: a kustomization's field names, which kustomize's errors name (not
// under literals or an inline patch, where keys may be values).
func keys(n *kyaml.Node, add func(string), seen map[*kyaml.Node]bool) {
	n = deref(n)
	if n == nil || seen[n] {
		return
	}
	seen[n] = true
	switch n.Kind {
	case kyaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, ok := text(n.Content[i])
			if ok {
				add(k)
			}
			if k != "patch" && k != "literals" {
				keys(n.Content[i+1], add, seen)
			}
		}
	case kyaml.SequenceNode, kyaml.DocumentNode:
		for _, c := range n.Content {
			keys(c, add, seen)
		}
	}
}

// items are a sequence's elements.
func items(n *kyaml.Node) []*kyaml.Node {
	if n = deref(n); n == nil || n.Kind != kyaml.SequenceNode {
		return nil
	}
	out := make([]*kyaml.Node, 0, len(n.Content))
	for _, c := range n.Content {
		out = append(out, deref(c))
	}
	return out
}

// texts are a sequence's string elements.
func texts(n *kyaml.Node) []string {
	var out []string
	for _, c := range items(n) {
		if s, ok := text(c); ok {
			out = append(out, s)
		}
	}
	return out
}
