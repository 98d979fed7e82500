package render

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	kustomizetypes "sigs.k8s.io/kustomize/api/types"

	"github.com/kronform/kronform-gen/generator/cilium"
	"github.com/kronform/kronform-gen/generator/flux"
	"github.com/kronform/kronform-gen/generator/manifest"
	"github.com/kronform/kronform-gen/generator/secrets"
	"github.com/kronform/kronform-gen/generator/spec"
	"github.com/kronform/kronform-gen/generator/tree"
	"github.com/kronform/kronform-gen/internal/parallel"
)

// BootstrapDir is the folder flux bootstrap owns inside a cluster's path.
const BootstrapDir = "flux-system"

// Options carry what rendering secrets needs beyond the spec. The zero value renders a tree from nothing, with no key
// and no sources: fine for a spec without secrets.
type Options struct {
	// Previous is the tree as it stands (the output folder, os.DirFS(outDir)). Existing secret files are read from it
	// so that an unchanged secret keeps its bytes; nil means there is no tree yet.
	Previous fs.FS
	// Keys are the age identities that open existing secret files; empty means no key (CI).
	Keys *secrets.Identities
	// Sources hand out secret values; nil means none are available.
	Sources secrets.Sources
	// Now stamps newly encrypted files (sops' lastmodified); zero means the current time.
	Now time.Time

	repositoryPath string            // the spec's repositoryPath: where the tree lies in the repository Flux follows
	recorded       map[string]string // the ownership record of Previous, path -> digest
	known          []string          // every age recipient of the spec and of the secret files in Previous (with a key)
}

// Result is the rendered tree and what could not be verified or updated in it.
type Result struct {
	Tree *tree.Tree
	// Notes list secrets whose files were kept without full verification, sorted by path. A stuck note (Note.Stuck)
	// means the tree is not what the spec says: check must fail on it, generate must not write.
	Notes []secrets.Note
	// ValuesChanged are, by secret file path, the secret files whose values the sources change (with the key only:
	// without it the file's values cannot be read), and which keys: names, never values.
	ValuesChanged map[string]ValuesChanged
}

// ValuesChanged is a Secret (namespace/name) and the keys whose values the render changed (secrets.Result).
type ValuesChanged struct {
	Secret string
	Keys   []string
}

// Stuck lists the notes that say the tree could not be brought in line with the spec.
func (r *Result) Stuck() []secrets.Note {
	var out []secrets.Note
	for _, n := range r.Notes {
		if n.Stuck() {
			out = append(out, n)
		}
	}
	return out
}

// Fleet renders every cluster of the spec into one tree.
func Fleet(m *spec.Model, opts Options) (*Result, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	var protected []string
	for _, c := range m.Clusters {
		protected = append(protected, path.Join(c.Flux.Path, BootstrapDir))
	}
	// Clusters are independent: each renders into a tree of its own, on every core, and the trees are merged in the
	// spec's order, so a path two clusters both generate is refused exactly as before.
	// The ownership record says which secret files are still as kronform-gen wrote them. A damaged record is
	// reported by the commands that read it; here it only means nothing is known.
	if opts.Previous != nil && opts.recorded == nil {
		opts.recorded = map[string]string{}
		if rec, err := tree.OwnedIn(opts.Previous); err == nil {
			opts.recorded = rec.Files
		}
	}
	// A key that opens none of a cluster's files may be another cluster's: that is no wrong key.
	if opts.Keys.Available() && opts.known == nil {
		opts.known = knownRecipients(m, opts.Previous, opts.Keys)
	}
	opts.repositoryPath = m.RepositoryPath
	parts := make([]*Result, len(m.Clusters))
	errs := make([]error, len(m.Clusters))
	parallel.For(len(m.Clusters), 0, func(i int) {
		parts[i] = &Result{Tree: tree.New(protected...)}
		errs[i] = renderCluster(parts[i], m.Clusters[i], opts)
	})
	res := &Result{Tree: tree.New(protected...)}
	res.Tree.SetRepositoryPath(m.RepositoryPath)
	// Secret value sources that cannot be read are bad input: every one is reported, at its place in the spec.
	var problems spec.Problems
	for i, part := range parts {
		var unread sourceErrors
		if errors.As(errs[i], &unread) {
			problems = append(problems, unread.problems(m, i)...)
			continue
		}
		if errs[i] != nil {
			return nil, errs[i]
		}
		for _, p := range part.Tree.Paths() {
			b, _ := part.Tree.File(p)
			add := res.Tree.Add
			if recorded, ok := part.Tree.Unvouched(p); ok {
				add = func(p string, b []byte) error { return res.Tree.AddUnvouched(p, b, recorded) }
			}
			if err := add(p, b); err != nil {
				return nil, err
			}
		}
		res.Notes = append(res.Notes, part.Notes...)
		for p, v := range part.ValuesChanged {
			if res.ValuesChanged == nil {
				res.ValuesChanged = map[string]ValuesChanged{}
			}
			res.ValuesChanged[p] = v
		}
	}
	if len(problems) > 0 {
		return nil, problems.Sorted()
	}
	if err := renderSopsConfig(res.Tree, m); err != nil {
		return nil, err
	}
	slices.SortFunc(res.Notes, func(a, b secrets.Note) int {
		switch {
		case a.Path < b.Path:
			return -1
		case a.Path > b.Path:
			return 1
		}
		return 0
	})
	return res, nil
}

