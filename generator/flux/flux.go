package flux

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kronform/kronform-gen/generator/spec"
)

// Names of the Flux Kustomizations and the folders they apply.
const (
	CiliumName       = "cilium"
	HostPoliciesName = "host-policies"
	SecretsName      = "secrets"
	ReleaseName      = "cilium"
	// InstallRetries is how often helm-controller retries a failed install or upgrade before it gives up.
	InstallRetries = 3
)

// ContentRoot holds the clusters' applied objects, one folder each (ContentDir).
const ContentRoot = "infrastructure"

// ContentDir is the folder holding a cluster's applied objects, outside the bootstrap path so that the root
// Kustomization of flux bootstrap applies only the Flux Kustomizations, which then apply these folders in order.
func ContentDir(c spec.Cluster) string { return path.Join(ContentRoot, c.Name) }

// ComponentDir is the folder one Flux Kustomization applies.
func ComponentDir(c spec.Cluster, component string) string {
	return path.Join(ContentDir(c), component)
}

func duration(s string) metav1.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(fmt.Sprintf("flux: duration %q passed validation: %v", s, err)) // spec validation parses every duration
	}
	return metav1.Duration{Duration: d}
}

// HelmRepository is the Cilium chart repository.
func HelmRepository(c spec.Cluster) *sourcev1.HelmRepository {
	repo := &sourcev1.HelmRepository{
		TypeMeta:   metav1.TypeMeta{APIVersion: sourcev1.GroupVersion.String(), Kind: sourcev1.HelmRepositoryKind},
		ObjectMeta: metav1.ObjectMeta{Name: ReleaseName, Namespace: c.Cilium.Namespace},
		Spec: sourcev1.HelmRepositorySpec{
			URL:      c.Cilium.Repository,
			Interval: duration(c.Flux.Interval),
		},
	}
	if strings.HasPrefix(c.Cilium.Repository, "oci://") {
		repo.Spec.Type = sourcev1.HelmRepositoryTypeOCI
	}
	return repo
}

// HelmRelease installs Cilium with the given values.
func HelmRelease(c spec.Cluster, values map[string]any) (*helmv2.HelmRelease, error) {
	raw, err := json.Marshal(values)
	if err != nil {
		return nil, fmt.Errorf("cilium values: %w", err)
	}
	return &helmv2.HelmRelease{
		TypeMeta:   metav1.TypeMeta{APIVersion: helmv2.GroupVersion.String(), Kind: helmv2.HelmReleaseKind},
		ObjectMeta: metav1.ObjectMeta{Name: ReleaseName, Namespace: c.Cilium.Namespace},
		Spec: helmv2.HelmReleaseSpec{
			Interval:    duration(c.Flux.Interval),
			ReleaseName: ReleaseName,
			Chart: &helmv2.HelmChartTemplate{Spec: helmv2.HelmChartTemplateSpec{
				Chart:     "cilium",
				Version:   c.Cilium.Version,
				SourceRef: helmv2.CrossNamespaceObjectReference{Kind: sourcev1.HelmRepositoryKind, Name: ReleaseName},
			}},
			Install: &helmv2.Install{Remediation: &helmv2.InstallRemediation{Retries: InstallRetries}},
			Upgrade: &helmv2.Upgrade{Remediation: &helmv2.UpgradeRemediation{Retries: InstallRetries}},
			Values:  &apiextensionsv1.JSON{Raw: raw},
		},
	}, nil
}

