package firewall

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/kronform/kronform-gen/generator/cilium"
	"github.com/kronform/kronform-gen/generator/spec"
	"github.com/kronform/kronform-gen/internal/parallel"
)

// RejectedBy lists why Cilium's rule validation would refuse a compiled policy (pkg/policy/api/rule_validation.go and
// the CRD's limits); none means Cilium accepts it.
func RejectedBy(p cilium.ClusterwideNetworkPolicy) []string {
	var out []string
	if p.Spec.NodeSelector == nil {
		out = append(out, "spec needs a nodeSelector or an endpointSelector")
	}
	check := func(kind string, i int, r rule) {
		at := fmt.Sprintf("%s[%d]", kind, i)
		var peers []string
		for name, set := range map[string]bool{"Entities": r.entities != nil, "Endpoints": r.endpoints != nil, "CIDR": r.cidr != nil, "CIDRSet": r.cidrSet != nil} {
			if set {
				peers = append(peers, r.peerField+name)
			}
		}
		slices.Sort(peers)
		if len(peers) > 1 {
			out = append(out, fmt.Sprintf("%s: combining %s is not supported", at, strings.Join(peers, " and ")))
		}
		if len(r.ports) > 0 && len(r.icmps) > 0 {
			out = append(out, at+": icmps and toPorts may not share a rule")
		}
		for _, pr := range r.ports {
			if len(pr.Ports) > cilium.MaxPortsPerRule {
				out = append(out, fmt.Sprintf("%s: %d ports in one toPorts entry, more than %d", at, len(pr.Ports), cilium.MaxPortsPerRule))
			}
			for _, pp := range pr.Ports {
				if msg := portProblem(pp); msg != "" {
					out = append(out, at+": "+msg)
				}
			}
		}
		for _, ir := range r.icmps {
			if len(ir.Fields) > cilium.MaxICMPFieldsPerRule {
				out = append(out, fmt.Sprintf("%s: %d ICMP fields, more than %d", at, len(ir.Fields), cilium.MaxICMPFieldsPerRule))
			}
			for _, f := range ir.Fields {
				if (f.Family != "" && f.Family != "IPv4" && f.Family != "IPv6") || f.Type < 0 || f.Type > 255 {
					out = append(out, fmt.Sprintf("%s: ICMP family %q type %d is invalid", at, f.Family, f.Type))
				}
			}
		}
		for _, c := range r.cidr {
			if _, err := netip.ParsePrefix(c); err != nil {
				out = append(out, fmt.Sprintf("%s: %q is not a CIDR", at, c))
			}
		}
		for _, c := range r.cidrSet {
			p, err := netip.ParsePrefix(c.CIDR)
			if err != nil {
				out = append(out, fmt.Sprintf("%s: %q is not a CIDR", at, c.CIDR))
				continue
			}
			for _, x := range c.Except {
				xp, err := netip.ParsePrefix(x)
				if err != nil || xp.Addr().Is4() != p.Addr().Is4() || xp.Bits() < p.Bits() || !p.Contains(xp.Addr()) {
					out = append(out, fmt.Sprintf("%s: except %s is not inside %s", at, x, c.CIDR))
				}
			}
		}
	}
	for _, egress := range []bool{false, true} {
		allow, deny := rulesOf(p, egress)
		field := "from"
		if egress {
			field = "to"
		}
		for _, r := range append(allow, deny...) {
			r.peerField = field
			check(r.kind, r.index, r)
		}
	}
	return out
}

func portProblem(pp cilium.PortProtocol) string {
	if !slices.Contains([]string{"TCP", "UDP", "SCTP", "ANY"}, pp.Protocol) {
		return fmt.Sprintf("protocol %q is not TCP, UDP, SCTP or ANY", pp.Protocol)
	}
	n, err := strconv.Atoi(pp.Port)
	if err != nil {
		if pp.Port == "" || strings.ContainsAny(pp.Port, " /:") {
			return fmt.Sprintf("port %q is neither a number nor a port name", pp.Port)
		}
		return ""
	}
	if n < 0 || n > 65535 {
		return fmt.Sprintf("port %d is out of range", n)
	}
	if pp.EndPort != 0 && int(pp.EndPort) < n {
		return fmt.Sprintf("endPort %d is below port %d", pp.EndPort, n)
	}
	return ""
}

// Lint finds firewall setups that load but would not do what they say. Errors: a compiled policy Cilium would reject,
// a template Robot would refuse. Warnings, with the reason and the fix: a default-discard template without the reply
// rule, a CIDR peer that holds node addresses (it never matches nodes), ping dropped on a node by default deny, a node
// that egress policies cut off the world's DNS, NTP and HTTPS or off the Kubernetes API. The policies that select no
// node and the label filter trap are cilium.Lint's; host policies with the host firewall off are refused when the
// spec loads. Only the clusters that loaded whole are looked at (see spec.Model.Sound).
func Lint(m *spec.Model) (errs, warnings spec.Problems) {
	// Clusters are linted on every core; the problems are sorted in the end, so the order of work does not show.
	type found struct{ errs, warnings spec.Problems }
	per := make([]found, len(m.Clusters))
	parallel.For(len(m.Clusters), 0, func(i int) {
		if m.Sound(i) {
			per[i].errs, per[i].warnings = lintCluster(m, i)
		}
	})
	for _, f := range per {
		errs, warnings = append(errs, f.errs...), append(warnings, f.warnings...)
	}
	warnings = append(warnings, sharedAddresses(m)...)
	return errs.Sorted(), warnings.Sorted()
}

