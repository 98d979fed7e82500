package spec

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Kinds of flow source, as an assertion or `explain --from` names them.
const (
	SourceAdmin   = "admin"   // the Hetzner admin sources: world, but accepted by the escape hatch
	SourceWorld   = "world"   // any address outside the cluster
	SourceAddress = "address" // one address or a CIDR outside the cluster
	SourceEntity  = "entity"  // a Cilium identity (kube-apiserver, remote-node: the other nodes they stand for, health, ...)
	SourceNode    = "node"    // one or more nodes of the cluster (a node or a role)
	SourcePod     = "pod"     // a cluster pod with the given labels
)

// SourceEntities are the entities that name one kind of peer. all, cluster and none are groups, not a sender.
var SourceEntities = []string{"world", "host", "remote-node", "kube-apiserver", "health", "init", "ingress", "unmanaged"}

// FlowSource is where a flow comes from.
type FlowSource struct {
	Kind   string
	Text   string            // as written
	Prefix netip.Prefix      // SourceAddress; for SourceNode, the node's address when the source was written as one
	Entity string            // SourceEntity
	Nodes  []string          // SourceNode: node names in spec order
	Labels map[string]string // SourcePod
}

// FlowPort is what a flow carries: a TCP/UDP/SCTP destination port, or an ICMP type.
type FlowPort struct {
	Protocol string // tcp, udp, sctp or icmp
	Port     int    // 0 for ICMP
	Family   string // ICMP family: IPv4 or IPv6; empty for ports
	ICMPType int
}

func (p FlowPort) String() string {
	if p.Protocol == "icmp" {
		if p.Family == "IPv6" {
			return fmt.Sprintf("icmpv6:%d", p.ICMPType)
		}
		return fmt.Sprintf("icmp:%d", p.ICMPType)
	}
	return fmt.Sprintf("%d/%s", p.Port, p.Protocol)
}

// ICMP echo request types: what ping sends.
const (
	EchoRequestV4 = 8
	EchoRequestV6 = 128
)

// ParseFlowPort parses PORT/PROTO, icmp[:TYPE] or icmpv6[:TYPE]; a bare icmp or icmpv6 is ping. TYPE is a number or
// Cilium's name for it in that family, as a rule's icmp entries take it (icmpv6:NeighborSolicitation is 135).
func ParseFlowPort(s string) (FlowPort, error) {
	for _, f := range []struct {
		prefix, family, otherPrefix, otherFamily string
		ping                                     int
	}{{"icmpv6", "IPv6", "icmp", "IPv4", EchoRequestV6}, {"icmp", "IPv4", "icmpv6", "IPv6", EchoRequestV4}} {
		if len(s) < len(f.prefix) || !strings.EqualFold(s[:len(f.prefix)], f.prefix) {
			continue
		}
		if len(s) == len(f.prefix) {
			return FlowPort{Protocol: "icmp", Family: f.family, ICMPType: f.ping}, nil
		}
		typ, colon := strings.CutPrefix(s[len(f.prefix):], ":") // as written: names are spelled as Cilium spells them
		t, err := strconv.Atoi(typ)
		if n, ok := icmpNames(f.family)[typ]; ok {
			t, err = n, nil
		} else if _, theirs := icmpNames(f.otherFamily)[typ]; theirs && colon {
			return FlowPort{}, fmt.Errorf("%q: %s is not an %s ICMP type name (it is an %s one: write %s:%s)", s, typ, f.family,
				f.otherFamily, f.otherPrefix, typ)
		}
		if !colon || err != nil || t < 0 || t > 255 {
			return FlowPort{}, fmt.Errorf("%q: write %s or %s:TYPE with TYPE 0-255 or an %s ICMP type name as Cilium spells it (EchoRequest)",
				s, f.prefix, f.prefix, f.family)
		}
		return FlowPort{Protocol: "icmp", Family: f.family, ICMPType: t}, nil
	}
	r, err := ParsePort(s)
	if err != nil {
		return FlowPort{}, err
	}
	if r.High != r.Low {
		return FlowPort{}, fmt.Errorf("%q: a flow goes to one port, not a range", s)
	}
	if r.Protocol == "any" {
		return FlowPort{}, fmt.Errorf("%q: a flow has one protocol; write tcp, udp or sctp", s)
	}
	return FlowPort{Protocol: r.Protocol, Port: r.Low}, nil
}

