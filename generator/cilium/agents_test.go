package cilium

import (
	"strings"
	"testing"

	"github.com/kronform/kronform-gen/generator/spec"
)

// Only the subtrees the chart renders into other workloads change no agent; a key above one holds agent values too,
// and kvstoremesh.enabled, under the clustermesh API server, is read by the agent DaemonSet.
func TestReachesAgents(t *testing.T) {
	for key, want := range map[string]bool{
		"policyAuditMode":                  true,
		"routingMode":                      true,
		"hubble":                           true,
		"hubble.metrics.enabled":           true,
		"hubble.relay":                     false,
		"hubble.relay.replicas":            false,
		"hubble.ui.enabled":                false,
		"hubble.peerService.clusterDomain": false,
		"hubble.peerService.targetPort":    true,
		"etcd.clusterDomain":               false,
		"etcd":                             true,
		"operator":                         false,
		"operator.replicas":                false,
		"operatorX":                        true,
		"certgen.image.tag":                false,
		"clustermesh.apiserver.replicas":   false,
		"clustermesh.apiserver":            true,
		"clustermesh.apiserver.kvstoremesh.enabled": true,
		"clustermesh.useAPIServer":                  true,
		"envoy.enabled":                             true,
		"rollOutCiliumPods":                         true,
	} {
		if got := ReachesAgents(key); got != want {
			t.Errorf("ReachesAgents(%q) = %v, want %v", key, got, want)
		}
	}
}

// A cluster read back from the values kronform-gen writes for it has the settings the simulator reads: audit mode,
// host firewall, encryption, Hubble Relay, and the overlay; whatever the cluster it is read into said.
func TestAsReleasedReadsTheValuesBack(t *testing.T) {
	c := cluster("1.15.6")
	*c.Cilium.HostFirewall = true
	c.Cilium.AuditMode, c.Cilium.Encryption, c.Cilium.Hubble.Relay = true, "wireguard", true
	c.Cilium.Values = map[string]any{"routingMode": "tunnel", "tunnelProtocol": "geneve", "tunnelPort": 7000}
	v, err := HelmValues(c)
	if err != nil {
		t.Fatal(err)
	}
	got := AsReleased(cluster("1.16.0"), "1.15.6", v)
	if got.Cilium.Version != "1.15.6" || !got.Cilium.AuditMode || !*got.Cilium.HostFirewall || got.Cilium.Encryption != "wireguard" || !got.Cilium.Hubble.Relay {
		t.Errorf("AsReleased: %+v", got.Cilium)
	}
	if o := OverlayOf(got); o != (Overlay{Protocol: "geneve", Port: 7000}) {
		t.Errorf("overlay %+v", o)
	}
	off := AsReleased(c, "1.15.6", map[string]any{"hostFirewall": map[string]any{"enabled": false}})
	if off.Cilium.AuditMode || *off.Cilium.HostFirewall || off.Cilium.Encryption != spec.DefaultEncryption || off.Cilium.Hubble.Relay {
		t.Errorf("AsReleased of bare values: %+v", off.Cilium)
	}
	if !*c.Cilium.HostFirewall {
		t.Error("AsReleased changed the cluster given")
	}
}

