package firewall

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kronform/kronform-gen/generator/cilium"
	"github.com/kronform/kronform-gen/generator/spec"
)

// Simulator answers, for one cluster, what the Robot firewall and Cilium do with a flow. It evaluates what is applied
// (the compiled CiliumClusterwideNetworkPolicy objects and the generated template), not the spec's rules, so that a
// compiler bug shows up as a wrong verdict.
type Simulator struct {
	Cluster  spec.Cluster
	Policies []cilium.ClusterwideNetworkPolicy // evaluated in name order
	Template *Template                         // nil when the cluster has no Hetzner block

	// rejected remembers RejectedBy per policy name, rules the rules of a policy per direction, gathered those of
	// the policies that select a node per node and direction, selects whether a policy selects a node, byName the
	// policies in name order: a fleet's built-in assertions evaluate thousands of flows against the same few
	// policies and nodes. The policies are not edited after the first verdict.
	rejected map[string][]string
	rules    map[ruleKey]policyRules
	gathered map[nodeKey]nodeRules
	selects  map[[2]string]selection
	matchers map[string][2]func(spec.Node) bool // per policy: Cilium's match, and the match without its label filter
	byName   []cilium.ClusterwideNetworkPolicy  // Policies sorted by name
	cuts     []netip.Prefix                     // boundaries: the address ranges the layers name
	families cilium.Families                    // the address families the agents handle
	// agents are the release(s) the agents run (the chart's, or the image the values pin); solicitations says
	// whether they hand the node's neighbour solicitations to the host policies, for ingress and egress (any release
	// they may run doing so counts).
	agents        cilium.Agents
	solicitations [2]bool
	// agentsName names the releases of one agentClass in messages; "" for agents judged as all their releases at once
	// (see handing).
	agentsName string
	// tunnels are the UDP ports of Cilium's tunnels between nodes (the overlay's, WireGuard's), and the source ports
	// each sends from.
	tunnels map[int]tunnel
}

// WireGuardPort is the UDP port Cilium's WireGuard listens on and sends from, on every node.
const WireGuardPort = 51871

// tunnel is one of Cilium's tunnels between nodes: the source ports its packets may leave from (the kernel picks one
// per inner flow), and its name for messages.
type tunnel struct {
	name     string
	low, top int
}

// tunnelsOf are the cluster's tunnels between nodes. The overlay's port (VXLAN, Geneve, tunnelPort) is sent to from
// a port the kernel picks by a hash of the inner flow, udp_flow_src_port(net, skb, min, max, ...) in
// include/net/udp.h: ((hash * (max - min)) >> 32) + min with a 32-bit hash, so min to max-1, never max. VXLAN with no
// range of the device takes the local port range, 32768 and 60999, so 32768-60998 (Cilium's tunnelSourcePortRange
// left at its default 0-0); Geneve takes 1 and USHRT_MAX (drivers/net/geneve.c; Cilium 1.20's setupGeneveDevice in
// pkg/datapath/loader/netlink.go sets 1-65535 for 0-0 too), so 1-65534. WireGuard sends from 51871 to 51871.
func tunnelsOf(c spec.Cluster) map[int]tunnel {
	out := map[int]tunnel{}
	if o := cilium.OverlayOf(c); o.Port != 0 {
		t := tunnel{name: o.Name(), low: EphemeralPort, top: 60999 - 1}
		if o.Protocol == "geneve" {
			t.low, t.top = 1, 65535-1
		}
		out[o.Port] = t
	}
	if c.Cilium.Encryption == "wireguard" {
		out[WireGuardPort] = tunnel{name: "WireGuard", low: WireGuardPort, top: WireGuardPort}
	}
	return out
}

// tunnelOf is the tunnel a flow is a packet of, if any: a UDP flow between nodes to a tunnel's port. A tunnel gets
// no replies: the packets back are the other node's own flow to that port.
func (s *Simulator) tunnelOf(f Flow) (tunnel, bool) {
	if f.Source.Kind != spec.SourceNode || f.port.Protocol != "udp" {
		return tunnel{}, false
	}
	t, ok := s.tunnels[f.port.Port]
	return t, ok
}

type ruleKey struct {
	policy string
	egress bool
}

type policyRules struct{ allow, deny []rule }

type nodeKey struct {
	node   string
	egress bool
}

// anyEgress says whether any of the cluster's host policies has egress rules: without one, no node is under egress
// default deny, and the egress lints have nothing to find.
func (s *Simulator) anyEgress() bool {
	for _, p := range s.sortedPolicies() {
		if a, d := s.rulesOf(p, true); len(a)+len(d) > 0 {
			return true
		}
	}
	return false
}

// rulesOf is rulesOf, computed once per policy and direction.
func (s *Simulator) rulesOf(p cilium.ClusterwideNetworkPolicy, egress bool) (allow, deny []rule) {
	k := ruleKey{p.Name, egress}
	if r, ok := s.rules[k]; ok {
		return r.allow, r.deny
	}
	if s.rules == nil {
		s.rules = map[ruleKey]policyRules{}
	}
	allow, deny = rulesOf(p, egress)
	s.rules[k] = policyRules{allow, deny}
	return allow, deny
}

// selection is whether a policy selects a node (after Cilium's label filter), and whether it would if the filter
// did not hide the labels it matches.
type selection struct{ selects, hidden bool }

// selectsNode says whether a policy picks a node as Cilium matches, and whether it would without the label filter;
// once per policy and node.
func (s *Simulator) selectsNode(p cilium.ClusterwideNetworkPolicy, n spec.Node) selection {
	k := [2]string{p.Name, n.Name}
	if sel, seen := s.selects[k]; seen {
		return sel
	}
	if s.selects == nil {
		s.selects = map[[2]string]selection{}
	}
	match, ok := s.matchers[p.Name]
	if !ok {
		if s.matchers == nil {
			s.matchers = map[string][2]func(spec.Node) bool{}
		}
		match = [2]func(spec.Node) bool{cilium.NodeMatcher(p.Spec.NodeSelector, true), cilium.NodeMatcher(p.Spec.NodeSelector, false)}
		s.matchers[p.Name] = match
	}
	var sel selection
	if sel.selects = match[0](n); !sel.selects {
		sel.hidden = match[1](n)
	}
	s.selects[k] = sel
	return sel
}

