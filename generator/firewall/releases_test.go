package firewall

import (
	"strings"
	"testing"

	"github.com/kronform/kronform-gen/generator/spec"
)

// explainAll is ExplainAssertion of one assertion on the model's first cluster.
func explainAll(t *testing.T, m *spec.Model, from, to, port string) []Trace {
	t.Helper()
	traces, err := ExplainAssertion(m.Clusters[0], spec.Assertion{From: from, To: to, Port: port})
	if err != nil {
		t.Fatal(err)
	}
	return traces
}

// icmpv6Range is icmpv6Spec under a chart range that admits 1.15.0 and 1.15.1 (which hand the neighbour solicitations
// that reach the node to the host policies) and 1.15.2 on (which answer them in the datapath), with extra assertions.
func icmpv6Range(t *testing.T, assertions string) *spec.Model {
	return load(t, strings.NewReplacer("%VERSION%", `"~1.15.0"`, "%AUDIT%", "false", "%EXTRA%", assertions).Replace(icmpv6Spec))
}

// Where the releases the agents may run give a flow different verdicts, explain shows each and counts the flow as
// allowed only where every release allows it. A tag pinned alone (v1.15.1) under a 1.16.5 chart may run either: 2380
// is inside the allow range 2379-2380 but beyond its first port, which an agent before 1.16 enforces alone.
func TestExplainJudgesEachAgentRelease(t *testing.T) {
	m := load(t, strings.Replace(rangeSpec, "%IMAGE%", "{tag: v1.15.1}", 1))
	traces := explainAll(t, m, "node:cp2", "cp1", "2380/tcp")
	if len(traces) != 1 {
		t.Fatalf("%d traces, want 1", len(traces))
	}
	tr := traces[0]
	want := "denied on Cilium 1.15.1, allowed on Cilium 1.16.5: the agents may run Cilium 1.15.1 or 1.16.5 (the agents' image.tag " +
		"v1.15.1, which the chart's own image digest overrides unless image.useDigest is false), and the release decides " +
		"(verify fails an assertion of either verdict)"
	if tr.Allowed || tr.Result != want || len(tr.ByRelease) != 2 {
		t.Fatalf("allowed %v, %d releases, result:\n%s\nwant:\n%s", tr.Allowed, len(tr.ByRelease), tr.Result, want)
	}
	old, cur := tr.ByRelease[0], tr.ByRelease[1]
	wantOld := "default deny: cp selects cp1 for ingress and no allow rule matches 2380/tcp from remote-node+kube-apiserver (as an " +
		"agent before 1.16.0 enforces the policies: no endPort, so a port range is its first port; the agents may run Cilium 1.15.1 " +
		"or 1.16.5 (the agents' image.tag v1.15.1, which the chart's own image digest overrides unless image.useDigest is false))"
	if old.Releases != "1.15.1" || old.Trace.Allowed || old.Trace.Cilium.Reason != wantOld || old.Trace.Result != "denied by Cilium at cp1" {
		t.Errorf("older agents: %s %v %q %q", old.Releases, old.Trace.Allowed, old.Trace.Cilium.Reason, old.Trace.Result)
	}
	if cur.Releases != "1.16.5" || !cur.Trace.Allowed || !strings.Contains(cur.Trace.Cilium.Reason, "toPorts [2379-2380/TCP 10250/TCP 8472/UDP 4240/TCP]) allows 2380/tcp") {
		t.Errorf("1.16.5 agents: %s %v %q", cur.Releases, cur.Trace.Allowed, cur.Trace.Cilium.Reason)
	}
	text := tr.String()
	for _, line := range []string{"\n  on Cilium 1.15.1:\n", "\n    result   denied by Cilium at cp1\n", "\n  on Cilium 1.16.5:\n",
		"\n    result   allowed\n", "\n  result   " + want + "\n"} {
		if !strings.Contains(text, line) {
			t.Errorf("explain text lacks %q:\n%s", line, text)
		}
	}
	// The range's first port, and a port outside it, get one verdict on every release: one trace, as before.
	for _, port := range []string{"2379/tcp", "2381/tcp"} {
		if tr := explainAll(t, m, "node:cp2", "cp1", port)[0]; len(tr.ByRelease) != 0 {
			t.Errorf("%s: by release %v", port, tr.ByRelease)
		}
	}
	// ICMPv6: 1.15.0 and 1.15.1 hand the node's ingress neighbour solicitations to the preset's default deny, which
	// cuts its IPv6; later 1.15 releases answer them in the datapath.
	tr = explainAll(t, icmpv6Range(t, ""), "admin", "cp1", "6443/tcp")[0]
	if tr.Allowed || !strings.HasPrefix(tr.Result, "denied on Cilium 1.15.0 to 1.15.1, allowed on Cilium 1.15.2 and later 1.15 patches: ") ||
		len(tr.ByRelease) != 2 || !strings.Contains(tr.ByRelease[0].Trace.Cilium.Reason, "its ingress neighbour solicitations (icmpv6:135, Cilium 1.15.0 to 1.15.1 hands them to the host policies)") {
		t.Errorf("~1.15.0 admin 6443 over IPv6: allowed %v, result %q, by release %+v", tr.Allowed, tr.Result, tr.ByRelease)
	}
}