// sharedAddresses warns about an address that nodes of two clusters both hold. A machine belongs to one cluster, and
// each cluster's Hetzner template and lock-out checks take its nodes for its own; private addresses may repeat in
// separate networks, so it is a warning.
func sharedAddresses(m *spec.Model) spec.Problems {
	type holder struct{ cluster, node string }
	first := map[netip.Addr]holder{}
	var out spec.Problems
	for i, c := range m.Clusters {
		if !m.Sound(i) {
			continue
		}
		for j, n := range c.Nodes {
			for k, a := range n.Addresses {
				addr, err := netip.ParseAddr(a)
				if err != nil {
					continue
				}
				h, seen := first[addr.Unmap()]
				switch {
				case !seen:
					first[addr.Unmap()] = holder{c.Name, n.Name}
				case h.cluster != c.Name:
					out = append(out, m.Problem(fmt.Sprintf("clusters[%d].nodes[%d].addresses[%d]", i, j, k),
						"a machine belongs to one cluster; each cluster's Hetzner template and lock-out checks take the node for its own",
						"%s is also an address of node %s of cluster %s", a, h.node, h.cluster))
				}
			}
		}
	}
	return out
}

// lintCluster is Lint for the i-th cluster.
func lintCluster(m *spec.Model, i int) (errs, warnings spec.Problems) {
	c := m.Clusters[i]
	cp := fmt.Sprintf("clusters[%d]", i)
	sim := NewSimulator(c)
	for j, p := range sim.Policies {
		for _, why := range RejectedBy(p) {
			errs = append(errs, m.Problem(fmt.Sprintf("%s.hostPolicies[%d]", cp, j), "the compiler should never write this; report it with the spec",
				"Cilium would reject the compiled policy %s: %s", p.Name, why))
		}
	}
	if t := sim.Template; t != nil && cilium.OverlayOf(c).Port == 0 {
		// The checks see pod traffic between nodes as the tunnel's packets between node addresses. With native
		// routing pods' own addresses cross Robot, which they do not model: a template that filters sources (the
		// escape hatch discards 6443 from all but admins) could cut Flux off the API on another node unseen.
		errs = append(errs, m.Problem(cp+".cilium.values", "keep tunnel routing (the default) with a hetzner template, or drop the template",
			"native routing sends pod traffic between nodes from pod addresses through the Robot firewall, which the lock-out checks do not model"))
	}
	if t := sim.Template; t != nil {
		hp := cp + ".hetzner"
		if len(t.Rules) > spec.MaxHetznerRules {
			errs = append(errs, m.Problem(hp, "list fewer admin sources or discard ports, or write rules: yourself with a CIDR that covers several sources",
				"the template has %d input rules; Robot accepts at most %d", len(t.Rules), spec.MaxHetznerRules))
		}
		if t.DiscardsByDefault() {
			dst := netip.MustParseAddr("198.51.100.1")
			for _, n := range c.Nodes {
				if a, ok := spec.HostAddress(n, false); ok {
					dst = a
					break
				}
			}
			if !t.AcceptsReplies(dst) {
				warnings = append(warnings, m.Problem(hp+".rules",
					"add {name: replies, ipVersion: ipv4, protocol: tcp, dstPort: 32768-65535, tcpFlags: ack, action: accept} before the end",
					"template %s discards what no rule accepts, and Robot's firewall is stateless: the replies to the nodes' own connections (image pulls, DNS over TCP, the API server's webhooks) would be discarded", t.Name))
			}
			if lost := t.lostUDPReplies(dst); len(lost) > 0 {
				warnings = append(warnings, m.Problem(hp+".rules",
					"add {name: udp replies, ipVersion: ipv4, protocol: udp, dstPort: 32768-65535, action: accept} before the end, or one rule per service with its srcPort (53, 123)",
					"template %s discards what no rule accepts, and Robot's firewall is stateless: the replies to the nodes' %s queries would be discarded", t.Name, strings.Join(lost, " and ")))
			}
		}
		for k, p := range c.Hetzner.AdminPrefixes() {
			if p.Bits() == 0 {
				warnings = append(warnings, m.Problem(fmt.Sprintf("%s.adminSources[%d]", hp, k),
					"list the addresses or networks you connect from",
					"%s as an admin source makes the admin the whole internet: the template accepts everyone before its discard rules, and the admin assertions prove nothing", p))
			}
		}
	}
	warnings = append(warnings, workerRoleWarnings(m, cp, c)...)
	warnings = append(warnings, oldAgentRangeWarnings(m, cp, c)...)
	// The nodes with an address of each family, as "n1 (2001:db8::1)".
	var v4, v6 []string
	for _, n := range c.Nodes {
		if a, ok := spec.HostAddress(n, false); ok {
			v4 = append(v4, fmt.Sprintf("%s (%s)", n.Name, a))
		}
		if a, ok := spec.HostAddress(n, true); ok {
			v6 = append(v6, fmt.Sprintf("%s (%s)", n.Name, a))
		}
	}
	if t := sim.Template; t != nil && !t.FilterIPv6 {
		if len(v6) > 0 {
			warnings = append(warnings, m.Problem(cp+".hetzner",
				"set filterIPv6: true, and list your IPv6 addresses in adminSources if you connect over IPv6",
				"template %s does not filter IPv6, so Robot lets every IPv6 packet through to %s: the escape hatch's discard rules protect IPv4 only", t.Name, strings.Join(v6, ", ")))
		}
	}
	if *c.Cilium.HostFirewall && !sim.families.IPv6 {
		if len(v6) > 0 {
			warnings = append(warnings, m.Problem(cp+".cilium",
				"set cilium.values ipv6: {enabled: true} if the nodes should be reached over IPv6",
				"Cilium runs without IPv6 (ipv6.enabled is false, the chart's default) and with the host firewall on, so its agents drop every IPv6 packet on %s, before any policy and in audit mode too", strings.Join(v6, ", ")))
		}
	}
	if *c.Cilium.HostFirewall && !sim.families.IPv4 && len(v4) > 0 {
		warnings = append(warnings, m.Problem(cp+".cilium",
			"set cilium.values ipv4: {enabled: true} if the nodes should be reached over IPv4",
			"Cilium runs without IPv4 (ipv4.enabled is false) and with the host firewall on, so its agents drop every IPv4 packet on %s, before any policy and in audit mode too", strings.Join(v4, ", ")))
	}
	warnings = append(warnings, neighbourDiscoveryWarnings(m, cp, sim)...)
	warnings = append(warnings, worldEgressWarnings(m, cp, sim)...)
	warnings = append(warnings, apiEgressWarnings(m, cp, sim)...)
	warnings = append(warnings, cidrPeerWarnings(m, cp, c)...)
	warnings = append(warnings, pingWarnings(m, cp, sim)...)
	return errs, warnings
}

