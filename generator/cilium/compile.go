package cilium

import (
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kronform/kronform-gen/generator/spec"
)

// MaxPortsPerRule and MaxICMPFieldsPerRule are Cilium's limits per toPorts and icmps entry.
const (
	MaxPortsPerRule      = 40
	MaxICMPFieldsPerRule = 40
)

// CompilePolicy turns one host policy into a CiliumClusterwideNetworkPolicy. Each spec rule becomes one Cilium rule per
// peer kind, with ICMP apart from ports and at most 40 ports or ICMP types each, since Cilium rejects anything else.
// ranges says whether the cluster's CRD has endPort (spec.CiliumPortRanges); without it each port of a range is written
// on its own, since the API server would prune endPort and leave only the range's first port.
func CompilePolicy(p spec.HostPolicy, ranges bool) ClusterwideNetworkPolicy {
	out := ClusterwideNetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "cilium.io/v2", Kind: "CiliumClusterwideNetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: p.Name},
		Spec: PolicySpec{
			Description:  p.Description,
			NodeSelector: NodeSelector(*p.Nodes),
		},
	}
	for _, r := range p.Ingress {
		out.Spec.Ingress = append(out.Spec.Ingress, ingressRules(r, ranges)...)
	}
	for _, r := range p.IngressDeny {
		out.Spec.IngressDeny = append(out.Spec.IngressDeny, ingressRules(r, ranges)...)
	}
	for _, r := range p.Egress {
		out.Spec.Egress = append(out.Spec.Egress, egressRules(r, ranges)...)
	}
	for _, r := range p.EgressDeny {
		out.Spec.EgressDeny = append(out.Spec.EgressDeny, egressRules(r, ranges)...)
	}
	return out
}

// NodeSelector is the label selector for a node match: a role becomes the control-plane label (present, or absent for
// workers, which Kubernetes does not label), labels become matchLabels.
func NodeSelector(m spec.NodeMatch) *metav1.LabelSelector {
	sel := &metav1.LabelSelector{}
	switch m.Role {
	case spec.RoleControlPlane:
		sel.MatchLabels = map[string]string{spec.ControlPlaneLabel: ""}
	case spec.RoleWorker:
		sel.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: spec.ControlPlaneLabel, Operator: metav1.LabelSelectorOpDoesNotExist}}
	}
	for k, v := range m.Labels {
		if sel.MatchLabels == nil {
			sel.MatchLabels = map[string]string{}
		}
		sel.MatchLabels[k] = v
	}
	return sel
}

// peers is one kind of peer of a spec rule, in Cilium's terms.
type peers struct {
	entities  []string
	endpoints []metav1.LabelSelector
	cidr      []string
	cidrSet   []CIDRRule
}

