package firewall

import (
	"fmt"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"

	"github.com/kronform/kronform-gen/generator/cilium"
	"github.com/kronform/kronform-gen/generator/spec"
)

// everyReleaseSpec is a dual-stack cluster whose agents may run any release kronform-gen models (a digest pinned
// alone), with port ranges in allow and deny rules, the rules for neighbour solicitations of %ND%, and assertions of
// both verdicts on IPv6 flows that the datapath's handling of solicitations and of ranges decides. %IMAGE% replaced by
// a pin of one release gives the cluster whose agents run that release alone.
const everyReleaseSpec = `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: every
    apiServer: {host: api.example.com}
    nodes:
      - {name: cp1, addresses: [198.51.100.11, "2a01:4f8:1:2::2"], roles: [control-plane]}
      - {name: cp2, addresses: [198.51.100.12, "2a01:4f8:1:2::3"], roles: [control-plane]}
    cilium:
      version: 1.20.2
      values: {ipv6: {enabled: true}, image: %IMAGE%}
    hostPolicies:
      - {name: cp, preset: talos-control-plane}
      - name: extra
        nodes: {role: control-plane}
        ingress:
          - {entities: [world], ports: [8000-8010/tcp]}
        ingressDeny:
          - {entities: [world], ports: [8004-8006/tcp]}
%ND%
    hetzner: {adminSources: ["2a02:8108::/32"], filterIPv6: true}
    assertions:
%ASSERTIONS%
`

// The verdicts of agents that may run several releases are those of each release alone: a check holds exactly where it
// holds on the agents of every release they may run, and explain gives a flow one verdict exactly where every release
// does, the worst. Judged against each release pinned alone, for every rule set of neighbour solicitations (none, on
// ingress, on egress, both): this holds whatever the release table says of the directions in which a release hands
// solicitations to the policies, and of port ranges.
func TestVerifyAndExplainAreEachReleasesVerdicts(t *testing.T) {
	if testing.Short() {
		t.Skip("verifies the cluster as each modelled release")
	}
	ndRule := map[string]string{
		"ingress": "        ingress:\n          - {entities: [world], icmp: [{family: IPv6, type: NeighborSolicitation}]}\n",
		"egress":  "        egress:\n          - {entities: [world], icmp: [{family: IPv6, type: NeighborSolicitation}]}\n",
	}
	var assertions strings.Builder
	for _, a := range [][3]string{{"admin", "cp1", "6443/tcp"}, {"world", "cp1", "icmpv6:135"}, {"world", "cp1", "8001/tcp"},
		{"world", "cp1", "8005/tcp"}, {"world", "cp1", "8008/tcp"}, {"node:cp2", "cp1", "icmpv6:NeighborSolicitation"}} {
		for _, expect := range []string{"allowed", "denied"} {
			fmt.Fprintf(&assertions, "      - {from: %q, to: %s, port: %q, expect: %s}\n", a[0], a[1], a[2], expect)
		}
	}
	for _, nd := range []string{"", "ingress", "egress", "ingress egress"} {
		policy := ""
		if nd != "" {
			policy = "      - name: nd\n        nodes: {role: control-plane}\n"
			for _, dir := range strings.Fields(nd) {
				policy += ndRule[dir]
			}
		}
		model := func(image string) *spec.Model {
			return load(t, strings.NewReplacer("%IMAGE%", image, "%ND%", policy, "%ASSERTIONS%", assertions.String()).Replace(everyReleaseSpec))
		}
		every := model(`{digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}`)
		releases := cilium.AgentsOf(every.Clusters[0].Cilium.Version, every.Clusters[0].Cilium.Values).Releases()
		if len(releases) < 400 {
			t.Fatalf("%d releases, want every one modelled", len(releases))
		}
		checks := Verify(every)
		holds := make([]bool, len(checks)) // the check holds on every release alone
		for k := range holds {
			holds[k] = true
		}
		allowed := map[string]bool{} // a flow of an assertion, allowed on every release alone
		some := map[string]bool{}    // allowed on some release
		for _, v := range releases {
			one := model(fmt.Sprintf("{tag: v%s, useDigest: false}", v))
			for k, ch := range Verify(one) {
				if ch.Assertion != checks[k].Assertion {
					t.Fatalf("%s: check %d is %s alone, %s on every release", v, k, ch, checks[k])
				}
				holds[k] = holds[k] && ch.OK
				for _, tr := range ch.Traces {
					key := ch.Assertion.From + " " + ch.Assertion.Port + " " + tr.Flow.String()
					if _, seen := allowed[key]; !seen {
						allowed[key] = true
					}
					allowed[key] = allowed[key] && tr.Allowed
					some[key] = some[key] || tr.Allowed
				}
			}
		}
		for k, ch := range checks {
			if ch.OK != holds[k] {
				t.Errorf("ND rules %q: %s: ok %v, but on each release alone it holds: %v", nd, ch, ch.OK, holds[k])
			}
			traces, err := ExplainAssertion(every.Clusters[0], ch.Assertion)
			if err != nil {
				t.Fatal(err)
			}
			for _, tr := range traces {
				key := ch.Assertion.From + " " + ch.Assertion.Port + " " + tr.Flow.String()
				split := some[key] && !allowed[key]
				if tr.Allowed != allowed[key] || (len(tr.ByRelease) > 0) != split {
					t.Errorf("ND rules %q: explain %s: allowed %v, %d traces by release; on each release alone: allowed on all %v, on some %v",
						nd, key, tr.Allowed, len(tr.ByRelease), allowed[key], some[key])
				}
			}
		}
	}
}

