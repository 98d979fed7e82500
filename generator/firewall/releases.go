package firewall

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"

	"github.com/kronform/kronform-gen/generator/cilium"
	"github.com/kronform/kronform-gen/generator/spec"
)

// agentClass is a set of the releases the agents may run (cilium.Agents.Releases) whose datapaths treat every flow
// the simulator models alike: they know endPort or not (where the policies have port ranges: an agent before
// spec.CiliumPortRangesSince enforces a range as its first port), and they hand the node's neighbour solicitations to
// the host policies or not, per direction (where the agents handle IPv6; see solicitationsReachPolicies).
type agentClass struct {
	releases      []*semver.Version
	noEndPort     bool
	solicitations [2]bool
	name          string // the releases, for messages: "1.15.1", "1.14.8 and later 1.14 patches, 1.15.2 and later 1.15 patches"
}

// agentClasses splits the releases the agents may run into the classes whose verdicts may differ, in the order of
// their first release; nil when all of them treat flows alike (then the simulator's one answer is each release's), or
// when the releases do not resolve (the loader refuses those; the simulator takes the worst case).
//
// The simulator of all the releases at once (NewSimulatorWith: solicitations handed on in a direction where any
// release does) denies a flow only where some class does, whatever the directions a release hands them in: a flow is
// cut by a policy verdict on a single direction (a solicitation's own, or one of the node's neighbour discovery), and
// the class of a release that hands them on in that direction meets the same verdict. So where the classes agree, it
// agrees with them; TestVerifyAndExplainAreEachReleasesVerdicts checks this against each release alone.
func agentClasses(c spec.Cluster, agents cilium.Agents, ranges bool) []agentClass {
	key := classesKey{agents.Key(), cilium.FamiliesOf(c).IPv6, ranges}
	if r, ok := classesCache.Load(key); ok {
		return r.([]agentClass)
	}
	out := splitAgents(agents, key.v6, ranges)
	classesCache.Store(key, out)
	return out
}

// classesKey is what agentClasses depends on: the releases (Agents.Key), whether the agents handle IPv6, and whether
// the policies have port ranges.
type classesKey struct {
	agents     string
	v6, ranges bool
}

// classesCache remembers agentClasses by classesKey: every check of every cluster asks, and naming a few thousand
// releases (releaseRuns) costs more than a cluster's checks. Callers must not change what it gives.
var classesCache sync.Map

// splitAgents is agentClasses, not remembered.
func splitAgents(agents cilium.Agents, v6, ranges bool) []agentClass {
	releases := agents.Releases()
	if len(releases) < 2 {
		return nil
	}
	var out []agentClass
	for _, v := range releases {
		k := agentClass{noEndPort: ranges && v.LessThan(spec.CiliumPortRangesSince)}
		if v6 {
			k.solicitations = [2]bool{solicitationsReachPolicies(false, v), solicitationsReachPolicies(true, v)}
		} else {
			k.solicitations = solicitationsOf(agents) // never asked: the agents drop IPv6 before any policy
		}
		i := slices.IndexFunc(out, func(o agentClass) bool { return o.noEndPort == k.noEndPort && o.solicitations == k.solicitations })
		if i < 0 {
			out, i = append(out, k), len(out)
		}
		out[i].releases = append(out[i].releases, v)
	}
	if len(out) < 2 {
		return nil
	}
	for i := range out {
		out[i].name = releaseRuns(out[i].releases, releases)
	}
	return out
}

// lastModelledPatch is the last patch release of a minor that spec.CiliumAdmitted and cilium.Agents.Releases probe.
const lastModelledPatch = 60

// releaseRuns names some of the releases of all (both ascending) as runs of consecutive ones: "1.15.1",
// "1.16.0 to 1.19.5"; a run that ends at the last patch kronform-gen models of a minor is "1.13.x" where it is the
// whole minor, "1.15.2 and later 1.15 patches" where it starts within it, and ends at "1.19.x" where it starts in an
// earlier one. Releases with others between them that are not in all (a tag pinned beside a chart's range: 1.15.60
// and 1.16.3) are not one run.
func releaseRuns(some, all []*semver.Version) string {
	in := func(v *semver.Version) bool {
		return slices.ContainsFunc(some, func(x *semver.Version) bool { return x.Equal(v) })
	}
	last := func(v *semver.Version) bool { return v.Prerelease() == "" && v.Patch() == lastModelledPatch }
	// follows says whether b is the release after a; a pre-release is taken as next to its neighbours in all.
	follows := func(a, b *semver.Version) bool {
		switch {
		case a.Prerelease() != "" || b.Prerelease() != "":
			return true
		case a.Major() != b.Major():
			return false
		case a.Minor() == b.Minor():
			return b.Patch() == a.Patch()+1
		}
		return last(a) && b.Minor() == a.Minor()+1 && b.Patch() == 0
	}
	var runs []string
	for i := 0; i < len(all); i++ {
		if !in(all[i]) {
			continue
		}
		j := i
		for j+1 < len(all) && in(all[j+1]) && follows(all[j], all[j+1]) {
			j++
		}
		a, b := all[i], all[j]
		sameMinor := a.Minor() == b.Minor() && a.Major() == b.Major()
		switch {
		case a.Equal(b):
			runs = append(runs, a.String())
		case last(b) && sameMinor && a.Patch() == 0 && a.Prerelease() == "":
			runs = append(runs, fmt.Sprintf("%d.%d.x", b.Major(), b.Minor()))
		case last(b) && sameMinor:
			runs = append(runs, fmt.Sprintf("%s and later %d.%d patches", a, b.Major(), b.Minor()))
		case last(b):
			runs = append(runs, fmt.Sprintf("%s to %d.%d.x", a, b.Major(), b.Minor()))
		default:
			runs = append(runs, fmt.Sprintf("%s to %s", a, b))
		}
		i = j
	}
	return strings.Join(runs, ", ")
}