// cidrPeerWarnings flags CIDR peers that hold a node's address outside their except holes: the author meant the
// nodes, but Cilium gives node traffic the host or remote-node identity, which CIDR peers never match. A /0 is
// written for the whole internet, not for the nodes.
func cidrPeerWarnings(m *spec.Model, cp string, c spec.Cluster) spec.Problems {
	var out spec.Problems
	for j, p := range c.HostPolicies {
		for _, dir := range []struct {
			name  string
			rules []spec.PolicyRule
		}{{"ingress", p.Ingress}, {"ingressDeny", p.IngressDeny}, {"egress", p.Egress}, {"egressDeny", p.EgressDeny}} {
			for k, r := range dir.rules {
				for l, peer := range r.CIDRs {
					prefix, err := netip.ParsePrefix(peer.CIDR)
					if err != nil || prefix.Bits() == 0 {
						continue // the whole internet (Cilium's world): written for it, not for the nodes
					}
					var holes []netip.Prefix
					for _, e := range peer.Except {
						if h, err := netip.ParsePrefix(e); err == nil {
							holes = append(holes, h)
						}
					}
					var hits []string
					for _, n := range c.Nodes {
						for _, s := range n.Addresses {
							a, err := netip.ParseAddr(s)
							if err != nil || !prefix.Contains(a) || slices.ContainsFunc(holes, func(h netip.Prefix) bool { return h.Contains(a) }) {
								continue
							}
							hits = append(hits, fmt.Sprintf("%s (%s)", n.Name, a))
						}
					}
					if len(hits) == 0 {
						continue
					}
					out = append(out, m.Problem(fmt.Sprintf("%s.hostPolicies[%d].%s[%d].cidrs[%d]", cp, j, dir.name, k, l),
						"for node traffic use entities: [remote-node] (other nodes), [host] (the node itself) or [cluster]",
						"%s holds the address of %s, but CIDR peers never match cluster nodes: Cilium gives node traffic the host or remote-node identity", peer.CIDR, strings.Join(hits, ", ")))
				}
			}
		}
	}
	return out
}

// pingWarnings flags nodes where a policy's default deny drops ping from the internet with no rule meaning it to:
// once port rules select a node, ICMP is blocked unless a rule allows it.
func pingWarnings(m *spec.Model, cp string, sim *Simulator) spec.Problems {
	var out spec.Problems
	for _, n := range sim.Cluster.Nodes {
		for _, v6 := range []bool{false, true} {
			if _, ok := spec.HostAddress(n, v6); v6 && !ok {
				continue
			}
			port := spec.FlowPort{Protocol: "icmp", Family: "IPv4", ICMPType: spec.EchoRequestV4}
			if v6 {
				port = spec.FlowPort{Protocol: "icmp", Family: "IPv6", ICMPType: spec.EchoRequestV6}
			}
			v := sim.ciliumVerdict(n, false, v6, identity{entities: []string{"world"}, addr: sim.worldAddress(v6)}, port, port.String())
			if v.Allowed || v.Policy != "" || len(v.Selected) == 0 { // allowed, denied on purpose by a deny rule, or by the datapath
				continue
			}
			idx := slices.IndexFunc(sim.Cluster.HostPolicies, func(p spec.HostPolicy) bool { return p.Name == v.Selected[0] })
			verb := "selects" // the subject is one policy name, or a list of them
			if len(v.Selected) > 1 {
				verb = "select"
			}
			out = append(out, m.Problem(fmt.Sprintf("%s.hostPolicies[%d]", cp, idx),
				fmt.Sprintf("if ping should work, add an ingress rule icmp: [{family: %s, type: %d}]", port.Family, port.ICMPType),
				"ping (%s) to %s is dropped: %s %s it and no rule allows ICMP, which Cilium blocks once port rules apply", port, n.Name, strings.Join(v.Selected, ", "), verb))
		}
	}
	return out
}