// renderCluster writes one cluster. The Flux Kustomizations go into the bootstrap path, one file each, where the root
// Kustomization of flux bootstrap finds them; no kustomization.yaml is written there, because one would have to list
// flux-system too, and kustomize-controller generates it when it is absent.
func renderCluster(res *Result, c spec.Cluster, opts Options) error {
	t := res.Tree
	values, err := cilium.HelmValues(c)
	if err != nil {
		return err
	}
	for _, k := range flux.Kustomizations(c, opts.repositoryPath, values) {
		if err := addObjects(t, path.Join(c.Flux.Path, k.Name+".yaml"), k); err != nil {
			return err
		}
	}
	if err := renderCilium(t, c, values); err != nil {
		return err
	}
	if err := renderHostPolicies(t, c); err != nil {
		return err
	}
	if err := renderHetzner(t, c); err != nil {
		return err
	}
	return renderSecrets(res, c, opts)
}

func renderCilium(t *tree.Tree, c spec.Cluster, values map[string]any) error {
	hr, err := flux.HelmRelease(c, values)
	if err != nil {
		return err
	}
	dir := flux.ComponentDir(c, flux.CiliumName)
	return addFolder(t, dir, map[string]any{
		"helmrepository.yaml": flux.HelmRepository(c),
		"helmrelease.yaml":    hr,
	})
}

func renderHostPolicies(t *tree.Tree, c spec.Cluster) error {
	if len(c.HostPolicies) == 0 {
		return nil
	}
	files := map[string]any{}
	ranges := spec.CiliumPortRanges(c.Cilium.Version)
	for _, p := range c.HostPolicies {
		files[p.Name+".yaml"] = cilium.CompilePolicy(p, ranges)
	}
	return addFolder(t, flux.ComponentDir(c, flux.HostPoliciesName), files)
}

// SecretFile is where a secret lives inside its cluster's secrets folder: one folder per namespace, so that no two
// (namespace, name) pairs can share a file, and validated DNS names keep every path inside the folder.
func SecretFile(s spec.Secret) string { return path.Join(s.Namespace, s.Name+".yaml") }

// renderSecrets writes each secret encrypted, and the folder's kustomization.yaml. The kustomization is plaintext
// on purpose: it holds no values, and kustomize-controller decrypts the files it lists.
func renderSecrets(res *Result, c spec.Cluster, opts Options) error {
	if len(c.Secrets) == 0 {
		return nil
	}
	dir := flux.ComponentDir(c, flux.SecretsName)
	var files []string
	unread := sourceErrors{}
	for i, s := range c.Secrets {
		p := path.Join(dir, SecretFile(s))
		prev, err := previous(opts.Previous, p)
		if err != nil {
			return err
		}
		out, err := secrets.Render(secrets.Request{
			Secret: s, Recipients: c.AgeRecipients, Known: opts.known, Path: p, Previous: prev, Record: record(opts.recorded, p, prev),
			Sources: opts.Sources, Keys: opts.Keys, Now: opts.Now,
		})
		var sourceErr *secrets.SourceError
		if errors.As(err, &sourceErr) {
			unread[i] = sourceErr // and on to the next secret, to find every source missing
			continue
		}
		if err != nil {
			return err
		}
		if len(out.ValuesChanged) > 0 {
			if res.ValuesChanged == nil {
				res.ValuesChanged = map[string]ValuesChanged{}
			}
			res.ValuesChanged[p] = ValuesChanged{Secret: s.Namespace + "/" + s.Name, Keys: out.ValuesChanged}
		}
		add := res.Tree.Add
		if out.Note != nil {
			res.Notes = append(res.Notes, *out.Note)
			if out.Note.Stuck() {
				// Kept as it stands, not as the spec says: the record must not come to vouch for it.
				add = func(p string, b []byte) error { return res.Tree.AddUnvouched(p, b, opts.recorded[p]) }
			}
		}
		if err := add(p, out.File); err != nil {
			return err
		}
		files = append(files, SecretFile(s))
	}
	if len(unread) > 0 {
		return unread
	}
	slices.Sort(files)
	return AddKustomization(res.Tree, dir, files)
}

