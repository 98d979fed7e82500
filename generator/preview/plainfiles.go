package preview

import (
	"path"
	"sync"

	"github.com/kronform/kronform-gen/generator/tree"
)

// Files are a tree's files as the plaintext scan reads them: a tree.Disk, or files read from disk on demand.
type Files interface {
	// Paths lists the files, sorted (an entry that is no regular file may stand among them: File says so).
	Paths() []string
	// File gives a file's contents; false for one that is not a regular file of the tree.
	File(p string) ([]byte, bool)
	// Size is a file's size, known without reading it.
	Size(p string) int64
}

// PlaintextFile is a plaintext Secret (or a value on its way into one) and the file, relative to the tree, that holds
// it.
type PlaintextFile struct {
	Path string `json:"path"`
	PlaintextSecret
}

// FindPlaintextSecrets scans the files of a tree that scan accepts (nil: every one; .git and the write staging area
// are never part of a tree) for Secret documents holding a value in the clear, and for kustomizations and patches
// that write one into a Secret (see PlaintextSecrets and KustomizationSecrets), but for a file larger than
// tree.ReadWhole that kustomize could not read: one not named as a manifest (ManifestName), nor as a resource by a
// kustomization (a disk image at the root of the repository). The rest of the tree is read only as
// those need it: the names of its Secrets (for patches whose target may select one) and the resources its
// kustomizations name (for a large file). A file that cannot hold a Secret (manifest.MayHoldSecret) is not parsed.
// Only paths and key names are reported, never values.
func FindPlaintextSecrets(files Files, scan func(p string) bool) []PlaintextFile {
	out := []PlaintextFile{}
	paths := files.Paths()
	secrets := NewSecretNames(paths, files.File)
	resources := sync.OnceValue(func() map[string]bool {
		named := map[string]bool{}
		for _, p := range paths {
			if !IsKustomizationFile(p) {
				continue
			}
			data, _ := files.File(p)
			rs, _ := KustomizationResources(p, data) // one kustomize cannot read is reported below, or by the build
			for _, r := range rs {
				named[r] = true
			}
		}
		return named
	})
	for _, p := range paths {
		if scan != nil && !scan(p) {
			continue
		}
		if files.Size(p) > tree.ReadWhole && !ManifestName(p) && !resources()[p] {
			continue
		}
		data, ok := files.File(p)
		if !ok {
			continue
		}
		found, err := PlaintextSecrets(data, secrets)
		if err != nil {
			// A manifest that may hold a Secret but cannot be read as YAML cannot be cleared: report it. Any file can
			// be a kustomize resource (secret.txt, JSON), so every one is read; one of another kind that is not YAML
			// (a README) is no manifest Flux could apply.
			if ManifestName(p) {
				out = append(out, PlaintextFile{Path: p, PlaintextSecret: PlaintextSecret{Keys: []string{"(not valid YAML)"}}})
			}
			continue
		}
		if IsKustomizationFile(p) {
			generated, err := KustomizationSecrets(p, data, files.File, secrets)
			if err != nil {
				continue // not a kustomization kustomize could read: the build says so
			}
			found = append(found, generated...)
		}
		for _, f := range found {
			out = append(out, PlaintextFile{Path: p, PlaintextSecret: f})
		}
	}
	return out
}

// ManifestName says whether a file's name makes it a manifest: YAML or JSON, or a kustomization.
func ManifestName(p string) bool {
	ext := path.Ext(p)
	return ext == ".yaml" || ext == ".yml" || ext == ".json" || IsKustomizationFile(p)
}
