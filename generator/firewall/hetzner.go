package firewall

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/kronform/kronform-gen/generator/spec"
)

// Template is a Hetzner Robot firewall template: its input rules in the order Robot evaluates them.
type Template struct {
	Name         string
	FilterIPv6   bool
	WhitelistHOS bool
	Rules        []spec.HetznerRule
}

// BuildTemplate is the cluster's escape hatch, or false when the spec has no hetzner block. Without explicit rules it
// is the seed's template: accept the admin sources, discard the API ports for everyone else, accept the rest. A cluster
// of several nodes also accepts each node's own addresses, since the discard rules would otherwise cut kubelets and
// joining nodes off the Kubernetes API and trustd.
func BuildTemplate(c spec.Cluster) (Template, bool) {
	h := c.Hetzner
	if h == nil {
		return Template{}, false
	}
	t := Template{Name: h.Template, FilterIPv6: h.FilterIPv6, WhitelistHOS: h.WhitelistHOS}
	if len(h.Rules) > 0 {
		t.Rules = slices.Clone(h.Rules)
		return t, true
	}
	admins := h.AdminPrefixes()
	for i, p := range admins {
		name := "admin"
		if len(admins) > 1 {
			name = fmt.Sprintf("admin %d", i+1)
		}
		t.Rules = append(t.Rules, spec.HetznerRule{Name: name, IPVersion: ipVersion(p.Addr()), SrcIP: p.String(), Action: "accept"})
	}
	if len(c.Nodes) > 1 {
		for _, n := range c.Nodes {
			for _, v6 := range []bool{false, true} {
				a, ok := spec.HostAddress(n, v6)
				if !ok || (v6 && !h.FilterIPv6) {
					continue
				}
				name := "node " + n.Name
				if v6 {
					name += " v6"
				}
				t.Rules = append(t.Rules, spec.HetznerRule{Name: name, IPVersion: ipVersion(a), SrcIP: netip.PrefixFrom(a, a.BitLen()).String(), Action: "accept"})
			}
		}
	}
	for _, d := range h.Discard {
		ports, proto, _ := spec.ParseHetznerDiscard(d) // validated at load
		if proto == "" {
			t.Rules = append(t.Rules, spec.HetznerRule{Name: "discard " + ports, DstPort: ports, Action: "discard"})
			continue
		}
		t.Rules = append(t.Rules, spec.HetznerRule{Name: "discard " + ports + " " + proto, IPVersion: "ipv4", Protocol: proto, DstPort: ports, Action: "discard"})
		if h.FilterIPv6 {
			t.Rules = append(t.Rules, spec.HetznerRule{Name: "discard " + ports + " " + proto + " v6", IPVersion: "ipv6", Protocol: proto, DstPort: ports, Action: "discard"})
		}
	}
	t.Rules = append(t.Rules, spec.HetznerRule{Name: "accept rest", Action: "accept"})
	return t, true
}

func ipVersion(a netip.Addr) string {
	if a.Is4() {
		return "ipv4"
	}
	return "ipv6"
}

// robotRule is a rule as the Robot API returns it: every field present, null when unset.
type robotRule struct {
	IPVersion *string `json:"ip_version"`
	Name      string  `json:"name"`
	DstIP     *string `json:"dst_ip"`
	SrcIP     *string `json:"src_ip"`
	DstPort   *string `json:"dst_port"`
	SrcPort   *string `json:"src_port"`
	Protocol  *string `json:"protocol"`
	TCPFlags  *string `json:"tcp_flags"`
	Action    string  `json:"action"`
}

type robotTemplate struct {
	Name         string `json:"name"`
	FilterIPv6   bool   `json:"filter_ipv6"`
	WhitelistHOS bool   `json:"whitelist_hos"`
	IsDefault    bool   `json:"is_default"`
	Rules        struct {
		Input []robotRule `json:"input"`
	} `json:"rules"`
}

func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// JSON is the template in the shape GET /firewall/template/{id} returns it, without the id Robot assigns.
func (t Template) JSON() ([]byte, error) {
	rt := robotTemplate{Name: t.Name, FilterIPv6: t.FilterIPv6, WhitelistHOS: t.WhitelistHOS}
	rt.Rules.Input = []robotRule{}
	for _, r := range t.Rules {
		rt.Rules.Input = append(rt.Rules.Input, robotRule{
			IPVersion: orNull(r.IPVersion), Name: r.Name, DstIP: orNull(r.DstIP), SrcIP: orNull(r.SrcIP),
			DstPort: orNull(r.DstPort), SrcPort: orNull(r.SrcPort), Protocol: orNull(r.Protocol), TCPFlags: orNull(r.TCPFlags),
			Action: r.Action,
		})
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]any{"firewall_template": rt}); err != nil {
		return nil, fmt.Errorf("encoding template %s: %w", t.Name, err)
	}
	return b.Bytes(), nil
}

