package spec

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// ControlPlaneLabel is the label Kubernetes puts on control-plane nodes; Cilium's label filter keeps it.
const ControlPlaneLabel = "node-role.kubernetes.io/control-plane"

// NodeLabels are the labels a node carries as Cilium sees them before filtering: the role label, the hostname and OS
// labels every kubelet sets, and the extra labels from the spec.
func NodeLabels(n Node) map[string]string {
	labels := map[string]string{"kubernetes.io/hostname": n.Name, "kubernetes.io/os": "linux"}
	if slices.Contains(n.Roles, RoleControlPlane) {
		labels[ControlPlaneLabel] = ""
	}
	maps.Copy(labels, n.Labels)
	return labels
}

// resolvePreset folds a policy's preset into it: the policy's description and nodes win, and its rules come after
// the preset's.
func resolvePreset(p HostPolicy, preset HostPolicy) HostPolicy {
	out := preset
	out.Name, out.Preset = p.Name, p.Preset
	if p.Description != "" {
		out.Description = p.Description
	}
	if p.Nodes != nil {
		out.Nodes = p.Nodes
	}
	out.Ingress = append(slices.Clone(preset.Ingress), p.Ingress...)
	out.IngressDeny = append(slices.Clone(preset.IngressDeny), p.IngressDeny...)
	out.Egress = append(slices.Clone(preset.Egress), p.Egress...)
	out.EgressDeny = append(slices.Clone(preset.EgressDeny), p.EgressDeny...)
	return out
}

func (v *validator) hostPolicies(p string, c *Cluster) {
	names := map[string]string{}
	roles := map[string]bool{}
	for _, n := range c.Nodes {
		for _, r := range n.Roles {
			roles[r] = true
		}
	}
	for i := range c.HostPolicies {
		hp := &c.HostPolicies[i]
		pp := fmt.Sprintf("%s.hostPolicies[%d]", p, i)
		v.dnsSubdomain(pp+".name", hp.Name)
		v.fileName(pp+".name", hp.Name)
		if hp.Name == "kustomization" {
			v.fail(pp+".name", "choose another name", "a host policy named kustomization would be written as kustomization.yaml, the file that lists its folder")
		}
		if first, ok := names[hp.Name]; ok && hp.Name != "" {
			v.fail(pp+".name", "", "host policy %q is already defined at %s", hp.Name, first)
		}
		names[hp.Name] = pp
		// A preset that did not decode, is unknown, or whose file could not be read (each reported where it stands) would
		// have brought nodes and rules: saying they are missing is only noise. What the policy writes is checked still.
		presetUnknown := v.undecoded(pp + ".preset")
		if preset, ok := v.m.Presets[hp.Preset]; hp.Preset != "" && !presetUnknown {
			switch {
			case !ok:
				v.fail(pp+".preset", "known presets: "+strings.Join(slices.Sorted(maps.Keys(v.m.Presets)), ", "), "unknown preset %q", hp.Preset)
				presetUnknown = true
			case v.m.presetSources[hp.Preset].fatal:
				presetUnknown = true
			default:
				if v.m.fromPreset == nil {
					v.m.fromPreset = map[string]presetParts{}
				}
				v.m.fromPreset[pp] = presetParts{source: v.m.presetSources[hp.Preset], nodes: hp.Nodes == nil, rules: map[string]int{
					"ingress": len(preset.Ingress), "ingressDeny": len(preset.IngressDeny), "egress": len(preset.Egress), "egressDeny": len(preset.EgressDeny),
				}}
				*hp = resolvePreset(*hp, preset)
			}
		}
		if hp.Nodes == nil {
			if !presetUnknown {
				v.fail(pp+".nodes", "write nodes: {role: control-plane}, or nodes: {} for every node", "a host policy must say which nodes it selects")
			}
		} else {
			if hp.Nodes.Role == "" {
				v.emptyWritten(pp+".nodes.role", "leave it out to select nodes of every role")
			} else if hp.Nodes.Role != RoleControlPlane && hp.Nodes.Role != RoleWorker {
				v.fail(pp+".nodes.role", "control-plane or worker", "unknown role %q", hp.Nodes.Role)
			} else if hp.Nodes.Role != "" && !roles[hp.Nodes.Role] && !v.nodesUnknown(p) {
				if v.m.fromPreset[pp].nodes {
					// Said at the policy: the fix is in this spec, not in the preset.
					v.fail(pp+".preset", "add a node with this role, or select nodes: on the policy", "preset %q selects the role %q, which no node of the cluster has", hp.Preset, hp.Nodes.Role)
				} else {
					v.fail(pp+".nodes.role", "add a node with this role, or select another", "no node of the cluster has the role %q", hp.Nodes.Role)
				}
			}
			v.labels(pp+".nodes.labels", hp.Nodes.Labels)
		}
		if len(hp.Ingress)+len(hp.IngressDeny)+len(hp.Egress)+len(hp.EgressDeny) == 0 && !presetUnknown {
			v.fail(pp, "add ingress or egress rules", "host policy %q has no rules", hp.Name)
		}
		ranges := CiliumPortRanges(c.Cilium.Version)
		for dir, rules := range map[string][]PolicyRule{"ingress": hp.Ingress, "ingressDeny": hp.IngressDeny, "egress": hp.Egress, "egressDeny": hp.EgressDeny} {
			for j, r := range rules {
				v.rule(fmt.Sprintf("%s.%s[%d]", pp, dir, j), r, ranges, c.Cilium.Version)
			}
		}
	}
}

