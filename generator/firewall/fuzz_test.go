package firewall

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/kronform/kronform-gen/generator/cilium"
	"github.com/kronform/kronform-gen/generator/spec"
)

// FuzzReleasedSettings feeds the transition checks' reading of a release (cilium.AsReleased: a taken-over HelmRelease
// of the user's may hold any values) and what the simulator, explain and the runbook make of it any Helm values under
// each kind of chart version: each must answer, never crash. The seeds run with every go test;
// `go test -fuzz FuzzReleasedSettings ./generator/firewall` searches further.
func FuzzReleasedSettings(f *testing.F) {
	example, err := spec.LoadFile("../../cluster-spec.yaml", spec.Options{})
	if err != nil {
		f.Fatal(err)
	}
	charts := []string{"1.13.4", "1.14.5", "~1.15.0", "1.16.5", ">=1.16.0 <1.17.0", "1.20.2"}
	for i, seed := range []string{
		`{"hostFirewall": {"enabled": "true"}, "policyAuditMode": 1, "tunnelPort": "7000"}`,
		`{"image": {"tag": "v1.15.1"}}`,
		`{"image": {"override": "quay.io/cilium/cilium:v1.14.2@sha256:0123", "useDigest": "yes"}}`,
		`{"image": "cilium"}`,
		`{"routingMode": "native", "ipv6": {"enabled": true}, "ipv4": {"enabled": false}}`,
		`{"encryption": {"enabled": true, "type": "wireguard"}, "hubble": {"relay": {"enabled": "x"}}}`,
		`{"tunnelProtocol": "geneve", "tunnelPort": 0, "tunnel": "disabled"}`,
		`{"image": {"tag": null, "digest": "sha256:1", "useDigest": true}, "tunnelPort": -1}`,
	} {
		f.Add(uint8(i), []byte(seed))
	}
	policies := compiledPolicies(example.Clusters[0])
	f.Fuzz(func(t *testing.T, which uint8, valuesJSON []byte) {
		var values map[string]any
		if json.Unmarshal(valuesJSON, &values) != nil {
			return
		}
		c := cilium.AsReleased(example.Clusters[0], charts[int(which)%len(charts)], wholeInts(values).(map[string]any))
		VerifyWith(0, c, policies)
		for _, a := range c.Assertions {
			ExplainAssertion(c, a)
		}
		AuditRunbook(c, true)
	})
}

// wholeInts is v with its whole numbers as int, as the spec loader and the release reader give them.
func wholeInts(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = wholeInts(x)
		}
	case []any:
		for i, x := range v {
			v[i] = wholeInts(x)
		}
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int(v)
		}
	}
	return v
}
