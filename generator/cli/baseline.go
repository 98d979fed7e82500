package cli

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"sigs.k8s.io/yaml"

	"github.com/kronform/kronform-gen/generator/gitrepo"
	"github.com/kronform/kronform-gen/generator/preview"
	"github.com/kronform/kronform-gen/generator/render"
	"github.com/kronform/kronform-gen/generator/spec"
	"github.com/kronform/kronform-gen/generator/tree"
)

// baseline is the tree Flux applies now for one cluster, as far as kronform-gen can know it: in a git repository, the
// branch Flux follows as this clone last fetched or pushed it (commits not pushed have not reached Flux, and reach
// it together with this change), else HEAD; outside one, the folder on disk.
type baseline struct {
	label string // where it was read, for messages: "at origin/main", "at HEAD", "in output"
	// why says how the baseline was chosen, for a refusal; unpushed counts the commits of HEAD that change the output
	// folder and that the baseline lacks (nil: none can), only when a refusal needs it.
	why      string
	tag      string // the tag Flux follows, when it follows one: a commit reaches Flux when the tag moves to it
	unpushed func() (int, error)
	read     func(p string) ([]byte, error)              // a file, by its path in the tree; fs.ErrNotExist when absent
	files    func(dir string) (map[string][]byte, error) // the files directly in a folder of the tree
	// all reads every file of the tree, for a build of what a cluster's Flux Kustomizations apply (see userReleases);
	// tree names that tree: the baselines of a fleet's bootstrapped clusters differ (why names each one's
	// gotk-sync.yaml) but read one tree, which is read and built once for all of them.
	all  func() (map[string][]byte, error)
	tree string
	// repoPath holds repositoryPath's answer: the ownership record lists every file of the fleet (a megabyte for 1000
	// clusters), and the transition check asks for each cluster of a baseline that many share.
	repoPath struct {
		once sync.Once
		path string
	}
}

// repositoryPath is where the baseline's tree lies in the repository Flux follows, as its ownership record says ("" for
// the root, and for a tree without a record): its Flux Kustomizations' paths start there. The record is read once.
func (b *baseline) repositoryPath() string {
	b.repoPath.once.Do(func() {
		data, err := b.read(tree.OwnedFile)
		if err != nil {
			return
		}
		if owned, err := tree.ParseOwned(data); err == nil {
			b.repoPath.path = owned.RepositoryPath
		}
	})
	return b.repoPath.path
}

// baselines reads, for each cluster of the model, the tree Flux applies now. It must run before this run writes.
func (a *app) baselines(m *spec.Model) ([]*baseline, error) {
	out := make([]*baseline, len(m.Clusters))
	repo, err := gitrepo.Open(a.outDir)
	if err != nil {
		disk := tree.Files(a.outDir)
		b := &baseline{
			label: "in " + a.outDir,
			why:   "the folder is in no git repository (go-git found none, or cannot open it), so what Flux applies is taken to be what is on disk",
			read:  func(p string) ([]byte, error) { return fs.ReadFile(disk, p) },
			files: func(dir string) (map[string][]byte, error) {
				entries, err := os.ReadDir(filepath.Join(a.outDir, filepath.FromSlash(dir)))
				if errors.Is(err, fs.ErrNotExist) {
					return map[string][]byte{}, nil
				}
				if err != nil {
					return nil, err
				}
				files := map[string][]byte{}
				for _, e := range entries {
					p := path.Join(dir, e.Name())
					if b, err := fs.ReadFile(disk, p); err == nil {
						files[p] = b // regular files only
					}
				}
				return files, nil
			},
			all:  func() (map[string][]byte, error) { return preview.ReadDir(a.outDir) },
			tree: "disk",
		}
		for i := range out {
			out[i] = b
		}
		return out, nil
	}
	byRef := map[string]*baseline{}
	for i, c := range m.Clusters {
		ref, why, err := a.fluxRef(repo, c)
		if err != nil {
			return nil, fail(ExitUsage, "cluster %s: finding the branch Flux follows: %v", c.Name, err)
		}
		if b, ok := byRef[ref+"\x00"+why]; ok {
			out[i] = b
			continue
		}
		var snap *gitrepo.Snapshot
		b := &baseline{label: "at HEAD", why: why}
		if ref == "" {
			snap, err = repo.HeadSnapshot()
		} else {
			b.label = "at " + shortRef(ref)
			if t, ok := strings.CutPrefix(ref, "refs/tags/"); ok {
				b.tag = t
			}
			snap, err = repo.RefSnapshot(ref)
			b.unpushed = func() (int, error) { return repo.Unpushed(ref) }
		}
		if err != nil {
			return nil, fail(ExitUsage, "reading %s %s: %v", a.outDir, b.label, err)
		}
		b.read, b.files, b.all, b.tree = snap.ReadFile, snap.Dir, snap.Files, "git "+ref
		byRef[ref+"\x00"+why] = b
		out[i] = b
	}
	return out, nil
}

