package firewall

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"

	"github.com/kronform/kronform-gen/generator/cilium"
	"github.com/kronform/kronform-gen/generator/spec"
	"github.com/kronform/kronform-gen/internal/parallel"
)

// Check is one assertion evaluated: every flow it expands to, and whether each met the expected verdict.
type Check struct {
	Cluster   string         `json:"cluster"`
	Assertion spec.Assertion `json:"assertion"`
	// Path is where a spec assertion stands (clusters[0].assertions[2]); Why says why a built-in one exists.
	Path   string  `json:"path,omitempty"`
	Why    string  `json:"builtIn,omitempty"`
	OK     bool    `json:"ok"`
	Error  string  `json:"error,omitempty"`
	Traces []Trace `json:"traces"`
}

// Failed lists the traces whose verdict is not the expected one.
func (c Check) Failed() []Trace {
	var out []Trace
	for _, t := range c.Traces {
		if t.Verdict() != c.Assertion.Expect {
			out = append(out, t)
		}
	}
	return out
}

// FailsInAuditMode says whether an expected allow fails even with audit mode on, which lets Cilium's policy drops
// pass: no flow can exist (an error), or a flow that breaks it is dropped by what audit mode does not touch (the Robot
// firewall, Cilium's datapath before any policy). For a cluster in audit mode that is a failure now; for one out of it,
// a failure that turning audit mode on would not lift. A check of the outside, which any one flow satisfies, fails
// when no flow gets through. An expected deny that fails is an exposure, not this.
func (c Check) FailsInAuditMode() bool {
	if c.OK || c.Assertion.Expect != spec.Allowed {
		return false
	}
	if c.Error != "" && (c.Assertion.From != Outside || len(c.Traces) == 0) {
		return true
	}
	if c.Assertion.From == Outside {
		return !slices.ContainsFunc(c.Traces, func(t Trace) bool { return t.passesInAudit })
	}
	return slices.ContainsFunc(c.Failed(), func(t Trace) bool { return !t.passesInAudit })
}

// BuiltIn is an assertion kronform-gen always adds, with the reason it must hold.
type BuiltIn struct {
	spec.Assertion
	Why string
}

// BuiltInAssertions are the flows no cluster can lose: the admin reaches the Kubernetes and Talos APIs of every
// control plane, and nodes reach each other where Talos, etcd, the kubelet and Cilium need it (Talos network
// connectivity docs, Cilium system requirements), for the roles present.
func BuiltInAssertions(c spec.Cluster) []BuiltIn {
	var out []BuiltIn
	add := func(from, to, port, why string) {
		out = append(out, BuiltIn{Assertion: spec.Assertion{From: from, To: to, Port: port, Expect: spec.Allowed}, Why: why})
	}
	isCP := func(n spec.Node) bool { return slices.Contains(n.Roles, spec.RoleControlPlane) }
	overlay := cilium.OverlayOf(c) // the tunnel the values configure; native routing has none
	if c.Hetzner != nil {
		for _, n := range c.Nodes {
			if isCP(n) {
				add("admin", "node:"+n.Name, "6443/tcp", "the admin reaches the Kubernetes API")
				add("admin", "node:"+n.Name, "50000/tcp", "the admin reaches the Talos API (apid)")
			}
		}
	}
	for _, dst := range c.Nodes {
		for _, src := range c.Nodes {
			if src.Name == dst.Name {
				continue
			}
			from, to := "node:"+src.Name, "node:"+dst.Name
			if isCP(dst) {
				add(from, to, "6443/tcp", "kubelet and Cilium reach the Kubernetes API")
				add(from, to, "50001/tcp", "nodes get certificates from trustd")
				if isCP(src) {
					add(from, to, "2379/tcp", "etcd clients reach etcd")
					add(from, to, "2380/tcp", "etcd peers reach each other")
				}
			}
			if isCP(src) {
				add(from, to, "10250/tcp", "the API server reaches the kubelet")
				add(from, to, "50000/tcp", "apid on the control planes proxies talosctl to every node")
			}
			if overlay.Port != 0 {
				add(from, to, fmt.Sprintf("%d/udp", overlay.Port), "Cilium's "+overlay.Name()+" overlay carries pod traffic between nodes")
			}
			add(from, to, "4240/tcp", "Cilium's health checks")
			if c.Cilium.Encryption == "wireguard" {
				add(from, to, fmt.Sprintf("%d/udp", WireGuardPort), "Cilium's WireGuard tunnel")
			}
		}
	}
	// Flux applies every change, fixes to the policies included: with kube-proxy replacement the kubernetes Service
	// is translated in the pod's own socket to a control plane's 6443, and the host firewall filters that pod-to-host
	// traffic (FACTS.md), so a policy that opens 6443 to the world and the nodes only cuts Flux (and CoreDNS, the
	// cloud controller, ...) off the API, and the fix can no longer be applied. The simulator does not tell a pod on
	// the same node from one on another (both carry the pod's identity, and the Robot firewall sees neither), so one
	// check per control plane covers both.
	for _, n := range c.Nodes {
		if isCP(n) {
			add(FluxPod(c), "node:"+n.Name, "6443/tcp", "Flux's kustomize-controller reaches the Kubernetes API, or no fix can be applied")
		}
	}
	if c.Cilium.Hubble.Relay {
		for _, n := range c.Nodes {
			add("pod:k8s-app=hubble-relay", "node:"+n.Name, "4244/tcp", "hubble-relay reaches the Hubble server on every node")
		}
	}
	return out
}

