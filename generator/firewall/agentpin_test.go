package firewall

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// pinnedSpec is icmpv6Spec with the agents' image pinned in the values (%IMAGE%, a flow mapping).
func pinnedSpec(version, image, extra string) string {
	doc := strings.Replace(icmpv6Spec, "values: {ipv6: {enabled: true}}", "values: {ipv6: {enabled: true}, image: "+image+"}", 1)
	return strings.NewReplacer("%VERSION%", version, "%AUDIT%", "false", "%EXTRA%", extra).Replace(doc)
}

// The agents run the image the values pin, not the chart's: with chart 1.16.5 (neighbour solicitations arriving at
// the node pass around the host policies) and image.tag v1.15.1 (1.15.1 hands them to the policies in both
// directions), the preset's ingress default deny cuts the node's IPv6, and the checks must say so: they judged
// 1.16.5's datapath before, and passed.
func TestPinnedAgentImageDecidesNeighbourDiscovery(t *testing.T) {
	admin := []string{"admin -> node:cp1 50000/tcp allowed", "admin -> node:cp1 6443/tcp allowed"}
	if got := failedChecks(load(t, pinnedSpec("1.16.5", "{repository: quay.io/cilium/cilium}", ""))); len(got) != 0 {
		t.Fatalf("chart 1.16.5, image not pinned: failures %v, want none", got)
	}
	for _, image := range []string{"{tag: v1.15.1}", "{tag: v1.15.1, useDigest: false}", "{tag: 1.15.1, digest: 'sha256:0123'}",
		"{override: 'quay.io/cilium/cilium:v1.15.1@sha256:0123'}"} {
		if got := failedChecks(load(t, pinnedSpec("1.16.5", image, ""))); !slices.Equal(got, admin) {
			t.Errorf("chart 1.16.5, image %s: failures %v, want %v", image, got, admin)
		}
	}
	sim := NewSimulator(load(t, pinnedSpec("1.16.5", "{tag: v1.15.1, useDigest: false}", "")).Clusters[0])
	tr := explainOne(t, sim, "admin", "6443/tcp")
	want := "the policies pass it (cp ingress[0] (fromEntities [world cluster], toPorts [6443/TCP]) allows 6443/tcp from world 2a02:8108::), but cp1's " +
		"neighbour discovery is cut, so no IPv6 packet gets to or from it: its ingress neighbour solicitations (icmpv6:135, Cilium 1.15.1 (the agents' " +
		"image.tag v1.15.1; chart 1.16.5) hands them to the host policies): default deny: cp selects cp1 for ingress and no allow rule matches icmpv6:135 " +
		"from world fe80::1"
	if tr.Allowed || tr.Cilium.Reason != want {
		t.Errorf("admin 6443 with agents pinned to 1.15.1: allowed %v, reason\n%s\nwant\n%s", tr.Allowed, tr.Cilium.Reason, want)
	}
	// The tag alone, as most write it: the chart's own digest follows it, so both releases count, and the reason names
	// both.
	sim = NewSimulator(load(t, pinnedSpec("1.16.5", "{tag: v1.15.1}", "")).Clusters[0])
	if tr := explainOne(t, sim, "admin", "6443/tcp"); tr.Allowed || !strings.Contains(tr.Cilium.Reason, "its ingress neighbour solicitations "+
		"(icmpv6:135, Cilium 1.15.1 (among the releases the agents may run: Cilium 1.15.1 or 1.16.5 (the agents' image.tag v1.15.1, which "+
		"the chart's own image digest overrides unless image.useDigest is false)) hands them to the host policies): default deny") {
		t.Errorf("admin 6443 with image.tag v1.15.1 alone: allowed %v, reason %q", tr.Allowed, tr.Cilium.Reason)
	}
	// The lint says so too, naming the release the agents run.
	doc := strings.Replace(pinnedSpec("1.16.5", "{tag: v1.15.1, useDigest: false}", ""), `"2a02:8108::/32"`, "89.23.224.44/32", 1)
	_, warnings := Lint(load(t, doc))
	var lost []string
	for _, w := range warnings {
		if strings.Contains(w.String(), "loses IPv6") {
			lost = append(lost, w.String())
		}
	}
	wantLint := "test.yaml:14:9: clusters[0].hostPolicies[0]: cp1 loses IPv6: Cilium 1.15.1 (the agents' image.tag v1.15.1; chart 1.16.5) hands its ingress " +
		"neighbour solicitations (icmpv6:135) to the host policies, and default deny: cp selects cp1 for ingress and no allow rule matches icmpv6:135 from " +
		"world fe80::1 " +
		"(add an ingress rule icmp: [{family: IPv6, type: NeighborSolicitation}] with entities: [world])"
	if len(lost) != 1 || lost[0] != wantLint {
		t.Errorf("lint with agents pinned to 1.15.1: %q\nwant %q", lost, wantLint)
	}
}

