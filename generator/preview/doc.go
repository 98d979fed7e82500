// Package preview shows what Flux will apply from a repository tree: it finds the Flux Kustomizations, builds each
// one's path the way kustomize-controller does (kustomize plus postBuild substitution), masks secret values, and
// compares two builds object by object.
package preview
