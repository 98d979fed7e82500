package cilium

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kronform/kronform-gen/generator/spec"
)

// TestCompileSplitsWhatCiliumRejects: one spec rule with three peer kinds, ICMP and 45 ports becomes rules Cilium
// accepts — one peer kind each, ICMP apart from ports, at most 40 ports per rule — that allow the same traffic.
func TestCompileSplitsWhatCiliumRejects(t *testing.T) {
	var ports []string
	for i := range 45 {
		ports = append(ports, fmt.Sprintf("%d/tcp", 30000+i))
	}
	rule := spec.PolicyRule{
		Entities:  []string{"remote-node"},
		Endpoints: []map[string]string{{"app": "x"}},
		CIDRs:     []spec.CIDRPeer{{CIDR: "10.0.0.0/8"}},
		Ports:     ports,
		ICMP:      []spec.ICMPType{{Type: &spec.ICMPTypeValue{Number: 8}}},
	}
	p := CompilePolicy(spec.HostPolicy{Name: "p", Nodes: &spec.NodeMatch{}, Ingress: []spec.PolicyRule{rule}}, true)
	// 3 peer kinds x (2 port chunks + 1 ICMP rule).
	if len(p.Spec.Ingress) != 9 {
		t.Fatalf("got %d rules, want 9: %+v", len(p.Spec.Ingress), p.Spec.Ingress)
	}
	for i, r := range p.Spec.Ingress {
		kinds := 0
		for _, n := range []int{len(r.FromEntities), len(r.FromEndpoints), len(r.FromCIDR), len(r.FromCIDRSet)} {
			if n > 0 {
				kinds++
			}
		}
		if kinds != 1 {
			t.Errorf("rule %d has %d peer kinds", i, kinds)
		}
		if len(r.ToPorts) > 0 && len(r.ICMPs) > 0 {
			t.Errorf("rule %d mixes toPorts and icmps", i)
		}
		for _, pr := range r.ToPorts {
			if len(pr.Ports) > MaxPortsPerRule {
				t.Errorf("rule %d has %d ports", i, len(pr.Ports))
			}
		}
	}
	want := []string{}
	for _, peer := range []string{"entity:remote-node", "endpoints:map[app:x]", "cidr:10.0.0.0/8"} {
		for _, p := range ports {
			want = append(want, peer+" -> "+fmt.Sprintf("%s/TCP", p[:5]))
		}
		want = append(want, peer+" -> icmp:IPv4:8")
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, allowTuples(p.Spec.Ingress)); diff != "" {
		t.Errorf("the split rules allow something else (-want +got):\n%s", diff)
	}
}

func TestCompileRangesAndCIDRSets(t *testing.T) {
	p := CompilePolicy(spec.HostPolicy{
		Name:  "p",
		Nodes: &spec.NodeMatch{Role: spec.RoleWorker},
		EgressDeny: []spec.PolicyRule{{
			CIDRs: []spec.CIDRPeer{{CIDR: "192.0.2.0/24", Except: []string{"192.0.2.0/25"}}, {CIDR: "198.51.100.0/24"}},
			Ports: []string{"6800-7300/tcp", "53/any"},
		}},
	}, true)
	want := []EgressRule{{
		ToCIDRSet: []CIDRRule{{CIDR: "192.0.2.0/24", Except: []string{"192.0.2.0/25"}}, {CIDR: "198.51.100.0/24"}},
		ToPorts:   []PortRule{{Ports: []PortProtocol{{Port: "6800", EndPort: 7300, Protocol: "TCP"}, {Port: "53", Protocol: "ANY"}}}},
	}}
	if diff := cmp.Diff(want, p.Spec.EgressDeny); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := p.Spec.NodeSelector.MatchExpressions; len(got) != 1 || got[0].Key != spec.ControlPlaneLabel || got[0].Operator != "DoesNotExist" {
		t.Errorf("worker selector: %+v", p.Spec.NodeSelector)
	}
}

// TestCompileWritesRangesPortByPortBefore116: the CRD of Cilium before 1.16 has no endPort and the API server prunes
// it, so a range written as one entry would open (or deny) only its first port. Without ranges, each port of a range
// is its own entry, still at most 40 to a rule.
func TestCompileWritesRangesPortByPortBefore116(t *testing.T) {
	rule := spec.PolicyRule{Entities: []string{"world"}, Ports: []string{"6443/tcp", "50000-50001/tcp", "30000-30044/udp"}}
	p := CompilePolicy(spec.HostPolicy{Name: "p", Nodes: &spec.NodeMatch{}, Ingress: []spec.PolicyRule{rule}}, spec.CiliumPortRanges("1.13.4"))
	var got []string
	for _, r := range p.Spec.Ingress {
		if len(r.ToPorts) != 1 || len(r.ToPorts[0].Ports) > MaxPortsPerRule {
			t.Fatalf("rule over Cilium's limit: %+v", r)
		}
		for _, pp := range r.ToPorts[0].Ports {
			if pp.EndPort != 0 {
				t.Fatalf("endPort written for a chart whose CRD lacks it: %+v", pp)
			}
			got = append(got, pp.Port+"/"+pp.Protocol)
		}
	}
	want := []string{"6443/TCP", "50000/TCP", "50001/TCP"}
	for port := 30000; port <= 30044; port++ {
		want = append(want, fmt.Sprintf("%d/UDP", port))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}
	if len(p.Spec.Ingress) != 2 {
		t.Errorf("48 ports make %d rules, want 2", len(p.Spec.Ingress))
	}
	// From 1.16 the range stays one entry.
	p = CompilePolicy(spec.HostPolicy{Name: "p", Nodes: &spec.NodeMatch{}, Ingress: []spec.PolicyRule{rule}}, spec.CiliumPortRanges("~1.16.0"))
	if ports := p.Spec.Ingress[0].ToPorts[0].Ports; len(ports) != 3 || ports[1].EndPort != 50001 {
		t.Errorf("1.16 ports: %+v", ports)
	}
}

func TestLabelFilter(t *testing.T) {
	for key, filtered := range map[string]bool{
		"kubernetes.io/hostname":      true,
		"kubernetes.io/os":            true,
		"beta.kubernetes.io/arch":     true,
		"k8s.io/x":                    true,
		"io.kubernetes.pod.namespace": true,
		spec.ControlPlaneLabel:        false,
		"topology.kubernetes.io/zone": false,
		"storage":                     false,
	} {
		if LabelFiltered(key) != filtered {
			t.Errorf("LabelFiltered(%q) = %v, want %v", key, !filtered, filtered)
		}
	}
	n := spec.Node{Name: "n1", Roles: []string{spec.RoleControlPlane}}
	if !NodeMatcher(NodeSelector(spec.NodeMatch{Role: spec.RoleControlPlane}), true)(n) {
		t.Error("control-plane selector misses a control plane")
	}
	byHostname := NodeSelector(spec.NodeMatch{Labels: map[string]string{"kubernetes.io/hostname": "n1"}})
	if NodeMatcher(byHostname, true)(n) {
		t.Error("a hostname selector matched, but Cilium filters kubernetes.io labels away")
	}
	if !NodeMatcher(byHostname, false)(n) {
		t.Error("without the label filter, a hostname selector misses its node")
	}
	if NodeMatcher(NodeSelector(spec.NodeMatch{Labels: map[string]string{"bad key!": "x"}}), false)(n) {
		t.Error("a selector that does not compile matched")
	}
}
