package cli

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// jsonFields lists the JSON names of a report's fields, those of nested and embedded structs included, as
// encoding/json would write them.
func jsonFields(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var names []string
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			names = append(names, jsonFields(f.Type)...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
		names = append(names, jsonFields(f.Type)...)
	}
	return names
}

// Every field a command's --output json writes is one a pipeline may read, so the places that list them (check's
// --help, docs/ci.md) must name each one: a field left out is one nobody knows to look for.
func TestJSONReportFieldsAreDocumented(t *testing.T) {
	ci, err := os.ReadFile("../../docs/ci.md")
	if err != nil {
		t.Fatal(err)
	}
	check, _, err := (&app{}).rootCommand().Find([]string{"check"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what   string
		report reflect.Type
		text   string
	}{
		{"check --help", reflect.TypeFor[checkReport](), check.Long},
		{"check --help", reflect.TypeFor[errorJSON](), check.Long},
		{"docs/ci.md", reflect.TypeFor[checkReport](), string(ci)},
		{"docs/ci.md", reflect.TypeFor[diffReport](), string(ci)},
		{"docs/ci.md", reflect.TypeFor[errorJSON](), string(ci)},
	} {
		for _, name := range jsonFields(c.report) {
			if !strings.Contains(c.text, `"`+name+`"`) {
				t.Errorf("%s does not name %q, a field of %s", c.what, name, c.report.Name())
			}
		}
	}
}