// Splitting the releases is remembered: every check of every cluster asks, and agents that may run any release would
// name a few thousand releases each time, more than a cluster's checks cost.
func TestAgentClassesAreRemembered(t *testing.T) {
	m := load(t, strings.NewReplacer("%IMAGE%", `{digest: "sha256:0123"}`, "%ND%", "", "%ASSERTIONS%", "").Replace(everyReleaseSpec))
	c := m.Clusters[0]
	agents := cilium.AgentsOf(c.Cilium.Version, c.Cilium.Values)
	if n := len(agentClasses(c, agents, true)); n != 5 {
		t.Fatalf("%d classes, want 5 (before 1.16: three ways with solicitations; from it: two)", n)
	}
	if a, b := agentClasses(c, agents, true), agentClasses(c, agents, true); &a[0] != &b[0] {
		t.Errorf("agentClasses split the releases again on a second call")
	}
	if a, b := agentClasses(c, agents, true), agentClasses(c, agents, false); len(a) == len(b) {
		t.Errorf("without port ranges: %d classes, as with them", len(b))
	}
}

// Runs of releases are named as what they are: a run that starts after a minor's first patch and ends at its last is
// "and later" patches of it, not "to 1.15.x" (1.15.x is every 1.15 release); releases the agents may run with others
// between them that they may not (a tag pinned beside a chart's range) are not one run.
func TestReleaseRunsNames(t *testing.T) {
	vs := func(s ...string) []*semver.Version {
		var out []*semver.Version
		for _, v := range s {
			out = append(out, semver.MustParse(v))
		}
		return out
	}
	minor := func(m uint64, from, to uint64) []*semver.Version {
		var out []*semver.Version
		for p := from; p <= to; p++ {
			out = append(out, semver.New(1, m, p, "", ""))
		}
		return out
	}
	all := append(append(minor(13, 0, 60), minor(14, 0, 60)...), minor(15, 0, 60)...)
	pinned := append(minor(15, 0, 60), vs("1.16.3")...)
	for _, c := range []struct {
		some, all []*semver.Version
		want      string
	}{
		{vs("1.15.1"), all, "1.15.1"},
		{minor(13, 0, 60), all, "1.13.x"},
		{append(minor(13, 0, 60), minor(14, 0, 7)...), all, "1.13.0 to 1.14.7"},
		{minor(15, 2, 60), all, "1.15.2 and later 1.15 patches"},
		{append(minor(14, 8, 60), minor(15, 0, 60)...), all, "1.14.8 to 1.15.x"},
		{append(minor(14, 8, 60), minor(15, 2, 60)...), all, "1.14.8 and later 1.14 patches, 1.15.2 and later 1.15 patches"},
		{append(minor(15, 2, 60), vs("1.16.3")...), pinned, "1.15.2 and later 1.15 patches, 1.16.3"},
		{append(minor(15, 58, 60), vs("1.16.3")...), pinned, "1.15.58 and later 1.15 patches, 1.16.3"},
	} {
		if got := releaseRuns(c.some, c.all); got != c.want {
			t.Errorf("releaseRuns(%s ... %s) = %q, want %q", c.some[0], c.some[len(c.some)-1], got, c.want)
		}
	}
}

// explain says a verdict is the port ranges' doing (an agent before 1.16 enforces a range as its first port) only
// where it is: where the policies as written give another verdict, as verify says it.
func TestExplainNotesPortRangesOnlyWhereTheyDecide(t *testing.T) {
	nd := "      - name: nd\n        nodes: {role: control-plane}\n" +
		"        ingress:\n          - {entities: [world], icmp: [{family: IPv6, type: NeighborSolicitation}]}\n"
	for _, c := range []struct {
		nd, port string
		noted    bool
	}{
		{"", "6443/tcp", false}, // 1.14.0-1.14.7 and 1.15.0-1.15.1 cut the node's IPv6 whatever the ranges
		{nd, "8001/tcp", true},  // inside the allow range, beyond its first port
	} {
		m := load(t, strings.NewReplacer("%IMAGE%", `{digest: "sha256:0123"}`, "%ND%", c.nd, "%ASSERTIONS%", "").Replace(everyReleaseSpec))
		from := "admin"
		if c.port != "6443/tcp" {
			from = "2a02:8108::1"
		}
		traces := explainAll(t, m, from, "cp1", c.port)
		if len(traces) != 1 || len(traces[0].ByRelease) == 0 {
			t.Fatalf("%s: %d traces, by release %v; want one the releases judge apart", c.port, len(traces), traces)
		}
		for _, r := range traces[0].ByRelease {
			old := !strings.Contains(r.Releases, "1.16") && !strings.Contains(r.Releases, "1.19") && !strings.Contains(r.Releases, "1.20")
			noted := strings.Contains(r.Trace.Cilium.Reason, "no endPort, so a port range is its first port")
			if want := old && !r.Trace.Allowed && c.noted; noted != want {
				t.Errorf("%s on Cilium %s: allowed %v, noted %v, want %v: %s", c.port, r.Releases, r.Trace.Allowed, noted, want, r.Trace.Cilium.Reason)
			}
		}
	}
}
