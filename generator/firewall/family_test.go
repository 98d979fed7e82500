package firewall

import (
	"strings"
	"testing"

	"github.com/kronform/kronform-gen/generator/spec"
)

// familySpec: cp1 has IPv4 only, cp2 both families, w1 IPv6 only; Cilium runs IPv6, Robot filters it.
const familySpec = `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: fam
    apiServer: {host: api.example.com}
    nodes:
      - {name: cp1, addresses: [198.51.100.11], roles: [control-plane]}
      - {name: cp2, addresses: [198.51.100.12, "2001:db8:7::12"], roles: [control-plane]}
      - {name: w1, addresses: ["2001:db8:7::21"], roles: [worker]}
      - {name: w2, addresses: [198.51.100.22, "2001:db8:7::22"], roles: [worker]}
    cilium: {version: 1.16.5, values: {ipv6: {enabled: true}}}
    hostPolicies:
      - {name: cp, preset: talos-control-plane}
    hetzner: {adminSources: [89.23.224.44/32], filterIPv6: true}
`

func familyTraces(t *testing.T, from, to, port string) []Trace {
	t.Helper()
	sim := NewSimulator(load(t, familySpec).Clusters[0])
	src, err := spec.ParseFlowSource(sim.Cluster, from)
	if err != nil {
		t.Fatal(err)
	}
	targets, err := spec.ParseFlowTarget(sim.Cluster, to)
	if err != nil {
		t.Fatal(err)
	}
	p, err := spec.ParseFlowPort(port)
	if err != nil {
		t.Fatal(err)
	}
	flows, err := sim.Flows(src, targets, p)
	if err != nil {
		t.Fatal(err)
	}
	var out []Trace
	for _, f := range flows {
		out = append(out, sim.Explain(f))
	}
	return out
}

// A node cannot send a packet of a family it, or the node it sends to, has no address in: such a flow is denied
// before any layer is asked, as it is for a sender outside the cluster.
func TestNodeFlowAcrossFamiliesIsDenied(t *testing.T) {
	for _, c := range []struct{ from, to, port, why string }{
		{"cp1", "cp2", "icmpv6", "cp1 has no IPv6 address"},
		{"cp2", "cp1", "icmpv6", "cp1 has no IPv6 address"},
		{"cp1", "w1", "10250/tcp", "has no IPv"},
		{"w1", "cp1", "6443/tcp", "has no IPv"},
	} {
		for _, tr := range familyTraces(t, c.from, c.to, c.port) {
			if tr.Allowed || tr.Passes || !strings.Contains(tr.Result, c.why) {
				t.Errorf("%s -> %s %s: allowed %v, passes %v, result %q; want denied: %s", c.from, c.to, c.port, tr.Allowed, tr.Passes, tr.Result, c.why)
			}
		}
	}
	// The built-in checks between cp1 (IPv4 only) and w1 (IPv6 only) cannot hold.
	var failed []string
	for _, ch := range Verify(load(t, familySpec)) {
		if !ch.OK && strings.Contains(ch.String(), "w1") && strings.Contains(ch.String(), "cp1") {
			failed = append(failed, ch.String())
		}
	}
	if len(failed) == 0 {
		t.Errorf("no built-in check between cp1 (IPv4 only) and w1 (IPv6 only) fails")
	}
}

// A node's own address as the source is that node sending from that address, in that address's family.
func TestNodeAddressSourceKeepsItsFamily(t *testing.T) {
	trs := familyTraces(t, "2001:db8:7::12", "w2", "10250/tcp")
	if len(trs) != 1 || trs[0].Flow.SourceAddr.String() != "2001:db8:7::12" || trs[0].Flow.ToAddr.String() != "2001:db8:7::22" || trs[0].Flow.SourceNode != "cp2" {
		t.Fatalf("flows %+v; want one from cp2 at 2001:db8:7::12 to w2 at 2001:db8:7::22", trs)
	}
	trs = familyTraces(t, "198.51.100.12", "cp1", "6443/tcp")
	if len(trs) != 1 || trs[0].Flow.SourceAddr.String() != "198.51.100.12" || !trs[0].Allowed {
		t.Fatalf("flows %+v; want one allowed from cp2 at 198.51.100.12", trs)
	}
}

