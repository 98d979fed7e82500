package preview

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resource"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/resid"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

// kustomizationFile is the kustomization file kustomize-controller builds for a Flux Kustomization: the one in the
// folder, or one it generates listing the folder's manifests; then spec fields that are kustomize settings
// (targetNamespace, namePrefix, patches, images, components...) are merged in. It returns the file's path and, when
// the controller would change or create it, the new contents (nil: the folder's own file is built as it is, which
// keeps the build byte-for-byte equal to `kustomize build`).
func kustomizationFile(fs filesys.FileSystem, dir string, k Kustomization) (string, []byte, bool, error) {
	data, kfile, generated, err := findOrGenerate(fs, dir)
	if err != nil {
		return "", nil, false, err
	}
	if !generated && !hasOverrides(k) && builtAsWritten(data) {
		return kfile, nil, false, nil
	}
	kus := kustypes.Kustomization{TypeMeta: kustypes.TypeMeta{
		APIVersion: kustypes.KustomizationVersion, Kind: kustypes.KustomizationKind,
	}}
	if err := sigsyaml.Unmarshal(data, &kus); err != nil {
		return "", nil, false, fmt.Errorf("%s: %w", kfile, err)
	}
	if !generated && len(kus.Resources) == 0 {
		// kustomize-controller's guard against "kustomization.yaml is empty" for a file that lists no resources
		// (generators only, or bases: only).
		kus.BuildMetadata = []string{"originAnnotations"}
	}
	spec := k.Spec
	if spec.TargetNamespace != "" {
		kus.Namespace = spec.TargetNamespace
	}
	if spec.NamePrefix != "" {
		kus.NamePrefix = spec.NamePrefix
	}
	if spec.NameSuffix != "" {
		kus.NameSuffix = spec.NameSuffix
	}
	for _, p := range spec.Patches {
		patch := kustypes.Patch{Patch: p.Patch}
		if t := p.Target; t != nil {
			patch.Target = &kustypes.Selector{
				ResId: resid.ResId{
					Gvk:  resid.Gvk{Group: t.Group, Version: t.Version, Kind: t.Kind},
					Name: t.Name, Namespace: t.Namespace,
				},
				LabelSelector: t.LabelSelector, AnnotationSelector: t.AnnotationSelector,
			}
		}
		kus.Patches = append(kus.Patches, patch)
	}
	for _, c := range spec.Components {
		if filepath.IsAbs(c) || strings.Contains(c, "://") {
			return "", nil, false, fmt.Errorf("component path %q must be local and relative", c)
		}
		if spec.IgnoreMissingComponents && !fs.Exists(filepath.Join(dir, c)) {
			continue
		}
		kus.Components = append(kus.Components, c)
	}
	for _, img := range spec.Images {
		i := indexImage(kus.Images, img.Name)
		if i < 0 {
			kus.Images = append(kus.Images, kustypes.Image{Name: img.Name, NewName: img.NewName, NewTag: img.NewTag, Digest: img.Digest})
			continue
		}
		// As the controller does: fields set only in the folder's file survive; tag and digest change together.
		if img.NewName != "" {
			kus.Images[i].NewName = img.NewName
		}
		if img.NewTag != "" || img.Digest != "" {
			kus.Images[i].NewTag, kus.Images[i].Digest = img.NewTag, img.Digest
		}
	}
	if len(spec.BuildMetadata) > 0 {
		kus.BuildMetadata = nil
		for _, o := range spec.BuildMetadata {
			kus.BuildMetadata = append(kus.BuildMetadata, string(o))
		}
	}
	out, err := sigsyaml.Marshal(kus)
	if err != nil {
		return "", nil, false, err
	}
	return kfile, out, generated, nil
}

// droppedNote says what of the folder's kustomization file (kfile, in the folder k.Path) Flux's generator drops as it
// rewrites the file: fields kustomize's Kustomization does not have (typos), for which the kustomize CLI refuses the
// file, and Flux builds without them. "" when it drops nothing. Only a name that can be a field's is shown: a value
// pasted where a key belongs must not print.
func droppedNote(fs filesys.FileSystem, kfile string, k Kustomization) string {
	data, err := fs.ReadFile(kfile)
	if err != nil || sigsyaml.Unmarshal(data, &kustypes.Kustomization{}) != nil {
		return ""
	}
	err = (&kustypes.Kustomization{}).Unmarshal(data) // kustomize's own read, the CLI's
	if err == nil {
		return ""
	}
	var named []string
	hidden := 0
	for _, f := range unknownTopFields(data) {
		if fieldName.MatchString(f) {
			named = append(named, strconv.Quote(f))
		} else {
			hidden++
		}
	}
	if len(named) == 0 && hidden == 0 {
		// Deeper down (a patch's target, say): the strict read names the first one.
		if m := unknownField.FindStringSubmatch(err.Error()); m != nil && fieldName.MatchString(m[1]) {
			named = []string{strconv.Quote(m[1])}
		} else {
			hidden = 1
		}
	}
	why := "unknown field " + strings.Join(named, "")
	switch {
	case len(named) > 1:
		why = "unknown fields " + strings.Join(named, ", ")
	case len(named) == 0:
		why = "unknown field"
		if hidden > 1 {
			why += "s"
		}
	}
	switch {
	case hidden > 0 && len(named) > 0:
		why += fmt.Sprintf(" and %d more not shown", hidden)
	case hidden > 0:
		why = fmt.Sprintf("%d %s not shown (not a field's name)", hidden, why)
	}
	them := "it"
	if len(named)+hidden > 1 {
		them = "them"
	}
	return fmt.Sprintf("%s: %s: kustomize-controller drops %s and builds the rest (the kustomize CLI refuses the file)",
		filepath.ToSlash(filepath.Join(k.Path, filepath.Base(kfile))), why, them)
}

