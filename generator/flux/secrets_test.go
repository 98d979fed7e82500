package flux

import (
	"slices"
	"testing"

	"github.com/kronform/kronform-gen/generator/spec"
)

func TestCiliumDependsOnSecretsItReads(t *testing.T) {
	base := spec.Cluster{
		Name:   "lab",
		Flux:   spec.Flux{Namespace: "flux-system", GitRepository: "flux-system", Interval: "10m", RetryInterval: "2m", Timeout: "5m", Path: "clusters/lab"},
		Cilium: spec.Cilium{Namespace: "kube-system", Encryption: "none"},
		Secrets: []spec.Secret{
			{Name: "hcloud", Namespace: "kube-system"},
			{Name: "hubble-tls", Namespace: "kube-system"},
			{Name: "cilium-ipsec-keys", Namespace: "kube-system"},
			{Name: "hubble-tls", Namespace: "monitoring"},
		},
	}
	values := map[string]any{"hubble": map[string]any{"tls": map[string]any{"server": map[string]any{"existingSecret": "hubble-tls"}}}}
	ipsec := base
	ipsec.Cilium.Encryption = "ipsec"
	cases := []struct {
		name    string
		c       spec.Cluster
		values  map[string]any
		reads   []string
		depends bool
	}{
		{"no value names a secret", base, nil, nil, false},
		{"a value names a secret in Cilium's namespace", base, values, []string{"kube-system/hubble-tls"}, true},
		{"ipsec reads its default key secret", ipsec, nil, []string{"kube-system/cilium-ipsec-keys"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := CiliumSecrets(c.c, c.values); !slices.Equal(got, c.reads) {
				t.Fatalf("CiliumSecrets = %v, want %v", got, c.reads)
			}
			ks := Kustomizations(c.c, "", c.values)
			var cilium, secrets bool
			for _, k := range ks {
				switch k.Name {
				case CiliumName:
					cilium = len(k.Spec.DependsOn) == 1 && k.Spec.DependsOn[0].Name == SecretsName
				case SecretsName:
					d := k.Spec.Decryption
					secrets = d != nil && d.Provider == "sops" && d.SecretRef.Name == "sops-age"
					// A Secret's type is immutable: only force lets Flux apply a changed type (by recreating it).
					if !k.Spec.Force {
						t.Error("the secrets Kustomization has no force: a changed Secret type would fail every apply")
					}
				}
			}
			if cilium != c.depends || !secrets {
				t.Fatalf("cilium dependsOn secrets: %v (want %v); secrets decrypts with sops-age: %v", cilium, c.depends, secrets)
			}
		})
	}
}
