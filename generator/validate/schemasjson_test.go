package validate

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite crds.json from crds/*.yaml")

// TestSchemasJSONIsTheCRDs: crds.json, which the binary embeds, is exactly the upstream CRD files of crds/
// (hack/fetch-crds.sh copies them), decoded as the API server's type, in file order. With -update it is rewritten.
func TestSchemasJSONIsTheCRDs(t *testing.T) {
	files, err := filepath.Glob("crds/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in crds/: %v", err)
	}
	var crds []apiextensionsv1.CustomResourceDefinition
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		docs, _ := splitDocuments(data)
		for _, doc := range docs {
			var crd apiextensionsv1.CustomResourceDefinition
			if err := yaml.UnmarshalStrict(doc, &crd); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if crd.Kind == "CustomResourceDefinition" {
				crds = append(crds, crd)
			}
		}
	}
	want, err := json.Marshal(crds)
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if *update {
		if err := os.WriteFile(schemasJSON, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(schemasJSON)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not the CRDs of crds/*.yaml (%d bytes, want %d): run go test ./generator/validate -run TestSchemasJSONIsTheCRDs -update", schemasJSON, len(got), len(want))
	}
}