// rejectedBy is RejectedBy, computed once per policy.
func (s *Simulator) rejectedBy(p cilium.ClusterwideNetworkPolicy) []string {
	if why, ok := s.rejected[p.Name]; ok {
		return why
	}
	if s.rejected == nil {
		s.rejected = map[string][]string{}
	}
	why := RejectedBy(p)
	s.rejected[p.Name] = why
	return why
}

// NewSimulator compiles the cluster's host policies and template.
func NewSimulator(c spec.Cluster) *Simulator { return NewSimulatorWith(c, compiledPolicies(c)) }

// compiledPolicies are the cluster's host policies as the tree writes them: with port ranges where the chart's CRD
// has endPort (spec.CiliumPortRanges).
func compiledPolicies(c spec.Cluster) []cilium.ClusterwideNetworkPolicy {
	var policies []cilium.ClusterwideNetworkPolicy
	for _, p := range c.HostPolicies {
		policies = append(policies, cilium.CompilePolicy(p, spec.CiliumPortRanges(c.Cilium.Version)))
	}
	return policies
}

// NewSimulatorWith evaluates the cluster's Cilium settings and template with the given policies in place of the ones
// its spec compiles to: those still applied while Flux has rolled out new Cilium settings but not the new policies.
// Agents that all run a release without port ranges (before 1.16, as the values may pin) enforce a range as its first
// port; agents that may run releases whose verdicts differ are judged as each by Verify, VerifyWith and
// ExplainAssertion (agentClasses), and here with the policies as written and the neighbour solicitations of any.
func NewSimulatorWith(c spec.Cluster, policies []cilium.ClusterwideNetworkPolicy) *Simulator {
	agents := cilium.AgentsOf(c.Cilium.Version, c.Cilium.Values)
	if without, with := endPortAgents(agents); without && !with {
		policies = withoutPortRanges(policies)
	}
	return newSimulator(c, agents, policies)
}

// newSimulator is NewSimulatorWith with the policies as the agents enforce them.
func newSimulator(c spec.Cluster, agents cilium.Agents, policies []cilium.ClusterwideNetworkPolicy) *Simulator {
	s := &Simulator{Cluster: c, Policies: policies, families: cilium.FamiliesOf(c)}
	s.agents = agents
	s.solicitations = solicitationsOf(s.agents)
	s.tunnels = tunnelsOf(c)
	if t, ok := BuildTemplate(c); ok {
		s.Template = &t
	}
	return s
}

// Flow is one packet's journey: a sender, a destination node, a port or ICMP type.
type Flow struct {
	Source     spec.FlowSource `json:"-"`
	From       string          `json:"from"`
	SourceNode string          `json:"sourceNode,omitempty"`
	SourceAddr netip.Addr      `json:"sourceAddress,omitzero"`
	To         string          `json:"to"`
	ToAddr     netip.Addr      `json:"toAddress,omitzero"`
	Port       string          `json:"port"`
	port       spec.FlowPort
}

func (f Flow) String() string {
	to := f.To
	if f.ToAddr.IsValid() {
		to += " " + f.ToAddr.String()
	}
	return fmt.Sprintf("%s -> %s %s", f.From, to, f.Port)
}

// worldAddresses stand for "anyone on the internet": documentation ranges, so no real allow list holds them.
var worldAddresses = map[bool][]string{
	false: {"203.0.113.1", "198.51.100.1", "192.0.2.1"},
	true:  {"2001:db8::1", "2001:db8:1::1", "2001:db8:2::1"},
}

func (s *Simulator) node(name string) spec.Node {
	for _, n := range s.Cluster.Nodes {
		if n.Name == name {
			return n
		}
	}
	panic("firewall: unknown node " + name) // targets come from spec.ParseFlowTarget
}

// family picks the address family of a flow: ICMP says it; otherwise IPv4 unless the nodes involved have IPv6 only,
// or the cluster runs IPv6 only (Cilium's ipv4.enabled false, ipv6.enabled true) and every node involved has an IPv6
// address: then the node IPs, the overlay and the pods are IPv6, and so is traffic between dual-stack hosts.
func (s *Simulator) family(port spec.FlowPort, nodes ...spec.Node) (v6 bool) {
	if port.Protocol == "icmp" {
		return port.Family == "IPv6"
	}
	all6 := true
	for _, n := range nodes {
		_, has4 := spec.HostAddress(n, false)
		_, has6 := spec.HostAddress(n, true)
		if !has4 && has6 {
			return true
		}
		all6 = all6 && (has6 || len(n.Addresses) == 0)
	}
	return all6 && s.families.IPv6 && !s.families.IPv4
}

// worldFamilies are the address families a world flow to a node is tested in (false IPv4, true IPv6): the ICMP
// family when the port names one, else every family the node has an address in, else IPv4 as family says.
func (s *Simulator) worldFamilies(port spec.FlowPort, dst spec.Node) []bool {
	if port.Protocol == "icmp" {
		return []bool{port.Family == "IPv6"}
	}
	var out []bool
	for _, v6 := range []bool{false, true} {
		if _, ok := spec.HostAddress(dst, v6); ok {
			out = append(out, v6)
		}
	}
	if len(out) == 0 {
		return []bool{s.family(port, dst)}
	}
	return out
}

