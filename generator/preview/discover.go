package preview

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"gopkg.in/yaml.v3"

	"github.com/kronform/kronform-gen/generator/spec"
	"github.com/kronform/kronform-gen/internal/parallel"
)

// ClustersDir is the folder whose subfolders are the clusters (flux bootstrap --path clusters/<cluster>).
const ClustersDir = spec.ClustersDir

// Kustomization is one Flux Kustomization object found in the tree.
type Kustomization struct {
	// Cluster is the folder under clusters/ whose files declare the Kustomization: the cluster whose Flux applies it.
	Cluster string
	// Name and Namespace are the object's own.
	Name, Namespace string
	// File is where it is declared, relative to the tree (see Source: the root of what builds read); "" for one that a
	// build declares.
	File string
	// DeclaredBy is the ID of the Kustomization whose build holds it; "" for one declared under clusters/<cluster>/.
	DeclaredBy string
	// Path is spec.path, cleaned and relative to the tree ("." for its root): see Source.specPath. It is "" when
	// spec.path lies outside the tree (the repository holds more than the tree), and Outside says why.
	Path    string
	Outside error
	// Spec is the object's spec as kustomize-controller reads it.
	Spec kustomizev1.KustomizationSpec
}

// ID is the name users give on the command line: cluster/kustomization.
func (k Kustomization) ID() string { return k.Cluster + "/" + k.Name }

// Kustomizations finds every Flux Kustomization (kustomize.toolkit.fluxcd.io, kind Kustomization) in YAML files under
// clusters/<cluster>/, at any depth (flux-system's own included), sorted by cluster, then name.
func (s *Source) Kustomizations() ([]Kustomization, error) {
	root := s.abs(ClustersDir)
	if !s.fs.IsDir(root) {
		return nil, nil
	}
	// The walk lists the candidate files; they are read and parsed on every core, and taken in walk order.
	var files []string
	err := s.fs.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.IsDir() {
			if strings.HasPrefix(info.Name(), ".") && p != root {
				return filepath.SkipDir
			}
			return nil
		}
		rel := s.rel(p)
		if ext := path.Ext(rel); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		if strings.Count(rel, "/") < 2 {
			return nil // a file directly in clusters/ belongs to no cluster
		}
		files = append(files, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	found := make([][]Kustomization, len(files))
	errs := make([]error, len(files))
	parallel.For(len(files), 0, func(i int) {
		rel := s.rel(files[i])
		data, err := s.fs.ReadFile(files[i])
		if err == nil {
			found[i], err = kustomizationsIn(data)
		}
		if err != nil {
			errs[i] = fmt.Errorf("%s: %w", rel, s.redactFile(err, data))
			return
		}
		for j := range found[i] {
			k := &found[i][j]
			k.Cluster, k.File = strings.Split(rel, "/")[1], rel
			if k.Path, err = s.specPath(k.Spec.Path); errors.As(err, new(*outsideError)) {
				k.Outside = err // Flux reads it from elsewhere in the repository: only building it fails
			} else if err != nil {
				errs[i] = errors.Join(errs[i], fmt.Errorf("%s: Kustomization %s: %w", rel, k.Name, err))
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var out []Kustomization
	for _, ks := range found {
		out = append(out, ks...)
	}
	slices.SortFunc(out, func(a, b Kustomization) int {
		if c := strings.Compare(a.Cluster, b.Cluster); c != 0 {
			return c
		}
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Namespace, b.Namespace)
	})
	for i := 1; i < len(out); i++ {
		if out[i].Cluster == out[i-1].Cluster && out[i].Name == out[i-1].Name && out[i].Namespace == out[i-1].Namespace {
			return nil, fmt.Errorf("Kustomization %s/%s is declared twice in cluster %s: %s and %s",
				out[i].Namespace, out[i].Name, out[i].Cluster, out[i-1].File, out[i].File)
		}
	}
	return out, nil
}

// kustomizationsIn reads the Flux Kustomizations among a file's YAML documents; other documents are skipped. A
// file's contents are parsed once per process: a fleet's flux-system folders hold the same gotk-components.yaml
// (Flux's CRDs, hundreds of kB of YAML, naming the Kustomization kind) in every cluster.
func kustomizationsIn(data []byte) ([]Kustomization, error) {
	if !bytes.Contains(data, []byte("kustomize.toolkit.fluxcd.io")) {
		return nil, nil // most files; skips parsing them
	}
	key := sha256.Sum256(data)
	if ks, ok := parsedKustomizations.Load(key); ok {
		return slices.Clone(ks.([]Kustomization)), nil
	}
	ks, err := parseKustomizations(data)
	if err != nil {
		return nil, err
	}
	parsedKustomizations.Store(key, ks)
	return slices.Clone(ks), nil
}

// parsedKustomizations holds what kustomizationsIn found in each file's contents, by their SHA-256. Callers set the
// Kustomizations' own fields (Cluster, File, Path) on their copy; the specs are shared and never written.
var parsedKustomizations sync.Map

func parseKustomizations(data []byte) ([]Kustomization, error) {
	var out []Kustomization
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		api, _ := doc["apiVersion"].(string)
		kind, _ := doc["kind"].(string)
		if kind != "Kustomization" || !strings.HasPrefix(api, kustomizev1.GroupVersion.Group+"/") {
			continue
		}
		// yaml.v3 gives maps with string keys, so the document is JSON as it stands: the controller's types decode it
		// as the API server's JSON would.
		j, err := json.Marshal(doc)
		if err != nil {
			return nil, err
		}
		var k kustomizev1.Kustomization
		if err := json.Unmarshal(j, &k); err != nil {
			return nil, fmt.Errorf("Kustomization %s: %w", k.Name, err)
		}
		out = append(out, Kustomization{Name: k.Name, Namespace: k.Namespace, Spec: k.Spec})
	}
}

// specPath makes spec.path relative to the tree, as kustomize-controller resolves it inside the source artifact
// (spec.InTree); a path outside the tree names nothing a build can read.
func (s *Source) specPath(p string) (string, error) {
	if c, ok := spec.InTree(p, s.repositoryPath); ok {
		return c, nil
	}
	return "", &outsideError{p, s.repositoryPath}
}

// outsideError is a spec.path in the repository Flux follows but outside the tree, which is all a build can read.
type outsideError struct{ path, repositoryPath string }

func (e *outsideError) Error() string {
	return fmt.Sprintf("spec.path %q lies outside the tree, which is the folder %s of the repository Flux follows (repositoryPath): kronform-gen builds only what the tree holds",
		e.path, e.repositoryPath)
}
