package cilium

import (
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