// A release of the user's may write a setting as a string or a number where kronform-gen writes a boolean. The chart
// puts policyAuditMode, hostFirewall.enabled and encryption.enabled into cilium-config with quote, and the agent parses
// that string (strconv.ParseBool; anything else is off), while Hubble Relay is deployed where the chart's {{ if }}
// takes hubble.relay.enabled as true (any non-empty string), and tunnelPort is read as the agent reads a number. Read
// as bare booleans, a quoted "true" was off: a host firewall the agents enforce, taken for none.
func TestAsReleasedReadsValuesAsTheAgentsGetThem(t *testing.T) {
	m := func(kv ...any) map[string]any {
		out := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	for _, c := range []struct {
		name                   string
		values                 map[string]any
		audit, firewall, relay bool
		encryption             string
		port                   int
	}{
		{"quoted true", m("policyAuditMode", "true", "hostFirewall", m("enabled", "true"), "encryption", m("enabled", "true", "type", "wireguard"),
			"hubble", m("relay", m("enabled", "true")), "tunnelPort", "7000"), true, true, true, "wireguard", 7000},
		{"quoted false", m("policyAuditMode", "false", "hostFirewall", m("enabled", "false"), "encryption", m("enabled", "false", "type", "wireguard"),
			"hubble", m("relay", m("enabled", "false"))), false, false, true, spec.DefaultEncryption, 8472},
		{"as ParseBool spells them", m("policyAuditMode", "True", "hostFirewall", m("enabled", "1"), "hubble", m("relay", m("enabled", ""))),
			true, true, false, spec.DefaultEncryption, 8472},
		{"numbers", m("policyAuditMode", 1, "hostFirewall", m("enabled", 0), "hubble", m("relay", m("enabled", 1))), true, false, true, spec.DefaultEncryption, 8472},
		{"words the agent does not parse", m("policyAuditMode", "yes", "hostFirewall", m("enabled", "on"), "tunnelPort", "port"), false, false, false, spec.DefaultEncryption, 8472},
	} {
		got := AsReleased(cluster("1.16.0"), "1.16.0", c.values)
		cl := got.Cilium
		if cl.AuditMode != c.audit || *cl.HostFirewall != c.firewall || cl.Hubble.Relay != c.relay || cl.Encryption != c.encryption {
			t.Errorf("%s: audit mode %v, host firewall %v, relay %v, encryption %q; want %v, %v, %v, %q", c.name,
				cl.AuditMode, *cl.HostFirewall, cl.Hubble.Relay, cl.Encryption, c.audit, c.firewall, c.relay, c.encryption)
		}
		if o := OverlayOf(got); o.Port != c.port {
			t.Errorf("%s: tunnel port %d, want %d", c.name, o.Port, c.port)
		}
	}
}

// A chart version string that changes may still name the release running: v1.16.0 is 1.16.0 to source-controller,
// and a range may admit the version installed now. Only versions no release satisfies both of restart the agents.
func TestNewChart(t *testing.T) {
	for _, c := range []struct {
		old, new string
		want     bool
	}{
		{"1.16.0", "1.16.0", false},
		{"1.16.0", "1.16.1", true},
		{"1.15.6", "1.16.0", true},
		{"1.16.0", "v1.16.0", false},
		{"v1.16.0", "1.16.0", false},
		{"1.16.5", "~1.16.0", false},
		{"~1.16.0", "1.16.5", false},
		{"1.16.0", ">=1.16.0 <1.16.1", false},
		{"~1.16.0", "~1.17.0", true},
		{"1.15.6", "~1.16.0", true},
		{"~1.16.0", "1.17.0", true},
		{"1.17.0-rc.1", "1.17.0", true},
		{"1.17.0-rc.1", "~1.17.0-0", false},
		{"1.16.0", "nonsense", false},
		{"1.16.0 - 1.16.9", "1.17.0", true},
		{"1.16.0 - 1.16.9", "1.16.5", false},
		{"1.16.0 - 1.16.9", "~1.17.0", true},
		{"1.16.0 - 1.16.9", "~1.16.3", false},
		{">=1.16.0 <1.17.0", "1.17.0-rc.1", true},
		{"1.17.0-rc.1", ">=1.17.0-0 <1.18.0", false},
		{"~1.17.0-0", ">=1.17.0-rc.1 <1.17.0", false},
		{"1.16.x", "1.17.x", true},
		{"^1.16.0", "~1.17.0", false},
		{"1.16", "1.16.3", false},
		{"v1.16.0", "=1.16.0", false},
		{"1.16.0+build.1", "1.16.0", false},
	} {
		if got := NewChart(c.old, c.new); got != c.want {
			t.Errorf("NewChart(%q, %q) = %v, want %v", c.old, c.new, got, c.want)
		}
	}
}

// The agents' image is the chart's own unless the values name it: override, tag or digest.
func TestPinsAgentImage(t *testing.T) {
	for _, c := range []struct {
		values map[string]any
		want   bool
	}{
		{nil, false},
		{map[string]any{"image": map[string]any{"pullPolicy": "Always"}}, false},
		{map[string]any{"image": map[string]any{"repository": "mirror.example/cilium"}}, false},
		{map[string]any{"image": map[string]any{"tag": ""}}, false},
		{map[string]any{"image": map[string]any{"override": "quay.io/cilium/cilium:v1.16.0"}}, true},
		{map[string]any{"image": map[string]any{"tag": "v1.16.0"}}, true},
		{map[string]any{"image": map[string]any{"digest": "sha256:0123"}}, true},
		{map[string]any{"operator": map[string]any{"image": map[string]any{"tag": "v1.16.0"}}}, false},
	} {
		if got := PinsAgentImage(c.values); got != c.want {
			t.Errorf("PinsAgentImage(%v) = %v, want %v", c.values, got, c.want)
		}
	}
}

// SettingsKeys are what AsReleased, OverlayOf and FamiliesOf read of a release's values: each key, left out of values
// that set it, changes the settings read back (in one of the sets, as routingMode: native makes the tunnel's keys
// moot); values under other keys, set to what is not the chart's default, change nothing; and the values cut down to
// the keys read back as the whole does, so a key the checks read that the list lacks fails (leaving one out of the
// list alone only shrank the loop over it).
func TestSettingsKeysAreWhatTheChecksRead(t *testing.T) {
	type settings struct {
		audit, firewall, relay bool
		encryption             string
		overlay                Overlay
		families               Families
	}
	read := func(chart string, values map[string]any) settings {
		c := AsReleased(cluster("1.16.0"), chart, values)
		return settings{c.Cilium.AuditMode, *c.Cilium.HostFirewall, c.Cilium.Hubble.Relay, c.Cilium.Encryption, OverlayOf(c), FamiliesOf(c)}
	}
	common := func(more map[string]any) map[string]any {
		v := map[string]any{
			"policyAuditMode": true, "hostFirewall": map[string]any{"enabled": true},
			"encryption": map[string]any{"enabled": true, "type": "wireguard"}, "hubble": map[string]any{"relay": map[string]any{"enabled": true}},
			"ipv4": map[string]any{"enabled": false}, "ipv6": map[string]any{"enabled": true}, "tunnelPort": 7000,
		}
		for k, x := range more {
			v[k] = x
		}
		return v
	}
	for chart, sets := range map[string][]map[string]any{
		"1.16.0": {common(map[string]any{"routingMode": "tunnel", "tunnelProtocol": "geneve"}), common(map[string]any{"routingMode": "native"})},
		"1.13.4": {common(map[string]any{"tunnel": "geneve"})},
	} {
		for _, key := range SettingsKeys(chart) {
			changes := false
			for _, v := range sets {
				without := deepCopy(v)
				path := strings.Split(key, ".")
				m := without
				for _, k := range path[:len(path)-1] {
					m = m[k].(map[string]any)
				}
				delete(m, path[len(path)-1])
				changes = changes || read(chart, v) != read(chart, without)
			}
			if !changes {
				t.Errorf("%s: leaving %s out changes no setting read back", chart, key)
			}
		}
		others := map[string]any{
			"bpf": map[string]any{"masquerade": true}, "devices": "eth+", "ipam": map[string]any{"mode": "cluster-pool"},
			"kubeProxyReplacement": false, "k8sServiceHost": "api.example.com", "k8sServicePort": 6443, "rollOutCiliumPods": true,
			"image": map[string]any{"tag": "v1.15.6"}, "operator": map[string]any{"replicas": 1}, "autoDirectNodeRoutes": true,
			"hubble":     map[string]any{"ui": map[string]any{"enabled": true}, "enabled": false},
			"encryption": map[string]any{"nodeEncryption": true}, "hostFirewall": map[string]any{"devices": "eth0"},
			"ipv4NativeRoutingCIDR": "10.0.0.0/8", "l7Proxy": false, "MTU": 1400,
		}
		for _, v := range sets {
			if read(chart, v) != read(chart, DeepMerge(v, others)) {
				t.Errorf("%s: values under other keys than SettingsKeys change the settings read back", chart)
			}
			// The keys are enough: the values cut down to them read back as the whole does, so a key the checks
			// read that the list lacks (its value above is not the default) fails here.
			all := DeepMerge(v, others)
			if got, want := read(chart, only(all, SettingsKeys(chart))), read(chart, all); got != want {
				t.Errorf("%s: the values under SettingsKeys alone read back %+v, the whole %+v", chart, got, want)
			}
		}
	}
}

// only is values cut down to the dotted keys given.
func only(values map[string]any, keys []string) map[string]any {
	out := map[string]any{}
	for _, key := range keys {
		v, ok := ValueAt(values, key)
		if !ok {
			continue
		}
		path := strings.Split(key, ".")
		m := out
		for _, k := range path[:len(path)-1] {
			if _, ok := m[k].(map[string]any); !ok {
				m[k] = map[string]any{}
			}
			m = m[k].(map[string]any)
		}
		m[path[len(path)-1]] = v
	}
	return out
}

// deepCopy copies nested maps of Helm values.
func deepCopy(v map[string]any) map[string]any {
	out := make(map[string]any, len(v))
	for k, x := range v {
		if m, ok := x.(map[string]any); ok {
			x = deepCopy(m)
		}
		out[k] = x
	}
	return out
}
