package render

import (
	"path"
	"slices"

	kustomizetypes "sigs.k8s.io/kustomize/api/types"

	"github.com/kronform/kronform-gen/generator/cilium"
	"github.com/kronform/kronform-gen/generator/flux"
	"github.com/kronform/kronform-gen/generator/manifest"
	"github.com/kronform/kronform-gen/generator/spec"
	"github.com/kronform/kronform-gen/generator/tree"
)

// BootstrapDir is the folder flux bootstrap owns inside a cluster's path.
const BootstrapDir = "flux-system"

// Fleet renders every cluster of the spec into one tree.
func Fleet(m *spec.Model) (*tree.Tree, error) {
	var protected []string
	for _, c := range m.Clusters {
		protected = append(protected, path.Join(c.Flux.Path, BootstrapDir))
	}
	t := tree.New(protected...)
	for _, c := range m.Clusters {
		if err := renderCluster(t, c); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// renderCluster writes one cluster. The Flux Kustomizations go into the bootstrap path, one file each, where the root
// Kustomization of flux bootstrap finds them; no kustomization.yaml is written there, because one would have to list
// flux-system too, and kustomize-controller generates it when it is absent.
func renderCluster(t *tree.Tree, c spec.Cluster) error {
	for _, k := range flux.Kustomizations(c) {
		if err := addObjects(t, path.Join(c.Flux.Path, k.Name+".yaml"), k); err != nil {
			return err
		}
	}
	if err := renderCilium(t, c); err != nil {
		return err
	}
	if err := renderHetzner(t, c); err != nil {
		return err
	}
	return renderHostPolicies(t, c)
}

func renderCilium(t *tree.Tree, c spec.Cluster) error {
	values, err := cilium.HelmValues(c)
	if err != nil {
		return err
	}
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
	for _, p := range c.HostPolicies {
		files[p.Name+".yaml"] = cilium.CompilePolicy(p)
	}
	return addFolder(t, flux.ComponentDir(c, flux.HostPoliciesName), files)
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