// A pin that names no release that can be read is judged as every release kronform-gen models: 1.14.0 to 1.15.1 hand
// ingress solicitations to the policies, so the preset's default deny fails, whatever the chart.
func TestUnreadablePinIsJudgedAsEveryRelease(t *testing.T) {
	admin := []string{"admin -> node:cp1 50000/tcp allowed", "admin -> node:cp1 6443/tcp allowed"}
	for _, image := range []string{"{digest: 'sha256:0123'}", "{tag: latest, useDigest: false}", "{override: 'registry.example/cilium@sha256:0123'}",
		"{tag: v1.16.5-acme.1, useDigest: false}"} {
		if got := failedChecks(load(t, pinnedSpec("1.16.5", image, ""))); !slices.Equal(got, admin) {
			t.Errorf("chart 1.16.5, image %s: failures %v, want %v", image, got, admin)
		}
	}
	// With an ICMPv6 135 rule both ways, every release passes.
	ns := "      - {name: ndp, nodes: {}, ingress: [{entities: [world], icmp: [{family: IPv6, type: 135}]}], egress: [{entities: [world], icmp: [{family: IPv6, type: 135}]}, {entities: [all]}]}"
	if got := failedChecks(load(t, pinnedSpec("1.16.5", "{digest: 'sha256:0123'}", ns))); len(got) != 0 {
		t.Errorf("chart 1.16.5, digest pinned, with a 135 rule both ways: failures %v, want none", got)
	}
	sim := NewSimulator(load(t, pinnedSpec("1.16.5", "{digest: 'sha256:0123'}", "")).Clusters[0])
	if tr := explainOne(t, sim, "admin", "6443/tcp"); tr.Allowed || !strings.Contains(tr.Cilium.Reason,
		"Cilium 1.14.0 to 1.14.7, 1.15.0 to 1.15.1 (among the releases the agents may run: Cilium (any release: the agents' image.digest "+
			"names none that kronform-gen can read; chart 1.16.5)) hands them to the host policies") {
		t.Errorf("admin 6443 with agents pinned by digest: allowed %v, reason %q", tr.Allowed, tr.Cilium.Reason)
	}
}

// A pin of the chart's own release changes nothing: the same checks, word for word.
func TestPinOfTheChartsReleaseChangesNothing(t *testing.T) {
	out := "      - {name: out, nodes: {}, egress: [{entities: [cluster]}]}"
	for _, version := range []string{"1.14.0", "1.16.5"} {
		want := Verify(load(t, strings.NewReplacer("%VERSION%", version, "%AUDIT%", "false", "%EXTRA%", out).Replace(icmpv6Spec)))
		for _, image := range []string{"{tag: v" + version + "}", "{tag: " + version + ", useDigest: false}", "{override: 'quay.io/cilium/cilium:v" + version + "'}"} {
			got := Verify(load(t, pinnedSpec(version, image, out)))
			if len(got) != len(want) {
				t.Fatalf("%s, image %s: %d checks, want %d", version, image, len(got), len(want))
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s, image %s: checks\n%v\nwant\n%v", version, image, got, want)
			}
		}
	}
}