// workerRoleWarnings flags nodes with both roles that a role: worker policy leaves out: the worker role selects nodes
// without the control-plane label, and Talos labels every control plane with it, even one that schedules workloads.
func workerRoleWarnings(m *spec.Model, cp string, c spec.Cluster) spec.Problems {
	var out spec.Problems
	for j, p := range c.HostPolicies {
		if p.Nodes.Role != spec.RoleWorker {
			continue
		}
		for _, n := range c.Nodes {
			if slices.Contains(n.Roles, spec.RoleWorker) && slices.Contains(n.Roles, spec.RoleControlPlane) {
				out = append(out, m.Problem(fmt.Sprintf("%s.hostPolicies[%d]", cp, j),
					"select the node by a label of your own (nodes: {labels: ...}), or make the control-plane policy cover its workloads too",
					"%s does not apply to %s: %s has the roles control-plane and worker, but role: worker selects nodes without the %s label, which Talos puts on every control plane, even one that runs workloads",
					p.Name, n.Name, n.Name, spec.ControlPlaneLabel))
			}
		}
	}
	return out
}

// neighbourDiscoveryWarnings flags IPv6 nodes whose host policies drop their neighbour solicitations, in the Cilium
// versions that hand those to the policies: the node then loses IPv6, whatever its rules for ports say.
func neighbourDiscoveryWarnings(m *spec.Model, cp string, sim *Simulator) spec.Problems {
	var out spec.Problems
	if !*sim.Cluster.Cilium.HostFirewall || !sim.families.IPv6 {
		return out
	}
	for _, n := range sim.Cluster.Nodes {
		if _, ok := spec.HostAddress(n, true); !ok {
			continue
		}
		nd := sim.neighbourDiscovery(n)
		if nd == nil || len(nd.Selected) == 0 {
			continue
		}
		idx := slices.IndexFunc(sim.Cluster.HostPolicies, func(p spec.HostPolicy) bool { return p.Name == nd.Selected[0] })
		// The spec names an egress rule's peers entities too (toEntities is Cilium's field).
		field := "icmp: [{family: IPv6, type: NeighborSolicitation}] with entities: [world]"
		out = append(out, m.Problem(fmt.Sprintf("%s.hostPolicies[%d]", cp, idx),
			fmt.Sprintf("add an %s rule %s", nd.Direction, field),
			"%s loses IPv6: Cilium %s hands its %s neighbour solicitations (icmpv6:135) to the host policies, and %s", n.Name, sim.handing(nd.Direction == "egress"), nd.Direction, nd.Reason))
	}
	return out
}

// worldServices are what a Talos node reaches in the world by itself: its resolvers, its time servers, and over
// HTTPS the registries it pulls images from and Talos' discovery service.
var worldServices = []struct{ name, port string }{{"DNS", "53/udp"}, {"NTP", "123/udp"}, {"HTTPS", "443/tcp"}}

