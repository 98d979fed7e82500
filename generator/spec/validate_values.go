package spec

import (
	"fmt"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Raw Cilium values merge last into the HelmRelease, so they can say what the lock-out check never sees. Each chart
// value that changes how the host firewall treats traffic is therefore one of three kinds: owned by a spec field
// (refused in values, so the field the simulator and the audit-mode guard read is the one written), modelled (read
// by the built-in checks from the final values), or not modelled (refused unless it says the chart's default).
// rollOutCiliumPods is none of these and stays free: it changes when the agents take new values (in Flux's first
// step, instead of at their next restart), not how the firewall treats traffic; the check of the states between
// Flux's two steps reads it from the HelmRelease.

// ownedValues are the chart values a spec field writes, with that field.
var ownedValues = []struct{ key, field string }{
	{"policyAuditMode", "cilium.auditMode"},
	{"hostFirewall", "cilium.hostFirewall"},
	{"kubeProxyReplacement", "cilium.kubeProxyReplacement"},
	{"encryption.enabled", "cilium.encryption"},
	{"encryption.type", "cilium.encryption"},
	{"ipam.mode", "cilium.ipam"},
	{"k8sServiceHost", "cilium.k8sService.host, or cilium.k8sService.kubePrism"},
	{"k8sServicePort", "cilium.k8sService.port, or cilium.k8sService.kubePrism"},
	{"hubble.relay.enabled", "cilium.hubble.relay"},
	{"hubble.ui.enabled", "cilium.hubble.ui"},
	{"hubble.peerService.clusterDomain", "domain"},
	{"etcd.clusterDomain", "domain"},
}

// ciliumTunnelKeysSince is the chart that brought routingMode and tunnelProtocol; it deprecated tunnel, which 1.15
// removed (the charts of 1.13.4, 1.14.0 and 1.15.6). It is a break in CiliumValueBreaks, so a range is on one side.
var ciliumTunnelKeysSince = semver.MustParse("1.14.0")

// CiliumTunnelKeys says whether a chart version (or range) speaks routingMode/tunnelProtocol (true) or tunnel.
func CiliumTunnelKeys(version string) bool {
	v, err := ResolveCiliumVersion(version)
	return err != nil || !v.LessThan(ciliumTunnelKeysSince)
}

func (v *validator) ciliumValues(p string, c *Cluster) {
	values := c.Cilium.Values
	if len(values) == 0 {
		return
	}
	vp := p + ".values"
	for _, o := range ownedValues {
		if at, ok := valueAt(values, o.key); ok {
			what := "sets " + o.key
			if at != o.key {
				what = "replaces " + o.key + " (values merge last)"
			}
			v.fail(vp+"."+at, "set "+o.field+" instead", "%s, which %s writes; the lock-out check and the audit-mode guard read %s, so values may not say otherwise", what, o.field, o.field)
		}
	}

	notModelled := func(key, hint, format string, args ...any) {
		v.fail(vp+"."+key, hint, "%s; kronform-gen's lock-out check does not model it, so it cannot promise this spec keeps you in", fmt.Sprintf(format, args...))
	}
	if x, ok := values["policyEnforcementMode"]; ok {
		if s, isString := x.(string); !isString || !strings.EqualFold(s, "default") {
			notModelled("policyEnforcementMode", "remove it; host policies enforce on the nodes they select",
				"policyEnforcementMode %v changes which endpoints Cilium enforces policy on", x)
		}
	}
	if x, ok := values["policyCIDRMatchMode"]; ok {
		if list, isList := x.([]any); x != nil && (!isList || len(list) > 0) {
			notModelled("policyCIDRMatchMode", "remove it; for node traffic use entities: [remote-node], [host] or [cluster]",
				"policyCIDRMatchMode %v lets CIDR peers match nodes, which by default they never do", x)
		}
	}
	for _, cloud := range []string{"gke", "eni", "aksbyocni"} {
		if at, ok := valueAt(values, cloud+".enabled"); ok && at == cloud+".enabled" && values[cloud].(map[string]any)["enabled"] == true {
			notModelled(at, "remove it; it is for "+strings.ToUpper(cloud)+" clusters", "%s sets the routing mode by itself", at)
		}
	}
	if x, ok := values["tunnelSourcePortRange"]; ok && x != "0-0" {
		notModelled("tunnelSourcePortRange", "remove it; the kernel then picks them, which the check models: VXLAN 32768-60998, Geneve 1-65534",
			"tunnelSourcePortRange %v changes the source ports of the tunnel's packets, which the Robot firewall filters by", x)
	}
	if lb, ok := values["loadBalancer"].(map[string]any); ok {
		if d, ok := lb["dsrDispatch"]; ok && d != "opt" {
			notModelled("loadBalancer.dsrDispatch", "remove it, or use the default opt", "loadBalancer.dsrDispatch %v sends load-balanced traffic between nodes in a Geneve tunnel", d)
		}
	}

	// The overlay is modelled: the built-in checks test its port between every pair of nodes, so it must be one the
	// chart understands, in the words of this chart version. Without a version (one that did not decode or resolve,
	// which is reported at cilium.version) those words are not known: saying the keys are wrong would only add noise.
	if _, err := ResolveCiliumVersion(c.Cilium.Version); err == nil {
		v.overlayKeys(vp, c.Cilium.Version, values)
	}
	if x, ok := values["tunnelPort"]; ok {
		if n, isInt := x.(int); !isInt || n < 0 || n > 65535 {
			v.fail(vp+".tunnelPort", "a UDP port, or 0 for the protocol's own: 8472 VXLAN, 6081 Geneve", "tunnelPort %v is not a port number", x)
		}
	}
}

// overlayKeys checks the overlay's keys in raw values (at vp) in the words of a chart version that resolves.
func (v *validator) overlayKeys(vp, version string, values map[string]any) {
	oneOf := func(key string, allowed ...string) {
		x, ok := values[key]
		if !ok {
			return
		}
		if s, isString := x.(string); !isString || !slices.Contains(allowed, s) {
			v.fail(vp+"."+key, "one of "+strings.Join(quoteAll(allowed), ", "), "%s %v is not a value the Cilium chart knows", key, x)
		}
	}
	if CiliumTunnelKeys(version) {
		if _, ok := values["tunnel"]; ok {
			v.fail(vp+".tunnel", "write routingMode: native for no tunnel, or tunnelProtocol: vxlan or geneve",
				"1.14 replaced tunnel with routingMode and tunnelProtocol (1.15 removed it); for Cilium %s kronform-gen reads those", version)
		}
		oneOf("routingMode", "", "tunnel", "native")
		oneOf("tunnelProtocol", "", "vxlan", "geneve")
	} else {
		for _, key := range []string{"routingMode", "tunnelProtocol"} {
			if _, ok := values[key]; ok {
				v.fail(vp+"."+key, "write tunnel: disabled for native routing, or tunnel: vxlan or geneve",
					"Cilium %s has no %s value; it came with 1.14", version, key)
			}
		}
		oneOf("tunnel", "vxlan", "geneve", "disabled")
	}
}

// valueAt finds where raw values touch a dotted chart key: the key itself, or a shorter prefix whose value is not a
// mapping and so replaces everything under it when merged (null included: Helm drops the key).
func valueAt(values map[string]any, key string) (string, bool) {
	parts := strings.Split(key, ".")
	m := values
	for i, part := range parts {
		x, ok := m[part]
		if !ok {
			return "", false
		}
		at := strings.Join(parts[:i+1], ".")
		if i == len(parts)-1 {
			return at, true
		}
		next, isMap := x.(map[string]any)
		if !isMap {
			return at, true
		}
		m = next
	}
	return "", false
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}
