package spec

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite schema/cluster-spec.schema.json")

const committedSchema = "../../schema/cluster-spec.schema.json"

// TestCommittedSchemaIsCurrent keeps the schema editors read in step with the Go types (go test -update to refresh).
func TestCommittedSchemaIsCurrent(t *testing.T) {
	got, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(committedSchema, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(committedSchema)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: run go test ./generator/spec -run Schema -update", committedSchema)
	}
}

// TestSchemaIsStrict: the schema rejects unknown fields everywhere the loader does, and requires what the loader does.
func TestSchemaIsStrict(t *testing.T) {
	raw, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Defs map[string]struct {
			AdditionalProperties *bool    `json:"additionalProperties"`
			Required             []string `json:"required"`
			Type                 string   `json:"type"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	for name, d := range s.Defs {
		if d.Type == "object" && (d.AdditionalProperties == nil || *d.AdditionalProperties) {
			t.Errorf("%s allows unknown fields", name)
		}
	}
	if req := s.Defs["Cluster"].Required; len(req) == 0 {
		t.Error("Cluster requires nothing")
	}
}