// Form is the form-encoded body of POST /firewall/template, one parameter a line: `curl -d @FILE` strips the newlines
// and sends the parameters joined by &.
func (t Template) Form() []byte {
	var params []string
	add := func(key, value string) {
		if value != "" {
			params = append(params, key+"="+url.QueryEscape(value))
		}
	}
	add("name", t.Name)
	add("filter_ipv6", fmt.Sprint(t.FilterIPv6))
	add("whitelist_hos", fmt.Sprint(t.WhitelistHOS))
	add("is_default", "false")
	for i, r := range t.Rules {
		k := func(field string) string { return fmt.Sprintf("rules[input][%d][%s]", i, field) }
		add(k("name"), r.Name)
		add(k("ip_version"), r.IPVersion)
		add(k("src_ip"), r.SrcIP)
		add(k("dst_ip"), r.DstIP)
		add(k("src_port"), r.SrcPort)
		add(k("dst_port"), r.DstPort)
		add(k("protocol"), r.Protocol)
		add(k("tcp_flags"), r.TCPFlags)
		add(k("action"), r.Action)
	}
	return []byte(strings.Join(params, "&\n") + "\n")
}

// EphemeralPort is the client port assumed for a flow: the first of Linux's ephemeral range (32768-60999). Replies
// come back to it, which is why Robot's reply rule opens 32768-65535.
const EphemeralPort = 32768

// Packet is one packet as the Robot firewall sees it.
type Packet struct {
	Src, Dst netip.Addr
	Protocol string // tcp, udp, sctp or icmp
	SrcPort  int
	DstPort  int
	TCPFlags []string // set on tcp packets: syn for a connection's first packet, syn and ack for its reply, ack after
}

// HetznerVerdict is what the Robot firewall did with a packet and which rule decided.
type HetznerVerdict struct {
	Evaluated bool   `json:"evaluated"`
	Accepted  bool   `json:"accepted"`
	Rule      int    `json:"rule,omitempty"` // 1-based; 0 when no rule decided
	RuleName  string `json:"ruleName,omitempty"`
	// Packet is which packet of a TCP connection was decided: PacketACK when the first one passed and a later one
	// did not; empty for the first packet.
	Packet string `json:"packet,omitempty"`
	Reason string `json:"reason"`
}

// PacketACK names a TCP connection's packets after its first: they carry ACK and no SYN.
const PacketACK = "ack"

// EvaluateConnection runs a TCP connection's packets in one direction through the template: the first (flags first:
// SYN for a new connection, SYN and ACK for its reply), then a later one (ACK alone, as every data packet carries).
// Robot is stateless, so a rule that accepts the first packet by its flags lets nothing else of the connection
// through unless another rule accepts the ACKs. The verdict is the first packet's unless it passes and the ACK does
// not.
func (t Template) EvaluateConnection(p Packet, first []string) HetznerVerdict {
	p.TCPFlags = first
	v := t.Evaluate(p)
	if !v.Accepted {
		return v
	}
	p.TCPFlags = []string{"ack"}
	later := t.Evaluate(p)
	if later.Accepted {
		return v
	}
	later.Packet = PacketACK
	later.Reason = fmt.Sprintf("the %s passes (%s), but the connection's later ACK packets do not: %s",
		strings.ToUpper(strings.Join(first, "-")), v.Reason, later.Reason)
	return later
}

// Evaluate runs a packet through the template: the first matching rule decides; a packet no rule matches is
// discarded, as is everything when there are no rules.
func (t Template) Evaluate(p Packet) HetznerVerdict {
	if p.Src.Is6() && !t.FilterIPv6 {
		return HetznerVerdict{Evaluated: true, Accepted: true, Reason: fmt.Sprintf("template %s does not filter IPv6 (filter_ipv6 false)", t.Name)}
	}
	for i, r := range t.Rules {
		if !ruleMatches(r, p) {
			continue
		}
		return HetznerVerdict{
			Evaluated: true, Accepted: r.Action == "accept", Rule: i + 1, RuleName: r.Name,
			Reason: fmt.Sprintf("rule %d %q (%s) of template %s", i+1, r.Name, DescribeRule(r), t.Name),
		}
	}
	if len(t.Rules) == 0 {
		return HetznerVerdict{Evaluated: true, Reason: fmt.Sprintf("template %s has no rules: Robot discards everything", t.Name)}
	}
	return HetznerVerdict{Evaluated: true, Reason: fmt.Sprintf("no rule of template %s matches: Robot discards the rest", t.Name)}
}

// evaluateSourcePorts runs a tunnel's packet through the template from every source port the tunnel may send from:
// the range is cut at the rules' src_port boundaries, so one port per piece decides for the whole piece. The verdict
// is the first piece's, unless some pieces are discarded and others accepted: then the first discarded, saying from
// which source port.
func (t Template) evaluateSourcePorts(p Packet, tun tunnel) HetznerVerdict {
	starts := []int{tun.low}
	for _, r := range t.Rules {
		if r.SrcPort == "" {
			continue
		}
		low, high, err := spec.ParseHetznerPort(r.SrcPort)
		if err != nil {
			continue
		}
		for _, b := range []int{low, high + 1} {
			if b > tun.low && b <= tun.top {
				starts = append(starts, b)
			}
		}
	}
	slices.Sort(starts)
	var discarded *HetznerVerdict
	var first HetznerVerdict
	accepted := false
	for i, port := range slices.Compact(starts) {
		p.SrcPort = port
		v := t.Evaluate(p)
		if i == 0 {
			first = v
		}
		switch {
		case v.Accepted:
			accepted = true
		case discarded == nil:
			v.Reason = fmt.Sprintf("from source port %d (%s's packets leave from a port in %d-%d the kernel picks per flow): %s", port, tun.name, tun.low, tun.top, v.Reason)
			discarded = &v
		}
	}
	switch {
	case discarded == nil:
		return first
	case !accepted:
		return first // discarded from every source port: the port is no part of why
	}
	return *discarded
}

