package spec

// Hetzner is the out-of-cluster escape hatch: a Hetzner Robot firewall template that keeps the Kubernetes and Talos
// APIs reachable for the admin whatever the in-cluster policies say.
type Hetzner struct {
	Template     string        `json:"template,omitempty" jsonschema:"minLength=1,description=Template name (default <cluster>-escape-hatch)."`
	AdminSources []string      `json:"adminSources" jsonschema:"minItems=1,description=Addresses or CIDRs the admin connects from; they are the source 'admin' in assertions."`
	Discard      []string      `json:"discard,omitempty" jsonschema:"minItems=1,description=Ports discarded for everyone else: N or N-M (every protocol) or N/tcp or N-M/udp (default 6443 and 50000-50001)."`
	Rules        []HetznerRule `json:"rules,omitempty" jsonschema:"maxItems=10,description=A complete custom list of input rules; replaces the generated admin/discard/accept rules."`
	FilterIPv6   bool          `json:"filterIPv6,omitempty" jsonschema:"description=Filter IPv6 too (filter_ipv6); without it IPv6 passes Hetzner unfiltered."`
	WhitelistHOS bool          `json:"whitelistHOS,omitempty" jsonschema:"description=Let Hetzner's own services in."`
}

// HetznerRule is one Robot firewall input rule, in the Robot API's terms. Rules are evaluated in order; the first that
// matches decides.
type HetznerRule struct {
	Name      string `json:"name" jsonschema:"description=Letters and digits and space and . - + _ @"`
	IPVersion string `json:"ipVersion,omitempty" jsonschema:"enum=ipv4,enum=ipv6,description=Omitted: both families (then no srcIP or dstIP or protocol)."`
	SrcIP     string `json:"srcIP,omitempty" jsonschema:"minLength=1,description=Source address or CIDR."`
	DstIP     string `json:"dstIP,omitempty" jsonschema:"minLength=1,description=Destination address or CIDR."`
	SrcPort   string `json:"srcPort,omitempty" jsonschema:"minLength=1,description=N or N-M."`
	DstPort   string `json:"dstPort,omitempty" jsonschema:"minLength=1,description=N or N-M."`
	Protocol  string `json:"protocol,omitempty" jsonschema:"enum=tcp,enum=udp,enum=gre,enum=icmp,enum=ipip,enum=ah,enum=esp"`
	TCPFlags  string `json:"tcpFlags,omitempty" jsonschema:"minLength=1,description=syn or fin or rst or psh or urg or ack joined by | (any) or & (all)."`
	Action    string `json:"action" jsonschema:"enum=accept,enum=discard"`
}

// Assertion is an expected verdict for one flow, checked by verify through both firewall layers. The verdict is the
// enforced one: audit mode does not make a denied flow pass an assertion.
type Assertion struct {
	From   string `json:"from" jsonschema:"description=admin or world or a CIDR or address or an entity (kube-apiserver or entity:NAME) or node:NAME or role:NAME or pod:KEY=VALUE[,KEY=VALUE]."`
	To     string `json:"to" jsonschema:"description=A node or role: NAME or node:NAME or role:NAME."`
	Port   string `json:"port" jsonschema:"description=PORT/PROTO (tcp or udp or sctp); or icmp or icmp:TYPE or icmpv6 or icmpv6:TYPE (ping is icmp; TYPE is a number or Cilium's name for it in that family such as EchoRequest)."`
	Expect string `json:"expect" jsonschema:"enum=allowed,enum=denied"`
}

// Verdicts an assertion may expect.
const (
	Allowed = "allowed"
	Denied  = "denied"
)