// FluxPod is the flow source of Flux's kustomize-controller: its app label and the namespace label Cilium gives every
// pod (io.kubernetes.pod.namespace), so a policy may select it either way.
func FluxPod(c spec.Cluster) string {
	ns := c.Flux.Namespace
	if ns == "" {
		ns = spec.DefaultFluxNamespace
	}
	return "pod:app=kustomize-controller,io.kubernetes.pod.namespace=" + ns
}

// Evaluate runs one assertion through the simulator.
func (s *Simulator) Evaluate(a spec.Assertion) ([]Trace, error) {
	src, err := spec.ParseFlowSource(s.Cluster, a.From)
	if err != nil {
		return nil, err
	}
	targets, err := spec.ParseFlowTarget(s.Cluster, a.To)
	if err != nil {
		return nil, err
	}
	port, err := spec.ParseFlowPort(a.Port)
	if err != nil {
		return nil, err
	}
	flows, err := s.Flows(src, targets, port)
	if err != nil {
		return nil, err
	}
	traces := make([]Trace, 0, len(flows))
	for _, f := range flows {
		traces = append(traces, s.Explain(f))
	}
	return traces, nil
}

// Verify checks every cluster's spec assertions, then its built-in ones, in that order.
func Verify(m *spec.Model) []Check { return verify(m, nil) }

// Failures is Verify with only the checks that fail: what a guard reads. The checks that pass, and their traces, are
// most of what Verify holds (about 150 MB of a 1000-cluster fleet's), and are let go as each cluster is verified.
func Failures(m *spec.Model) []Check {
	return verify(m, func(c Check) bool { return c.OK })
}

// verify is Verify without the checks drop says to leave out (nil: none).
func verify(m *spec.Model, drop func(Check) bool) []Check {
	// Clusters share nothing, so a fleet's clusters are verified on every core; the checks keep the clusters' order.
	perCluster := make([][]Check, len(m.Clusters))
	parallel.For(len(m.Clusters), 0, func(i int) {
		checks := verifyCluster(i, m.Clusters[i])
		if drop != nil {
			checks = slices.Clip(slices.DeleteFunc(checks, drop))
		}
		perCluster[i] = checks
	})
	var out []Check
	for _, checks := range perCluster {
		out = append(out, checks...)
	}
	return out
}

// VerifyWith checks a cluster's assertions, its spec's and the built-in ones, against the given policies in place of
// the ones its spec compiles to (see NewSimulatorWith); i is its index in the model, for the checks' paths. c may be
// a cluster of the model with other Cilium settings (cilium.AsReleased): the built-in checks follow those.
func VerifyWith(i int, c spec.Cluster, policies []cilium.ClusterwideNetworkPolicy) []Check {
	return verifyAgents(i, c, policies)
}

func verifyCluster(i int, c spec.Cluster) []Check { return verifyAgents(i, c, compiledPolicies(c)) }