// worldEgressWarnings flags nodes that host policies select for egress (from then on Cilium denies the node's own
// traffic that no egress rule allows) with no way out to the world for a service Talos needs: in none of the node's
// address families does any world address, nor an outside address the egress rules for the port tell apart from it
// (outsidePeers: an allow rule's CIDR, a deny rule's hole), get through. Names cannot be resolved, the clock drifts
// (and certificates with it), and images cannot be pulled. The fix follows the cause: a deny rule wins over every
// allow, so it must be narrowed; default deny needs an allow rule.
func worldEgressWarnings(m *spec.Model, cp string, sim *Simulator) spec.Problems {
	var out spec.Problems
	if !*sim.Cluster.Cilium.HostFirewall || !sim.anyEgress() {
		return out
	}
	peers := map[string][]netip.Addr{} // per port, the world addresses to try
	for _, svc := range worldServices {
		port, _ := spec.ParseFlowPort(svc.port)
		for _, v6 := range []bool{false, true} {
			peers[svc.port] = append(peers[svc.port], sim.worldAddress(v6))
		}
		for _, a := range outsidePeers(sim, port, true)[1:] { // [0] is "world"
			peers[svc.port] = append(peers[svc.port], netip.MustParseAddr(a))
		}
	}
	for _, n := range sim.Cluster.Nodes {
		// What the node loses, and why: a deny rule (which wins over every allow: narrow it), or default deny (add
		// an allow rule). A service lost both ways (a deny for one family, default deny for the other) is named in
		// both, since either fix lets it out; so is one whose deny has no allow rule behind it, which needs both.
		var lost, byDeny, byDefault, denyPorts, defaultPorts, denies, selected []string
		for _, svc := range worldServices {
			port, _ := spec.ParseFlowPort(svc.port)
			// Per address tried, what lets it out: narrowing the deny that drops it (when an allow rule lets it
			// through otherwise), an allow rule (default deny), or both (a deny with no allow behind it). The fixes
			// named are those of the addresses that need the fewest: a deny that drops only addresses default deny
			// drops anyway is no reason.
			type need struct {
				narrow, allow bool
				deny          string
			}
			var needs []need
			tried, reached := false, false
			for _, to := range peers[svc.port] {
				v6 := to.Is6()
				if _, ok := spec.HostAddress(n, v6); !ok || (v6 && !sim.families.IPv6) || (!v6 && !sim.families.IPv4) {
					continue // no packet of this family leaves the node: the family lints say so
				}
				tried = true
				v := sim.ciliumVerdict(n, true, v6, identity{entities: []string{"world"}, addr: to}, port, svc.port)
				if v.Allowed {
					reached = true
					break
				}
				if selected == nil {
					selected = v.Selected
				}
				nd := need{allow: !v.overAllow}
				if v.Policy != "" {
					nd.narrow, nd.deny = true, v.Policy+" "+v.Rule
				}
				needs = append(needs, nd)
			}
			if !tried || reached {
				continue
			}
			single := slices.ContainsFunc(needs, func(nd need) bool { return nd.narrow != nd.allow })
			denied, defaulted := false, false
			for _, nd := range needs {
				if single && nd.narrow && nd.allow {
					continue
				}
				if nd.narrow {
					denied = true
					if !slices.Contains(denies, nd.deny) {
						denies = append(denies, nd.deny)
					}
				}
				defaulted = defaulted || nd.allow
			}
			name := fmt.Sprintf("%s (%s)", svc.name, svc.port)
			lost = append(lost, name)
			if denied {
				byDeny, denyPorts = append(byDeny, name), append(denyPorts, svc.port)
			}
			if defaulted {
				byDefault, defaultPorts = append(byDefault, name), append(defaultPorts, svc.port)
			}
		}
		if len(lost) == 0 {
			continue
		}
		at := selected[0]
		if len(denies) > 0 {
			at, _, _ = strings.Cut(denies[0], " ")
		}
		idx := slices.IndexFunc(sim.Cluster.HostPolicies, func(p spec.HostPolicy) bool { return p.Name == at })
		audit := ""
		if sim.Cluster.Cilium.AuditMode {
			audit = " (audit mode lets it through until the policies are enforced)"
		}
		var why, fixes []string
		if len(byDeny) > 0 {
			what := "it"
			if len(byDeny) < len(lost) {
				what = strings.Join(byDeny, ", ")
			}
			verb := "denies"
			if len(denies) > 1 {
				verb = "deny"
			}
			why = append(why, fmt.Sprintf("%s %s %s, and a deny wins over every allow", strings.Join(denies, ", "), verb, what))
			fixes = append(fixes, fmt.Sprintf("narrow %s (an except for the CIDRs of your resolvers, time servers and registry mirror) so %s gets out",
				strings.Join(denies, ", "), strings.Join(denyPorts, ", ")))
		}
		if len(byDefault) > 0 {
			what := ""
			if len(byDefault) < len(lost) {
				what = " (" + strings.Join(byDefault, ", ") + ")"
			}
			why = append(why, fmt.Sprintf("once a policy selects it for egress (%s), Cilium denies its own traffic that no egress rule allows%s", strings.Join(selected, ", "), what))
			fixes = append(fixes, fmt.Sprintf("add an egress rule to entities: [world] (or to the CIDRs of your resolvers, time servers and registry mirror) for %s",
				strings.Join(defaultPorts, ", ")))
		}
		out = append(out, m.Problem(fmt.Sprintf("%s.hostPolicies[%d]", cp, idx), strings.Join(fixes, "; "),
			"%s cannot reach the world for %s%s: %s; Talos on %s resolves names, keeps its clock and pulls images itself",
			n.Name, strings.Join(lost, ", "), audit, strings.Join(why, "; "), n.Name))
	}
	return out
}

// apiServerLocalPort is where each control plane's API server listens: Talos' cluster.controlPlane.localAPIServerPort,
// 6443 unless changed. KubePrism dials the control planes there directly, and a control plane's own on localhost.
const apiServerLocalPort = 6443

// apiWay is one way from a node to the Kubernetes API that its egress policies judge: a peer, its family, the port,
// and whether the peer is a control plane (else a load balancer or VIP in the world).
type apiWay struct {
	peer identity
	v6   bool
	port spec.FlowPort
	cp   bool
}

// apiReach is what a node's egress policies make of the ways to one API target: reached when any gets out (or it is
// local: loopback and the node's own addresses never cross the host firewall, which sits on the network devices),
// tried when any could be judged; otherwise the policies that select the node for egress, the deny rules that drop
// what an allow rule lets out, and whether default deny dropped any way to the world ([0]) or to a control plane
// ([1]) (then an allow rule lets it out; a way only a deny drops needs the deny narrowed).
type apiReach struct {
	reached, tried   bool
	selected, denies []string
	defaulted        [2]bool
}