// Flows expands a source and destinations into single flows: one per admin source, per sending node and per node.
// Pairs whose address families cannot meet (an IPv6 admin source, an IPv4-only node) are left out; none left is an
// error.
func (s *Simulator) Flows(src spec.FlowSource, targets []string, port spec.FlowPort) ([]Flow, error) {
	var out []Flow
	for _, t := range targets {
		dst := s.node(t)
		base := Flow{Source: src, To: dst.Name, Port: port.String(), port: port}
		switch src.Kind {
		case spec.SourceAdmin:
			for _, p := range s.Cluster.Hetzner.AdminPrefixes() {
				if port.Protocol == "icmp" && p.Addr().Is6() != (port.Family == "IPv6") {
					continue
				}
				if _, has := spec.HostAddress(dst, p.Addr().Is6()); !has && len(dst.Addresses) > 0 {
					continue
				}
				// Every address of an admin CIDR must get in, not just its first: one flow per piece the layers'
				// boundaries cut it into, each naming its address.
				for _, a := range pieces(p, s.boundaries()) {
					f := base
					f.From, f.SourceAddr = "admin "+a.String(), a
					if p.Bits() != a.BitLen() {
						f.From += " (in " + p.String() + ")"
					}
					f.ToAddr, _ = spec.HostAddress(dst, a.Is6())
					out = append(out, f)
				}
			}
		case spec.SourceWorld:
			// The internet reaches a node over every family it has an address in, and the layers may treat the
			// families differently (Robot passes IPv6 unless filter_ipv6): one flow per family. ICMP names its own.
			for _, v6 := range s.worldFamilies(port, dst) {
				f := base
				f.SourceAddr = s.worldAddress(v6)
				f.From = "world " + f.SourceAddr.String()
				f.ToAddr, _ = spec.HostAddress(dst, v6)
				out = append(out, f)
			}
		case spec.SourceAddress:
			if port.Protocol == "icmp" && src.Prefix.Addr().Is6() != (port.Family == "IPv6") {
				continue
			}
			// A CIDR stands for all its addresses: one flow per piece, as for the admin sources.
			for _, a := range pieces(src.Prefix, s.boundaries()) {
				f := base
				f.SourceAddr, f.From = a, a.String()
				if src.Prefix.Bits() != a.BitLen() {
					f.From = fmt.Sprintf("%s (in %s)", a, src.Prefix)
				}
				f.ToAddr, _ = spec.HostAddress(dst, a.Is6())
				out = append(out, f)
			}
		case spec.SourceNode:
			for _, name := range src.Nodes {
				if name == dst.Name && len(src.Nodes) > 1 {
					continue // a role reaching its own members means the other nodes
				}
				if f, ok := s.nodeFlow(base, src, name, dst, port); ok {
					out = append(out, f)
				}
			}
		case spec.SourceEntity:
			// remote-node is every other node of the cluster, kube-apiserver the API server on every other control
			// plane (it runs in their host network), and their packets come from those nodes' own addresses: through
			// the Robot firewall, which filters by address, their host egress, and Robot again for the replies. One
			// flow per such node, as for a role's members; with none in the spec, the entity alone (Cilium's view).
			if senders := s.entityNodes(src.Entity, dst.Name); len(senders) > 0 {
				for _, name := range senders {
					f, _ := s.nodeFlow(base, spec.FlowSource{Kind: spec.SourceNode, Text: src.Text, Nodes: []string{name}}, name, dst, port)
					f.From = src.Entity + " " + name
					out = append(out, f)
				}
				continue
			}
			f := base
			f.From = "entity " + src.Entity
			out = append(out, f)
		case spec.SourcePod:
			f := base
			f.From = "pod " + formatLabels(src.Labels)
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no flow from %s to %s over %s: the address families do not meet", src.Text, strings.Join(targets, ", "), port)
	}
	return out, nil
}

// nodeFlow is the flow from the node name to dst: from the node's address in the flow's family, or from the address
// src was written as (the node sends from it, in its family); false when that address's family is not the ICMP's.
func (s *Simulator) nodeFlow(base Flow, src spec.FlowSource, name string, dst spec.Node, port spec.FlowPort) (Flow, bool) {
	from := s.node(name)
	v6 := s.family(port, from, dst)
	f := base
	f.Source = src
	f.SourceNode, f.From = name, name
	f.SourceAddr, _ = spec.HostAddress(from, v6)
	if a := src.Prefix.Addr(); src.Prefix.IsValid() {
		if port.Protocol == "icmp" && a.Is6() != (port.Family == "IPv6") {
			return Flow{}, false
		}
		v6, f.SourceAddr, f.From = a.Is6(), a, name+" "+a.String()
	}
	f.ToAddr, _ = spec.HostAddress(dst, v6)
	return f, true
}

// nodeEntities are the entities that stand for other nodes sending from their own addresses, and the nodes each
// covers: every node (remote-node), or the control planes, where the API server runs in the host network.
var nodeEntities = map[string]func(spec.Node) bool{
	"remote-node":    func(spec.Node) bool { return true },
	"kube-apiserver": func(n spec.Node) bool { return slices.Contains(n.Roles, spec.RoleControlPlane) },
}

// entityNodes are the nodes other than dst, in spec order, that the entity stands for: none for an entity that is
// no node, or when the spec has no such node besides dst.
func (s *Simulator) entityNodes(entity, dst string) []string {
	covers, ok := nodeEntities[entity]
	if !ok {
		return nil
	}
	var out []string
	for _, n := range s.Cluster.Nodes {
		if n.Name != dst && covers(n) {
			out = append(out, n.Name)
		}
	}
	return out
}

func (s *Simulator) worldAddress(v6 bool) netip.Addr {
	var admins []netip.Prefix
	if s.Cluster.Hetzner != nil {
		admins = s.Cluster.Hetzner.AdminPrefixes()
	}
	for _, c := range worldAddresses[v6] {
		a := netip.MustParseAddr(c)
		if !slices.ContainsFunc(admins, func(p netip.Prefix) bool { return p.Contains(a) }) {
			return a
		}
	}
	return netip.MustParseAddr(worldAddresses[v6][0])
}

func formatLabels(l map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(l)) {
		parts = append(parts, k+"="+l[k])
	}
	return strings.Join(parts, ",")
}

// identity is a peer as Cilium's policy engine sees it: reserved labels (the entities it belongs to), pod labels for
// a cluster pod, and for world an address that CIDR peers match.
type identity struct {
	entities []string
	pod      map[string]string
	addr     netip.Addr
}

func (id identity) String() string {
	switch {
	case id.pod != nil:
		return "pod " + formatLabels(id.pod)
	case id.addr.IsValid():
		return strings.Join(id.entities, "+") + " " + id.addr.String()
	}
	return strings.Join(id.entities, "+")
}

