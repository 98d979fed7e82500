// Package spec loads cluster-spec.yaml into a typed, defaulted and validated model, reporting every problem with its
// file:line:col and field path, and describes the spec as a JSON Schema.
package spec
