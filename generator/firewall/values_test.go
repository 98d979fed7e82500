package firewall

import (
	"slices"
	"strings"
	"testing"
)

// TestBuiltInChecksTestTheConfiguredOverlay: the node-to-node overlay check follows the Cilium values. With Geneve
// the seed's preset (which opens 8472/udp only) cuts pod traffic between nodes, and verify says so; with native
// routing there is no tunnel, so a policy without 8472/udp passes.
func TestBuiltInChecksTestTheConfiguredOverlay(t *testing.T) {
	spec := `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: overlay
    apiServer: {host: api.example.com}
    nodes:
      - {name: cp1, addresses: [198.51.100.11], roles: [control-plane]}
      - {name: cp2, addresses: [198.51.100.12], roles: [control-plane]}
    cilium:
      version: 1.16.5
      values: %VALUES%
    hostPolicies:
      - {name: cp, preset: talos-control-plane}
    hetzner: {adminSources: [89.23.224.44/32]}
`
	failed := func(values string) (tunnelChecks, failures []string) {
		m := load(t, strings.Replace(spec, "%VALUES%", values, 1))
		for _, ch := range Verify(m) {
			if strings.Contains(ch.Why, "overlay") {
				tunnelChecks = append(tunnelChecks, ch.Assertion.Port)
			}
			if !ch.OK {
				failures = append(failures, ch.String())
			}
		}
		slices.Sort(tunnelChecks)
		slices.Sort(failures)
		return slices.Compact(tunnelChecks), failures
	}
	if ports, fails := failed("{tunnelProtocol: vxlan}"); !slices.Equal(ports, []string{"8472/udp"}) || len(fails) != 0 {
		t.Errorf("vxlan: overlay checks %v, failures %v", ports, fails)
	}
	ports, fails := failed("{tunnelProtocol: geneve}")
	want := []string{"node:cp1 -> node:cp2 6081/udp allowed", "node:cp2 -> node:cp1 6081/udp allowed"}
	if !slices.Equal(ports, []string{"6081/udp"}) || !slices.Equal(fails, want) {
		t.Errorf("geneve: overlay checks %v, failures %v; want only %v", ports, fails, want)
	}
	if ports, fails := failed("{routingMode: native, ipv4NativeRoutingCIDR: 10.244.0.0/16}"); len(ports) != 0 || len(fails) != 0 {
		t.Errorf("native routing: overlay checks %v, failures %v", ports, fails)
	}
}

// With native routing pods' own addresses cross Robot, which the checks do not model: a cluster with a hetzner
// template and native routing is refused by the lints; without a template it is fine.
func TestNativeRoutingThroughRobotIsRefused(t *testing.T) {
	doc := `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: native
    apiServer: {host: api.example.com}
    nodes:
      - {name: cp1, addresses: [198.51.100.11], roles: [control-plane]}
    cilium:
      version: 1.16.5
      values: {routingMode: native}
`
	refused := func(s string) bool {
		errs, _ := Lint(load(t, s))
		for _, p := range errs {
			if strings.Contains(p.String(), "clusters[0].cilium.values: native routing sends pod traffic between nodes from pod addresses through the Robot firewall") {
				return true
			}
		}
		return false
	}
	if !refused(doc + "    hetzner: {adminSources: [89.23.224.44/32]}\n") {
		t.Error("native routing behind a Robot template was not refused")
	}
	if refused(doc) {
		t.Error("native routing without a Robot template was refused")
	}
	if refused(strings.Replace(doc, "values: {routingMode: native}", "values: {routingMode: tunnel}", 1) + "    hetzner: {adminSources: [89.23.224.44/32]}\n") {
		t.Error("tunnel routing behind a Robot template was refused")
	}
}
