// Package cilium turns a cluster's Cilium settings into Helm values right for the chart version, and its host policies
// into CiliumClusterwideNetworkPolicy objects that Cilium accepts, with lints for selectors that can never match.
package cilium
