// Package validate checks every object of a generated tree the way a Kubernetes API server would, offline: custom
// resources against the real CRD schemas embedded from crds/ (structural schema, unknown fields, CEL rules), core kinds
// through their Go types.
package validate
