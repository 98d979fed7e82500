package validate

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync/atomic"

	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"

	"github.com/kronform/kronform-gen/generator/cache"
	"github.com/kronform/kronform-gen/generator/manifest"
	"github.com/kronform/kronform-gen/generator/tree"
	"github.com/kronform/kronform-gen/internal/parallel"
)

// Finding is one object, or one file, the API server would refuse, and why.
type Finding struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
	// Object is "Kind namespace/name" (or "Kind name" when cluster-scoped); empty when the file itself is unreadable.
	Object string `json:"object,omitempty"`
	// Field is the path inside the object as the API server names it, e.g. spec.ingress[0].toPorts[0].ports[0].port.
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (f Finding) String() string {
	var b strings.Builder
	b.WriteString(f.File)
	if f.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", f.Line, f.Column)
	}
	if f.Object != "" {
		b.WriteString(": " + f.Object)
	}
	if f.Field != "" {
		b.WriteString(": " + f.Field)
	}
	return b.String() + ": " + f.Message
}

// Tree validates every object of an in-memory tree with the embedded schemas. A file whose exact bytes this same
// binary found valid before (the "validate" set of package cache) is not validated again: the verdict depends on
// nothing else. Files that may hold a secret value (manifest.MayHoldSecret: a Secret however its kind is spelled, a
// secretGenerator literal, a patch, SOPS ciphertext) are never remembered, not even by digest.
func Tree(t *tree.Tree) ([]Finding, error) {
	seen := cache.Open("validate")
	todo := tree.New()
	remember := map[string]cache.Digest{}
	for _, p := range t.Paths() {
		if !Validated(p) {
			continue
		}
		b, _ := t.File(p)
		d := cache.Sum(b)
		if seen.Has(d) {
			continue
		}
		if err := todo.Add(p, b); err != nil {
			return nil, err
		}
		if !manifest.MayHoldSecret(b) {
			remember[p] = d
		}
	}
	if todo.Len() == 0 {
		return nil, nil
	}
	s, err := DefaultSchemas()
	if err != nil {
		return nil, fmt.Errorf("embedded CRDs: %w", err)
	}
	findings := s.Tree(todo)
	for _, f := range findings {
		delete(remember, f.File)
	}
	for _, d := range remember {
		seen.Add(d)
	}
	_ = seen.Save() // a cache that cannot be written only costs time
	return findings, nil
}

// Tree validates every object of the tree, sorted by file, position and field.
func (s *Schemas) Tree(t *tree.Tree) []Finding {
	var paths []string
	for _, p := range t.Paths() {
		if Validated(p) {
			paths = append(paths, p)
		}
	}
	validatedFiles.Add(int64(len(paths)))
	// A file's findings depend on its bytes alone (its name only labels them), and a fleet's clusters share most of
	// their files (the same policies, the same HelmRepository), so each distinct content is validated once and its
	// findings are said for every file that holds it.
	var contents [][]byte
	holders := map[string][]string{}
	for _, p := range paths {
		b, _ := t.File(p)
		if _, ok := holders[string(b)]; !ok {
			contents = append(contents, b)
		}
		holders[string(b)] = append(holders[string(b)], p)
	}
	validatedContents.Add(int64(len(contents)))
	// Contents are independent and the validators are safe for concurrent use (the API server shares them between
	// requests), so a large tree is validated on every core.
	found := make([][]Finding, len(contents))
	parallel.For(len(contents), 0, func(i int) {
		found[i] = s.File("", contents[i])
	})
	var out []Finding
	for i, fs := range found {
		for _, p := range holders[string(contents[i])] {
			for _, f := range fs {
				f.File = p
				out = append(out, f)
			}
		}
	}
	return sortFindings(out)
}

// validatedFiles counts the files Schemas.Tree validated, and validatedContents the distinct contents among them it
// parsed and checked, for tests of the cache and of sharing.
var validatedFiles, validatedContents atomic.Int64

// Validated says whether a file of the tree holds Kubernetes objects: YAML files, except the .sops.yaml creation
// rules and kronform-gen's own bookkeeping. JSON files (the Hetzner Robot template) are not Kubernetes objects.
func Validated(p string) bool {
	ext := path.Ext(p)
	if ext != ".yaml" && ext != ".yml" {
		return false
	}
	if path.Base(p) == ".sops.yaml" || p == tree.StateDir || strings.HasPrefix(p, tree.StateDir+"/") {
		return false
	}
	return true
}

// File validates every object in one YAML file; name is how findings refer to it.
func (s *Schemas) File(name string, data []byte) []Finding {
	docs, err := parseDocuments(data)
	var out []Finding
	if err != nil {
		// The parser's words may quote the file (an unknown anchor's name), which may hold a secret value.
		msg := err.Error()
		if manifest.MayHoldSecret(data) {
			msg = manifest.Redact(msg, nil)
		}
		out = append(out, Finding{File: name, Message: "not valid YAML: " + msg})
	}
	for _, d := range docs {
		for _, e := range s.Object(d.object) {
			at := e.Field
			if e.At != "" {
				at = e.At
			}
			line, col := d.position(at)
			out = append(out, Finding{File: name, Line: line, Column: col, Object: describe(d.object), Field: e.Field, Message: e.Message})
		}
	}
	return sortFindings(out)
}

// FieldError is one problem inside an object.
type FieldError struct {
	Field   string
	Message string
	// At is where the problem stands, when Field does not show all of it (a Secret's key that is not valid); "" for
	// Field.
	At string
}