// verifyAgents checks the cluster with the policies as its agents enforce them (NewSimulatorWith). Agents that may run
// releases whose verdicts differ (agentClasses: port ranges on both sides of spec.CiliumPortRangesSince, neighbour
// solicitations handed to the host policies by some and not others) are judged as each: a check holds only where it
// holds for every class, since shrinking a range narrows what an allow rule lets through and what a deny rule stops
// alike, and a release whose datapath passes a flow the others drop fails an expected deny. ExplainAssertion shows
// the same verdicts.
func verifyAgents(i int, c spec.Cluster, policies []cilium.ClusterwideNetworkPolicy) []Check {
	agents := cilium.AgentsOf(c.Cilium.Version, c.Cilium.Values)
	checks := verifySimulated(i, NewSimulatorWith(c, policies))
	ranges := slices.ContainsFunc(policies, cilium.HasPortRange)
	without, with := endPortAgents(agents)
	// A failing trace shows the policies as an agent without endPort enforces them: where that is the pinned image's
	// doing, say so, or a range that holds the port would seem to be ignored.
	noted := func(ch Check, note string) Check {
		ch.Traces = slices.Clone(ch.Traces)
		for t := range ch.Traces {
			ch.Traces[t].Cilium.Reason += note
		}
		return ch
	}
	if without && !with && ranges && agents.Pins() {
		// Only where the ranges decide: a check the policies as written pass (a failure for another reason, the
		// agents' neighbour discovery, is not the ranges' doing).
		for k, ch := range verifySimulated(i, newSimulator(c, agents, policies)) {
			if k < len(checks) && !checks[k].OK && ch.OK && reflect.DeepEqual(checks[k].Assertion, ch.Assertion) {
				checks[k] = noted(checks[k], portRangeNote(agents))
			}
		}
	}
	// The checks above are those of agents that enforce the policies as NewSimulatorWith does, with the solicitations
	// of any release: a class whose agents do the same gives the same verdicts, and is not run again.
	shrunk, union := without && !with && ranges, solicitationsOf(agents)
	classes := agentClasses(c, agents, ranges)
	var base []Check
	if classes != nil {
		base = slices.Clone(checks)
	}
	for _, cl := range classes {
		if cl.noEndPort == shrunk && cl.solicitations == union {
			continue
		}
		var written []Check // the class's checks with the policies as written, where its agents know no endPort
		for k, ch := range verifySimulated(i, classSimulator(c, agents, policies, cl)) {
			if k >= len(checks) || !checks[k].OK || ch.OK || !reflect.DeepEqual(checks[k].Assertion, ch.Assertion) {
				continue
			}
			note := fmt.Sprintf(" (on agents of Cilium %s, which the agents may run: Cilium %s)", cl.name, agents)
			if cl.noEndPort {
				if written == nil && !shrunk && cl.solicitations == union {
					written = base
				} else if written == nil {
					k := cl
					k.noEndPort = false
					written = verifySimulated(i, classSimulator(c, agents, policies, k))
				}
				if k < len(written) && written[k].OK {
					note = portRangeNote(agents)
				}
			}
			checks[k] = noted(ch, note)
		}
	}
	return checks
}

func verifySimulated(i int, sim *Simulator) []Check {
	var out []Check
	c := sim.Cluster
	run := func(ch Check) {
		traces, err := sim.Evaluate(ch.Assertion)
		ch.Traces = traces
		if err != nil {
			ch.Error = err.Error()
		}
		ch.OK = err == nil && len(ch.Failed()) == 0
		out = append(out, ch)
	}
	for j, a := range c.Assertions {
		run(Check{Cluster: c.Name, Assertion: a, Path: fmt.Sprintf("clusters[%d].assertions[%d]", i, j)})
	}
	for _, b := range BuiltInAssertions(c) {
		run(Check{Cluster: c.Name, Assertion: b.Assertion, Why: b.Why})
	}
	if c.Hetzner == nil {
		out = append(out, outsideChecks(sim)...)
	}
	return out
}

// Outside is the From of the checks that someone outside the cluster reaches its control planes.
const Outside = "outside"

