package spec

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestWideRangesNeedPortRanges: before Cilium 1.16 a range is written port by port, so a rule that would come to more
// than MaxExpandedPorts single ports is refused at the widest range, with the way out (exactly that many pass); from
// 1.16 a range is one entry.
func TestWideRangesNeedPortRanges(t *testing.T) {
	policy := `    hostPolicies:
      - name: p
        nodes: {role: control-plane}
        ingressDeny:
          - {entities: [world], ports: [1-1023/tcp, 6443/tcp]}
          - {entities: [world], ports: [2000-2100/udp, 30000-32767/tcp]}
`
	old := strings.Replace(firewallBase, "version: 1.16.5", "version: ~1.15.0", 1)
	_, err := Load("fw.yaml", []byte(old+policy), Options{})
	var got []string
	if ps, ok := err.(Problems); ok {
		for _, p := range ps {
			got = append(got, p.String())
		}
	}
	want := []string{
		`fw.yaml:14:56: clusters[0].hostPolicies[0].ingressDeny[1].ports[1]: Cilium ~1.15.0 has no port ranges in policies (endPort came with 1.16), so each port of a range is written on its own; this rule comes to 2869 ports, more than the 1024 kronform-gen writes for one rule (upgrade cilium.version to 1.16 or later, where ranges are written as endPort, or narrow the range)`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("problems (-want +got):\n%s", diff)
	}
	if _, err := Load("fw.yaml", []byte(firewallBase+policy), Options{}); err != nil {
		t.Fatalf("1.16 writes ranges as endPort, yet: %v", err)
	}
}