// knownRecipients lists, sorted, every age recipient of the spec's clusters and of the secret files the spec's
// secrets have in prev. A file that cannot be read or parsed adds nothing: its own render reports it. The files are
// read only when keys is none of the spec's recipients: the list serves only to tell whether it is listed somewhere.
func knownRecipients(m *spec.Model, prev fs.FS, keys *secrets.Identities) []string {
	var out []string
	for _, c := range m.Clusters {
		out = append(out, c.AgeRecipients...)
	}
	for _, c := range m.Clusters {
		if keys.AnyListed(out) {
			break
		}
		dir := flux.ComponentDir(c, flux.SecretsName)
		for _, s := range c.Secrets {
			b, err := previous(prev, path.Join(dir, SecretFile(s)))
			if err != nil || b == nil {
				continue
			}
			if r, err := secrets.FileRecipients(b); err == nil {
				out = append(out, r...)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// record says what the ownership record knows of the file prev at p. A file it does not list is vouched for by
// nothing, as one changed since: a file left from a generate whose record was undone (git checkout of the tracked
// files leaves it behind) holds values nobody checked against the sources.
func record(recorded map[string]string, p string, prev []byte) secrets.Record {
	digest, ok := recorded[p]
	switch {
	case !ok:
		return secrets.NotRecorded
	case tree.Digest(prev) != digest:
		return secrets.ChangedSince
	}
	return secrets.Recorded
}

// sourceErrors are the secrets of one cluster whose value sources could not be read, by the secret's index.
type sourceErrors map[int]*secrets.SourceError

func (e sourceErrors) Error() string {
	var parts []string
	for _, i := range slices.Sorted(maps.Keys(e)) {
		parts = append(parts, e[i].Error())
	}
	return strings.Join(parts, "; ")
}

// problems places each source problem of cluster c at its source in the spec: clusters[c].secrets[i].data.KEY.env
// (or .file), and a problem of a secret's values in all at clusters[c].secrets[i].data.
func (e sourceErrors) problems(m *spec.Model, c int) spec.Problems {
	var out spec.Problems
	for _, i := range slices.Sorted(maps.Keys(e)) {
		for _, p := range e[i].Problems {
			at := fmt.Sprintf("clusters[%d].secrets[%d].data", c, i)
			if p.Key != "" {
				field := "file"
				if p.Source.Env != "" {
					field = "env"
				}
				at += "." + p.Key + "." + field
			}
			out = append(out, m.Problem(at, "", "%s", p.Msg))
		}
	}
	return out
}

// previous reads a file of the existing tree; nil when it is not there.
func previous(fsys fs.FS, p string) ([]byte, error) {
	if fsys == nil {
		return nil, nil
	}
	b, err := fs.ReadFile(fsys, p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	return b, nil
}

// renderSopsConfig writes .sops.yaml at the root with one creation rule per cluster that has recipients, so a person
// running sops on a generated path gets the recipients kronform-gen uses.
func renderSopsConfig(t *tree.Tree, m *spec.Model) error {
	var rules []secrets.Rule
	for _, c := range m.Clusters {
		if len(c.AgeRecipients) > 0 {
			rules = append(rules, secrets.Rule{Dir: flux.ComponentDir(c, flux.SecretsName), Recipients: c.AgeRecipients})
		}
	}
	if len(rules) == 0 {
		return nil
	}
	b, err := secrets.Config(rules)
	if err != nil {
		return err
	}
	return t.Add(secrets.ConfigFile, b)
}

// addFolder writes one object per file and a kustomization.yaml listing them, so the folder builds with kustomize as
// it is and Flux does not have to generate anything.
func addFolder(t *tree.Tree, dir string, files map[string]any) error {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := addObjects(t, path.Join(dir, name), files[name]); err != nil {
			return err
		}
	}
	return AddKustomization(t, dir, names)
}

// AddKustomization writes dir/kustomization.yaml listing resources in the given order.
func AddKustomization(t *tree.Tree, dir string, resources []string) error {
	k := kustomizetypes.Kustomization{
		TypeMeta:  kustomizetypes.TypeMeta{APIVersion: kustomizetypes.KustomizationVersion, Kind: kustomizetypes.KustomizationKind},
		Resources: resources,
	}
	return addObjects(t, path.Join(dir, "kustomization.yaml"), k)
}

func addObjects(t *tree.Tree, p string, objects ...any) error {
	data, err := manifest.Encode(objects...)
	if err != nil {
		return err
	}
	return t.Add(p, data)
}