// outsideChecks hold a cluster without a hetzner block (so without admin addresses to assert from) to the same
// promise as one with: someone outside the cluster reaches the Kubernetes and Talos APIs of every control plane.
// Talos has no shell; with apid and the API server cut off from everywhere, the machines are lost to their owner.
// Each check passes when any flow of the senders outsideSenders lists gets through (one way in is enough for the
// owner); when none does, every trace is kept to show why.
func outsideChecks(sim *Simulator) []Check {
	var out []Check
	senders := map[string][]string{} // per port, the same for every control plane
	for _, n := range sim.Cluster.Nodes {
		if !slices.Contains(n.Roles, spec.RoleControlPlane) {
			continue
		}
		for _, target := range []struct{ port, why string }{
			{"6443/tcp", "someone outside the cluster reaches the Kubernetes API"},
			{"50000/tcp", "someone outside the cluster reaches the Talos API (apid)"},
		} {
			port, _ := spec.ParseFlowPort(target.port)
			if senders[target.port] == nil {
				senders[target.port] = outsideSenders(sim, port)
			}
			senders := senders[target.port]
			ch := Check{Cluster: sim.Cluster.Name, Assertion: spec.Assertion{From: Outside, To: "node:" + n.Name, Port: target.port, Expect: spec.Allowed},
				Why: target.why + "; with no hetzner block naming the admin, tried from " + strings.Join(senders, ", ")}
			var denied []Trace
			var errs []string
			for _, from := range senders {
				traces, err := sim.Evaluate(spec.Assertion{From: from, To: "node:" + n.Name, Port: target.port, Expect: spec.Allowed})
				if err != nil {
					errs = append(errs, err.Error())
					continue
				}
				if i := slices.IndexFunc(traces, func(t Trace) bool { return t.Allowed }); i >= 0 {
					ch.OK, ch.Traces = true, traces[i:i+1]
					break
				}
				denied = append(denied, traces...)
			}
			if !ch.OK {
				ch.Traces, ch.Error = denied, strings.Join(errs, "; ")
			}
			out = append(out, ch)
		}
	}
	return out
}

// notOutside are the ranges no sender outside the cluster comes from: unspecified and "this network", loopback,
// link-local, multicast, IPv4's reserved class E (broadcast included) and IPv4-mapped IPv6 addresses, which no packet
// carries (the spec refuses them as peers; the kernel drops an IPv6 packet from one). A rule naming them lets no one in.
var notOutside = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("224.0.0.0/4"), netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("::/128"), netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("::ffff:0:0/96"),
	netip.MustParsePrefix("fe80::/10"), netip.MustParsePrefix("ff00::/8"),
}

// outsideSenders are the senders outside the cluster a spec allows for: the world, and an outside address of every
// range the CIDRs of the ingress rules for the port (allow and deny, their holes included) cut out, since that is
// where a policy that narrows the APIs lets its owner in: an allow rule's CIDR, or the hole of a deny rule that shuts
// out everyone else. A rule for another port is no way in to this one, and addresses that cannot be outside (loopback,
// multicast, a node's own: Cilium gives those the node's identity) prove nothing.
func outsideSenders(sim *Simulator, port spec.FlowPort) []string {
	return outsidePeers(sim, port, false)
}

