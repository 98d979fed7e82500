package preview

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"github.com/getsops/sops/v3/cmd/sops/formats"
	"sigs.k8s.io/kustomize/api/konfig"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

// maxEncryptedFileSize is the largest SOPS-encrypted source the controller decrypts (internal/decryptor).
const maxEncryptedFileSize = 5 << 20

// sourceMarkers are the bytes by which the controller tells that a file of a format is SOPS-encrypted (binary files
// are sops' JSON envelope).
var sourceMarkers = map[formats.Format][]byte{
	formats.Binary: []byte(`"mac": "ENC[`),
	formats.Dotenv: []byte("sops_mac=ENC["),
	formats.Ini:    []byte("[sops]"),
	formats.Json:   []byte(`"mac": "ENC[`),
	formats.Yaml:   []byte("mac: ENC["),
}

// formatForPath is the format the controller reads a file of this name in: sops' choice by extension, and JSON for a
// .dockerconfigjson key.
func formatForPath(p string) formats.Format {
	if strings.HasSuffix(p, ".dockerconfigjson") {
		return formats.Json
	}
	return formats.FormatForPath(p)
}

// sources are the SOPS-encrypted files of one Kustomization's build. files are to be laid over the tree (by absolute
// path): with a key the decrypted files; without one the kustomization files that name an encrypted patch, less that
// patch. encrypted lists the encrypted files found without a key (relative to the tree), and contents
// holds what they hold.
type sources struct {
	files     map[string][]byte
	encrypted []string
	contents  map[string]bool
	// dropped says a patch was left out; opened counts the files decrypted.
	dropped bool
	opened  int
}

// decryptSources does what kustomize-controller does before kustomize build for a Kustomization with spec.decryption
// (DecryptSources): from the folder, through every local resource and component folder, it decrypts the files that
// secretGenerators read (files: in the format of their key, envs: in theirs, dotenv when that is binary) and patches
// (patches[].path). A file is decrypted only when it holds its format's SOPS marker; the controller writes the
// plaintext over the file in its checkout, and here it is laid over the tree for this build alone. Without dec the
// encrypted files are listed instead, and an encrypted patch is left out of the build (kustomize could not even find
// its target). Errors are the controller's: a kustomization file that does not load, a source that is missing, too
// large, or does not decrypt.
func decryptSources(fs filesys.FileSystem, root, dir string, dec Decryptor) (sources, error) {
	w := &sourceWalk{fs: fs, root: root, dec: dec, visited: map[string]bool{}, done: map[string]bool{},
		out: sources{files: map[string][]byte{}, contents: map[string]bool{}}}
	err := w.folder(dir)
	return w.out, err
}

type sourceWalk struct {
	fs      filesys.FileSystem
	root    string
	dec     Decryptor
	visited map[string]bool // folders
	done    map[string]bool // files read: whether each was encrypted
	out     sources
}

// errIgnore marks a resource that is not a folder of the tree (a file, a URL): the walk passes over it.
var errIgnore = errors.New("not a folder")

// inside joins p onto the root the way the controller's securejoin does: nothing leaves the repository.
func (w *sourceWalk) inside(p string) string {
	if !filepath.IsAbs(p) {
		p = filepath.Join(w.root, p)
	}
	rel, err := filepath.Rel(w.root, filepath.Clean(p))
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		// Above the root: securejoin resolves ".." against the root itself.
		rel = filepath.Clean(string(filepath.Separator) + rel)
	}
	return filepath.Join(w.root, rel)
}

func (w *sourceWalk) folder(dir string) error {
	dir = w.inside(dir)
	if w.visited[dir] {
		return nil
	}
	w.visited[dir] = true
	if !w.fs.IsDir(dir) {
		return errIgnore
	}
	kfile, kdata, kus, err := w.kustomization(dir)
	if err != nil {
		return err
	}
	for _, gen := range kus.SecretGenerator {
		for _, src := range gen.FileSources {
			key, file, found := strings.Cut(src, "=")
			if !found {
				file = key
			}
			if _, err := w.file(dir, file, formatForPath(key)); err != nil {
				return err
			}
		}
		for _, env := range gen.EnvSources {
			format := formatForPath(env)
			if format == formats.Binary {
				format = formats.Dotenv
			}
			if _, err := w.file(dir, env, format); err != nil {
				return err
			}
		}
	}
	var dropped []string
	for _, p := range kus.Patches {
		if p.Path == "" || isRemoteURL(p.Path) {
			continue
		}
		encrypted, err := w.file(dir, p.Path, formatForPath(p.Path))
		if err != nil {
			return err
		}
		if _, decrypted := w.out.files[w.inside(joinRel(dir, p.Path))]; encrypted && !decrypted {
			dropped = append(dropped, p.Path)
		}
	}
	if len(dropped) > 0 {
		if w.out.files[kfile], err = withoutPatches(kdata, dropped); err != nil {
			return fmt.Errorf("%s: %w", w.rel(kfile), err)
		}
		w.out.dropped = true
	}
	for _, r := range append(kus.Resources, kus.Components...) {
		if !filepath.IsAbs(r) {
			r = filepath.Join(dir, r)
		}
		if err := w.folder(r); err != nil && !errors.Is(err, errIgnore) {
			return err
		}
	}
	return nil
}