// ParseFlowSource parses a flow source against the cluster's nodes. Bare words are tried as admin, world, an address
// or CIDR, an entity, a node and a role, in that order; a prefix (entity:, node:, role:, pod:) says which is meant.
// An address of one of the cluster's nodes is that node: Cilium gives it the node's identity, never world.
func ParseFlowSource(c Cluster, s string) (FlowSource, error) {
	src := FlowSource{Text: s}
	kind, value, prefixed := strings.Cut(s, ":")
	if prefixed && !slices.Contains([]string{"entity", "node", "role", "pod"}, kind) {
		prefixed, value = false, s // an IPv6 address
	}
	if prefixed {
		switch kind {
		case "entity":
			return entitySource(src, value)
		case "node":
			if !slices.ContainsFunc(c.Nodes, func(n Node) bool { return n.Name == value }) {
				return src, absentf("%q: no node named %q", s, value)
			}
			src.Kind, src.Nodes = SourceNode, []string{value}
			return src, nil
		case "role":
			nodes, err := roleNodes(c, value)
			if err != nil {
				return src, fmt.Errorf("%q: %w", s, err)
			}
			src.Kind, src.Nodes = SourceNode, nodes
			return src, nil
		case "pod":
			labels, err := parseLabels(value)
			if err != nil {
				return src, fmt.Errorf("%q: %w", s, err)
			}
			src.Kind, src.Labels = SourcePod, labels
			return src, nil
		}
	}
	switch s {
	case SourceAdmin:
		if c.Hetzner == nil || len(c.Hetzner.AdminSources) == 0 {
			return src, fmt.Errorf("admin means hetzner.adminSources, and the cluster has none")
		}
		src.Kind = SourceAdmin
		return src, nil
	case SourceWorld:
		src.Kind = SourceWorld
		return src, nil
	}
	if p, err := ParseAddressOrCIDR(s); err == nil {
		for _, n := range c.Nodes {
			for _, a := range n.Addresses {
				if addr, err := netip.ParseAddr(a); err == nil && p.Bits() == addr.BitLen() && p.Addr() == addr {
					// The node, sending from this address: its family is the flow's.
					src.Kind, src.Nodes, src.Prefix = SourceNode, []string{n.Name}, p
					return src, nil
				}
			}
		}
		src.Kind, src.Prefix = SourceAddress, p
		return src, nil
	}
	if slices.Contains(ciliumEntities, s) {
		return entitySource(src, s)
	}
	if slices.ContainsFunc(c.Nodes, func(n Node) bool { return n.Name == s }) {
		src.Kind, src.Nodes = SourceNode, []string{s}
		return src, nil
	}
	if s == RoleControlPlane || s == RoleWorker {
		nodes, err := roleNodes(c, s)
		if err != nil {
			return src, fmt.Errorf("%q: %w", s, err)
		}
		src.Kind, src.Nodes = SourceNode, nodes
		return src, nil
	}
	return src, fmt.Errorf("%q is not a source: write admin, world, an address or CIDR, an entity, a node or role name, or pod:KEY=VALUE", s)
}

func entitySource(src FlowSource, e string) (FlowSource, error) {
	if !slices.Contains(SourceEntities, e) {
		if slices.Contains(ciliumEntities, e) {
			return src, fmt.Errorf("%q: entity %s is a group of senders, not one; name a member such as remote-node or kube-apiserver", src.Text, e)
		}
		return src, fmt.Errorf("%q: unknown entity %q (one of %s)", src.Text, e, strings.Join(SourceEntities, ", "))
	}
	if e == SourceWorld {
		src.Kind = SourceWorld
		return src, nil
	}
	src.Kind, src.Entity = SourceEntity, e
	return src, nil
}