// explain and verify judge alike: a check passes exactly where explain gives every flow of its assertion the expected
// verdict on every release the agents may run (a flow whose verdict the release decides fails either expectation).
// On the example spec, the pinned range spec, and a chart range whose releases treat neighbour solicitations apart.
func TestExplainAgreesWithVerify(t *testing.T) {
	example, err := spec.LoadFile("../../cluster-spec.yaml", spec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]*spec.Model{
		"example":       example,
		"pinned ranges": load(t, strings.Replace(rangeSpec, "%IMAGE%", "{tag: v1.15.1}", 1)),
		"~1.15.0 over IPv6": icmpv6Range(t, "    assertions:\n      - {from: admin, to: cp1, port: 6443/tcp, expect: denied}\n"+
			"      - {from: admin, to: cp1, port: 50000/tcp, expect: allowed}\n"),
	} {
		split := 0
		for _, ch := range Verify(m) {
			if ch.Assertion.From == Outside {
				continue
			}
			traces, err := ExplainAssertion(m.Clusters[0], ch.Assertion)
			if (err != nil) != (ch.Error != "") {
				t.Errorf("%s: %s: explain error %v, verify error %q", name, ch, err, ch.Error)
				continue
			}
			agree := err == nil
			for _, tr := range traces {
				agree = agree && len(tr.ByRelease) == 0 && tr.Verdict() == ch.Assertion.Expect
				if len(tr.ByRelease) > 0 {
					split++
				}
			}
			if agree != ch.OK {
				t.Errorf("%s: %s: verify ok %v, explain's verdicts agree with the expectation %v", name, ch, ch.OK, agree)
			}
		}
		if (split > 0) != (name != "example") {
			t.Errorf("%s: %d flows judged apart by release", name, split)
		}
	}
}

// A flow the releases judge apart fails an expected deny too: under ~1.15.0, the admin reaches 6443 over IPv6 on
// 1.15.2 and later (their datapath answers the neighbour solicitations), though 1.15.0 and 1.15.1 cut the node's IPv6.
// Taking the solicitations of every release at once said denied, and passed the assertion.
func TestVerifyFailsADenyThatSomeReleaseAllows(t *testing.T) {
	m := icmpv6Range(t, "    assertions:\n      - {from: admin, to: cp1, port: 6443/tcp, expect: denied}\n")
	ch := Verify(m)[0]
	if ch.OK || len(ch.Traces) == 0 {
		t.Fatalf("%s: ok %v, want a failure", ch, ch.OK)
	}
	want := "(on agents of Cilium 1.15.2 and later 1.15 patches, which the agents may run: Cilium ~1.15.0)"
	if r := ch.Traces[0].Cilium.Reason; !ch.Traces[0].Allowed || !strings.HasSuffix(r, want) {
		t.Errorf("trace allowed %v, reason %q, want it to end with %q", ch.Traces[0].Allowed, r, want)
	}
}