// byDefault says whether default deny dropped any way.
func (r apiReach) byDefault() bool { return r.defaulted[0] || r.defaulted[1] }

// reach judges target t's ways at node n's egress.
func (s *Simulator) reach(n spec.Node, t apiTarget) apiReach {
	var r apiReach
	if t.local || len(t.ways) == 0 {
		r.reached, r.tried = true, true
		return r
	}
	for _, w := range t.ways {
		if _, ok := spec.HostAddress(n, w.v6); !ok || (w.v6 && !s.families.IPv6) || (!w.v6 && !s.families.IPv4) {
			continue // no packet of this family leaves the node: the family lints say so
		}
		r.tried = true
		v := s.ciliumVerdict(n, true, w.v6, w.peer, w.port, w.port.String())
		if v.Allowed {
			r.reached = true
			return r
		}
		if r.selected == nil {
			r.selected = v.Selected
		}
		if v.Policy != "" && v.overAllow {
			if d := v.Policy + " " + v.Rule; !slices.Contains(r.denies, d) {
				r.denies = append(r.denies, d)
			}
		} else {
			r.defaulted[btoi(w.cp)] = true
		}
	}
	return r
}

// apiTarget is an endpoint of the API as a node dials it: the ways its packets may take, whether it is the node
// itself, how the message names it, and the egress rule, in the spec's words, that lets it out. A name may be a load
// balancer or the control planes: kinds holds the rule for each ([0] the world's, [1] the control planes'), and how
// the message names the name as each.
type apiTarget struct {
	text  string
	ways  []apiWay
	local bool
	rule  string
	kinds [2]struct{ rule, as string }
}

// ruleFor is the egress rule that lets out the ways default deny dropped (r.defaulted): for a name, the rule of the
// one kind of way when the other kind is not dropped by default deny.
func (t apiTarget) ruleFor(r apiReach) string {
	if t.kinds[0].rule != "" && r.defaulted[0] != r.defaulted[1] {
		return t.kinds[btoi(r.defaulted[1])].rule
	}
	return t.rule
}

// apiTargetOf is host:port as node n reaches it. An address of a node is that node (a control plane: validation
// refuses a worker's), reached with its identity; any other address is the world's, a load balancer or a VIP. A name
// resolves to either, which the spec does not say: any world address the egress rules for the port tell apart
// (outsidePeers) or a control plane counts, so the lint never warns about a name that may work.
func (s *Simulator) apiTargetOf(n spec.Node, host string, port int) apiTarget {
	fp := spec.FlowPort{Protocol: "tcp", Port: port}
	t := apiTarget{text: fmt.Sprintf("%s:%d", host, port)}
	if a, err := netip.ParseAddr(host); strings.EqualFold(host, "localhost") || (err == nil && a.IsLoopback()) {
		t.local = true // a proxy on the node itself (KubePrism's localhost:7445): loopback crosses no host firewall
		return t
	} else if err == nil {
		a = a.Unmap().WithZone("")
		t.text = netip.AddrPortFrom(a, uint16(port)).String()
		for _, d := range s.Cluster.Nodes {
			if slices.ContainsFunc(d.Addresses, func(x string) bool { b, err := netip.ParseAddr(x); return err == nil && b.Unmap() == a }) {
				t.text += " (" + d.Name + ")"
				t.local = d.Name == n.Name
				t.ways = []apiWay{{s.nodeIdentity(d, false, a), a.Is6(), fp, true}}
				t.rule = fmt.Sprintf("{entities: [remote-node], ports: [%s]}", fp)
				return t
			}
		}
		t.ways = []apiWay{{identity{entities: []string{"world"}, addr: a}, a.Is6(), fp, false}}
		t.rule = fmt.Sprintf("{cidrs: [%s], ports: [%s]}", netip.PrefixFrom(a, a.BitLen()), fp)
		return t
	}
	for _, v6 := range []bool{false, true} {
		t.ways = append(t.ways, apiWay{identity{entities: []string{"world"}, addr: s.worldAddress(v6)}, v6, fp, false})
	}
	for _, a := range outsidePeers(s, fp, true)[1:] { // [0] is "world"
		addr := netip.MustParseAddr(a)
		t.ways = append(t.ways, apiWay{identity{entities: []string{"world"}, addr: addr}, addr.Is6(), fp, false})
	}
	cps := s.controlPlaneWays(n, port)
	t.ways, t.local = append(t.ways, cps.ways...), cps.local
	t.kinds[0].rule = fmt.Sprintf("{entities: [world], ports: [%s]} (or the load balancer's cidrs) if %s is a load balancer", fp, host)
	t.kinds[1].rule = fmt.Sprintf("{entities: [remote-node], ports: [%s]} if it names the control planes", fp)
	t.kinds[0].as, t.kinds[1].as = " as a load balancer", " as the control planes"
	t.rule = t.kinds[0].rule + ", or " + t.kinds[1].rule
	return t
}