// classSimulator is the simulator of the agents of one class: the policies as they enforce them, and their own
// handling of neighbour solicitations, named by the class's releases in messages.
func classSimulator(c spec.Cluster, agents cilium.Agents, policies []cilium.ClusterwideNetworkPolicy, k agentClass) *Simulator {
	if k.noEndPort {
		policies = withoutPortRanges(policies)
	}
	s := newSimulator(c, agents, policies)
	s.solicitations = k.solicitations
	s.agentsName = k.name
	return s
}

// portRangeNote is what a verdict on agents without endPort adds, so that a range that holds the port does not seem
// ignored.
func portRangeNote(agents cilium.Agents) string {
	return fmt.Sprintf(" (as an agent before %s enforces the policies: no endPort, so a port range is its first port; the agents may run Cilium %s)",
		spec.CiliumPortRangesSince, agents)
}

// ReleaseTrace is a flow's trace on the agents of some of the releases they may run.
type ReleaseTrace struct {
	Releases string `json:"releases"` // "1.15.1", "1.16.0 to 1.19.5"
	Trace    Trace  `json:"trace"`
}

// ExplainAssertion is what explain shows: the traces of an assertion's flows, judged as verify judges them. Where the
// agents may run releases whose verdicts on a flow differ (port ranges on both sides of spec.CiliumPortRangesSince,
// neighbour solicitations handed to the policies by some and not others), the flow's trace is the worst (allowed only
// where every release allows it, passing only where every release lets it pass) and ByRelease holds each release's
// trace; verify fails an assertion of either verdict on such a flow.
func ExplainAssertion(c spec.Cluster, a spec.Assertion) ([]Trace, error) {
	policies := compiledPolicies(c)
	agents := cilium.AgentsOf(c.Cilium.Version, c.Cilium.Values)
	traces, err := NewSimulatorWith(c, policies).Evaluate(a)
	classes := agentClasses(c, agents, slices.ContainsFunc(policies, cilium.HasPortRange))
	if err != nil || classes == nil {
		return traces, err
	}
	per := make([][]Trace, len(classes))
	for k, cl := range classes {
		if per[k], err = classSimulator(c, agents, policies, cl).Evaluate(a); err != nil || len(per[k]) != len(traces) {
			return traces, nil // the same flows in every class: an assertion's flows do not depend on the agents
		}
		if cl.noEndPort {
			// As verify says it: only where the policies as written give the class's agents another verdict.
			w := cl
			w.noEndPort = false
			written, err := classSimulator(c, agents, policies, w).Evaluate(a)
			for i := range per[k] {
				if err == nil && len(written) == len(per[k]) && written[i].Allowed != per[k][i].Allowed {
					per[k][i].Cilium.Reason += portRangeNote(agents)
				}
			}
		}
	}
	for i := range traces {
		same := true
		for k := range classes {
			same = same && per[k][i].Allowed == per[0][i].Allowed
		}
		if same {
			continue
		}
		var allowed, denied []string
		worst := -1
		out := traces[i]
		out.Allowed, out.Passes, out.passesInAudit = true, true, true
		for k, cl := range classes {
			t := per[k][i]
			out.ByRelease = append(out.ByRelease, ReleaseTrace{Releases: cl.name, Trace: t})
			out.Allowed, out.Passes = out.Allowed && t.Allowed, out.Passes && t.Passes
			out.passesInAudit = out.passesInAudit && t.passesInAudit
			if t.Allowed {
				allowed = append(allowed, cl.name)
			} else {
				denied = append(denied, cl.name)
				if worst < 0 {
					worst = k
				}
			}
		}
		if worst >= 0 {
			w := per[worst][i]
			out.Hetzner, out.Egress, out.Cilium, out.Reply = w.Hetzner, w.Egress, w.Cilium, w.Reply
		}
		out.Result = fmt.Sprintf("denied on Cilium %s, allowed on Cilium %s: the agents may run Cilium %s, and the release decides (verify fails an assertion of either verdict)",
			strings.Join(denied, ", "), strings.Join(allowed, ", "), agents)
		traces[i] = out
	}
	return traces, nil
}
