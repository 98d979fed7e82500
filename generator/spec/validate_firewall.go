package spec

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
)

// Hetzner Robot limits and vocabulary (FACTS.md, Hetzner Robot firewall).
const MaxHetznerRules = 10

var (
	hetznerName      = regexp.MustCompile(`^[A-Za-z0-9 .\-+_@]+$`)
	hetznerProtocols = []string{"tcp", "udp", "gre", "icmp", "ipip", "ah", "esp"}
	hetznerTCPFlags  = []string{"syn", "fin", "rst", "psh", "urg", "ack"}
)

// DefaultHetznerDiscard are the seed's discard rules: the Kubernetes API and the Talos API (apid, trustd). The seed
// writes the Talos range as 50000-500001, a typo.
var DefaultHetznerDiscard = []string{"6443", "50000-50001"}

// DefaultHetznerTemplate names the template when the spec does not.
func DefaultHetznerTemplate(cluster string) string { return cluster + "-escape-hatch" }

// ParseHetznerDiscard reads a discard entry: N or N-M for every protocol, or with /tcp or /udp for one. The protocol
// is case-insensitive, as in policy ports.
func ParseHetznerDiscard(s string) (ports, protocol string, err error) {
	ports, protocol, _ = strings.Cut(s, "/")
	protocol = strings.ToLower(protocol)
	if protocol != "" && protocol != "tcp" && protocol != "udp" {
		return "", "", fmt.Errorf("%q: the protocol of a discarded port is tcp or udp", s)
	}
	if _, _, err := parseHetznerPort(ports); err != nil {
		return "", "", fmt.Errorf("%q: %w", s, err)
	}
	return ports, protocol, nil
}

// ParseHetznerPort reads Robot's port syntax, N or N-M, with N and M in 1-65535: the range policy ports have, so one
// spec speaks of ports one way (port 0 names no service a firewall could open or close).
func ParseHetznerPort(s string) (low, high int, err error) {
	if low, high, err = parseHetznerPort(s); err != nil {
		return 0, 0, fmt.Errorf("%q: %w", s, err)
	}
	return low, high, nil
}

// parseHetznerPort is ParseHetznerPort with errors that do not repeat the text, for callers that quote it themselves.
func parseHetznerPort(s string) (low, high int, err error) {
	lowS, highS, isRange := strings.Cut(s, "-")
	if low, err = parsePortNumber(lowS); err != nil {
		return 0, 0, fmt.Errorf("%w (write N or N-M)", err)
	}
	high = low
	if isRange {
		if high, err = parsePortNumber(highS); err != nil {
			return 0, 0, fmt.Errorf("%w (write N or N-M)", err)
		}
		if high < low {
			return 0, 0, fmt.Errorf("range %d-%d ends below its start", low, high)
		}
	}
	return low, high, nil
}

// ParseTCPFlags reads syn|ack (any of) or syn&ack (all of).
func ParseTCPFlags(s string) (flags []string, all bool, err error) {
	sep := "|"
	if strings.Contains(s, "&") {
		if strings.Contains(s, "|") {
			return nil, false, fmt.Errorf("%q mixes | and &", s)
		}
		sep, all = "&", true
	}
	for _, f := range strings.Split(s, sep) {
		if !slices.Contains(hetznerTCPFlags, f) {
			return nil, false, fmt.Errorf("%q: unknown TCP flag %q (%s)", s, f, strings.Join(hetznerTCPFlags, ", "))
		}
		flags = append(flags, f)
	}
	return flags, all, nil
}

