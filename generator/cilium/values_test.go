package cilium

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kronform/kronform-gen/generator/spec"
)

func cluster(version string) spec.Cluster {
	return spec.Cluster{
		Domain: "cluster.local",
		Cilium: spec.Cilium{
			Version: version, IPAM: "kubernetes", Encryption: "none",
			KubeProxyReplacement: new(bool), HostFirewall: new(bool),
			K8sService: spec.K8sService{Host: "localhost", Port: 7445},
		},
	}
}

// TestValuesFollowTheChartVocabulary: kubeProxyReplacement is strict/disabled before 1.14 and a boolean after;
// etcd.clusterDomain is written only before 1.16; a range is written for its lowest version.
func TestValuesFollowTheChartVocabulary(t *testing.T) {
	for _, tc := range []struct {
		version string
		on      bool
		kpr     any
		etcd    bool
	}{
		{"1.13.4", true, "strict", true},
		{"1.13.4", false, "disabled", true},
		{"1.14.0", true, true, true},
		{"~1.15.0", false, false, true},
		{"1.16.0", true, true, false},
		{">=1.18.0 <1.19.0", true, true, false},
	} {
		c := cluster(tc.version)
		*c.Cilium.KubeProxyReplacement = tc.on
		v, err := HelmValues(c)
		if err != nil {
			t.Fatalf("%s: %v", tc.version, err)
		}
		if v["kubeProxyReplacement"] != tc.kpr {
			t.Errorf("%s: kubeProxyReplacement = %#v, want %#v", tc.version, v["kubeProxyReplacement"], tc.kpr)
		}
		if _, ok := v["etcd"]; ok != tc.etcd {
			t.Errorf("%s: etcd written = %v, want %v", tc.version, ok, tc.etcd)
		}
	}
}

func TestRawValuesMergeLast(t *testing.T) {
	c := cluster("1.18.0")
	c.Cilium.Values = map[string]any{
		"hubble":       map[string]any{"relay": map[string]any{"replicas": 2}},
		"hostFirewall": map[string]any{"enabled": true},
		"ipam":         "overridden-whole",
	}
	v, err := HelmValues(c)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"enabled": false, "replicas": 2}
	if diff := cmp.Diff(want, v["hubble"].(map[string]any)["relay"]); diff != "" {
		t.Errorf("hubble.relay not deep-merged: %s", diff)
	}
	if v["hostFirewall"].(map[string]any)["enabled"] != true || v["ipam"] != "overridden-whole" {
		t.Errorf("raw values did not win: %v %v", v["hostFirewall"], v["ipam"])
	}
}

// TestOverlayFollowsTheValues: the tunnel the built-in checks test is the one the HelmRelease's values configure, in
// the words of the chart version: tunnel before 1.14, routingMode and tunnelProtocol after, tunnelPort in both.
func TestOverlayFollowsTheValues(t *testing.T) {
	for _, tc := range []struct {
		version string
		values  map[string]any
		want    Overlay
	}{
		{"1.13.4", nil, Overlay{"vxlan", 8472}},
		{"1.13.4", map[string]any{"tunnel": "geneve"}, Overlay{"geneve", 6081}},
		{"1.13.4", map[string]any{"tunnel": "disabled"}, Overlay{}},
		{"1.16.5", nil, Overlay{"vxlan", 8472}},
		{"1.16.5", map[string]any{"tunnelProtocol": "geneve"}, Overlay{"geneve", 6081}},
		{"~1.15.0", map[string]any{"routingMode": "native", "tunnelProtocol": "geneve"}, Overlay{}},
		{"1.18.0", map[string]any{"routingMode": "tunnel", "tunnelPort": 9472}, Overlay{"vxlan", 9472}},
	} {
		c := cluster(tc.version)
		c.Cilium.Values = tc.values
		if got := OverlayOf(c); got != tc.want {
			t.Errorf("%s %v: overlay %+v, want %+v", tc.version, tc.values, got, tc.want)
		}
	}
}