// ParseFlowTarget resolves a destination to node names: NAME, node:NAME or role:NAME.
func ParseFlowTarget(c Cluster, s string) ([]string, error) {
	kind, value, prefixed := strings.Cut(s, ":")
	isNode := func(name string) bool {
		return slices.ContainsFunc(c.Nodes, func(n Node) bool { return n.Name == name })
	}
	switch {
	case prefixed && kind == "node":
		if !isNode(value) {
			return nil, absentf("%q: no node named %q", s, value)
		}
		return []string{value}, nil
	case prefixed && kind == "role":
		nodes, err := roleNodes(c, value)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", s, err)
		}
		return nodes, nil
	case prefixed:
		return nil, fmt.Errorf("%q is not a destination: write a node or role name, node:NAME or role:NAME", s)
	case isNode(s):
		return []string{s}, nil
	case s == RoleControlPlane || s == RoleWorker:
		return roleNodes(c, s)
	}
	return nil, absentf("%q is neither a node nor a role of the cluster", s)
}

func roleNodes(c Cluster, role string) ([]string, error) {
	if role != RoleControlPlane && role != RoleWorker {
		return nil, fmt.Errorf("unknown role %q (control-plane or worker)", role)
	}
	var out []string
	for _, n := range c.Nodes {
		if slices.Contains(n.Roles, role) {
			out = append(out, n.Name)
		}
	}
	if len(out) == 0 {
		return nil, absentf("no node has the role %s", role)
	}
	return out, nil
}

// absentError says a flow names a node or role that the cluster does not have.
type absentError struct{ msg string }

func (e absentError) Error() string { return e.msg }

func absentf(format string, args ...any) error { return absentError{fmt.Sprintf(format, args...)} }

func parseLabels(s string) (map[string]string, error) {
	if s == "" {
		return nil, fmt.Errorf("name at least one label: pod:KEY=VALUE")
	}
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not KEY=VALUE", kv)
		}
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return nil, fmt.Errorf("%q is not a valid label key: %s", k, errs[0])
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return nil, fmt.Errorf("%q is not a valid label value: %s", v, errs[0])
		}
		out[k] = v
	}
	return out, nil
}

// ParseAddressOrCIDR reads 1.2.3.4 as 1.2.3.4/32 and a CIDR as itself; host bits must be clear, and neither may
// have a zone or the IPv4-mapped IPv6 form (see ParseCIDR).
func ParseAddressOrCIDR(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		if msg, hint := addrProblem(a); msg != "" {
			return netip.Prefix{}, fmt.Errorf("%s; %s", msg, hint)
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	if strings.Contains(s, "/") {
		return ParseCIDR(s)
	}
	return netip.Prefix{}, fmt.Errorf("%q is neither an address nor a CIDR", s)
}

// ParseCIDR reads a CIDR whose host bits are clear. An IPv4-mapped IPv6 CIDR (::ffff:192.0.2.0/120) is refused: no
// packet carries such an address, so a rule with it never matches IPv4 traffic.
func ParseCIDR(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		if a, aerr := netip.ParseAddr(s); aerr == nil && a.Zone() == "" {
			// The IPv4-mapped form's /128 would be refused in turn: its one address is the IPv4 address's /32.
			a = a.Unmap()
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR; write %s/%d for one address", s, a, a.BitLen())
		}
		if addr, _, ok := strings.Cut(s, "/"); ok && strings.Contains(addr, "%") {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR: a CIDR has no zone", s)
		}
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR", s)
	}
	if p.Addr().Is4In6() {
		unmapped := "a CIDR of at least /96"
		if p.Bits() >= 96 {
			unmapped = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Masked().String()
		}
		return netip.Prefix{}, fmt.Errorf("%s is an IPv4-mapped IPv6 CIDR, which no packet carries; write the IPv4 CIDR %s", s, unmapped)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("%s has host bits set; write %s", s, p.Masked())
	}
	return p, nil
}

// AdminPrefixes are the Hetzner admin sources as prefixes (validated at load).
func (h *Hetzner) AdminPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range h.AdminSources {
		if p, err := ParseAddressOrCIDR(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}