// fluxRef finds the reference Flux follows for a cluster: what the GitRepository flux bootstrap wrote into its folder
// (flux-system/gotk-sync.yaml) names, as source-controller reads spec.ref (name before semver, tag and branch; no ref
// is branch master): a branch on the remote of that URL, or a tag; else the upstream of the current branch; else none
// ("", HEAD). A commit or a semver range is not followed here. why says which, for messages.
func (a *app) fluxRef(repo *gitrepo.Repo, c spec.Cluster) (ref, why string, err error) {
	src, file, err := a.bootstrapSource(c)
	if err != nil {
		return "", "", err
	}
	if src != nil {
		branch, tag := "master", ""
		if r := src.Spec.Reference; r != nil {
			// Commit, then Name, before SemVer, Tag and Branch (GitRepositoryRef's precedence).
			switch {
			case r.Commit != "":
				branch = ""
			case r.Name != "":
				branch, tag = "", ""
				if b, ok := strings.CutPrefix(r.Name, "refs/heads/"); ok {
					branch = b
				} else if t, ok := strings.CutPrefix(r.Name, "refs/tags/"); ok {
					tag = t
				}
			case r.SemVer != "":
				branch = ""
			case r.Tag != "":
				branch, tag = "", r.Tag
			case r.Branch != "":
				branch = r.Branch
			}
		}
		var ok bool
		switch {
		case tag != "":
			if ref, ok, err = repo.Tag(tag); ok {
				return ref, fmt.Sprintf("tag %s, which Flux follows (%s), as this clone last fetched it", tag, file), nil
			}
		case branch != "":
			if ref, ok, err = repo.RemoteBranch(src.Spec.URL, branch); ok {
				return ref, fmt.Sprintf("branch %s of %s, which Flux follows (%s), as this clone last fetched or pushed it", branch, src.Spec.URL, file), nil
			}
		}
		if err != nil {
			return "", "", err
		}
	}
	ref, ok, err := repo.Upstream()
	if err != nil {
		return "", "", err
	}
	if ok {
		return ref, "the upstream of the current branch, as this clone last fetched or pushed it (no flux-system/gotk-sync.yaml names a branch of a remote this clone has fetched, or a tag it has)", nil
	}
	return "", "no remote branch Flux follows is known (the current branch has no upstream, and no " +
		"flux-system/gotk-sync.yaml names a branch of a remote this clone has fetched, or a tag it has), so HEAD stands for it", nil
}

// bootstrapSource reads, from the cluster's flux-system folder on disk, the GitRepository flux bootstrap made
// (flux.namespace, flux.gitRepository), and the file that holds it; nil when there is none.
func (a *app) bootstrapSource(c spec.Cluster) (*sourcev1.GitRepository, string, error) {
	dir := path.Join(c.Flux.Path, render.BootstrapDir)
	entries, err := os.ReadDir(filepath.Join(a.outDir, filepath.FromSlash(dir)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || (path.Ext(e.Name()) != ".yaml" && path.Ext(e.Name()) != ".yml") {
			continue
		}
		rel := path.Join(dir, e.Name())
		data, err := os.ReadFile(filepath.Join(a.outDir, filepath.FromSlash(rel)))
		if err != nil {
			return nil, "", err
		}
		repos, err := gitRepositoriesIn(data)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", rel, err)
		}
		for _, r := range repos {
			if r.Name == c.Flux.GitRepository && slices.Contains([]string{"", c.Flux.Namespace}, r.Namespace) {
				return &r, rel, nil
			}
		}
	}
	return nil, "", nil
}

// gitRepositoriesIn reads the GitRepositories among a file's YAML documents; documents that are not one are skipped.
// A file's contents are parsed once per process: every cluster's flux-system folder holds the same
// gotk-components.yaml (Flux's CRDs, hundreds of kB of YAML that name the GitRepository kind), and parsing each
// cluster's took most of a no-op generate of a bootstrapped fleet.
func gitRepositoriesIn(data []byte) ([]sourcev1.GitRepository, error) {
	if !bytes.Contains(data, []byte("GitRepository")) {
		return nil, nil
	}
	key := sha256.Sum256(data)
	if repos, ok := parsedGitRepositories.Load(key); ok {
		return repos.([]sourcev1.GitRepository), nil
	}
	docs, err := yamlDocuments(data)
	if err != nil {
		return nil, err
	}
	var out []sourcev1.GitRepository
	for _, doc := range docs {
		var r sourcev1.GitRepository
		if yaml.Unmarshal(doc, &r) != nil || r.Kind != sourcev1.GitRepositoryKind ||
			!strings.HasPrefix(r.APIVersion, sourcev1.GroupVersion.Group+"/") {
			continue
		}
		out = append(out, r)
	}
	parsedGitRepositories.Store(key, out)
	return out, nil
}

// parsedGitRepositories holds what gitRepositoriesIn found in each file's contents, by their SHA-256. Callers take a
// copy of the one they keep (bootstrapSource returns the address of its loop variable) and write none.
var parsedGitRepositories sync.Map

// shortRef names a reference as git log does: origin/main for refs/remotes/origin/main, v1 for refs/tags/v1.
func shortRef(ref string) string {
	for _, p := range []string{"refs/remotes/", "refs/heads/", "refs/tags/"} {
		if s, ok := strings.CutPrefix(ref, p); ok {
			return s
		}
	}
	return ref
}

// unpushedNote says, for a refusal, that HEAD holds changes Flux has not applied: they are judged with this one.
func (b *baseline) unpushedNote() string {
	if b.unpushed == nil {
		return ""
	}
	n, err := b.unpushed()
	switch {
	case err != nil:
		return fmt.Sprintf(" Whether HEAD has commits %s lacks is unknown: %v.", strings.TrimPrefix(b.label, "at "), err)
	case n == 0:
		return ""
	}
	return fmt.Sprintf(" HEAD has %d commit(s) changing the tree that %s lacks: Flux has not applied them, so they count "+
		"as part of this change (push them and let Flux apply them first, if each is a step of its own).",
		n, strings.TrimPrefix(b.label, "at "))
}
