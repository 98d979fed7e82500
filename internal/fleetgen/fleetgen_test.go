package fleetgen

import (
	"testing"

	"github.com/kronform/kronform-gen/generator/cilium"
	"github.com/kronform/kronform-gen/generator/firewall"
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
	// A benchmark fleet that warns measures printing warnings; a fleet is what a careful user would write.
	errs, warnings := cilium.Lint(m)
	fwErrs, fwWarnings := firewall.Lint(m)
	for _, p := range append(append(append(m.Warnings, warnings...), errs...), append(fwErrs, fwWarnings...)...) {
		t.Errorf("the fleet is not clean: %s", p)
	}
}