// Object validates one decoded object the way kube-apiserver validates a create with fieldValidation=Strict.
func (s *Schemas) Object(obj map[string]any) []FieldError {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	switch {
	case apiVersion == "" && kind == "":
		return []FieldError{{Field: "apiVersion", Message: "Required value: not a Kubernetes object (no apiVersion and kind)"}}
	case apiVersion == "":
		return []FieldError{{Field: "apiVersion", Message: "Required value"}}
	case kind == "":
		return []FieldError{{Field: "kind", Message: "Required value"}}
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return []FieldError{{Field: "apiVersion", Message: err.Error()}}
	}
	gvk := gv.WithKind(kind)
	if gvk.Group == kustomizeGroup {
		return kustomization(obj)
	}
	if r, ok := s.resources[gvk]; ok {
		unknown, errs := r.validate(obj)
		out := make([]FieldError, 0, len(unknown)+len(errs))
		for _, p := range unknown {
			out = append(out, unknownField(p, kind))
		}
		out = append(out, fieldErrors(errs)...)
		if gvk.Group == "cilium.io" {
			out = append(out, ciliumAgentRules(obj)...)
		}
		return out
	}
	if check, ok := coreKinds[gvk]; ok {
		return check(obj)
	}
	return []FieldError{{Field: "kind", Message: fmt.Sprintf("no schema for %s %s: kronform-gen validates %s", kind, apiVersion, strings.Join(s.known(), ", "))}}
}

func (s *Schemas) known() []string {
	known := s.Kinds()
	for gvk := range coreKinds {
		known = append(known, gvk.GroupVersion().String()+" "+gvk.Kind)
	}
	slices.Sort(known)
	return known
}

// validate runs, in the API server's order, what happens to a custom resource on create: strict decoding reports
// unknown fields (pruning), then defaulting, then the OpenAPI schema, metadata, list-type and CEL validation.
func (r *resource) validate(in map[string]any) (unknown []string, errs field.ErrorList) {
	obj := runtime.DeepCopyJSON(in)
	meta, _, unknownMeta, err := objectmeta.GetObjectMetaWithOptions(obj, objectmeta.ObjectMetaOptions{ReturnUnknownFieldPaths: true})
	if err != nil {
		return nil, field.ErrorList{field.Invalid(field.NewPath("metadata"), nil, err.Error())}
	}
	unknown = append(unknownMeta, pruning.PruneWithOptions(obj, r.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})...)
	if ferr, paths := objectmeta.CoerceWithOptions(nil, obj, r.structural, false, objectmeta.CoerceOptions{ReturnUnknownFieldPaths: true}); ferr != nil {
		errs = append(errs, ferr)
	} else {
		unknown = append(unknown, paths...)
	}
	defaulting.Default(obj, r.structural)
	defaulting.PruneNonNullableNullsWithoutDefaults(obj, r.structural)

	if meta != nil {
		m := *meta
		if r.namespaced && m.Namespace == "" {
			m.Namespace = "default" // the server takes it from the request (kubectl's context, Flux's targetNamespace)
		}
		if !r.namespaced {
			m.Namespace = "" // the server drops it for cluster-scoped kinds
		}
		errs = append(errs, apimachineryvalidation.ValidateObjectMeta(&m, r.namespaced, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))...)
	}
	errs = append(errs, apiservervalidation.ValidateCustomResource(nil, obj, r.schema)...)
	errs = append(errs, objectmeta.Validate(context.Background(), nil, obj, r.structural, false)...)
	errs = append(errs, listtype.ValidateListSetsAndMaps(nil, r.structural, obj)...)
	// The server skips CEL rules once the schema has rejected the object: they may assume the schema holds.
	if r.cel != nil && len(errs) == 0 {
		celErrs, _ := r.cel.Validate(context.Background(), nil, r.structural, obj, nil, celconfig.RuntimeCELCostBudget)
		errs = append(errs, celErrs...)
	}
	return unknown, errs
}

// unknownField is what the API server answers under fieldValidation=Strict (kubectl's default, and Flux's
// server-side apply); without it the field is silently dropped, which is worse.
func unknownField(path, kind string) FieldError {
	return FieldError{Field: path, Message: "unknown field: not declared in the " + kind + " schema"}
}

func fieldErrors(errs field.ErrorList) []FieldError {
	out := make([]FieldError, 0, len(errs))
	for _, e := range errs {
		out = append(out, FieldError{Field: strings.TrimPrefix(e.Field, "<nil>"), Message: e.ErrorBody()})
	}
	return out
}

// describe names an object the way kubectl does: Kind namespace/name.
func describe(obj map[string]any) string {
	kind, _ := obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	ns, _ := meta["namespace"].(string)
	if kind == "" {
		kind = "object"
	}
	if name == "" {
		name = "(no name)"
	}
	if ns != "" {
		return kind + " " + ns + "/" + name
	}
	return kind + " " + name
}

func sortFindings(f []Finding) []Finding {
	slices.SortStableFunc(f, func(a, b Finding) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		if a.Column != b.Column {
			return a.Column - b.Column
		}
		if c := strings.Compare(a.Field, b.Field); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
	// the same problem reached twice (a field both unknown to pruning and to coercion) is said once
	return slices.CompactFunc(f, func(a, b Finding) bool { return a == b })
}