// TestIPv6OnlyCiliumOnDualStackHosts: with ipv4.enabled false and ipv6.enabled true the cluster runs on IPv6 (the
// node IPs, the overlay, the pods), so node-to-node and pod-to-node flows between dual-stack hosts go over IPv6. The
// simulator sent them over IPv4, which the agents drop, and so failed every built-in check and refused the tree even
// in audit mode.
func TestIPv6OnlyCiliumOnDualStackHosts(t *testing.T) {
	doc := `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: v6
    apiServer: {host: api.example.com}
    nodes:
      - {name: n1, addresses: [159.69.60.182, "2a01:4f8:1c1c:1::2"], roles: [control-plane]}
      - {name: n2, addresses: [159.69.60.183, "2a01:4f8:1c1c:2::2"], roles: [worker]}
    cilium: {version: 1.16.0, auditMode: true, values: {ipv4: {enabled: false}, ipv6: {enabled: true}}}
    hostPolicies:
      - {name: cp, preset: talos-control-plane}
      - {name: w, preset: talos-worker}
    hetzner: {adminSources: ["2a02:8108::/32"], filterIPv6: true}
`
	for _, ch := range Verify(load(t, doc)) {
		if !ch.OK {
			t.Errorf("%s fails: %+v", ch, ch.Traces)
		}
	}
	// IPv4 stays the family of a dual-stack cluster, and of one that runs IPv4 only.
	for _, values := range []string{"{ipv6: {enabled: true}}", "{}"} {
		sim := NewSimulator(load(t, strings.Replace(doc, "{ipv4: {enabled: false}, ipv6: {enabled: true}}", values, 1)).Clusters[0])
		p, _ := spec.ParseFlowPort("8472/udp")
		src, _ := spec.ParseFlowSource(sim.Cluster, "node:n2")
		flows, err := sim.Flows(src, []string{"n1"}, p)
		if err != nil || len(flows) != 1 || !flows[0].ToAddr.Is4() {
			t.Errorf("values %s: flows %+v, %v; want one over IPv4", values, flows, err)
		}
	}
}

// Cilium gives the kube-apiserver identity to the addresses behind the kubernetes Service (the backends of
// default/kubernetes: pkg/ipcache/cell/apiserver_watcher.go in 1.20, pkg/k8s/watchers/endpoint.go in 1.13), and each
// API server advertises one address, in the family of the cluster's services. The simulator gave the identity to
// every address of a control plane, so on a dual-stack control plane a rule for kube-apiserver was credited for the
// other family's address too, and an assertion passed for a flow Cilium drops. The model sends node traffic of
// dual-stack nodes over IPv4 (Simulator.family): that is the address it labels. A control plane with two addresses
// in that family advertises one, the first, which it sends from: its second is a plain remote-node too.
func TestKubeAPIServerIsOneAddress(t *testing.T) {
	doc := `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: fam
    apiServer: {host: api.example.com}
    nodes:
      - {name: cp1, addresses: [198.51.100.11, "2001:db8:7::11"], roles: [control-plane]}
      - {name: cp6, addresses: ["2001:db8:7::16"], roles: [control-plane]}
      - {name: cp2, addresses: [198.51.100.12, 198.51.100.13], roles: [control-plane]}
      - {name: w1, addresses: [198.51.100.21, "2001:db8:7::21"], roles: [worker]}
    cilium: {version: 1.16.5, values: {ipv6: {enabled: true}%VALUES%}}
    hostPolicies:
      - name: kubelet
        nodes: {role: worker}
        ingress: [{entities: [kube-apiserver], ports: [10250/tcp]}]
        egress:
          - {entities: [kube-apiserver], ports: [6443/tcp]}
          - {entities: [world], icmp: [{family: IPv6, type: NeighborSolicitation}]}
`
	for _, c := range []struct {
		values, from, to, port, want string
	}{
		{"", "198.51.100.11", "w1", "10250/tcp", "allowed"},
		{"", "2001:db8:7::11", "w1", "10250/tcp", "denied by Cilium at w1"},
		{"", "2001:db8:7::16", "w1", "10250/tcp", "allowed"}, // cp6 has IPv6 only: it advertises that
		{"", "2001:db8:7::21", "cp1", "6443/tcp", "denied by Cilium egress at w1"},
		{"", "198.51.100.21", "cp1", "6443/tcp", "allowed"},
		{"", "198.51.100.12", "w1", "10250/tcp", "allowed"},
		{"", "198.51.100.13", "w1", "10250/tcp", "denied by Cilium at w1"},
		// An IPv6-only cluster: its API servers advertise IPv6 addresses.
		{", ipv4: {enabled: false}", "2001:db8:7::11", "w1", "10250/tcp", "allowed"},
		{", ipv4: {enabled: false}", "2001:db8:7::21", "cp1", "6443/tcp", "allowed"},
	} {
		sim := NewSimulator(load(t, strings.ReplaceAll(doc, "%VALUES%", c.values)).Clusters[0])
		traces, err := sim.Evaluate(spec.Assertion{From: c.from, To: c.to, Port: c.port})
		if err != nil {
			t.Fatal(err)
		}
		if len(traces) != 1 || traces[0].Result != c.want {
			t.Errorf("values %q: %s -> %s %s: got %v, want %q", c.values, c.from, c.to, c.port, traces, c.want)
		}
	}
}
