package testenv

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The offline validator embeds the Flux CRDs kronform-gen writes objects of; the API server here installs every Flux
// CRD. hack/fetch-crds.sh writes both sets from the same modules, and the files both hold must stay the same bytes,
// or the offline validator and the e2e's API server would judge objects by different schemas.
func TestSharedCRDsAreTheSameBytes(t *testing.T) {
	dir := filepath.Join("..", "..", "generator", "validate", "crds")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	shared := 0
	for _, e := range entries {
		ours, err := fluxCRDs.ReadFile("crds/flux/" + e.Name())
		if err != nil {
			continue // not a Flux CRD (Cilium's), or VERSIONS, which lists each set's own files
		}
		validator, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ours, validator) {
			t.Errorf("%s differs between generator/validate/crds and internal/testenv/crds/flux; run hack/fetch-crds.sh", e.Name())
		}
		shared++
	}
	if shared != 4 {
		t.Errorf("%d CRD files shared, want 4 (HelmRelease, Kustomization, GitRepository, HelmRepository)", shared)
	}
}