// outsidePeers are outsideSenders for ingress, and for egress the peers outside the cluster a node's own traffic
// may go to: the world, then one outside address per way the rules for the port can tell outside addresses apart.
// Whether a CIDR peer (a CIDR outside its holes) matches is all a rule knows of an outside address, so addresses that
// every such peer of the rules, allow and deny, matches alike get the same verdict on every node: the address space
// is cut at the peers' boundaries and at the ranges that cannot be outside, and the first outside address of each
// piece that some peer tells apart from the world address of its family, and that could fare better than it, is
// tried, in address order. Exact, and at most 2n+1 addresses per family for n boundaries.
func outsidePeers(sim *Simulator, port spec.FlowPort, egress bool) []string {
	avoid := slices.Clone(notOutside)
	for _, n := range sim.Cluster.Nodes {
		for _, s := range n.Addresses {
			if a, err := netip.ParseAddr(s); err == nil {
				avoid = append(avoid, netip.PrefixFrom(a, a.BitLen()))
			}
		}
	}
	var peers []cidrPeer
	var denies []bool // per peer: a deny rule's
	var cuts []netip.Prefix
	for _, p := range sim.sortedPolicies() {
		allow, deny := sim.rulesOf(p, egress)
		for i, r := range append(slices.Clone(allow), deny...) {
			if !r.l4Matches(port) {
				continue
			}
			var rulePeers []cilium.CIDRRule
			for _, c := range r.cidr {
				rulePeers = append(rulePeers, cilium.CIDRRule{CIDR: c})
			}
			rulePeers = append(rulePeers, r.cidrSet...)
			for _, c := range rulePeers {
				cp, ok := parseCIDRPeer(c)
				if !ok {
					continue
				}
				peers, denies = append(peers, cp), append(denies, i >= len(allow))
				cuts = append(cuts, cp.cidr)
				cuts = append(cuts, cp.except...)
			}
		}
	}
	out := []string{"world"}
	if len(peers) == 0 {
		return out
	}
	cuts = append(cuts, avoid...)
	// The peers an address matches, found by one lookup per prefix length the peers have rather than by trying each
	// peer: a policy of n CIDRs cuts the space into up to 2n+1 pieces, and trying every peer on each was quadratic.
	byPrefix := map[netip.Prefix][]int{}
	var lengths [2][]int // per family (0: IPv4), the prefix lengths of the peers
	for i, p := range peers {
		byPrefix[p.cidr] = append(byPrefix[p.cidr], i)
		f := 0
		if p.cidr.Addr().Is6() {
			f = 1
		}
		if !slices.Contains(lengths[f], p.cidr.Bits()) {
			lengths[f] = append(lengths[f], p.cidr.Bits())
		}
	}
	matched := func(a netip.Addr) []int {
		f := 0
		if a.Is6() {
			f = 1
		}
		var out []int
		for _, l := range lengths[f] {
			at, _ := a.Prefix(l)
			for _, i := range byPrefix[at] {
				if peers[i].matches(a) {
					out = append(out, i)
				}
			}
		}
		slices.Sort(out)
		return out
	}
	signature := func(m []int) string {
		b := make([]byte, 0, 4*len(m))
		for _, i := range m {
			b = binary.LittleEndian.AppendUint32(b, uint32(i))
		}
		return string(b)
	}
	for _, v6 := range []bool{false, true} {
		whole := netip.MustParsePrefix("0.0.0.0/0")
		if v6 {
			whole = netip.MustParsePrefix("::/0")
		}
		world := matched(sim.worldAddress(v6))
		// An address that no allow peer matches but the world address's, and that every deny peer of the world
		// address matches, gets in (or out) on no node where the world address does not: trying it proves nothing,
		// and a policy of many deny CIDRs would be tried, and its failures printed, from each.
		worldCovers := func(m []int) bool {
			for _, i := range m {
				if _, in := slices.BinarySearch(world, i); !denies[i] && !in {
					return false
				}
			}
			for _, i := range world {
				if _, in := slices.BinarySearch(m, i); denies[i] && !in {
					return false
				}
			}
			return true
		}
		seen := map[string]bool{signature(world): true}
		for _, a := range pieces(whole, cuts) {
			if slices.ContainsFunc(avoid, func(p netip.Prefix) bool { return p.Contains(a) }) {
				continue
			}
			m := matched(a)
			if sig := signature(m); !seen[sig] && !worldCovers(m) {
				seen[sig] = true
				out = append(out, a.String())
			}
		}
	}
	return out
}

// cidrPeer is a CIDR peer of a rule, parsed: it matches the addresses of cidr outside its holes.
type cidrPeer struct {
	cidr   netip.Prefix
	except []netip.Prefix
}

func parseCIDRPeer(c cilium.CIDRRule) (cidrPeer, bool) {
	p, err := netip.ParsePrefix(c.CIDR)
	if err != nil {
		return cidrPeer{}, false
	}
	out := cidrPeer{cidr: p.Masked()}
	for _, x := range c.Except {
		if hole, err := netip.ParsePrefix(x); err == nil {
			out.except = append(out.except, hole.Masked())
		}
	}
	return out, true
}

func (p cidrPeer) matches(a netip.Addr) bool {
	return p.cidr.Contains(a) && !slices.ContainsFunc(p.except, func(x netip.Prefix) bool { return x.Contains(a) })
}

// String names the assertion: from -> to port, expected verdict.
func (c Check) String() string {
	a := c.Assertion
	return fmt.Sprintf("%s -> %s %s %s", a.From, a.To, a.Port, a.Expect)
}