// nodeIdentity is how a node's address looks from another node: remote-node, plus kube-apiserver for the address a
// control plane's API server advertises. Cilium gives that identity to the backends of the kubernetes Service
// (pkg/ipcache/cell/apiserver_watcher.go; pkg/k8s/watchers/endpoint.go before 1.16), and an API server advertises
// one address, in the family of the cluster's services; its other addresses, of either family, are a plain
// remote-node. Which one the spec does not say: it is taken to be the address the model sends the node's own traffic
// from (see advertisedAddress). The node itself is host, one identity for all its addresses, which Cilium labels
// kube-apiserver too on a control plane. A node without addresses in the spec is judged as Cilium names it,
// kube-apiserver included.
func (s *Simulator) nodeIdentity(n spec.Node, local bool, addr netip.Addr) identity {
	id := identity{entities: []string{"remote-node"}}
	if local {
		id.entities = []string{"host"}
	}
	if slices.Contains(n.Roles, spec.RoleControlPlane) && (local || len(n.Addresses) == 0 || s.advertisedAddress(n) == addr.Unmap().WithZone("")) {
		id.entities = append(id.entities, "kube-apiserver")
	}
	return id
}

// advertisedAddress is the address a control plane's API server advertises: the node's first address in the family
// the model gives its traffic (Simulator.family), IPv4 unless the node has no IPv4 address or the agents run IPv6
// only; the zero address when it has none. Kubernetes wants the advertised address in the family of the cluster's
// first service range, and Talos' default ranges are IPv4; an IPv6-first dual-stack cluster is outside what the model
// tells apart. A second address of that family is not advertised: the node sends from its first (spec.HostAddress).
func (s *Simulator) advertisedAddress(n spec.Node) netip.Addr {
	_, has4 := spec.HostAddress(n, false)
	_, has6 := spec.HostAddress(n, true)
	a, _ := spec.HostAddress(n, has6 && (!has4 || !s.families.IPv4))
	return a
}

func (s *Simulator) sourceIdentity(f Flow) identity {
	switch f.Source.Kind {
	case spec.SourceAdmin, spec.SourceWorld, spec.SourceAddress:
		return identity{entities: []string{"world"}, addr: f.SourceAddr}
	case spec.SourceNode:
		return s.nodeIdentity(s.node(f.SourceNode), f.SourceNode == f.To, f.SourceAddr)
	case spec.SourceEntity:
		return identity{entities: []string{f.Source.Entity}}
	default:
		return identity{pod: f.Source.Labels}
	}
}

// clusterEntities are what the entity cluster stands for besides the cluster's pods (pkg/policy/api/entity.go).
var clusterEntities = []string{"host", "remote-node", "init", "ingress", "health", "unmanaged", "kube-apiserver"}

func entityMatches(entity string, id identity) bool {
	switch entity {
	case "all":
		return true
	case "none":
		return false
	case "cluster":
		return id.pod != nil || slices.ContainsFunc(id.entities, func(e string) bool { return slices.Contains(clusterEntities, e) })
	}
	return slices.Contains(id.entities, entity)
}

// rule is an ingress or egress rule of a compiled policy, with the peer on the other side of the node.
type rule struct {
	policy, kind string
	index        int
	entities     []string
	endpoints    []metav1.LabelSelector
	cidr         []string
	cidrSet      []cilium.CIDRRule
	ports        []cilium.PortRule
	icmps        []cilium.ICMPRule
	peerField    string // fromEntities or toEntities, for messages
}

func (r rule) ref() string { return fmt.Sprintf("%s %s[%d]", r.policy, r.kind, r.index) }

func (r rule) describe() string {
	var parts []string
	prefix := "from"
	if strings.HasPrefix(r.kind, "egress") {
		prefix = "to"
	}
	switch {
	case r.entities != nil:
		parts = append(parts, fmt.Sprintf("%sEntities [%s]", prefix, strings.Join(r.entities, " ")))
	case r.endpoints != nil:
		var sels []string
		for _, e := range r.endpoints {
			sels = append(sels, formatLabels(e.MatchLabels))
		}
		parts = append(parts, fmt.Sprintf("%sEndpoints [%s]", prefix, strings.Join(sels, " ")))
	case r.cidr != nil:
		parts = append(parts, fmt.Sprintf("%sCIDR [%s]", prefix, strings.Join(r.cidr, " ")))
	case r.cidrSet != nil:
		var cs []string
		for _, c := range r.cidrSet {
			cs = append(cs, c.CIDR+" except "+strings.Join(c.Except, ","))
		}
		parts = append(parts, fmt.Sprintf("%sCIDRSet [%s]", prefix, strings.Join(cs, "; ")))
	default:
		parts = append(parts, "any peer")
	}
	if len(r.ports) > 0 {
		var ps []string
		for _, pr := range r.ports {
			for _, p := range pr.Ports {
				s := p.Port
				if p.EndPort != 0 {
					s += "-" + strconv.Itoa(int(p.EndPort))
				}
				ps = append(ps, s+"/"+p.Protocol)
			}
		}
		parts = append(parts, "toPorts ["+strings.Join(ps, " ")+"]")
	}
	if len(r.icmps) > 0 {
		var fs []string
		for _, ir := range r.icmps {
			for _, f := range ir.Fields {
				fs = append(fs, fmt.Sprintf("%s type %d", icmpFamily(f.Family), f.Type))
			}
		}
		parts = append(parts, "icmps ["+strings.Join(fs, ", ")+"]")
	}
	if len(r.ports) == 0 && len(r.icmps) == 0 {
		parts = append(parts, "every port")
	}
	return strings.Join(parts, ", ")
}

func icmpFamily(f string) string {
	if f == "" {
		return "IPv4"
	}
	return f
}

