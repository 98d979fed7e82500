// Package render assembles the output tree of a whole fleet from a validated spec: per cluster the Flux
// Kustomizations in the bootstrap path, and the folders they apply (Cilium, host policies, secrets).
package render
