package spec

import (
	"encoding/json"

	"github.com/invopop/jsonschema"
)

// SchemaID is where editors find the schema; the example spec points yaml-language-server at the committed copy.
const SchemaID = "https://kronform.dev/schemas/v1alpha1/cluster-spec.schema.json"

// JSONSchema describes the spec, generated from the Go types so it can never disagree with the loader: unknown fields
// are rejected (additionalProperties: false), fields without a default are required.
func JSONSchema() ([]byte, error) {
	r := &jsonschema.Reflector{ExpandedStruct: true, DoNotReference: false}
	s := r.Reflect(&Spec{})
	s.ID = SchemaID
	s.Title = "kronform-gen cluster spec"
	out, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// JSONSchema lets a CIDR peer be written as a bare CIDR or as {cidr, except}, as the loader accepts.
func (CIDRPeer) JSONSchema() *jsonschema.Schema {
	props := jsonschema.NewProperties()
	props.Set("cidr", &jsonschema.Schema{Type: "string"})
	props.Set("except", &jsonschema.Schema{Type: "array", Items: &jsonschema.Schema{Type: "string"}})
	return &jsonschema.Schema{OneOf: []*jsonschema.Schema{
		{Type: "string", Description: "A CIDR such as 10.0.0.0/8."},
		{Type: "object", Properties: props, Required: []string{"cidr"}, AdditionalProperties: jsonschema.FalseSchema},
	}}
}
