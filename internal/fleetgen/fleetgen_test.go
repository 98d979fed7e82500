package fleetgen

import (
	"testing"

	"github.com/kronform/kronform-gen/generator/spec"
)

func TestSpecLoads(t *testing.T) {
	m, err := spec.Load("fleet.yaml", Spec(7), spec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Clusters) != 7 {
		t.Fatalf("got %d clusters, want 7", len(m.Clusters))
	}
}