// The runbook's CLI is the agents': cilium before 1.15.0, cilium-dbg from it, and, for agents that may run either,
// the one the pod has.
func TestRunbookUsesTheAgentsCLI(t *testing.T) {
	for image, want := range map[string]string{
		"{repository: quay.io/cilium/cilium}": "-- cilium-dbg endpoint config",
		"{tag: v1.14.3, useDigest: false}":    "-- cilium endpoint config",
		"{digest: 'sha256:0123'}":             `-- "$CLI" endpoint config`,
	} {
		text, err := AuditRunbook(load(t, pinnedSpec("1.16.5", image, "")).Clusters[0], true)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, want) {
			t.Errorf("image %s: runbook lacks %q:\n%s", image, want, text)
		}
		probe := "CLI=$(kubectl -n kube-system exec \"$POD\" -c cilium-agent -- sh -c 'command -v cilium-dbg >/dev/null && echo cilium-dbg || echo cilium')"
		if strings.Contains(text, probe) != strings.Contains(want, "$CLI") {
			t.Errorf("image %s: probe line present %v:\n%s", image, strings.Contains(text, probe), text)
		}
	}
}

// rangeSpec is one control plane under a 1.16 chart with an allow range (etcd's 2379-2380) and a deny range, and an
// assertion inside the deny range; %IMAGE% is the agents' image values.
const rangeSpec = `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: r
    apiServer: {host: api.example.com}
    nodes:
      - {name: cp1, addresses: [198.51.100.11], roles: [control-plane]}
      - {name: cp2, addresses: [198.51.100.12], roles: [control-plane]}
    cilium:
      version: 1.16.5
      values: {image: %IMAGE%}
    hostPolicies:
      - name: cp
        nodes: {role: control-plane}
        ingress:
          - {entities: [world, cluster], ports: [6443/tcp, 50000/tcp, 50001/tcp]}
          - {entities: [remote-node], ports: [2379-2380/tcp, 10250/tcp, 8472/udp, 4240/tcp]}
          - {entities: [world], ports: [8000/tcp, 8005/tcp]}
        ingressDeny:
          - {entities: [world], ports: [8000-8010/tcp]}
    hetzner: {adminSources: [89.23.224.44/32]}
    assertions:
      - {from: world, to: cp1, port: 8005/tcp, expect: denied}
`

// Agents that may run a release before 1.16 (no endPort: a range is its first port) or one from it are judged both
// ways: the allow range loses 2380 on the first, the deny range stops only 8000 there, so the assertion inside it
// fails too. Pinned to 1.16.x they pass; pinned to 1.15.1 alone only the first way counts.
func TestPortRangesJudgedForEveryAgentRelease(t *testing.T) {
	fails := func(image string) []Check {
		var out []Check
		for _, ch := range Verify(load(t, strings.Replace(rangeSpec, "%IMAGE%", image, 1))) {
			if !ch.OK {
				out = append(out, ch)
			}
		}
		return out
	}
	if got := fails("{tag: v1.16.2, useDigest: false}"); len(got) != 0 {
		t.Errorf("agents 1.16.2: failures %v, want none", got)
	}
	want := []string{"world -> cp1 8005/tcp denied", "node:cp2 -> node:cp1 2380/tcp allowed", "node:cp1 -> node:cp2 2380/tcp allowed"}
	for _, image := range []string{"{digest: 'sha256:0123'}", "{tag: v1.15.1}", "{tag: v1.15.1, useDigest: false}"} {
		got := fails(image)
		var names []string
		for _, ch := range got {
			names = append(names, ch.String())
		}
		if !slices.Equal(names, want) {
			t.Errorf("image %s: failures %q, want %q", image, names, want)
			continue
		}
		note := "(as an agent before 1.16.0 enforces the policies: no endPort, so a port range is its first port; the agents may run Cilium "
		if r := got[1].Traces[0].Cilium.Reason; !strings.Contains(r, note) {
			t.Errorf("image %s: the 2380 trace %q does not say why", image, r)
		}
	}
}