func (r rule) peerMatches(id identity) bool {
	switch {
	case r.entities != nil:
		return slices.ContainsFunc(r.entities, func(e string) bool { return entityMatches(e, id) })
	case r.endpoints != nil:
		if id.pod == nil {
			return false
		}
		return slices.ContainsFunc(r.endpoints, func(sel metav1.LabelSelector) bool {
			s, err := metav1.LabelSelectorAsSelector(&sel)
			return err == nil && s.Matches(labels.Set(id.pod))
		})
	case r.cidr != nil, r.cidrSet != nil:
		// CIDR peers match world addresses only: nodes and pods carry their own identities (language.rst).
		if !slices.Contains(id.entities, "world") || !id.addr.IsValid() {
			return false
		}
		for _, c := range r.cidr {
			if p, err := netip.ParsePrefix(c); err == nil && p.Contains(id.addr) {
				return true
			}
		}
		for _, c := range r.cidrSet {
			p, err := netip.ParsePrefix(c.CIDR)
			if err != nil || !p.Contains(id.addr) {
				continue
			}
			if !slices.ContainsFunc(c.Except, func(x string) bool {
				xp, err := netip.ParsePrefix(x)
				return err == nil && xp.Contains(id.addr)
			}) {
				return true
			}
		}
		return false
	}
	return true
}

func (r rule) l4Matches(port spec.FlowPort) bool {
	if len(r.ports) == 0 && len(r.icmps) == 0 {
		return true
	}
	if port.Protocol == "icmp" {
		for _, ir := range r.icmps {
			for _, f := range ir.Fields {
				if icmpFamily(f.Family) == port.Family && f.Type == port.ICMPType {
					return true
				}
			}
		}
		return false
	}
	for _, pr := range r.ports {
		for _, p := range pr.Ports {
			proto := strings.ToLower(p.Protocol)
			if proto != "any" && proto != port.Protocol {
				continue
			}
			low, err := strconv.Atoi(p.Port)
			if err != nil {
				continue // a named port needs the pod's container ports; kronform-gen writes numbers
			}
			high := low
			if p.EndPort != 0 {
				high = int(p.EndPort)
			}
			if low == 0 || (port.Port >= low && port.Port <= high) {
				return true
			}
		}
	}
	return false
}

// rulesOf lists a policy's allow and deny rules for one direction.
func rulesOf(p cilium.ClusterwideNetworkPolicy, egress bool) (allow, deny []rule) {
	if egress {
		for i, r := range p.Spec.Egress {
			allow = append(allow, rule{policy: p.Name, kind: "egress", index: i, entities: r.ToEntities, endpoints: r.ToEndpoints, cidr: r.ToCIDR, cidrSet: r.ToCIDRSet, ports: r.ToPorts, icmps: r.ICMPs})
		}
		for i, r := range p.Spec.EgressDeny {
			deny = append(deny, rule{policy: p.Name, kind: "egressDeny", index: i, entities: r.ToEntities, endpoints: r.ToEndpoints, cidr: r.ToCIDR, cidrSet: r.ToCIDRSet, ports: r.ToPorts, icmps: r.ICMPs})
		}
		return allow, deny
	}
	for i, r := range p.Spec.Ingress {
		allow = append(allow, rule{policy: p.Name, kind: "ingress", index: i, entities: r.FromEntities, endpoints: r.FromEndpoints, cidr: r.FromCIDR, cidrSet: r.FromCIDRSet, ports: r.ToPorts, icmps: r.ICMPs})
	}
	for i, r := range p.Spec.IngressDeny {
		deny = append(deny, rule{policy: p.Name, kind: "ingressDeny", index: i, entities: r.FromEntities, endpoints: r.FromEndpoints, cidr: r.FromCIDR, cidrSet: r.FromCIDRSet, ports: r.ToPorts, icmps: r.ICMPs})
	}
	return allow, deny
}

// CiliumVerdict is what the host firewall of one node did with a flow in one direction, and which policy and rule
// decided.
type CiliumVerdict struct {
	Direction string   `json:"direction"` // ingress or egress
	Node      string   `json:"node"`
	Enforced  bool     `json:"enforced"` // a policy selects the node for this direction
	Allowed   bool     `json:"allowed"`
	Audit     bool     `json:"audit,omitempty"` // dropped once enforced; passes now because audit mode is on
	Policy    string   `json:"policy,omitempty"`
	Rule      string   `json:"rule,omitempty"`
	Selected  []string `json:"selectedBy,omitempty"`
	Reason    string   `json:"reason"`
	// policyDrop says the policies dropped it (a deny rule, or default deny): the one drop audit mode lets pass,
	// whether or not the cluster is in audit mode now.
	policyDrop bool
	// overAllow says a deny rule dropped what an allow rule lets through: without the deny it would pass.
	overAllow bool
}

// sortedPolicies is Policies in name order, the order verdicts evaluate them in, sorted once.
func (s *Simulator) sortedPolicies() []cilium.ClusterwideNetworkPolicy {
	if s.byName == nil {
		s.byName = slices.Clone(s.Policies)
		slices.SortFunc(s.byName, func(a, b cilium.ClusterwideNetworkPolicy) int { return strings.Compare(a.Name, b.Name) })
	}
	return s.byName
}