// peerKinds splits a rule's peers by kind, in a fixed order; a rule without peers yields one empty group (any peer).
func peerKinds(r spec.PolicyRule) []peers {
	var out []peers
	if len(r.Entities) > 0 {
		out = append(out, peers{entities: slices.Clone(r.Entities)})
	}
	if len(r.Endpoints) > 0 {
		var eps []metav1.LabelSelector
		for _, labels := range r.Endpoints {
			eps = append(eps, metav1.LabelSelector{MatchLabels: labels})
		}
		out = append(out, peers{endpoints: eps})
	}
	if len(r.CIDRs) > 0 {
		holes := slices.ContainsFunc(r.CIDRs, func(c spec.CIDRPeer) bool { return len(c.Except) > 0 })
		var p peers
		for _, c := range r.CIDRs {
			if holes {
				p.cidrSet = append(p.cidrSet, CIDRRule{CIDR: c.CIDR, Except: c.Except})
			} else {
				p.cidr = append(p.cidr, c.CIDR)
			}
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		out = append(out, peers{})
	}
	return out
}

// l4 is the port or ICMP part of one Cilium rule.
type l4 struct {
	ports []PortRule
	icmps []ICMPRule
}

// l4Parts splits a rule's ports and ICMP types into Cilium-sized pieces; a rule with neither yields one empty piece
// (all ports). Without ranges, a range becomes its single ports (the spec bounds how many: spec.MaxExpandedPorts).
func l4Parts(r spec.PolicyRule, ranges bool) []l4 {
	var out []l4
	var ports []PortProtocol
	for _, s := range r.Ports {
		p, _ := spec.ParsePort(s) // validated when the spec was loaded
		proto := strings.ToUpper(p.Protocol)
		if !ranges {
			for port := p.Low; port <= p.High; port++ {
				ports = append(ports, PortProtocol{Port: strconv.Itoa(port), Protocol: proto})
			}
			continue
		}
		pp := PortProtocol{Port: strconv.Itoa(p.Low), Protocol: proto}
		if p.High != p.Low {
			pp.EndPort = int32(p.High)
		}
		ports = append(ports, pp)
	}
	for chunk := range slices.Chunk(ports, MaxPortsPerRule) {
		out = append(out, l4{ports: []PortRule{{Ports: chunk}}})
	}
	var fields []ICMPField
	for _, t := range r.ICMP {
		family := t.Family
		if family == "" {
			family = "IPv4"
		}
		fields = append(fields, ICMPField{Type: t.Type.Number, Family: family}) // validated: never nil, a name made its number
	}
	for chunk := range slices.Chunk(fields, MaxICMPFieldsPerRule) {
		out = append(out, l4{icmps: []ICMPRule{{Fields: chunk}}})
	}
	if len(out) == 0 {
		out = append(out, l4{})
	}
	return out
}

func ingressRules(r spec.PolicyRule, ranges bool) []IngressRule {
	var out []IngressRule
	for _, p := range peerKinds(r) {
		for _, l := range l4Parts(r, ranges) {
			out = append(out, IngressRule{
				FromEntities: p.entities, FromEndpoints: p.endpoints, FromCIDR: p.cidr, FromCIDRSet: p.cidrSet,
				ToPorts: l.ports, ICMPs: l.icmps,
			})
		}
	}
	return out
}

func egressRules(r spec.PolicyRule, ranges bool) []EgressRule {
	var out []EgressRule
	for _, p := range peerKinds(r) {
		for _, l := range l4Parts(r, ranges) {
			out = append(out, EgressRule{
				ToEntities: p.entities, ToEndpoints: p.endpoints, ToCIDR: p.cidr, ToCIDRSet: p.cidrSet,
				ToPorts: l.ports, ICMPs: l.icmps,
			})
		}
	}
	return out
}

// HasPortRange says whether a policy has a port range (an endPort) in any rule: what WithoutPortRanges shrinks.
func HasPortRange(p ClusterwideNetworkPolicy) bool {
	var rules [][]PortRule
	for _, r := range slices.Concat(p.Spec.Ingress, p.Spec.IngressDeny) {
		rules = append(rules, r.ToPorts)
	}
	for _, r := range slices.Concat(p.Spec.Egress, p.Spec.EgressDeny) {
		rules = append(rules, r.ToPorts)
	}
	for _, ports := range rules {
		for _, pr := range ports {
			if slices.ContainsFunc(pr.Ports, func(pp PortProtocol) bool { return pp.EndPort != 0 }) {
				return true
			}
		}
	}
	return false
}

// WithoutPortRanges is a policy as an agent without port ranges enforces it (ranges false: a chart before 1.16, whose
// agent and CRD have no endPort): every range shrinks to its first port. A policy written for 1.16 or later still
// applied after a downgrade is enforced so. The policy given is not changed.
func WithoutPortRanges(p ClusterwideNetworkPolicy) ClusterwideNetworkPolicy {
	shrink := func(ports []PortRule) []PortRule {
		if len(ports) == 0 {
			return ports
		}
		out := make([]PortRule, len(ports))
		for i, pr := range ports {
			out[i] = PortRule{Ports: slices.Clone(pr.Ports)}
			for j := range out[i].Ports {
				out[i].Ports[j].EndPort = 0
			}
		}
		return out
	}
	ingress := func(rules []IngressRule) []IngressRule {
		out := slices.Clone(rules)
		for i := range out {
			out[i].ToPorts = shrink(out[i].ToPorts)
		}
		return out
	}
	egress := func(rules []EgressRule) []EgressRule {
		out := slices.Clone(rules)
		for i := range out {
			out[i].ToPorts = shrink(out[i].ToPorts)
		}
		return out
	}
	p.Spec.Ingress, p.Spec.IngressDeny = ingress(p.Spec.Ingress), ingress(p.Spec.IngressDeny)
	p.Spec.Egress, p.Spec.EgressDeny = egress(p.Spec.Egress), egress(p.Spec.EgressDeny)
	return p
}
