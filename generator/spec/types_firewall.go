package spec

// Hetzner is the out-of-cluster escape hatch: a Hetzner Robot firewall template that keeps the Kubernetes and Talos
// APIs reachable for the admin whatever the in-cluster policies say.
type Hetzner struct {
	Template     string   `json:"template,omitempty" jsonschema:"description=Template name (default <cluster>-escape-hatch)."`
	AdminSources []string `json:"adminSources" jsonschema:"description=Addresses or CIDRs the admin connects from."`
	Discard      []string `json:"discard,omitempty" jsonschema:"description=Ports discarded for everyone else (default 6443/tcp and 50000-50001/tcp)."`
	FilterIPv6   bool     `json:"filterIPv6,omitempty"`
	WhitelistHOS bool     `json:"whitelistHOS,omitempty" jsonschema:"description=Let Hetzner's own services in."`
}

// Assertion is an expected verdict for one flow, checked by verify through both firewall layers.
type Assertion struct {
	From   string `json:"from" jsonschema:"description=admin or world or a CIDR or address or entity:NAME or node:NAME or role:NAME."`
	To     string `json:"to" jsonschema:"description=node:NAME or role:NAME."`
	Port   string `json:"port" jsonschema:"description=PORT/PROTO; or icmp:TYPE / icmpv6:TYPE."`
	Expect string `json:"expect" jsonschema:"enum=allowed,enum=denied"`
}