// ciliumVerdict runs a flow through a node's host firewall: policies select the node by its labels after Cilium's
// label filter; once one selects it for the direction, default deny; deny rules win; any allow rule admits.
func (s *Simulator) ciliumVerdict(n spec.Node, egress, v6 bool, peer identity, port spec.FlowPort, portText string) CiliumVerdict {
	dir := "ingress"
	if egress {
		dir = "egress"
	}
	v := CiliumVerdict{Direction: dir, Node: n.Name}
	if !*s.Cluster.Cilium.HostFirewall {
		v.Allowed, v.Reason = true, "hostFirewall is off: Cilium enforces no host policy"
		return v
	}
	if fam, key := "IPv4", "ipv4"; (!v6 && !s.families.IPv4) || (v6 && !s.families.IPv6) {
		// Not a policy verdict: the datapath drops the packet before any policy is asked, so audit mode does not
		// let it through either (bpf_host.c do_netdev; cilium/cilium#27484).
		if v6 {
			fam, key = "IPv6", "ipv6"
		}
		v.Enforced = true
		v.Reason = fmt.Sprintf("Cilium runs without %s (%s.enabled is false; the chart's default for %s): with the host firewall on, the agent drops every %s packet on %s's devices before any policy, audit mode or not (set cilium.values %s.enabled: true)",
			fam, key, key, fam, n.Name, key)
		return v
	}
	if port.Protocol == "icmp" && port.Family == "IPv6" {
		switch icmpv6PathOf(port.ICMPType, egress, s.solicitations) {
		case icmpv6Pass:
			v.Allowed = true
			v.Reason = fmt.Sprintf("Cilium passes %s around the host policies (a type RFC 4890 says a node needs)", portText)
			return v
		case icmpv6Drop:
			v.Enforced = true
			v.Reason = fmt.Sprintf("Cilium's host firewall drops %s before any policy (RFC 4890: not a type a node needs), audit mode or not", portText)
			return v
		}
	}
	on := s.nodeRules(n, egress)
	allow, deny, noteText := on.allow, on.deny, on.notes
	v.Selected = on.selected
	if len(v.Selected) == 0 {
		v.Allowed = true
		v.Reason = fmt.Sprintf("no host policy selects %s for %s: Cilium allows everything%s", n.Name, dir, noteText)
		return v
	}
	v.Enforced = true
	peerWord := "from"
	if egress {
		peerWord = "to"
	}
	for _, r := range deny {
		if r.peerMatches(peer) && r.l4Matches(port) {
			v.Policy, v.Rule = r.policy, fmt.Sprintf("%s[%d]", r.kind, r.index)
			v.Reason = fmt.Sprintf("%s (%s) denies %s %s %s; deny wins over every allow", r.ref(), r.describe(), portText, peerWord, peer)
			v.Audit, v.policyDrop = s.Cluster.Cilium.AuditMode, true
			v.overAllow = slices.ContainsFunc(allow, func(a rule) bool { return a.peerMatches(peer) && a.l4Matches(port) })
			return v
		}
	}
	for _, r := range allow {
		if r.peerMatches(peer) && r.l4Matches(port) {
			v.Allowed = true
			v.Policy, v.Rule = r.policy, fmt.Sprintf("%s[%d]", r.kind, r.index)
			v.Reason = fmt.Sprintf("%s (%s) allows %s %s %s", r.ref(), r.describe(), portText, peerWord, peer)
			return v
		}
	}
	v.Reason = fmt.Sprintf("default deny: %s selects %s for %s and no allow rule matches %s %s %s%s",
		strings.Join(v.Selected, ", "), n.Name, dir, portText, peerWord, peer, noteText)
	v.Audit, v.policyDrop = s.Cluster.Cilium.AuditMode, true
	return v
}

// nodeRules are the host policies' rules for one node and direction: the names of the policies that select it, in
// name order, their allow and deny rules in that order, and the note a verdict adds on the policies that would but
// do not take part (" (...)", or ""). They do not depend on the flow.
type nodeRules struct {
	selected    []string
	allow, deny []rule
	notes       string
}

// nodeRules gathers the rules every verdict on the node and direction weighs, once: a node's built-in assertions
// alone are a flow from each other node on each port, so gathering them per flow cost the square of the nodes
// times the policies. selected is clipped, so that a caller appending to a verdict's Selected does not write into
// the verdicts of other flows.
func (s *Simulator) nodeRules(n spec.Node, egress bool) nodeRules {
	k := nodeKey{n.Name, egress}
	if r, ok := s.gathered[k]; ok {
		return r
	}
	if s.gathered == nil {
		s.gathered = map[nodeKey]nodeRules{}
	}
	var r nodeRules
	var notes []string
	for _, p := range s.sortedPolicies() {
		a, d := s.rulesOf(p, egress)
		if len(a)+len(d) == 0 {
			continue
		}
		if problems := s.rejectedBy(p); len(problems) > 0 {
			notes = append(notes, fmt.Sprintf("%s is rejected by Cilium (%s) and enforces nothing", p.Name, problems[0]))
			continue
		}
		if sel := s.selectsNode(p, n); !sel.selects {
			if sel.hidden {
				notes = append(notes, fmt.Sprintf("%s would select %s but Cilium's label filter hides the labels it matches", p.Name, n.Name))
			}
			continue
		}
		r.selected = append(r.selected, p.Name)
		r.allow, r.deny = append(r.allow, a...), append(r.deny, d...)
	}
	r.selected = slices.Clip(r.selected)
	if len(notes) > 0 {
		r.notes = " (" + strings.Join(notes, "; ") + ")"
	}
	s.gathered[k] = r
	return r
}

// Trace is the whole answer for one flow: each layer's verdict with what decided, then the end result.
type Trace struct {
	Flow    Flow            `json:"flow"`
	Hetzner HetznerVerdict  `json:"hetzner"`
	Egress  *CiliumVerdict  `json:"egress,omitempty"` // the sending node's host firewall, for node-to-node flows
	Cilium  CiliumVerdict   `json:"cilium"`
	Reply   *HetznerVerdict `json:"reply,omitempty"` // the reply at the sending node's Robot firewall (stateless)
	// ByRelease holds the trace on each set of the releases the agents may run whose verdicts differ (see
	// ExplainAssertion); the layers above are then the first that denies it.
	ByRelease []ReleaseTrace `json:"byRelease,omitempty"`
	Allowed   bool           `json:"allowed"` // the verdict with every layer enforcing
	Passes    bool           `json:"passes"`  // what happens now: audit mode lets Cilium's drops through
	Result    string         `json:"result"`

	// passesInAudit is what would happen with audit mode on, whatever the cluster's mode: Passes for a cluster in
	// audit mode; for one out of it, whether audit mode would be a way to work on a failure.
	passesInAudit bool
}

// Verdict is allowed or denied, the enforced outcome.
func (t Trace) Verdict() string {
	if t.Allowed {
		return spec.Allowed
	}
	return spec.Denied
}

