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
		ICMP:      []spec.ICMPType{{Type: 8}},
	}
	p := CompilePolicy(spec.HostPolicy{Name: "p", Nodes: &spec.NodeMatch{}, Ingress: []spec.PolicyRule{rule}})
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
	})
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
