package validate

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"sync"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/runtime/schema"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
)

// embeddedCRDs are the upstream CRDs at the versions recorded in crds/VERSIONS (written by hack/fetch-crds.sh), as
// crds.json: the CRDs of crds/*.yaml in file order, each decoded as the API server's type and written as JSON
// (TestSchemasJSONIsTheCRDs holds the two equal; `go test ./generator/validate -run TestSchemasJSONIsTheCRDs -update`
// rewrites it). Decoding 550 kB of YAML was a quarter of a first check's work; its JSON decodes in a fifth of the time.
//
//go:embed crds.json crds/VERSIONS
var embeddedCRDs embed.FS

// schemasJSON is the file of embeddedCRDs that holds the CRDs.
const schemasJSON = "crds.json"

// resource is what the API server builds for one served version of a CRD: the structural schema it prunes and
// defaults with, the OpenAPI validator, and the CEL rules.
type resource struct {
	gvk        schema.GroupVersionKind
	namespaced bool
	structural *structuralschema.Structural
	schema     apiservervalidation.SchemaValidator
	cel        *cel.Validator // nil when the schema has no x-kubernetes-validations
}

// Schemas are the custom resources the validator knows, by apiVersion and kind.
type Schemas struct {
	resources map[schema.GroupVersionKind]*resource
	// Versions is crds/VERSIONS: which upstream module version each CRD file comes from.
	Versions string
}

var defaultSchemas = sync.OnceValues(func() (*Schemas, error) { return LoadSchemas(embeddedCRDs) })

// DefaultSchemas are the schemas built from the CRDs embedded in the binary.
func DefaultSchemas() (*Schemas, error) { return defaultSchemas() }

// LoadSchemas builds the validators of every served version of every CRD in fsys's crds.json.
func LoadSchemas(fsys fs.FS) (*Schemas, error) {
	s := &Schemas{resources: map[schema.GroupVersionKind]*resource{}}
	if b, err := fs.ReadFile(fsys, "crds/VERSIONS"); err == nil {
		s.Versions = string(b)
	}
	b, err := fs.ReadFile(fsys, schemasJSON)
	if err != nil {
		return nil, err
	}
	var crds []apiextensionsv1.CustomResourceDefinition
	if err := json.Unmarshal(b, &crds); err != nil {
		return nil, fmt.Errorf("%s: %w", schemasJSON, err)
	}
	if len(crds) == 0 {
		return nil, fmt.Errorf("no CRDs in %s", schemasJSON)
	}
	for i := range crds {
		if err := s.add(&crds[i]); err != nil {
			return nil, fmt.Errorf("%s: %w", schemasJSON, err)
		}
	}
	return s, nil
}

func (s *Schemas) add(crd *apiextensionsv1.CustomResourceDefinition) error {
	for _, v := range crd.Spec.Versions {
		if !v.Served {
			continue
		}
		r, err := newResource(crd, v)
		if err != nil {
			return fmt.Errorf("%s version %s: %w", crd.Name, v.Name, err)
		}
		s.resources[r.gvk] = r
	}
	return nil
}

// newResource mirrors what kube-apiserver does when it serves a CRD version: convert the v1 schema to the internal
// type, require it to be structural, and build the OpenAPI and CEL validators from it.
func newResource(crd *apiextensionsv1.CustomResourceDefinition, v apiextensionsv1.CustomResourceDefinitionVersion) (*resource, error) {
	if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
		return nil, errors.New("no openAPIV3Schema")
	}
	var internal apiextensions.CustomResourceValidation
	if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(v.Schema, &internal, nil); err != nil {
		return nil, fmt.Errorf("converting the schema: %w", err)
	}
	structural, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
	if err != nil {
		return nil, fmt.Errorf("not a structural schema: %w", err)
	}
	if errs := structuralschema.ValidateStructural(nil, structural); len(errs) > 0 {
		return nil, fmt.Errorf("not a structural schema: %w", errs.ToAggregate())
	}
	validator, _, err := apiservervalidation.NewSchemaValidator(internal.OpenAPIV3Schema)
	if err != nil {
		return nil, fmt.Errorf("building the validator: %w", err)
	}
	return &resource{
		gvk:        schema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: crd.Spec.Names.Kind},
		namespaced: crd.Spec.Scope == apiextensionsv1.NamespaceScoped,
		structural: structural,
		schema:     validator,
		cel:        cel.NewValidator(structural, true, celconfig.PerCallLimit),
	}, nil
}

// Kinds lists the apiVersion and kind of every custom resource the schemas know, sorted.
func (s *Schemas) Kinds() []string {
	var out []string
	for gvk := range s.resources {
		out = append(out, gvk.GroupVersion().String()+" "+gvk.Kind)
	}
	sort.Strings(out)
	return out
}