// familyGap says why a flow cannot exist: the destination node, or the sending node, has addresses but none in the
// flow's family; "" when it can. A node without addresses in the spec is not judged.
func (s *Simulator) familyGap(f Flow, dst spec.Node) string {
	famName := func(v6 bool) string {
		if v6 {
			return "IPv6"
		}
		return "IPv4"
	}
	if f.Source.Kind != spec.SourceNode {
		if f.SourceAddr.IsValid() && !f.ToAddr.IsValid() && len(dst.Addresses) > 0 {
			fam := famName(f.SourceAddr.Is6())
			return fmt.Sprintf("%s has no %s address (it has %s), so %s cannot reach it over %s", f.To, fam, strings.Join(dst.Addresses, ", "), f.SourceAddr, fam)
		}
		return ""
	}
	from := s.node(f.SourceNode)
	v6 := s.family(f.port, from, dst)
	if f.SourceAddr.IsValid() {
		v6 = f.SourceAddr.Is6()
	}
	fam := famName(v6)
	switch {
	case !f.SourceAddr.IsValid() && len(from.Addresses) > 0:
		return fmt.Sprintf("%s has no %s address (it has %s), so it cannot send to %s over %s", from.Name, fam, strings.Join(from.Addresses, ", "), f.To, fam)
	case !f.ToAddr.IsValid() && len(dst.Addresses) > 0:
		return fmt.Sprintf("%s has no %s address (it has %s), so %s cannot reach it over %s", f.To, fam, strings.Join(dst.Addresses, ", "), from.Name, fam)
	}
	return ""
}

// Explain traces one flow through the Robot firewall, the sender's host egress (node senders), the destination's
// host ingress and, for node-to-node flows, the reply's way back through the sender's Robot firewall.
func (s *Simulator) Explain(f Flow) Trace {
	t := Trace{Flow: f}
	dst := s.node(f.To)
	if f.Source.Kind == spec.SourceNode && f.SourceNode == f.To {
		t.Hetzner = HetznerVerdict{Reason: "local traffic never leaves " + f.To}
		t.Cilium = CiliumVerdict{Direction: "ingress", Node: f.To, Allowed: true, Reason: "local traffic on " + f.To + " does not cross the host firewall, which sits on the network devices"}
		t.Allowed, t.Passes, t.passesInAudit, t.Result = true, true, true, "allowed (local)"
		return t
	}
	if why := s.familyGap(f, dst); why != "" {
		// No packet can be addressed to the node (or sent by the sending node) in the flow's family, so the flow is
		// denied, whatever the firewalls say (they would be judging a packet that cannot exist).
		t.Hetzner = HetznerVerdict{Reason: why}
		t.Cilium = CiliumVerdict{Direction: "ingress", Node: f.To, Reason: "never reached: " + why}
		t.Result = "denied: " + why
		return t
	}
	t.Hetzner = s.hetzner(f)
	// The packet's family: its addresses' when it has them, else the ICMP family or the destination's (an entity or
	// a pod sends in the family the node is reached in).
	v6 := s.family(f.port, dst)
	if f.ToAddr.IsValid() {
		v6 = f.ToAddr.Is6()
	}
	// An IPv6 packet between addresses needs neighbour discovery at the node that sends or receives it.
	ndp := v6 && f.SourceAddr.IsValid() && !neighbourDiscoveryType(f.port)
	if f.Source.Kind == spec.SourceNode {
		e := s.ciliumVerdict(s.node(f.SourceNode), true, v6, s.nodeIdentity(dst, false, f.ToAddr), f.port, f.Port)
		if ndp {
			e = s.withNeighbourDiscovery(e, s.node(f.SourceNode))
		}
		t.Egress = &e
	}
	t.Cilium = s.ciliumVerdict(dst, false, v6, s.sourceIdentity(f), f.port, f.Port)
	if ndp {
		t.Cilium = s.withNeighbourDiscovery(t.Cilium, dst)
	}
	if _, tunnel := s.tunnelOf(f); tunnel && s.Template != nil && f.SourceAddr.IsValid() && f.ToAddr.IsValid() {
		t.Reply = &HetznerVerdict{Reason: fmt.Sprintf("a tunnel gets no replies: the packets back are %s's own flow to %s", f.To, f.Port)}
	} else if f.Source.Kind == spec.SourceNode && s.Template != nil && f.SourceAddr.IsValid() && f.ToAddr.IsValid() {
		reply := Packet{Src: f.ToAddr, Dst: f.SourceAddr, Protocol: f.port.Protocol}
		if f.port.Protocol != "icmp" {
			reply.SrcPort, reply.DstPort = f.port.Port, EphemeralPort
		}
		r := s.Template.Evaluate(reply)
		if f.port.Protocol == "tcp" {
			r = s.Template.EvaluateConnection(reply, []string{"syn", "ack"})
		}
		t.Reply = &r
	}
	hetznerOK := !t.Hetzner.Evaluated || t.Hetzner.Accepted
	replyOK := t.Reply == nil || !t.Reply.Evaluated || t.Reply.Accepted
	egressOK := t.Egress == nil || t.Egress.Allowed
	t.Allowed = hetznerOK && replyOK && egressOK && t.Cilium.Allowed
	t.Passes = hetznerOK && replyOK && (egressOK || t.Egress.Audit) && (t.Cilium.Allowed || t.Cilium.Audit)
	t.passesInAudit = hetznerOK && replyOK && (egressOK || t.Egress.policyDrop) && (t.Cilium.Allowed || t.Cilium.policyDrop)
	switch {
	case !hetznerOK:
		rule := ruleText(t.Hetzner)
		t.Result = fmt.Sprintf("denied: Hetzner discards it (%s)", rule)
		if t.Hetzner.Packet == PacketACK {
			t.Result = fmt.Sprintf("denied: Hetzner accepts the SYN but discards the connection's ACK packets (%s); Robot is stateless", rule)
		}
	case !egressOK || !t.Cilium.Allowed:
		layer := "Cilium at " + f.To
		if !egressOK {
			layer = "Cilium egress at " + f.SourceNode
		}
		t.Result = "denied by " + layer
		if t.Passes {
			t.Result += "; audit mode is on: would drop, passes"
		}
	case !replyOK:
		what := "the reply is"
		if t.Reply.Packet == PacketACK {
			what = "the reply's ACK packets (after its SYN-ACK) are"
		}
		t.Result = fmt.Sprintf("denied: %s discarded by Hetzner at %s (Robot is stateless; %s)", what, f.SourceNode, ruleText(*t.Reply))
	default:
		t.Result = "allowed"
	}
	return t
}

// ruleText names the rule that discarded a packet: `rule N "name"`, or that none accepts it.
func ruleText(v HetznerVerdict) string {
	if v.Rule == 0 {
		return "no rule accepts it"
	}
	return fmt.Sprintf("rule %d %q", v.Rule, v.RuleName)
}