// rule checks one policy rule; ranges says whether the cluster's chart has port ranges (version names it).
func (v *validator) rule(p string, r PolicyRule, ranges bool, version string) {
	if len(r.Entities)+len(r.Endpoints)+len(r.CIDRs)+len(r.Ports)+len(r.ICMP) == 0 &&
		!v.undecoded(p+".entities", p+".endpoints", p+".cidrs", p+".ports", p+".icmp") {
		v.fail(p, "name peers, ports or icmp; entities: [all] allows everything", "an empty rule is ambiguous")
	}
	// An empty peer list is no peer field to the compiler, which leaves it out (any peer), but Cilium reads it as any
	// peer before 1.16 and as none from 1.16 (mergeEndpointSelectors): whatever was meant, one of them is wrong.
	for _, peers := range []struct {
		field string
		n     int
	}{{"entities", len(r.Entities)}, {"endpoints", len(r.Endpoints)}, {"cidrs", len(r.CIDRs)}} {
		if peers.n == 0 && v.m.writtenRule(p+"."+peers.field) {
			v.fail(p+"."+peers.field, "Cilium reads an empty peer list as every peer before 1.16 and as none from 1.16: name the peers, or leave the field out for any peer",
				"an empty value is not allowed")
		}
	}
	// A repeat inside a rule is refused, not dropped: the spec says something twice, perhaps meaning something else.
	entities := repeats{v: v, list: p + ".entities"}
	for i, e := range r.Entities {
		if !slices.Contains(ciliumEntities, e) {
			v.fail(fmt.Sprintf("%s.entities[%d]", p, i), "one of "+strings.Join(ciliumEntities, ", "), "unknown Cilium entity %q", e)
			continue
		}
		entities.check(i, e, strconv.Quote(e))
	}
	endpoints := repeats{v: v, list: p + ".endpoints"}
	for i, sel := range r.Endpoints {
		ep := fmt.Sprintf("%s.endpoints[%d]", p, i)
		if len(sel) == 0 {
			v.fail(ep, "name at least one label; entities: [cluster] means every pod", "an empty endpoint selector matches every endpoint")
		}
		v.labels(ep, sel)
		key, _ := json.Marshal(sel) // sorted keys: one text per selector
		endpoints.check(i, string(key), "the selector "+string(key))
	}
	cidrs := repeats{v: v, list: p + ".cidrs"}
	for i, c := range r.CIDRs {
		cp := fmt.Sprintf("%s.cidrs[%d]", p, i)
		if c.CIDR == "" && !v.m.writtenRule(cp+".cidr") {
			if !v.undecoded(cp + ".cidr") {
				v.fail(cp+".cidr", "write cidr: 10.0.0.0/8, the CIDR its except entries are cut from; or the CIDR alone in place of the mapping",
					"a CIDR is required")
			}
			continue
		}
		prefix, ok := v.cidr(cp+".cidr", c.CIDR)
		if !ok {
			continue
		}
		key := prefix.Masked().String()
		excepts := repeats{v: v, list: cp + ".except"}
		var holes []string
		for j, ex := range c.Except {
			xp := fmt.Sprintf("%s.except[%d]", cp, j)
			e, ok := v.cidr(xp, ex)
			switch {
			case !ok:
			case e.Addr().Is4() != prefix.Addr().Is4():
				v.fail(xp, "", "%s is not of the same IP family as %s", ex, c.CIDR)
			case e.Bits() < prefix.Bits() || !prefix.Contains(e.Addr()):
				v.fail(xp, "", "%s is not inside %s", ex, c.CIDR)
			case e.Masked() == e:
				excepts.check(j, e.String(), strconv.Quote(ex))
				holes = append(holes, e.String())
			}
		}
		// Only a peer whose every part is valid is compared: a wrong one is reported as such, not as a repeat.
		if prefix.Masked() == prefix && len(holes) == len(c.Except) {
			slices.Sort(holes)
			cidrs.check(i, key+" except "+strings.Join(slices.Compact(holes), ","), strconv.Quote(c.CIDR))
		}
	}
	ports := repeats{v: v, list: p + ".ports"}
	expanded, widest := 0, -1
	for i, s := range r.Ports {
		pr, err := ParsePort(s)
		if err != nil {
			v.fail(fmt.Sprintf("%s.ports[%d]", p, i), "", "%v", err)
			continue
		}
		if !ports.check(i, pr.String(), strconv.Quote(s)) {
			continue
		}
		expanded += pr.High - pr.Low + 1
		if pr.High != pr.Low && (widest < 0 || pr.High-pr.Low > portWidth(r.Ports[widest])) {
			widest = i
		}
	}
	if !ranges && expanded > MaxExpandedPorts && widest >= 0 {
		v.fail(fmt.Sprintf("%s.ports[%d]", p, widest),
			"upgrade cilium.version to 1.16 or later, where ranges are written as endPort, or narrow the range",
			"Cilium %s has no port ranges in policies (endPort came with 1.16), so each port of a range is written on its own; this rule comes to %d ports, more than the %d kronform-gen writes for one rule",
			version, expanded, MaxExpandedPorts)
	}
	icmps := repeats{v: v, list: p + ".icmp"}
	for i, t := range r.ICMP {
		ip := fmt.Sprintf("%s.icmp[%d]", p, i)
		// A family that did not decode (reported where it stands) is not IPv4: nothing to compare, nor names to read.
		bad := v.undecoded(ip + ".family")
		switch {
		case bad:
		case t.Family == "":
			v.emptyWritten(ip+".family", "leave it out for IPv4")
		case t.Family != "IPv4" && t.Family != "IPv6":
			v.fail(ip+".family", "IPv4 or IPv6", "unknown ICMP family %q", t.Family)
			bad = true
		}
		family := cmp.Or(t.Family, "IPv4")
		switch {
		case v.undecoded(ip + ".type"):
			bad = true // reported where it stands, and no type to compare
		case t.Type == nil:
			// Cilium requires it too, and has no wildcard: a rule allows the types it lists.
			v.fail(ip+".type", "write type: 8 (or EchoRequest) for ping, or family: IPv6 with type: 128; Cilium has no wildcard type: list each to allow",
				"an ICMP type is required")
			bad = true
		case t.Type.Name != "" && !bad:
			// A name is the family's: EchoRequest is 8 for IPv4 and 128 for IPv6.
			n, ok := icmpNames(family)[t.Type.Name]
			if !ok {
				hint := "one of " + strings.Join(slices.Sorted(maps.Keys(icmpNames(family))), ", ") + ", or the type's number"
				other := map[string]string{"IPv4": "IPv6", "IPv6": "IPv4"}[family]
				if _, theirs := icmpNames(other)[t.Type.Name]; theirs {
					hint = "it is an " + other + " name: write family: " + other + ", or " + hint
				}
				v.fail(ip+".type", hint, "%q is not an %s ICMP type name", t.Type.Name, family)
				bad = true
				break
			}
			t.Type.Number = n
		case t.Type.Name != "":
		case t.Type.Number < 0 || t.Type.Number > 255:
			v.fail(ip+".type", "", "ICMP type %d is out of range 0-255", t.Type.Number)
			bad = true
		}
		if !bad {
			icmps.check(i, fmt.Sprintf("%s %d", family, t.Type.Number), fmt.Sprintf("%s type %d", family, t.Type.Number))
		}
	}
}