func (v *validator) hetzner(p string, c *Cluster) {
	h := c.Hetzner
	if h == nil {
		return
	}
	hp := p + ".hetzner"
	v.defString(hp+".template", &h.Template, DefaultHetznerTemplate(c.Name))
	if !hetznerName.MatchString(h.Template) {
		v.fail(hp+".template", "letters, digits, space and . - + _ @", "%q is not a Robot template name", h.Template)
	}
	if len(h.AdminSources) == 0 {
		v.fail(hp+".adminSources", "list the addresses you connect from, e.g. [203.0.113.7/32]", "the escape hatch needs at least one admin source")
	}
	sources := map[netip.Prefix]int{}
	for i, s := range h.AdminSources {
		sp := fmt.Sprintf("%s.adminSources[%d]", hp, i)
		pfx, err := ParseAddressOrCIDR(s)
		if err != nil {
			v.fail(sp, "", "%v", err)
			continue
		}
		// One address is the admin's own, as a node address is the node's: one no machine has lets no admin in.
		if kind := notANodeAddress(pfx.Addr()); kind != "" && pfx.IsSingleIP() {
			v.fail(sp, "list the public addresses you connect from, e.g. [203.0.113.7/32]", "%s is %s address, which no admin connects from", s, kind)
			continue
		}
		// Each source is a Robot rule, of 10: a repeat spends one on nothing.
		if first, ok := sources[pfx]; ok {
			v.fail(sp, "remove the repeat", "%q is listed twice (first as adminSources[%d])", s, first)
			continue
		}
		sources[pfx] = i
	}
	if len(h.Rules) > 0 {
		if len(h.Discard) > 0 {
			v.fail(hp+".discard", "drop discard, or drop rules to get the generated template", "rules replaces the generated template, so discard would be ignored")
		}
		if len(h.Rules) > MaxHetznerRules {
			v.fail(hp+".rules", "merge rules, e.g. with a CIDR that covers several sources", "Robot accepts at most %d input rules; this template has %d", MaxHetznerRules, len(h.Rules))
		}
		for i, r := range h.Rules {
			v.hetznerRule(fmt.Sprintf("%s.rules[%d]", hp, i), r)
		}
		return
	}
	if len(h.Discard) == 0 {
		v.emptyWritten(hp+".discard", "leave it out for the default "+strings.Join(DefaultHetznerDiscard, ", "))
		h.Discard = slices.Clone(DefaultHetznerDiscard)
	}
	discards := map[string]int{}
	for i, d := range h.Discard {
		dp := fmt.Sprintf("%s.discard[%d]", hp, i)
		ports, proto, err := ParseHetznerDiscard(d)
		if err != nil {
			v.fail(dp, "", "%v", err)
			continue
		}
		low, high, _ := parseHetznerPort(ports)
		key := fmt.Sprintf("%d-%d/%s", low, high, proto)
		if first, ok := discards[key]; ok {
			v.fail(dp, "remove the repeat", "%q is listed twice (first as discard[%d])", d, first)
			continue
		}
		discards[key] = i
	}
}

func (v *validator) hetznerRule(p string, r HetznerRule) {
	if r.Name == "" {
		v.fail(p+".name", "", "a rule needs a name")
	} else if !hetznerName.MatchString(r.Name) {
		v.fail(p+".name", "letters, digits, space and . - + _ @", "%q is not a Robot rule name", r.Name)
	}
	// Left out, ipVersion means both families, protocol any, the addresses and ports every one and tcpFlags any:
	// written empty, they are refused like every other empty value where leaving it out means something (an admin
	// rule whose srcIP came out empty would accept everyone).
	for _, f := range []struct{ field, value, hint string }{
		{"ipVersion", r.IPVersion, "leave it out for both families"},
		{"srcIP", r.SrcIP, "leave it out for every source address"},
		{"dstIP", r.DstIP, "leave it out for every destination address"},
		{"srcPort", r.SrcPort, "leave it out for every source port"},
		{"dstPort", r.DstPort, "leave it out for every destination port"},
		{"protocol", r.Protocol, "leave it out for every protocol"},
		{"tcpFlags", r.TCPFlags, "leave it out for any flags"},
	} {
		if f.value == "" {
			v.emptyWritten(p+"."+f.field, f.hint)
		}
	}
	switch {
	case v.undecoded(p + ".ipVersion"):
	case r.IPVersion == "":
		for field, value := range map[string]string{"srcIP": r.SrcIP, "dstIP": r.DstIP, "protocol": r.Protocol} {
			if value != "" {
				v.fail(p+"."+field, "set ipVersion: ipv4 or ipv6", "Robot accepts %s only in a rule with an ip_version", field)
			}
		}
	case r.IPVersion != "ipv4" && r.IPVersion != "ipv6":
		v.fail(p+".ipVersion", "ipv4 or ipv6, or leave it out for both", "unknown ip_version %q", r.IPVersion)
	}
	for field, value := range map[string]string{"srcIP": r.SrcIP, "dstIP": r.DstIP} {
		if value == "" {
			continue
		}
		pfx, err := ParseAddressOrCIDR(value)
		switch {
		case err != nil:
			v.fail(p+"."+field, "", "%v", err)
		case r.IPVersion == "ipv4" && !pfx.Addr().Is4(), r.IPVersion == "ipv6" && pfx.Addr().Is4():
			v.fail(p+"."+field, "", "%s is not an %s address", value, r.IPVersion)
		}
	}
	for field, value := range map[string]string{"srcPort": r.SrcPort, "dstPort": r.DstPort} {
		if value == "" {
			continue
		}
		if _, _, err := ParseHetznerPort(value); err != nil {
			v.fail(p+"."+field, "", "%v", err)
		}
		if r.Protocol != "" && r.Protocol != "tcp" && r.Protocol != "udp" {
			v.fail(p+"."+field, "drop the port, or use tcp or udp", "protocol %s has no ports", r.Protocol)
		}
	}
	if r.Protocol != "" && !slices.Contains(hetznerProtocols, r.Protocol) {
		v.fail(p+".protocol", strings.Join(hetznerProtocols, ", "), "unknown protocol %q", r.Protocol)
	}
	if r.TCPFlags != "" {
		if _, _, err := ParseTCPFlags(r.TCPFlags); err != nil {
			v.fail(p+".tcpFlags", "", "%v", err)
		}
		if r.Protocol != "tcp" && !v.undecoded(p+".protocol") {
			v.fail(p+".tcpFlags", "set protocol: tcp (and an ipVersion)", "TCP flags need protocol tcp")
		}
	}
	switch {
	case v.undecoded(p + ".action"):
	case r.Action == "" && !v.m.written(p+".action"):
		v.fail(p+".action", "accept or discard", "a rule needs an action")
	case r.Action != "accept" && r.Action != "discard":
		v.fail(p+".action", "accept or discard", "unknown action %q", r.Action)
	}
}

