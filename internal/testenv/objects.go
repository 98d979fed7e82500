package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
)

// FieldManager is the server-side apply field manager of this package.
const FieldManager = "kronform-testenv"

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// crdEstablishTimeout bounds the wait for applied CRDs to be served.
const crdEstablishTimeout = 30 * time.Second

// DecodeYAML splits a multi-document YAML (or JSON) stream into objects,
// skipping empty documents.
func DecodeYAML(data []byte) ([]*unstructured.Unstructured, error) {
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", len(objs)+1, err)
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

// ApplyCRDs applies every CRD in the *.yaml, *.yml and *.json files of dir
// and waits until the API server serves them (Established).
func (a *APIServer) ApplyCRDs(dir string) error {
	return a.applyCRDsFS(os.DirFS(dir), dir)
}

func (a *APIServer) applyCRDsFS(fsys fs.FS, where string) error {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return fmt.Errorf("read CRDs: %w", err)
	}
	var names []string
	for _, e := range entries {
		switch path.Ext(e.Name()) {
		case ".yaml", ".yml", ".json":
			if !e.IsDir() {
				names = append(names, e.Name())
			}
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("no CRD files in %s", where)
	}
	var crds []string
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("read CRDs: %w", err)
		}
		objs, err := DecodeYAML(data)
		if err != nil {
			return fmt.Errorf("%s/%s: %w", where, name, err)
		}
		for _, obj := range objs {
			if obj.GetKind() != "CustomResourceDefinition" {
				return fmt.Errorf("%s/%s: %s %q is not a CustomResourceDefinition", where, name, obj.GetKind(), obj.GetName())
			}
			if err := a.apply(obj, false); err != nil {
				return fmt.Errorf("%s/%s: %w", where, name, err)
			}
			crds = append(crds, obj.GetName())
		}
	}
	if err := a.waitEstablished(crds); err != nil {
		return err
	}
	// The new kinds are unknown to the cached discovery until reset.
	a.mapper.Reset()
	return nil
}

