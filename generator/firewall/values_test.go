package firewall

import (
	"slices"
	"strings"
	"testing"

	"github.com/kronform/kronform-gen/generator/spec"
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

// TestIPv6OffInCiliumDropsEveryIPv6Packet: the chart leaves ipv6.enabled false, and an agent without IPv6 that runs
// the host firewall drops every IPv6 packet on the node's devices (bpf_host.c do_netdev: DROP_UNKNOWN_L3), before any
// policy and in audit mode too (cilium/cilium#27484). An admin who connects over IPv6 to dual-stack control planes is
// locked out however open the policies are; verify must say so, and must pass once the values turn IPv6 on.
func TestIPv6OffInCiliumDropsEveryIPv6Packet(t *testing.T) {
	doc := `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: v6
    apiServer: {host: api.example.com}
    nodes:
      - {name: cp1, addresses: [198.51.100.11, "2a01:4f8:1:2::2"], roles: [control-plane]}
    cilium:
      version: 1.16.5
      auditMode: %AUDIT%
      values: %VALUES%
    hostPolicies:
      - {name: cp, preset: talos-control-plane}
    hetzner: {adminSources: ["2a02:8108::/32"], filterIPv6: true}
`
	failures := func(audit, values string) []string {
		return failedChecks(load(t, strings.NewReplacer("%AUDIT%", audit, "%VALUES%", values).Replace(doc)))
	}
	want := []string{"admin -> node:cp1 50000/tcp allowed", "admin -> node:cp1 6443/tcp allowed"}
	for _, audit := range []string{"false", "true"} {
		if got := failures(audit, "{}"); !slices.Equal(got, want) {
			t.Errorf("ipv6.enabled unset, auditMode %s: failures %v, want %v (Cilium drops every IPv6 packet)", audit, got, want)
		}
	}
	if got := failures("false", "{ipv6: {enabled: true}}"); len(got) != 0 {
		t.Errorf("ipv6.enabled true: failures %v, want none", got)
	}
	for values, warned := range map[string]bool{"{}": true, "{ipv6: {enabled: true}}": false} {
		_, warnings := Lint(load(t, strings.NewReplacer("%AUDIT%", "false", "%VALUES%", values).Replace(doc)))
		got := slices.ContainsFunc(warnings, func(p spec.Problem) bool {
			return strings.Contains(p.String(), "Cilium runs without IPv6") && strings.Contains(p.String(), "cp1 (2a01:4f8:1:2::2)")
		})
		if got != warned {
			t.Errorf("values %s: IPv6-off warning %v, want %v; warnings %v", values, got, warned, warnings)
		}
	}

	m := load(t, strings.NewReplacer("%AUDIT%", "true", "%VALUES%", "{}").Replace(doc))
	sim := NewSimulator(m.Clusters[0])
	src, err := spec.ParseFlowSource(m.Clusters[0], "2a02:8108::5")
	if err != nil {
		t.Fatal(err)
	}
	port, _ := spec.ParseFlowPort("6443/tcp")
	flows, err := sim.Flows(src, []string{"cp1"}, port)
	if err != nil {
		t.Fatal(err)
	}
	tr := sim.Explain(flows[0])
	if tr.Allowed || tr.Passes || !strings.Contains(tr.Cilium.Reason, "ipv6.enabled") {
		t.Errorf("IPv6 flow with Cilium's IPv6 off: allowed %v, passes %v, reason %q; want dropped, naming ipv6.enabled", tr.Allowed, tr.Passes, tr.Cilium.Reason)
	}
}

// The same for IPv4: with ipv4.enabled false (an IPv6-only Cilium), the agents drop every IPv4 packet on the nodes'
// devices once the host firewall is on, so a node's IPv4 address is warned of; a node without one is not.
func TestIPv4OffInCiliumIsWarned(t *testing.T) {
	doc := `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: v4
    apiServer: {host: api.example.com}
    nodes:
      - {name: cp1, addresses: [198.51.100.11, "2a01:4f8:1:2::2"], roles: [control-plane]}
      - {name: w1, addresses: ["2a01:4f8:1:2::3"], roles: [worker]}
    cilium:
      version: 1.16.5
      values: %VALUES%
    hostPolicies:
      - {name: cp, preset: talos-control-plane}
    hetzner: {adminSources: ["2a02:8108::/32"], filterIPv6: true}
`
	for values, warned := range map[string]bool{
		"{ipv4: {enabled: false}, ipv6: {enabled: true}}": true,
		"{ipv6: {enabled: true}}":                         false,
	} {
		_, warnings := Lint(load(t, strings.Replace(doc, "%VALUES%", values, 1)))
		var found []string
		for _, p := range warnings {
			if strings.Contains(p.String(), "Cilium runs without IPv4") {
				found = append(found, p.String())
			}
		}
		if warned != (len(found) == 1) {
			t.Errorf("values %s: IPv4-off warnings %q, want warned %v", values, found, warned)
		}
		if warned && len(found) == 1 && (!strings.Contains(found[0], "cp1 (198.51.100.11)") || strings.Contains(found[0], "w1")) {
			t.Errorf("values %s: the warning names %q, want cp1 (198.51.100.11) alone", values, found[0])
		}
	}
}
