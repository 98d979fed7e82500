package spec

import (
	"os"
	"testing"
)

func TestLoadExample(t *testing.T) {
	m, err := LoadFile("../../cluster-spec.yaml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := m.Clusters[0]
	if c.Flux.Path != "clusters/kronform" || c.Cilium.K8sService.Host != "api.kronform.pius.dev" {
		t.Fatalf("defaults not applied: %+v", c)
	}
	if len(c.HostPolicies[0].Ingress) != 8 {
		t.Fatalf("preset not resolved: %d rules", len(c.HostPolicies[0].Ingress))
	}
	_ = os.Stdout
}
