package validate

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	sigsjson "sigs.k8s.io/json"
	kustomizetypes "sigs.k8s.io/kustomize/api/types"
)

// kustomizeGroup is kustomize's own kustomization.yaml, which never reaches the API server.
const kustomizeGroup = "kustomize.config.k8s.io"

// coreKinds are the built-in kinds a tree may hold. The API server's own validation for them lives in
// k8s.io/kubernetes, which cannot be imported; their Go types (strict decoding) and the rules below, taken from
// pkg/apis/core/validation, stand in for it.
var coreKinds = map[schema.GroupVersionKind]func(map[string]any) []FieldError{
	corev1.SchemeGroupVersion.WithKind("Secret"):    secret,
	corev1.SchemeGroupVersion.WithKind("ConfigMap"): configMap,
	corev1.SchemeGroupVersion.WithKind("Namespace"): namespace,
}

// strict decodes obj into a Go type the way the API server's strict decoder does: unknown and duplicate fields and
// wrong types are errors, each naming its path.
func strict(obj map[string]any, into any, base64Fields ...string) []FieldError {
	// a bad base64 value fails decoding without saying where: name it, and decode the rest without it
	out, obj := base64Values(obj, base64Fields)
	b, err := json.Marshal(obj)
	if err != nil {
		return []FieldError{{Message: err.Error()}}
	}
	strictErrs, err := sigsjson.UnmarshalStrict(b, into, sigsjson.DisallowUnknownFields, sigsjson.DisallowDuplicateFields)
	if err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			out = append(out, FieldError{Field: te.Field, Message: fmt.Sprintf("Invalid value: %s: must be %s", te.Value, jsonType(te.Type.String()))})
		} else {
			out = append(out, FieldError{Message: err.Error()})
		}
	}
	for _, e := range strictErrs {
		msg := e.Error()
		if f, ok := strings.CutPrefix(msg, "unknown field "); ok {
			out = append(out, unknownField(strings.Trim(f, `"`), kindOf(obj)))
			continue
		}
		out = append(out, FieldError{Message: msg})
	}
	return out
}

// base64Values checks the values of the maps the API server decodes as base64 (a Secret's data, a ConfigMap's
// binaryData).
func base64Values(obj map[string]any, fields []string) ([]FieldError, map[string]any) {
	var out []FieldError
	obj = runtime.DeepCopyJSON(obj)
	secret := kindOf(obj) == "Secret"
	for _, key := range fields {
		m, _ := obj[key].(map[string]any)
		for _, k := range sortedKeys(m) {
			s, ok := m[k].(string)
			if !ok {
				continue // strict decoding names the wrong type
			}
			if _, err := base64.StdEncoding.DecodeString(s); err != nil {
				out = append(out, FieldError{Message: "Invalid value: must be base64 (" + err.Error() + ")"})
				out[len(out)-1].Field, out[len(out)-1].At = keyPath(field.NewPath(key), k, secret)
				m[k] = ""
			}
		}
	}
	return out, obj
}

// keyNotShown stands in a field path for a Secret's key that the API server would not take: most likely a value
// pasted where its key belongs, it prints nowhere (check's report names it so too).
const keyNotShown = "(a key that is not valid, not shown)"

// keyPath is the path of key k under p as a finding shows it, and, when that hides the key (a Secret's key that the
// API server would not take), where it stands.
func keyPath(p *field.Path, k string, secret bool) (shown, at string) {
	if secret && len(utilvalidation.IsConfigMapKey(k)) > 0 {
		return p.Key(keyNotShown).String(), p.Key(k).String()
	}
	return p.Key(k).String(), ""
}

func jsonType(goType string) string {
	switch goType {
	case "[]uint8":
		return "a base64 string"
	case "string":
		return "a string"
	case "map[string]string":
		return "a map of strings"
	case "map[string][]uint8":
		return "a map of base64 strings"
	}
	return "of type " + goType
}

func kindOf(obj map[string]any) string {
	k, _ := obj["kind"].(string)
	return k
}

// encValue is a value sops encrypted: ENC[AES256_GCM,data:...,iv:...,tag:...,type:str].
var encValue = regexp.MustCompile(`^ENC\[[A-Z0-9_]+,data:.*\]$`)

// withoutSOPS prepares a sops-encrypted object for validation: the sops metadata block is not part of the object
// Flux applies (kustomize-controller decrypts it away) and an encrypted data value is not base64 until decrypted.
// Without the key the decrypted values cannot be checked; the keys, the type and the metadata still are.
func withoutSOPS(obj map[string]any) (map[string]any, bool) {
	if _, ok := obj["sops"].(map[string]any); !ok {
		return obj, false
	}
	obj = runtime.DeepCopyJSON(obj)
	delete(obj, "sops")
	for _, key := range []string{"data", "stringData", "binaryData"} {
		m, _ := obj[key].(map[string]any)
		for k, v := range m {
			if s, ok := v.(string); ok && encValue.MatchString(s) {
				m[k] = "" // valid base64 and a valid string: the value itself is checked after decryption
			}
		}
	}
	return obj, true
}

