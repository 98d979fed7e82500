package firewall

import (
	"fmt"
	"net/netip"
	"sync"

	"github.com/Masterminds/semver/v3"

	"github.com/kronform/kronform-gen/generator/cilium"
	"github.com/kronform/kronform-gen/generator/spec"
)

// What bpf_host does with ICMPv6 before the host policies see it (bpf/lib/icmp6.h icmp6_host_handle, read in the
// charts' sources of 1.13.4, 1.14.0, 1.15.6, 1.15.19, 1.16.0 and 1.20.2): echo request and reply go to the policies;
// the types RFC 4890 says a node needs (errors, MLD, router and neighbour discovery, SEND) pass around them; every
// other type is dropped (DROP_FORBIDDEN_ICMP6), whatever the policies say and in audit mode too. Neighbour
// solicitations (135) are the exception that moved: 1.13 answers or passes them in the datapath; 1.14.0 removed the
// datapath's responder (cilium/cilium#25329) and hands them to the policies in both directions; #30837 put the
// responder back for those that arrive, in 1.14.8 (#31186) and 1.15.2 (#31155) by the release notes, so 1.15.0 and
// 1.15.1 still hand both directions to the policies. Those the node sends reach the egress policies until
// cilium/cilium#46325 (in 1.20.2, and backported to 1.19.6 by #46669 per its release notes; other patch releases are
// taken as without it, which can only make a verdict denied).
type icmpv6Path int

const (
	icmpv6Policy icmpv6Path = iota // the host policies decide
	icmpv6Pass                     // passes around the host policies
	icmpv6Drop                     // dropped whatever the host policies say
)

var (
	cilium114  = semver.MustParse("1.14.0")
	cilium1148 = semver.MustParse("1.14.8")
	cilium115  = semver.MustParse("1.15.0")
	cilium1152 = semver.MustParse("1.15.2")
	cilium1196 = semver.MustParse("1.19.6")
	cilium120  = semver.MustParse("1.20.0")
	cilium1202 = semver.MustParse("1.20.2")
)

// icmpv6PathOf says which way an ICMPv6 type takes through a node's host firewall in one direction, given whether
// the chart hands the node's neighbour solicitations to the policies in each direction (ingress, egress).
func icmpv6PathOf(typ int, egress bool, solicitations [2]bool) icmpv6Path {
	dir := 0
	if egress {
		dir = 1
	}
	switch {
	case typ == 128 || typ == 129:
		return icmpv6Policy
	case typ == 135 && solicitations[dir]:
		return icmpv6Policy
	case typ >= 1 && typ <= 4, typ >= 130 && typ <= 136, typ >= 141 && typ <= 143, typ == 148 || typ == 149,
		typ >= 151 && typ <= 153:
		return icmpv6Pass
	}
	return icmpv6Drop
}

func solicitationsReachPolicies(egress bool, v *semver.Version) bool {
	switch {
	case v.LessThan(cilium114):
		return false
	case v.LessThan(cilium1148):
		return true
	case v.LessThan(cilium115):
		return egress
	case v.LessThan(cilium1152):
		return true
	}
	if !v.LessThan(cilium1196) && v.LessThan(cilium120) {
		return false // the fix's backport (#46669)
	}
	return egress && v.LessThan(cilium1202)
}

// solicitationsOf says, for ingress and egress, whether the agents hand neighbour solicitations to the host
// policies. It is the agents' datapath that does, so the release they run counts (cilium.AgentsOf: the image the
// values pin, else the chart's). A range is judged by every release it admits, not by its lowest one: Flux may
// install any of them, and solicitations moved within a minor release (1.14.8, 1.15.2), so a release that hands them
// to the policies anywhere in the range counts; a pin that names no release that can be read counts as every one.
// A version that does not resolve (the loader refuses those) is taken as handing them to the policies.
func solicitationsOf(agents cilium.Agents) [2]bool {
	key := agents.Key()
	if r, ok := solicitationsCache.Load(key); ok {
		return r.([2]bool)
	}
	out := [2]bool{true, true}
	if admitted := agents.Releases(); admitted != nil {
		out = [2]bool{}
		for _, v := range admitted {
			out[0] = out[0] || solicitationsReachPolicies(false, v)
			out[1] = out[1] || solicitationsReachPolicies(true, v)
		}
	}
	solicitationsCache.Store(key, out)
	return out
}