// kustomization loads a folder's kustomization file as the controller does (secureLoadKustomizationFile): exactly one
// of the names kustomize knows, unmarshalled leniently.
func (w *sourceWalk) kustomization(dir string) (string, []byte, *kustypes.Kustomization, error) {
	var kfile string
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		p := filepath.Join(dir, name)
		if !w.fs.Exists(p) {
			continue
		}
		if w.fs.IsDir(p) {
			return "", nil, nil, fmt.Errorf("expected %s to be a regular file", name)
		}
		if kfile != "" {
			return "", nil, nil, errors.New("found multiple kustomization files")
		}
		kfile = p
	}
	if kfile == "" {
		return "", nil, nil, errors.New("no kustomization file found")
	}
	data, err := w.fs.ReadFile(kfile)
	if err != nil {
		return "", nil, nil, fmt.Errorf("failed to read kustomization file: %w", err)
	}
	kus := &kustypes.Kustomization{}
	if err := sigsyaml.Unmarshal(data, kus); err != nil {
		return "", nil, nil, fmt.Errorf("failed to unmarshal kustomization file from '%s': %w", w.rel(kfile), err)
	}
	return kfile, data, kus, nil
}

// withoutPatches is a kustomization file less the patches read from the given paths; the rest stays as written.
func withoutPatches(data []byte, paths []string) ([]byte, error) {
	rn, err := kyaml.Parse(string(data))
	if err != nil {
		return nil, err
	}
	if f := rn.Field("patches"); f != nil && f.Value.YNode().Kind == kyaml.SequenceNode {
		var keep []*kyaml.Node
		for _, p := range f.Value.YNode().Content {
			if path := kyaml.NewRNode(p).Field("path"); path == nil || !slices.Contains(paths, path.Value.YNode().Value) {
				keep = append(keep, p)
			}
		}
		f.Value.YNode().Content = keep
	}
	s, err := rn.String()
	return []byte(s), err
}

// file decrypts one source, relative to the folder that names it, and says whether it was encrypted.
func (w *sourceWalk) file(dir, p string, format formats.Format) (bool, error) {
	p = w.inside(joinRel(dir, p))
	if encrypted, done := w.done[p]; done {
		return encrypted, nil
	}
	if !w.fs.Exists(p) {
		return false, fmt.Errorf("lstat %s: no such file or directory", w.rel(p))
	}
	if w.fs.IsDir(p) {
		return false, errors.New("cannot decrypt irregular file as it has file mode type bits set")
	}
	data, err := w.fs.ReadFile(p)
	if err != nil {
		return false, err
	}
	if len(data) > maxEncryptedFileSize {
		return false, fmt.Errorf("cannot decrypt file with size (%d bytes) exceeding limit (%d)", len(data), maxEncryptedFileSize)
	}
	if !bytes.Contains(data, sourceMarkers[format]) {
		return false, nil
	}
	w.done[p] = true
	var plain []byte
	if w.dec != nil {
		if plain, err = w.dec.File(data, format, format); err != nil && !errors.Is(err, ErrKeyless) {
			return false, fmt.Errorf("%s: %w", w.rel(p), err)
		}
	}
	if w.dec == nil || err != nil {
		w.out.encrypted = append(w.out.encrypted, w.rel(p))
		w.out.contents[string(data)] = true
		return true, nil
	}
	w.out.files[p] = plain
	w.out.opened++
	return true, nil
}

// joinRel is a path named in the kustomization file of dir, as the walk resolves it.
func joinRel(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

func (w *sourceWalk) rel(p string) string {
	r, err := filepath.Rel(w.root, p)
	if err != nil {
		return p
	}
	return filepath.ToSlash(r)
}

// isRemoteURL is the controller's test for a patch it does not read from the tree: a scheme and a host.
func isRemoteURL(p string) bool {
	u, err := url.Parse(p)
	return err == nil && u.Scheme != "" && u.Host != ""
}