// controlPlaneWays are the control planes' API servers on port as node n reaches them: each other control plane's
// addresses, and n's own when it is one (local).
func (s *Simulator) controlPlaneWays(n spec.Node, port int) apiTarget {
	fp := spec.FlowPort{Protocol: "tcp", Port: port}
	t := apiTarget{rule: fmt.Sprintf("{entities: [remote-node], ports: [%s]}", fp)}
	var names []string
	for _, d := range s.Cluster.Nodes {
		if !slices.Contains(d.Roles, spec.RoleControlPlane) {
			continue
		}
		if d.Name == n.Name || len(d.Addresses) == 0 {
			t.local = true // n's own, on localhost; or one the spec gives no address to judge: taken as a way out
			continue
		}
		for _, v6 := range []bool{false, true} {
			if a, ok := spec.HostAddress(d, v6); ok {
				t.ways = append(t.ways, apiWay{s.nodeIdentity(d, false, a), v6, fp, true})
				names = append(names, d.Name+" "+a.String())
			}
		}
	}
	t.text = fmt.Sprintf("the control planes' %s (%s)", fp, strings.Join(names, ", "))
	return t
}

// apiEgressWarnings flags nodes whose egress policies cut them off the Kubernetes API. The kubelet reaches it
// through Talos' KubePrism (on by default since Talos 1.6), which balances over the cluster endpoint (apiServer) and
// every control plane's API server directly, its own on localhost: one way out is enough. Cilium's agent, in the
// host network, goes through KubePrism with cilium.k8sService.kubePrism and otherwise dials its k8sService (by
// default apiServer) and nothing else. Cut off, the node goes NotReady and Cilium stops learning policies and
// identities. The Robot firewall filters what comes in only: the SYN to a load balancer passes it, its replies are
// the template's reply rule's (the stateless-replies lint), and the node rules of a generated template let the nodes
// reach each other's 6443.
func apiEgressWarnings(m *spec.Model, cp string, sim *Simulator) spec.Problems {
	var out spec.Problems
	c := sim.Cluster
	if !*c.Cilium.HostFirewall || !sim.anyEgress() {
		return out
	}
	prism := c.Cilium.K8sService.KubePrism
	audit := ""
	if c.Cilium.AuditMode {
		audit = " (audit mode lets it through until the policies are enforced)"
	}
	// lost says, for targets none of whose ways gets out, where the warning goes, why (default deny, or the deny
	// rules that win over an allow), and the fix: an egress rule for a target default deny drops, narrowing the deny
	// rules for one only they drop. whats name the targets in the reason. A name whose ways to one kind of peer (a
	// load balancer, the control planes) default deny drops and to the other a deny rule drops needs both said: the
	// rule for the first kind, the deny to narrow for the other (the allow rule for that kind is there already).
	lost := func(targets []apiTarget, reaches []apiReach, whats []string) (at, why, fix string) {
		var byDefault, denies, denied, fixes []string
		for i, r := range reaches {
			what, deniedWhat := whats[i], whats[i]
			if r.byDefault() && len(r.denies) > 0 && r.defaulted[0] != r.defaulted[1] {
				what += targets[i].kinds[btoi(r.defaulted[1])].as
				deniedWhat += targets[i].kinds[btoi(r.defaulted[0])].as
			}
			if r.byDefault() {
				byDefault = append(byDefault, what)
				rule := targets[i].ruleFor(r)
				if !slices.ContainsFunc(fixes, func(f string) bool { return strings.Contains(f, rule) }) {
					fixes = append(fixes, "add an egress rule "+rule)
				}
				if r.defaulted[0] == r.defaulted[1] || targets[i].kinds[0].rule == "" {
					continue // every kind of way is default deny's to let out
				}
			}
			if len(r.denies) == 0 {
				continue
			}
			denied = append(denied, deniedWhat)
			for _, d := range r.denies {
				if !slices.Contains(denies, d) {
					denies = append(denies, d)
				}
			}
		}
		var whys []string
		selected := reaches[0].selected
		name := selected[0]
		if len(byDefault) > 0 {
			whys = append(whys, fmt.Sprintf("once %s %s it for egress, Cilium drops its connections %s",
				strings.Join(selected, ", "), verbFor(selected, "selects", "select"), joinWays(byDefault)))
		}
		if len(denies) > 0 {
			lead := "its connections "
			if len(byDefault) > 0 {
				lead = "those "
			}
			whys = append(whys, fmt.Sprintf("%s %s %s%s, and a deny wins over every allow", strings.Join(denies, ", "), verbFor(denies, "drops", "drop"), lead, joinWays(denied)))
			fixes = append(fixes, fmt.Sprintf("narrow %s so the connections to the API get out", strings.Join(denies, ", ")))
			name, _, _ = strings.Cut(denies[0], " ")
		}
		at = fmt.Sprintf("%s.hostPolicies[%d]", cp, slices.IndexFunc(c.HostPolicies, func(p spec.HostPolicy) bool { return p.Name == name }))
		return at, strings.Join(whys, "; "), strings.Join(fixes, "; or ")
	}
	for _, n := range c.Nodes {
		endpoint := sim.apiTargetOf(n, c.APIServer.Host, c.APIServer.Port)
		cps := sim.controlPlaneWays(n, apiServerLocalPort)
		er, cr := sim.reach(n, endpoint), sim.reach(n, cps)
		agent := endpoint
		if !prism && (c.Cilium.K8sService.Host != c.APIServer.Host || c.Cilium.K8sService.Port != c.APIServer.Port) {
			agent = sim.apiTargetOf(n, c.Cilium.K8sService.Host, c.Cilium.K8sService.Port)
		}
		// The kubelet: any of KubePrism's upstreams will do.
		if !er.reached && !cr.reached && (er.tried || cr.tried) && len(er.selected)+len(cr.selected) > 0 {
			var targets []apiTarget
			var reaches []apiReach
			var whats []string
			for i, r := range []apiReach{er, cr} {
				if r.tried && len(r.selected) > 0 {
					targets, reaches = append(targets, []apiTarget{endpoint, cps}[i]), append(reaches, r)
					whats = append(whats, []string{endpoint.text, "through KubePrism to " + cps.text}[i])
				}
			}
			agentToo := "reaches the API through KubePrism"
			if !prism {
				agentToo = "dials " + strings.SplitN(agent.text, " ", 2)[0] + " itself"
			}
			at, why, fix := lost(targets, reaches, whats)
			// Two rules to add are the endpoint's, then the control planes' (lost keeps the targets' order).
			if len(targets) == 2 && strings.Contains(fix, "; or add") {
				fix += " for KubePrism"
			}
			out = append(out, m.Problem(at, fix,
				"%s cannot reach the Kubernetes API%s: %s; the kubelet loses the API server and the node goes NotReady, and Cilium's agent, which %s, loses it too",
				n.Name, audit, why, agentToo))
			if agent.text == endpoint.text {
				continue
			}
		}
		if prism {
			continue
		}
		// Cilium's agent without KubePrism: its k8sService alone.
		if r := sim.reach(n, agent); r.tried && !r.reached && len(r.selected) > 0 {
			at, why, fix := lost([]apiTarget{agent}, []apiReach{r}, []string{agent.text})
			why = strings.Replace(why, "its connections", "the agent's connections", 1)
			out = append(out, m.Problem(at, fix,
				"Cilium's agent on %s cannot reach the Kubernetes API at %s (cilium.k8sService)%s: %s; the agent loses the API and with it the policies",
				n.Name, agent.text, audit, why))
		}
	}
	return out
}