// solicitationsCache remembers each release set's answer (by Agents.Key): a wide range admits a few thousand releases.
var solicitationsCache sync.Map

// neighbourDiscoveryType says whether an ICMPv6 type is part of neighbour or router discovery (133-137), which a flow
// of its own does not depend on.
func neighbourDiscoveryType(port spec.FlowPort) bool {
	return port.Protocol == "icmp" && port.Family == "IPv6" && port.ICMPType >= 133 && port.ICMPType <= 137
}

// hetznerRouter is the link-local address of the IPv6 gateway of a Hetzner server (Hetzner's network docs): the node
// resolves it, and it resolves the node, with neighbour solicitations. Cilium sees a link-local peer as world.
var hetznerRouter = netip.MustParseAddr("fe80::1")

// neighbourDiscovery checks that a node's neighbour solicitations get through its host firewall both ways: those of
// the router looking for the node (ingress) and the node's own for the router (egress). Without them no IPv6 packet
// reaches the node, nor any reply leaves it. It returns the verdict that cuts them, or nil.
func (s *Simulator) neighbourDiscovery(n spec.Node) *CiliumVerdict {
	ns := spec.FlowPort{Protocol: "icmp", Family: "IPv6", ICMPType: 135}
	router := identity{entities: []string{"world"}, addr: hetznerRouter}
	for _, egress := range []bool{false, true} {
		if v := s.ciliumVerdict(n, egress, true, router, ns, ns.String()); !v.Allowed {
			return &v
		}
	}
	return nil
}

// withNeighbourDiscovery turns a verdict that lets an IPv6 flow through into a drop when the node's neighbour
// discovery is cut, saying both.
func (s *Simulator) withNeighbourDiscovery(v CiliumVerdict, n spec.Node) CiliumVerdict {
	if !v.Allowed {
		return v
	}
	nd := s.neighbourDiscovery(n)
	if nd == nil {
		return v
	}
	out := *nd
	out.Direction = v.Direction
	out.Reason = fmt.Sprintf("the policies pass it (%s), but %s's neighbour discovery is cut, so no IPv6 packet gets to or from it: its %s neighbour solicitations (icmpv6:135, Cilium %s hands them to the host policies): %s",
		v.Reason, n.Name, nd.Direction, s.handing(nd.Direction == "egress"), nd.Reason)
	return out
}

// handing names, for "Cilium %s hands them to the host policies", the releases the simulator's agents may run that
// hand the node's neighbour solicitations to the host policies in a direction: a class's (agentsName), else those of
// the agents' releases that do, where not all of them do ("1.15.0 to 1.15.1 (among the releases the agents may run:
// Cilium ~1.15.0)"), else the agents'.
func (s *Simulator) handing(egress bool) string {
	if s.agentsName != "" {
		return s.agentsName
	}
	return handingReleases(s.agents, egress)
}

// handingReleases is Simulator.handing for agents judged as all their releases at once, remembered per agents and
// direction: a trace of every IPv6 flow of a node whose neighbour discovery is cut asks.
func handingReleases(agents cilium.Agents, egress bool) string {
	key := fmt.Sprint(agents.Key(), "|", agents, "|", egress)
	if r, ok := handingCache.Load(key); ok {
		return r.(string)
	}
	name := agents.String()
	releases := agents.Releases()
	var some []*semver.Version
	for _, v := range releases {
		if solicitationsReachPolicies(egress, v) {
			some = append(some, v)
		}
	}
	if len(some) > 0 && len(some) < len(releases) {
		name = fmt.Sprintf("%s (among the releases the agents may run: Cilium %s)", releaseRuns(some, releases), agents)
	}
	handingCache.Store(key, name)
	return name
}

// handingCache remembers handingReleases' answers.
var handingCache sync.Map
