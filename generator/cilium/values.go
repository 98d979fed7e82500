package cilium

import (
	"maps"
	"strconv"

	"github.com/Masterminds/semver/v3"

	"github.com/kronform/kronform-gen/generator/spec"
)

// Talos needs Cilium without SYS_MODULE and with its own cgroup mount (Talos' Cilium guide; the seed's --set flags).
var (
	talosAgentCapabilities = []any{"CHOWN", "KILL", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "SYS_ADMIN", "SYS_RESOURCE", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"}
	talosCleanCapabilities = []any{"NET_ADMIN", "SYS_ADMIN", "SYS_RESOURCE"}
)

var (
	v114 = semver.MustParse("1.14.0")
	v116 = semver.MustParse("1.16.0")
)

// HelmValues are the chart values for a cluster, in the vocabulary of the chart version the spec names (the lowest
// one a range admits), with the spec's raw values deep-merged last.
func HelmValues(c spec.Cluster) (map[string]any, error) {
	version, err := spec.ResolveCiliumVersion(c.Cilium.Version)
	if err != nil {
		return nil, err
	}
	cl := c.Cilium
	v := map[string]any{
		"ipam":         map[string]any{"mode": cl.IPAM},
		"hostFirewall": map[string]any{"enabled": *cl.HostFirewall},
		"hubble": map[string]any{
			"relay":       map[string]any{"enabled": cl.Hubble.Relay},
			"ui":          map[string]any{"enabled": cl.Hubble.UI},
			"peerService": map[string]any{"clusterDomain": c.Domain},
		},
		"securityContext": map[string]any{"capabilities": map[string]any{
			"ciliumAgent":      talosAgentCapabilities,
			"cleanCiliumState": talosCleanCapabilities,
		}},
		"cgroup":               map[string]any{"autoMount": map[string]any{"enabled": false}, "hostRoot": "/sys/fs/cgroup"},
		"k8sServiceHost":       cl.K8sService.Host,
		"k8sServicePort":       cl.K8sService.Port,
		"kubeProxyReplacement": kubeProxyReplacement(*cl.KubeProxyReplacement, version),
	}
	if version.LessThan(v116) {
		// etcd.clusterDomain went away with the chart's managed etcd in 1.16.
		v["etcd"] = map[string]any{"clusterDomain": c.Domain}
	}
	if cl.Encryption != spec.DefaultEncryption {
		v["encryption"] = map[string]any{"enabled": true, "type": cl.Encryption}
	}
	if cl.AuditMode {
		v["policyAuditMode"] = true
	}
	return DeepMerge(v, cl.Values), nil
}

// kubeProxyReplacement speaks the chart's vocabulary: strict/disabled up to 1.13 ("partial" is not what anyone
// asking for replacement means), a boolean from 1.14.
func kubeProxyReplacement(on bool, version *semver.Version) any {
	if !version.LessThan(v114) {
		return on
	}
	if on {
		return "strict"
	}
	return "disabled"
}

// DeepMerge returns base with over merged into it: mappings merge key by key, anything else in over replaces. Neither
// input is changed.
func DeepMerge(base, over map[string]any) map[string]any {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]any{}
	}
	for k, ov := range over {
		bm, bok := out[k].(map[string]any)
		om, ook := ov.(map[string]any)
		if bok && ook {
			out[k] = DeepMerge(bm, om)
			continue
		}
		out[k] = ov
	}
	return out
}

// Overlay is how the chart values carry pod traffic between nodes: a VXLAN or Geneve tunnel on a UDP port, which the
// host firewall (and Robot) must let through between every pair of nodes, or native routing, which needs no port.
type Overlay struct {
	Protocol string // "vxlan" or "geneve"; "" with native routing
	Port     int    // the tunnel's UDP port; 0 with native routing
}

// Name is how Cilium's docs name the overlay.
func (o Overlay) Name() string {
	if o.Protocol == "geneve" {
		return "Geneve"
	}
	return "VXLAN"
}

// The agent's tunnel ports when tunnelPort is 0 (pkg/defaults: TunnelPortVXLAN, TunnelPortGeneve).
const (
	vxlanPort  = 8472
	genevePort = 6081
)

// OverlayOf reads the overlay from the values the HelmRelease gets (the spec's with the raw ones merged), the way the
// chart reads them: tunnel (vxlan, geneve or disabled) before 1.14, routingMode and tunnelProtocol from 1.14, and
// tunnelPort in every version. spec validation refuses values it could not read; the chart's defaults fill the rest.
func OverlayOf(c spec.Cluster) Overlay {
	v, err := HelmValues(c)
	if err != nil {
		v = c.Cilium.Values // only an unknown version fails, and the spec loader refuses those
	}
	str := func(key string) string { s, _ := v[key].(string); return s }
	native, protocol := false, "vxlan"
	if spec.CiliumTunnelKeys(c.Cilium.Version) {
		native = str("routingMode") == "native"
		if p := str("tunnelProtocol"); p != "" {
			protocol = p
		}
	} else {
		switch t := str("tunnel"); t {
		case "disabled":
			native = true
		case "geneve":
			protocol = t
		}
	}
	if native {
		return Overlay{}
	}
	port := vxlanPort
	if protocol == "geneve" {
		port = genevePort
	}
	if p := agentNumber(v["tunnelPort"]); p != 0 {
		port = p
	}
	return Overlay{Protocol: protocol, Port: port}
}

// agentNumber is a number value as the agent gets it: the chart writes tunnelPort into cilium-config with quote when
// its {{ if }} takes it as true, and the agent parses that string as an integer of any base (0x, 0 prefixes); what it
// cannot parse is 0. A release of the user's may say "7000" where kronform-gen writes 7000.
func agentNumber(v any) int {
	switch x := v.(type) {
	case int:
		return x
	case string:
		n, err := strconv.ParseInt(x, 0, 0)
		if err == nil {
			return int(n)
		}
	}
	return 0
}

// Families says which address families the agents handle: the chart's ipv4.enabled (default true) and ipv6.enabled
// (default false), which it writes to cilium-config as enable-ipv4 and enable-ipv6. An agent compiled without a
// family passes that family's packets untouched, unless the host firewall is on: then bpf_host drops them all on the
// node's devices as an unknown L3 protocol (do_netdev, DROP_UNKNOWN_L3), before any policy and in audit mode too.
type Families struct{ IPv4, IPv6 bool }

// FamiliesOf reads the families from the values the HelmRelease gets, as the agent parses the config's string.
func FamiliesOf(c spec.Cluster) Families {
	v, err := HelmValues(c)
	if err != nil {
		v = c.Cilium.Values // only an unknown version fails, and the spec loader refuses those
	}
	enabled := func(family string, def bool) bool {
		m, _ := v[family].(map[string]any)
		switch e := m["enabled"].(type) {
		case bool:
			return e
		case string:
			if b, err := strconv.ParseBool(e); err == nil {
				return b
			}
		}
		return def
	}
	return Families{IPv4: enabled("ipv4", true), IPv6: enabled("ipv6", false)}
}
