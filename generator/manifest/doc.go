// Package manifest encodes Kubernetes objects as the deterministic YAML files of the tree: sorted keys, no empty
// status or null creationTimestamp, several objects separated by ---, under a DO NOT EDIT header. MayHoldSecret tells
// the files that may hold a secret value from those that cannot, and Redact keeps of an error message about such a
// file only the wording of kustomize and its libraries (wording.txt) and the words it is told are harmless.
package manifest
