package firewall

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kronform/kronform-gen/generator/spec"
)

// A cluster's built-in assertions are a flow from each node to each other node on each port, and every verdict
// weighs the rules of the policies that select the node. Gathering those rules per flow made each verdict allocate
// in proportion to the policies, and a cluster's checks cost its nodes squared times its policies: 20 policies on
// 30 nodes took most of a 100-cluster generate. They are gathered once per node and direction, so a verdict costs
// the same whatever the number of policies that select the node.
func TestVerdictCostDoesNotGrowWithThePolicies(t *testing.T) {
	allocs := func(extra int) float64 {
		var rest strings.Builder
		for i := range extra {
			fmt.Fprintf(&rest, "      - {name: extra-%02d, nodes: {}, ingress: [{entities: [remote-node], ports: [%d/tcp]}]}\n", i, 30000+i)
		}
		m := load(t, twoControlPlanes("{version: 1.16.5}", rest.String()))
		sim := NewSimulator(m.Clusters[0])
		a := spec.Assertion{From: "node:n2", To: "n1", Port: "6443/tcp", Expect: spec.Allowed}
		evaluate := func() {
			traces, err := sim.Evaluate(a)
			if err != nil || len(traces) != 1 || !traces[0].Allowed || len(traces[0].Cilium.Selected) != 1+extra {
				t.Fatalf("%d policies: %v, %v", 1+extra, traces, err)
			}
		}
		evaluate() // the simulator's first verdict compiles and sorts what every later one reuses
		return testing.AllocsPerRun(20, evaluate)
	}
	one, many := allocs(0), allocs(40)
	t.Logf("allocations per verdict: %.0f with 1 policy, %.0f with 41", one, many)
	if many > one {
		t.Errorf("a verdict allocates %.0f times with 41 policies selecting the node, %.0f with 1: the rules are gathered per flow", many, one)
	}
}
