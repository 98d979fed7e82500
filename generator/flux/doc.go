// Package flux builds the Flux objects of a cluster from the spec with Flux's own API types: the Cilium HelmRepository
// and HelmRelease, and the Kustomizations that apply each folder of the tree in dependency order; and it warns of
// objects placed in a namespace the cluster may not have, which would keep their Kustomization from applying.
package flux