func (v *validator) assertions(p string, c *Cluster) {
	// A node or role the cluster seems not to have is noise when some node did not decode.
	unknown := v.nodesUnknown(p)
	noise := func(err error) bool {
		var absent absentError
		return unknown && errors.As(err, &absent)
	}
	// So is an admin the cluster seems not to have when its Hetzner settings did not decode.
	adminUnknown := v.undecoded(p+".hetzner", p+".hetzner.adminSources")
	for i, a := range c.Assertions {
		ap := fmt.Sprintf("%s.assertions[%d]", p, i)
		// A field left out (or null) is missing, not the empty string that is no source, target, port or verdict.
		missing := func(field, value, hint, what string) bool {
			if value != "" || v.m.written(ap+"."+field) {
				return false
			}
			if !v.undecoded(ap + "." + field) {
				v.fail(ap+"."+field, hint, "an assertion needs %s", what)
			}
			return true
		}
		if !missing("from", a.From, "admin, world, an address or CIDR, an entity, a node or role name, or pod:KEY=VALUE", "a source") {
			if _, err := ParseFlowSource(*c, a.From); err != nil && !noise(err) && !(a.From == SourceAdmin && adminUnknown) {
				v.fail(ap+".from", "", "%v", err)
			}
		}
		if !missing("to", a.To, "a node or role: NAME, node:NAME or role:NAME", "a target") {
			if _, err := ParseFlowTarget(*c, a.To); err != nil && !noise(err) {
				v.fail(ap+".to", "", "%v", err)
			}
		}
		if !missing("port", a.Port, "PORT/PROTO such as 6443/tcp, or icmp:TYPE such as icmp:EchoRequest", "a port") {
			if _, err := ParseFlowPort(a.Port); err != nil {
				v.fail(ap+".port", "", "%v", err)
			}
		}
		if !missing("expect", a.Expect, "allowed or denied", "a verdict") && a.Expect != Allowed && a.Expect != Denied {
			v.fail(ap+".expect", "allowed or denied", "unknown verdict %q", a.Expect)
		}
	}
}

// HostAddress is a node address of the given family, if the node has one.
func HostAddress(n Node, v6 bool) (netip.Addr, bool) {
	for _, s := range n.Addresses {
		if a, err := netip.ParseAddr(s); err == nil && a.Is6() == v6 && !a.Is4In6() {
			return a, true
		}
	}
	return netip.Addr{}, false
}