// Kustomizations are the cluster's Flux Kustomizations: cilium (healthy when the HelmRelease is), host policies after
// it, and, when the cluster has secrets, the SOPS-decrypting secrets one (with force, so a Secret whose type
// changes is recreated); cilium depends on it when the release reads
// one of those secrets (CiliumSecrets). repositoryPath is the tree's folder in the repository Flux follows (the
// spec's repositoryPath, "" for its root): kustomize-controller resolves spec.path from the repository's root.
// ciliumValues are the Helm values the HelmRelease carries.
func Kustomizations(c spec.Cluster, repositoryPath string, ciliumValues map[string]any) []*kustomizev1.Kustomization {
	hr := meta.NamespacedObjectKindReference{
		// The health check names the exact API version the tree writes, so it can never drift from the HelmRelease.
		APIVersion: helmv2.GroupVersion.String(), Kind: helmv2.HelmReleaseKind,
		Name: ReleaseName, Namespace: c.Cilium.Namespace,
	}
	cilium := kustomization(c, repositoryPath, CiliumName)
	cilium.Spec.HealthChecks = []meta.NamespacedObjectKindReference{hr}
	out := []*kustomizev1.Kustomization{cilium}
	if len(c.HostPolicies) > 0 {
		hp := kustomization(c, repositoryPath, HostPoliciesName)
		hp.Spec.DependsOn = []kustomizev1.DependencyReference{{Name: CiliumName}}
		out = append(out, hp)
	}
	if len(c.Secrets) > 0 {
		s := kustomization(c, repositoryPath, SecretsName)
		s.Spec.Decryption = &kustomizev1.Decryption{Provider: DecryptionProvider, SecretRef: &meta.LocalObjectReference{Name: DecryptionSecret}}
		// A Secret's type is immutable: without force, a spec that changes it makes every apply fail ("field is
		// immutable") and wedges the Kustomization, and cilium with it when it depends on secrets. With force
		// the controller deletes and recreates a Secret whose update the API server refuses as invalid. The folder
		// holds only generated Secrets, whose keys the spec validates per type, so that refusal is an immutable
		// field. On the Kustomization rather than as an annotation on each Secret, so existing encrypted files
		// keep their bytes.
		s.Spec.Force = true
		out = append(out, s)
		if len(CiliumSecrets(c, ciliumValues)) > 0 {
			cilium.Spec.DependsOn = []kustomizev1.DependencyReference{{Name: SecretsName}}
		}
	}
	return out
}

// DecryptionProvider and DecryptionSecret are what kustomize-controller decrypts the secrets folder with: sops, with
// the age keys stored under keys ending in .agekey in this Secret of the Flux namespace.
const (
	DecryptionProvider = "sops"
	DecryptionSecret   = "sops-age"
)

// IPsecKeySecret is the Secret the Cilium agent reads its IPsec keys from unless a value names another.
const IPsecKeySecret = "cilium-ipsec-keys"

// CiliumSecrets lists, sorted, the spec's secrets the Cilium release reads, so that cilium waits for them to be
// applied: the chart reads Secrets of its own namespace by name (IPsec keys, Hubble and clustermesh TLS), so a secret
// in Cilium's namespace counts when a Helm value names it, or when it is the default IPsec key Secret and encryption
// is ipsec. Secrets the release does not read do not hold it back: a missing sops-age key must not stop Cilium
// upgrades for an unrelated Secret.
func CiliumSecrets(c spec.Cluster, values map[string]any) []string {
	named := map[string]bool{}
	collectStrings(values, named)
	if c.Cilium.Encryption == "ipsec" {
		named[IPsecKeySecret] = true
	}
	var out []string
	for _, s := range c.Secrets {
		if s.Namespace == c.Cilium.Namespace && named[s.Name] {
			out = append(out, s.Namespace+"/"+s.Name)
		}
	}
	slices.Sort(out)
	return out
}

func collectStrings(v any, into map[string]bool) {
	switch t := v.(type) {
	case string:
		into[t] = true
	case map[string]any:
		for _, e := range t {
			collectStrings(e, into)
		}
	case []any:
		for _, e := range t {
			collectStrings(e, into)
		}
	case []string:
		for _, e := range t {
			into[e] = true
		}
	}
}

func kustomization(c spec.Cluster, repositoryPath, component string) *kustomizev1.Kustomization {
	return &kustomizev1.Kustomization{
		TypeMeta:   metav1.TypeMeta{APIVersion: kustomizev1.GroupVersion.String(), Kind: kustomizev1.KustomizationKind},
		ObjectMeta: metav1.ObjectMeta{Name: component, Namespace: c.Flux.Namespace},
		Spec: kustomizev1.KustomizationSpec{
			Interval:      duration(c.Flux.Interval),
			RetryInterval: &metav1.Duration{Duration: duration(c.Flux.RetryInterval).Duration},
			Timeout:       &metav1.Duration{Duration: duration(c.Flux.Timeout).Duration},
			Path:          "./" + path.Join(repositoryPath, ComponentDir(c, component)),
			Prune:         true,
			SourceRef:     kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: c.Flux.GitRepository},
		},
	}
}