// repeats finds the entries of one list that say what an earlier one said.
type repeats struct {
	v     *validator
	list  string // the list's path
	first map[string]int
}

// check reports entry i when key was seen before; shown is how the message names it. It says whether i is new.
func (r *repeats) check(i int, key, shown string) bool {
	if first, ok := r.first[key]; ok {
		r.v.fail(indexPath(r.list, i), "remove the repeat", "%s is listed twice (first as %s)", shown, indexPath(r.list[strings.LastIndex(r.list, ".")+1:], first))
		return false
	}
	if r.first == nil {
		r.first = map[string]int{}
	}
	r.first[key] = i
	return true
}

// cidr checks a CIDR of a rule; ok says it parsed, though its host bits may be set (which is reported).
func (v *validator) cidr(path, s string) (prefix netip.Prefix, ok bool) {
	prefix, err := ParseCIDR(s)
	if err == nil {
		return prefix, true
	}
	if raw, perr := netip.ParsePrefix(s); perr == nil && raw.Masked() != raw && !raw.Addr().Is4In6() {
		v.fail(path, "write "+raw.Masked().String(), "%s has host bits set", s)
		return raw, true
	}
	v.fail(path, "", "%v", err)
	return netip.Prefix{}, false
}

// portWidth is how many ports past the first a valid port entry spans.
func portWidth(s string) int {
	pr, _ := ParsePort(s)
	return pr.High - pr.Low
}