// joinWays names the targets a node's connections go to: "to A and through KubePrism to B".
func joinWays(whats []string) string {
	var parts []string
	for i, w := range whats {
		if !strings.HasPrefix(w, "through ") {
			w = "to " + w
		}
		if i > 0 {
			w = "and " + w
		}
		parts = append(parts, w)
	}
	return strings.Join(parts, " ")
}

// btoi is 1 for true, 0 for false: an index.
func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// verbFor picks the verb for a list of names as the subject: one, or several.
func verbFor(names []string, one, several string) string {
	if len(names) > 1 {
		return several
	}
	return one
}

// oldAgentRangeWarnings warns, at each host policy with port ranges, where the chart writes them with endPort but the
// values pin the agents' image to a release before 1.16, or may (a pin that cannot be read, a tag alone beside the
// chart's digest): such an agent knows no endPort and enforces a range as its first port, so an allow range lets
// only that through and a deny range stops only that. The checks see it only where an assertion names such a port
// (Verify judges the policies both ways), and no built-in one names the rest of a deny range.
func oldAgentRangeWarnings(m *spec.Model, cp string, c spec.Cluster) spec.Problems {
	agents := cilium.AgentsOf(c.Cilium.Version, c.Cilium.Values)
	if without, _ := endPortAgents(agents); !without || !agents.Pins() || !spec.CiliumPortRanges(c.Cilium.Version) {
		return nil
	}
	plural := func(what string, ranges []string, verb string) string {
		if len(ranges) == 1 {
			return fmt.Sprintf("the %s range %s %ss only its first port", what, ranges[0], verb)
		}
		return fmt.Sprintf("the %s ranges %s %s only their first ports", what, strings.Join(ranges, ", "), verb)
	}
	var out spec.Problems
	for j, p := range c.HostPolicies {
		var parts []string
		if allow := cilium.PortRangesOf(p.Ingress, p.Egress); len(allow) > 0 {
			parts = append(parts, plural("allow", allow, "let")+" through")
		}
		if deny := cilium.PortRangesOf(p.IngressDeny, p.EgressDeny); len(deny) > 0 {
			parts = append(parts, plural("deny", deny, "stop")+", the rest open")
		}
		if len(parts) == 0 {
			continue
		}
		out = append(out, m.Problem(fmt.Sprintf("%s.hostPolicies[%d]", cp, j),
			fmt.Sprintf("pin the agents' image to a release from %s by its version tag, or drop the pin", spec.CiliumPortRangesSince),
			"the agents may run Cilium %s, and an agent before %s knows no endPort: it enforces a port range as its first port, so %s; the checks see this only where an assertion names such a port",
			agents, spec.CiliumPortRangesSince, strings.Join(parts, ", and ")))
	}
	return out
}