func (a *APIServer) waitEstablished(names []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), crdEstablishTimeout)
	defer cancel()
	for _, name := range names {
		for {
			crd, err := a.Dynamic.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
			if err == nil && conditionTrue(crd, "Established") {
				break
			}
			if ctx.Err() != nil {
				return fmt.Errorf("CRD %s not Established after %v (last error: %v, conditions: %s)", name, crdEstablishTimeout, err, conditionSummary(crd))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

// Apply creates or updates obj with server-side apply (forcing conflicts,
// strict field validation).
func (a *APIServer) Apply(obj *unstructured.Unstructured) error {
	return a.apply(obj, false)
}

// DryRunApply asks the API server whether a cluster would accept obj, and
// returns the server's verdict: nil, or the server's error (schema, enum,
// pattern, unknown or duplicate field, CEL rule, admission ...). Nothing is
// stored (DryRun=All) and fields are validated strictly.
//
// It is a dry-run create, whose errors are clean 4xx Status errors
// ("strict decoding error: unknown field ..."); server-side apply reports an
// unknown field as a 500. Only when the object already exists does it fall
// back to a dry-run server-side apply. A namespaced object without a
// namespace goes to "default", as with kubectl; its namespace must exist.
func (a *APIServer) DryRunApply(obj *unstructured.Unstructured) error {
	ri, err := a.resourceFor(obj)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = ri.Create(ctx, obj, metav1.CreateOptions{
		DryRun:          []string{metav1.DryRunAll},
		FieldManager:    FieldManager,
		FieldValidation: "Strict",
	})
	if apierrors.IsAlreadyExists(err) {
		return a.apply(obj, true)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", describeObj(obj), err)
	}
	return nil
}

func (a *APIServer) apply(obj *unstructured.Unstructured, dryRun bool) error {
	ri, err := a.resourceFor(obj)
	if err != nil {
		return err
	}
	data, err := obj.MarshalJSON()
	if err != nil {
		return fmt.Errorf("%s: %w", describeObj(obj), err)
	}
	force := true
	opts := metav1.PatchOptions{FieldManager: FieldManager, Force: &force, FieldValidation: "Strict"}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := ri.Patch(ctx, obj.GetName(), types.ApplyPatchType, data, opts); err != nil {
		return fmt.Errorf("%s: %w", describeObj(obj), err)
	}
	return nil
}

// Get reads the current state of the object obj names (apiVersion, kind,
// namespace, name).
func (a *APIServer) Get(obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	ri, err := a.resourceFor(obj)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", describeObj(obj), err)
	}
	return got, nil
}

// Delete deletes the object obj names, if it exists, without waiting for
// finalizers.
func (a *APIServer) Delete(obj *unstructured.Unstructured) error {
	ri, err := a.resourceFor(obj)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ri.Delete(ctx, obj.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("%s: %w", describeObj(obj), err)
	}
	return nil
}

// WaitReady waits until the object obj names is Ready the way Flux
// reports it: condition Ready=True, and both the condition's and the
// status's observedGeneration (where present) equal to the object's
// generation, so a Ready left from an earlier generation does not count.
// It returns the object as last read; the error shows its conditions.
func (a *APIServer) WaitReady(obj *unstructured.Unstructured, timeout time.Duration) (*unstructured.Unstructured, error) {
	return a.WaitCondition(obj, "Ready", timeout)
}

// WaitCondition is WaitReady for any condition type.
func (a *APIServer) WaitCondition(obj *unstructured.Unstructured, cond string, timeout time.Duration) (*unstructured.Unstructured, error) {
	return a.WaitFor(obj, cond+"=True", timeout, func(got *unstructured.Unstructured) bool {
		return conditionTrue(got, cond)
	})
}

// WaitFor polls the object obj names until done returns true or the timeout
// passes. what names the awaited state in the error.
func (a *APIServer) WaitFor(obj *unstructured.Unstructured, what string, timeout time.Duration, done func(*unstructured.Unstructured) bool) (*unstructured.Unstructured, error) {
	deadline := time.Now().Add(timeout)
	for {
		got, err := a.Get(obj)
		if err == nil && done(got) {
			return got, nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return nil, fmt.Errorf("%s not %s after %v: %w", describeObj(obj), what, timeout, err)
			}
			return got, fmt.Errorf("%s not %s after %v; conditions: %s", describeObj(obj), what, timeout, conditionSummary(got))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// resourceFor finds the REST resource of obj's kind. Right after new CRDs
// the discovery cache may lag; it is refreshed for a few seconds.
func (a *APIServer) resourceFor(obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := obj.GroupVersionKind()
	var mapping *meta.RESTMapping
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; {
		mapping, err = a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err == nil || !meta.IsNoMatchError(err) || time.Now().After(deadline) {
			break
		}
		a.mapper.Reset()
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", describeObj(obj), err)
	}
	if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
		return a.Dynamic.Resource(mapping.Resource), nil
	}
	ns := obj.GetNamespace()
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	return a.Dynamic.Resource(mapping.Resource).Namespace(ns), nil
}

func describeObj(obj *unstructured.Unstructured) string {
	s := obj.GetKind()
	if ns := obj.GetNamespace(); ns != "" {
		s += " " + ns + "/" + obj.GetName()
	} else {
		s += " " + obj.GetName()
	}
	return s
}

func conditions(obj *unstructured.Unstructured) []map[string]any {
	if obj == nil {
		return nil
	}
	list, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	var out []map[string]any
	for _, c := range list {
		if m, ok := c.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func conditionTrue(obj *unstructured.Unstructured, cond string) bool {
	if og, found, _ := unstructured.NestedInt64(obj.Object, "status", "observedGeneration"); found && og != obj.GetGeneration() {
		return false
	}
	for _, c := range conditions(obj) {
		if c["type"] == cond {
			// A Flux object reports Ready for its previous generation until
			// it has looked at the current one.
			if og, ok := c["observedGeneration"].(int64); ok && og != obj.GetGeneration() {
				return false
			}
			return c["status"] == "True"
		}
	}
	return false
}

func conditionSummary(obj *unstructured.Unstructured) string {
	conds := conditions(obj)
	if len(conds) == 0 {
		return "none"
	}
	var parts []string
	for _, c := range conds {
		parts = append(parts, fmt.Sprintf("%v=%v (%v: %v)", c["type"], c["status"], c["reason"], c["message"]))
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}