func (s *Simulator) hetzner(f Flow) HetznerVerdict {
	if s.Template == nil {
		return HetznerVerdict{Reason: "the spec has no hetzner template"}
	}
	switch f.Source.Kind {
	case spec.SourceEntity:
		// Flows gives these the nodes' addresses whenever the spec has such a node besides the destination.
		switch f.Source.Entity {
		case "remote-node":
			return HetznerVerdict{Reason: "remote-node: the spec has no node besides " + f.To + ", so no address for the Robot firewall to filter; judged by the Cilium policies alone"}
		case "kube-apiserver":
			return HetznerVerdict{Reason: "kube-apiserver: the spec has no control plane besides " + f.To + ", so no address for the Robot firewall to filter; judged by the Cilium policies alone"}
		}
		return HetznerVerdict{Reason: "entity " + f.Source.Entity + " has no address; the Robot firewall sees addresses (check node-to-node traffic with node:NAME)"}
	case spec.SourcePod:
		var tunnels []string
		for _, port := range slices.Sorted(maps.Keys(s.tunnels)) {
			if port != WireGuardPort {
				tunnels = append(tunnels, fmt.Sprintf("%s %d/udp", s.tunnels[port].name, port))
			}
		}
		if _, ok := s.tunnels[WireGuardPort]; ok {
			tunnels = append(tunnels, fmt.Sprintf("WireGuard %d/udp", WireGuardPort))
		}
		if len(tunnels) == 0 { // native routing, which a cluster with a template may not use
			return HetznerVerdict{Reason: "a pod on another node reaches this one from its own address, which the Robot checks do not model"}
		}
		return HetznerVerdict{Reason: fmt.Sprintf("a pod on another node reaches this one inside Cilium's tunnels between node addresses (%s), which the node-to-node assertions check", strings.Join(tunnels, ", "))}
	}
	if !f.SourceAddr.IsValid() {
		return HetznerVerdict{Reason: f.SourceNode + " has no address in the spec, so the Robot firewall cannot be checked"}
	}
	p := Packet{Src: f.SourceAddr, Dst: f.ToAddr, Protocol: f.port.Protocol}
	if f.port.Protocol != "icmp" {
		p.SrcPort, p.DstPort = EphemeralPort, f.port.Port
	}
	if t, ok := s.tunnelOf(f); ok {
		return s.Template.evaluateSourcePorts(p, t)
	}
	if f.port.Protocol != "tcp" {
		return s.Template.Evaluate(p)
	}
	return s.Template.EvaluateConnection(p, []string{"syn"})
}

// String is the trace as explain prints it: where the releases the agents may run give different verdicts, each
// one's layers and result under "on Cilium RELEASES:", then the worst.
func (t Trace) String() string {
	var b strings.Builder
	fmt.Fprintln(&b, t.Flow)
	if len(t.ByRelease) == 0 {
		b.WriteString(t.layers())
		return b.String()
	}
	for _, r := range t.ByRelease {
		fmt.Fprintf(&b, "  on Cilium %s:\n", r.Releases)
		for _, line := range strings.SplitAfter(r.Trace.layers(), "\n") {
			if line != "" {
				b.WriteString("  " + line)
			}
		}
	}
	fmt.Fprintf(&b, "  result   %s\n", t.Result)
	return b.String()
}

// layers are the lines of String after the flow: each layer's verdict, then the result.
func (t Trace) layers() string {
	var b strings.Builder
	word := func(ok bool, yes, no string) string {
		if ok {
			return yes
		}
		return no
	}
	if t.Hetzner.Evaluated {
		fmt.Fprintf(&b, "  hetzner  %-8s %s\n", word(t.Hetzner.Accepted, "accept", "discard"), t.Hetzner.Reason)
	} else {
		fmt.Fprintf(&b, "  hetzner  %-8s %s\n", "-", t.Hetzner.Reason)
	}
	cv := func(label string, v CiliumVerdict) {
		w, reason := word(v.Allowed, "allow", "deny"), v.Reason
		if v.Audit {
			w, reason = "audit", "would drop, passes (audit mode): "+reason
		}
		fmt.Fprintf(&b, "  %-8s %-8s %s at %s: %s\n", label, w, v.Direction, v.Node, reason)
	}
	if t.Egress != nil {
		cv("cilium", *t.Egress)
	}
	cv("cilium", t.Cilium)
	if t.Reply != nil && !t.Reply.Evaluated {
		fmt.Fprintf(&b, "  reply    %-8s %s\n", "-", t.Reply.Reason)
	} else if t.Reply != nil {
		fmt.Fprintf(&b, "  reply    %-8s %s\n", word(t.Reply.Accepted, "accept", "discard"), t.Reply.Reason)
	} else if t.Allowed {
		fmt.Fprintf(&b, "  reply    %-8s conntrack lets the replies of an allowed connection through Cilium\n", "pass")
	}
	fmt.Fprintf(&b, "  result   %s\n", t.Result)
	return b.String()
}

// endPortAgents says whether the agents may run a release without port ranges (before spec.CiliumPortRangesSince:
// their policy types have no endPort, so a range is enforced as its first port), and whether they may run one with
// them. It is the agents' release that counts (cilium.AgentsOf), not the chart's, whose CRD keeps endPort or prunes it.
func endPortAgents(a cilium.Agents) (without, with bool) {
	releases := a.Releases()
	if releases == nil {
		ranges := spec.CiliumPortRanges(a.Chart)
		return !ranges, ranges
	}
	for _, v := range releases {
		if v.LessThan(spec.CiliumPortRangesSince) {
			without = true
		} else {
			with = true
		}
	}
	return without, with
}

// withoutPortRanges is cilium.WithoutPortRanges of each policy; the same slice when none has a range.
func withoutPortRanges(policies []cilium.ClusterwideNetworkPolicy) []cilium.ClusterwideNetworkPolicy {
	if !slices.ContainsFunc(policies, cilium.HasPortRange) {
		return policies
	}
	out := make([]cilium.ClusterwideNetworkPolicy, len(policies))
	for i, p := range policies {
		out[i] = cilium.WithoutPortRanges(p)
	}
	return out
}