// An agent before 1.16 enforces a range as its first port, so under a pin that may run one the deny range 8000-8010
// stops only 8000 and the rest opens to the world, and the allow range 2379-2380 loses 2380: the checks see that only
// where an assertion names such a port (TestPortRangesJudgedForEveryAgentRelease), and none needs to. The lint names
// the ranges at their policy, whatever the assertions; not for agents that all know endPort.
func TestPortRangesUnderAnOldAgentAreWarnedOf(t *testing.T) {
	noAssertion := func(image string) string {
		doc := strings.Replace(rangeSpec, "%IMAGE%", image, 1)
		return doc[:strings.Index(doc, "    assertions:")]
	}
	ranges := func(image string) []string {
		_, warnings := Lint(load(t, noAssertion(image)))
		var out []string
		for _, w := range warnings {
			if strings.Contains(w.String(), "endPort") {
				out = append(out, w.String())
			}
		}
		return out
	}
	for _, image := range []string{"{tag: v1.16.2, useDigest: false}", "{repository: mirror.example/cilium/cilium}"} {
		if got := ranges(image); len(got) != 0 {
			t.Errorf("image %s: warned %q", image, got)
		}
	}
	want := "test.yaml:14:9: clusters[0].hostPolicies[0]: the agents may run Cilium 1.15.1 (the agents' image.tag v1.15.1; chart 1.16.5), " +
		"and an agent before 1.16.0 knows no endPort: it enforces a port range as its first port, so the allow range 2379-2380/tcp lets " +
		"only its first port through, and the deny range 8000-8010/tcp stops only its first port, the rest open; the checks see this only " +
		"where an assertion names such a port (pin the agents' image to a release from 1.16.0 by its version tag, or drop the pin)"
	if got := ranges("{tag: v1.15.1, useDigest: false}"); len(got) != 1 || got[0] != want {
		t.Errorf("agents 1.15.1: warnings %q\nwant %q", got, want)
	}
	for _, image := range []string{"{digest: 'sha256:0123'}", "{tag: v1.15.1}"} {
		if got := ranges(image); len(got) != 1 || !strings.Contains(got[0], "the deny range 8000-8010/tcp stops only its first port") {
			t.Errorf("image %s: warnings %q, want one naming the deny range", image, got)
		}
	}
}

// The note that an agent before 1.16 enforces a range as its first port goes only on the checks that this fails: the
// admin's 6443, cut with agents of 1.15.1 by their neighbour discovery while a policy has a port range elsewhere, says
// nothing of port ranges, which would send the reader to the wrong rule; etcd's 2380, which the range holds, does.
func TestPortRangeNoteOnlyWhereRangesDecide(t *testing.T) {
	etcd := "      - {name: etcd, nodes: {}, ingress: [{entities: [remote-node], ports: [2379-2380/tcp]}]}"
	for _, image := range []string{"{tag: v1.15.1, useDigest: false}", "{tag: v1.15.1}"} {
		checks := Verify(load(t, pinnedSpec("1.16.5", image, etcd)))
		var failed []string
		for _, ch := range checks {
			if ch.OK {
				continue
			}
			failed = append(failed, ch.String())
			for _, tr := range ch.Traces {
				if strings.Contains(tr.Cilium.Reason, "no endPort") {
					t.Errorf("image %s: %s: trace says %q", image, ch, tr.Cilium.Reason)
				}
			}
		}
		if want := []string{"admin -> node:cp1 6443/tcp allowed", "admin -> node:cp1 50000/tcp allowed"}; !slices.Equal(failed, want) {
			t.Errorf("image %s: failures %q, want %q", image, failed, want)
		}
	}
	// Where the range decides, the note stays (agents 1.15.1 alone: the etcd peers' 2380).
	found := false
	for _, ch := range Verify(load(t, strings.Replace(rangeSpec, "%IMAGE%", "{tag: v1.15.1, useDigest: false}", 1))) {
		if ch.String() == "node:cp2 -> node:cp1 2380/tcp allowed" {
			found = true
			if ch.OK || !strings.Contains(ch.Traces[0].Cilium.Reason, "no endPort") {
				t.Errorf("2380 with agents 1.15.1: ok %v, trace %q", ch.OK, ch.Traces[0].Cilium.Reason)
			}
		}
	}
	if !found {
		t.Error("no check of 2380 between the control planes")
	}
}