func ruleMatches(r spec.HetznerRule, p Packet) bool {
	if r.IPVersion != "" && r.IPVersion != ipVersion(p.Src) {
		return false
	}
	if !prefixMatches(r.SrcIP, p.Src) || !prefixMatches(r.DstIP, p.Dst) {
		return false
	}
	proto := p.Protocol
	if r.Protocol != "" && r.Protocol != proto {
		return false
	}
	// A port criterion only holds for packets that have ports.
	if (r.SrcPort != "" || r.DstPort != "") && proto != "tcp" && proto != "udp" {
		return false
	}
	if !portMatches(r.SrcPort, p.SrcPort) || !portMatches(r.DstPort, p.DstPort) {
		return false
	}
	if r.TCPFlags != "" {
		if proto != "tcp" {
			return false
		}
		flags, all, _ := spec.ParseTCPFlags(r.TCPFlags)
		hits := 0
		for _, f := range flags {
			if slices.Contains(p.TCPFlags, f) {
				hits++
			}
		}
		if (all && hits < len(flags)) || (!all && hits == 0) {
			return false
		}
	}
	return true
}

func prefixMatches(rule string, a netip.Addr) bool {
	if rule == "" {
		return true
	}
	p, err := spec.ParseAddressOrCIDR(rule)
	return err == nil && a.IsValid() && p.Contains(a)
}

func portMatches(rule string, port int) bool {
	if rule == "" {
		return true
	}
	low, high, err := spec.ParseHetznerPort(rule)
	return err == nil && port >= low && port <= high
}

// DescribeRule says what a rule matches, in Robot's field names.
func DescribeRule(r spec.HetznerRule) string {
	var parts []string
	for _, f := range []struct{ k, v string }{
		{"ip_version", r.IPVersion}, {"src_ip", r.SrcIP}, {"dst_ip", r.DstIP}, {"protocol", r.Protocol},
		{"src_port", r.SrcPort}, {"dst_port", r.DstPort}, {"tcp_flags", r.TCPFlags},
	} {
		if f.v != "" {
			parts = append(parts, f.k+" "+f.v)
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "every packet")
	}
	return strings.Join(parts, ", ") + ": " + r.Action
}

// acceptsEverything is a rule that accepts whatever reaches it: the seed's last rule.
func acceptsEverything(r spec.HetznerRule) bool {
	return r.Action == "accept" && r == spec.HetznerRule{Name: r.Name, Action: "accept"}
}

// DiscardsByDefault says whether packets that no specific rule accepts are dropped: the last rule is not an accept of
// everything.
func (t Template) DiscardsByDefault() bool {
	return len(t.Rules) == 0 || !acceptsEverything(t.Rules[len(t.Rules)-1])
}

// AcceptsReplies says whether the template lets in the replies to the nodes' own TCP connections, which a stateless
// firewall must accept explicitly: a SYN-ACK from anywhere to dst on every ephemeral port.
func (t Template) AcceptsReplies(dst netip.Addr) bool {
	src := netip.MustParseAddr("192.0.2.1")
	if dst.Is6() {
		src = netip.MustParseAddr("2001:db8::1")
	}
	for _, port := range []int{EphemeralPort, 60999, 65535} {
		v := t.EvaluateConnection(Packet{Src: src, Dst: dst, Protocol: "tcp", SrcPort: 443, DstPort: port}, []string{"syn", "ack"})
		if !v.Accepted {
			return false
		}
	}
	return true
}

// lostUDPReplies names the UDP services whose replies a template discards: DNS (from port 53) and NTP (from port 123)
// answer the nodes' queries on an ephemeral port, and Robot, being stateless, must accept them explicitly.
func (t Template) lostUDPReplies(dst netip.Addr) []string {
	src := netip.MustParseAddr("192.0.2.1")
	if dst.Is6() {
		src = netip.MustParseAddr("2001:db8::1")
	}
	var out []string
	for _, svc := range []struct {
		name string
		port int
	}{{"DNS (53/udp)", 53}, {"NTP (123/udp)", 123}} {
		for _, port := range []int{EphemeralPort, 60999, 65535} {
			if !t.Evaluate(Packet{Src: src, Dst: dst, Protocol: "udp", SrcPort: svc.port, DstPort: port}).Accepted {
				out = append(out, svc.name)
				break
			}
		}
	}
	return out
}