// unknownTopFields lists, in the file's order, the top-level keys of a kustomization file that kustomize's
// Kustomization has no field for (encoding/json matches names whatever their case, and so does this).
func unknownTopFields(data []byte) []string {
	top, err := kyaml.Parse(string(data))
	if err != nil {
		return nil // a repeated key, for one: the strict read's first name stands for all
	}
	keys, err := top.Fields()
	if err != nil {
		return nil
	}
	known := jsonFieldNames(reflect.TypeOf(kustypes.Kustomization{}))
	var unknown []string
	for _, key := range keys {
		if !slices.ContainsFunc(known, func(n string) bool { return strings.EqualFold(n, key) }) {
			unknown = append(unknown, key)
		}
	}
	return unknown
}

// jsonFieldNames are the names encoding/json reads into a struct type, those of embedded structs included.
func jsonFieldNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
		case name == "" && f.Anonymous && f.Type.Kind() == reflect.Struct:
			names = append(names, jsonFieldNames(f.Type)...)
		case name == "":
			names = append(names, f.Name)
		default:
			names = append(names, name)
		}
	}
	return names
}

// unknownField finds, in a strict read's error, the unknown field it names; fieldName says whether that can be a
// field's name, and only then is it shown.
var (
	unknownField = regexp.MustCompile(`json: unknown field "(.*)"$`)
	fieldName    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)
)

func hasOverrides(k Kustomization) bool {
	s := k.Spec
	return s.TargetNamespace != "" || s.NamePrefix != "" || s.NameSuffix != "" || len(s.Patches) > 0 ||
		len(s.Images) > 0 || len(s.Components) > 0 || len(s.BuildMetadata) > 0
}

// builtAsWritten says whether kustomize-controller builds the folder's kustomization file as it is written, when the
// Kustomization merges nothing into it. Flux's generator reads the file leniently into kustomize's type and writes it
// back, which is the same file to kustomize, but for one that lists no resources (see kustomizationFile; one that
// lists its bases under the deprecated bases: included) and one holding a field kustomize's type does not have (a
// typo: commonLabel), which the lenient read drops, where kustomize, reading the file itself, refuses it. A key
// written twice is no such field: both reads take the last.
func builtAsWritten(data []byte) bool {
	var kus kustypes.Kustomization
	if err := sigsyaml.Unmarshal(data, &kus); err != nil {
		return true // let kustomize report the error in its own words
	}
	return len(kus.Resources) > 0 && (&kustypes.Kustomization{}).Unmarshal(data) == nil
}

func indexImage(images []kustypes.Image, name string) int {
	for i, img := range images {
		if img.Name == name {
			return i
		}
	}
	return -1
}

// findOrGenerate returns the folder's kustomization file, or generates the one kustomize-controller would: every
// YAML file that parses as Kubernetes objects, and every subfolder holding a kustomization file (not descended into),
// in walk order.
func findOrGenerate(fs filesys.FileSystem, dir string) ([]byte, string, bool, error) {
	if !fs.IsDir(dir) {
		return nil, "", false, fmt.Errorf("the path does not exist in the tree")
	}
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		kpath := filepath.Join(dir, name)
		if fs.Exists(kpath) && !fs.IsDir(kpath) {
			data, err := fs.ReadFile(kpath)
			return data, kpath, false, err
		}
	}
	rf := provider.NewDefaultDepProvider().GetResourceFactory()
	var resources []string
	err := fs.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		if info.IsDir() {
			for _, name := range konfig.RecognizedKustomizationFileNames() {
				if kpath := filepath.Join(p, name); fs.Exists(kpath) && !fs.IsDir(kpath) {
					resources = append(resources, relResource(dir, p))
					return filepath.SkipDir
				}
			}
			return nil
		}
		if ext := filepath.Ext(p); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		data, err := fs.ReadFile(p)
		if err != nil {
			return err
		}
		if _, err := sliceFromBytes(rf, data); err != nil {
			return fmt.Errorf("failed to decode Kubernetes YAML from %s: %w", filepath.Base(p), err)
		}
		resources = append(resources, relResource(dir, p))
		return nil
	})
	if err != nil {
		return nil, "", false, err
	}
	kus := kustypes.Kustomization{TypeMeta: kustypes.TypeMeta{
		APIVersion: kustypes.KustomizationVersion, Kind: kustypes.KustomizationKind,
	}}
	if len(resources) == 0 {
		kus.Namespace = "_placeholder" // the controller's guard against an empty kustomization
	} else {
		kus.Resources = resources
	}
	data, err := sigsyaml.Marshal(kus)
	return data, filepath.Join(dir, konfig.DefaultKustomizationFileName()), true, err
}

// relResource is a resource entry as the controller writes it: "./" and the path from the folder.
func relResource(dir, p string) string {
	r, err := filepath.Rel(dir, p)
	if err != nil {
		return p
	}
	return "./" + filepath.ToSlash(r)
}

// sliceFromBytes parses a manifest; kustomize's parser can panic on odd input, which must not end the whole preview.
func sliceFromBytes(rf *resource.Factory, data []byte) (_ []*resource.Resource, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("kustomize panicked parsing it: %v", r)
		}
	}()
	return rf.SliceFromBytes(data)
}