func secret(in map[string]any) []FieldError {
	obj, encrypted := withoutSOPS(in)
	var s corev1.Secret
	decoded := strict(obj, &s, "data")
	errs := validateMeta(&s.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	// stringData is merged into data before validation, as the API server's conversion does.
	keys := map[string]int{}
	for k, v := range s.Data {
		keys[k] = len(v)
	}
	for k, v := range s.StringData {
		keys[k] = len(v)
	}
	total := 0
	var hidden []FieldError // findings on keys that are not valid, which never show
	for _, k := range sortedKeys(keys) {
		total += keys[k]
		p := field.NewPath(dataField(s.Data, k))
		if shown, at := keyPath(p, k, true); at != "" {
			for _, msg := range utilvalidation.IsConfigMapKey(k) {
				hidden = append(hidden, FieldError{Field: shown, At: at, Message: field.Invalid(p, field.OmitValueType{}, msg).ErrorBody()})
			}
			continue
		}
		errs = append(errs, dataKey(p.Key(k), k)...)
	}
	if !encrypted && total > corev1.MaxSecretSize {
		errs = append(errs, field.TooLong(field.NewPath("data"), "", corev1.MaxSecretSize))
	}
	require := func(keys ...string) {
		for _, k := range keys {
			if _, ok := s.Data[k]; ok {
				continue
			}
			if _, ok := s.StringData[k]; ok {
				continue
			}
			errs = append(errs, field.Required(field.NewPath("data").Key(k), "required for a Secret of type "+string(s.Type)))
		}
	}
	switch s.Type {
	case corev1.SecretTypeTLS:
		require(corev1.TLSCertKey, corev1.TLSPrivateKeyKey)
	case corev1.SecretTypeDockerConfigJson:
		require(corev1.DockerConfigJsonKey)
	case corev1.SecretTypeDockercfg:
		require(corev1.DockerConfigKey)
	case corev1.SecretTypeSSHAuth:
		require(corev1.SSHAuthPrivateKey)
	case corev1.SecretTypeBasicAuth:
		_, user := keys[corev1.BasicAuthUsernameKey]
		_, pass := keys[corev1.BasicAuthPasswordKey]
		if !user && !pass {
			errs = append(errs, field.Required(field.NewPath("data"), "a basic-auth Secret needs username or password"))
		}
	case corev1.SecretTypeServiceAccountToken:
		if s.Annotations[corev1.ServiceAccountNameKey] == "" {
			errs = append(errs, field.Required(field.NewPath("metadata", "annotations").Key(corev1.ServiceAccountNameKey), ""))
		}
	}
	return append(append(decoded, hidden...), fieldErrors(errs)...)
}

func dataField(data map[string][]byte, k string) string {
	if _, ok := data[k]; ok {
		return "data"
	}
	return "stringData"
}

func configMap(in map[string]any) []FieldError {
	obj, _ := withoutSOPS(in)
	var c corev1.ConfigMap
	decoded := strict(obj, &c, "binaryData")
	errs := validateMeta(&c.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	for _, k := range sortedKeys(c.Data) {
		errs = append(errs, dataKey(field.NewPath("data").Key(k), k)...)
	}
	for _, k := range sortedKeys(c.BinaryData) {
		errs = append(errs, dataKey(field.NewPath("binaryData").Key(k), k)...)
		if _, ok := c.Data[k]; ok {
			errs = append(errs, field.Invalid(field.NewPath("binaryData").Key(k), k, "duplicate of key present in data"))
		}
	}
	return append(decoded, fieldErrors(errs)...)
}

func namespace(obj map[string]any) []FieldError {
	var n corev1.Namespace
	decoded := strict(obj, &n)
	return append(decoded, fieldErrors(validateMeta(&n.ObjectMeta, false, apimachineryvalidation.ValidateNamespaceName))...)
}

func validateMeta(m *metav1.ObjectMeta, namespaced bool, name apimachineryvalidation.ValidateNameFunc) field.ErrorList {
	c := *m
	if namespaced && c.Namespace == "" {
		c.Namespace = "default" // the server takes it from the request
	}
	return apimachineryvalidation.ValidateObjectMeta(&c, namespaced, name, field.NewPath("metadata"))
}

func dataKey(p *field.Path, k string) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range utilvalidation.IsConfigMapKey(k) {
		errs = append(errs, field.Invalid(p, k, msg))
	}
	return errs
}

// kustomization checks a kustomization.yaml against kustomize's own Go type: kustomize build, and so Flux, refuses
// unknown fields.
func kustomization(obj map[string]any) []FieldError {
	var k kustomizetypes.Kustomization
	return strict(obj, &k)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
