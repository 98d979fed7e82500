package firewall

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/kronform/kronform-gen/generator/spec"
)

// icmpv6Spec is one dual-stack control plane with Cilium's IPv6 on, an IPv6 admin and the seed's preset.
const icmpv6Spec = `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: v6
    apiServer: {host: api.example.com}
    nodes:
      - {name: cp1, addresses: [198.51.100.11, "2a01:4f8:1:2::2"], roles: [control-plane]}
    cilium:
      version: %VERSION%
      auditMode: %AUDIT%
      values: {ipv6: {enabled: true}}
    hostPolicies:
      - {name: cp, preset: talos-control-plane}
%EXTRA%
    hetzner: {adminSources: ["2a02:8108::/32"], filterIPv6: true}
`

func icmpv6Cluster(t *testing.T, version, audit, extra string) *Simulator {
	t.Helper()
	m := load(t, strings.NewReplacer("%VERSION%", version, "%AUDIT%", audit, "%EXTRA%", extra).Replace(icmpv6Spec))
	return NewSimulator(m.Clusters[0])
}

func explainOne(t *testing.T, sim *Simulator, from, port string) Trace {
	t.Helper()
	src, err := spec.ParseFlowSource(sim.Cluster, from)
	if err != nil {
		t.Fatal(err)
	}
	p, err := spec.ParseFlowPort(port)
	if err != nil {
		t.Fatal(err)
	}
	flows, err := sim.Flows(src, []string{"cp1"}, p)
	if err != nil {
		t.Fatal(err)
	}
	return sim.Explain(flows[0])
}

// TestICMPv6AroundTheHostPolicies: with the host firewall on, bpf_host (bpf/lib/icmp6.h icmp6_host_handle) hands only
// echo request and reply (128, 129) to the host policies. The RFC 4890 types a node needs (errors, neighbour and
// router discovery, MLD) pass whatever the policies say, and the rest are dropped whatever they say, audit mode or not.
func TestICMPv6AroundTheHostPolicies(t *testing.T) {
	sim := icmpv6Cluster(t, "1.16.5", "false", "")
	if tr := explainOne(t, sim, "world", "icmpv6:NeighborAdvertisement"); !tr.Cilium.Allowed || !tr.Allowed {
		t.Errorf("neighbour advertisement under default deny: cilium %+v; want passed around the policies", tr.Cilium)
	}
	if tr := explainOne(t, sim, "world", "icmpv6:PacketTooBig"); !tr.Cilium.Allowed {
		t.Errorf("packet too big under default deny: cilium %+v; want passed around the policies", tr.Cilium)
	}
	if tr := explainOne(t, sim, "world", "icmpv6:EchoRequest"); !tr.Cilium.Allowed || tr.Cilium.Policy != "cp" {
		t.Errorf("echo request: cilium %+v; want allowed by the preset's rule", tr.Cilium)
	}
	// A rule without an L4 part admits every packet from world, yet Cilium drops a redirect (137) before the policies.
	open := "      - {name: open, nodes: {}, ingress: [{entities: [world]}]}"
	for _, audit := range []string{"false", "true"} {
		tr := explainOne(t, icmpv6Cluster(t, "1.16.5", audit, open), "world", "icmpv6:137")
		if tr.Allowed || tr.Passes || tr.Cilium.Audit {
			t.Errorf("audit %s: redirect from world: allowed %v, passes %v, %+v; want dropped by the datapath", audit, tr.Allowed, tr.Passes, tr.Cilium)
		}
	}
}

// TestNeighbourDiscoveryUnderHostPolicies: an IPv6 flow needs the node's neighbour discovery. Cilium 1.14 hands
// neighbour solicitations (135) arriving at the node to the host policies, and 1.14 to at least 1.16 the ones the
// node sends; a default deny without an ICMPv6 135 rule then leaves the router unable to resolve the node (or the node
// its router), and every IPv6 connection dies: the admin is locked out although 6443 is open.
func TestNeighbourDiscoveryUnderHostPolicies(t *testing.T) {
	failures := func(version, extra string) []string {
		return failedChecks(load(t, strings.NewReplacer("%VERSION%", version, "%AUDIT%", "false", "%EXTRA%", extra).Replace(icmpv6Spec)))
	}
	admin := []string{"admin -> node:cp1 50000/tcp allowed", "admin -> node:cp1 6443/tcp allowed"}
	if got := failures("1.14.0", ""); !slices.Equal(got, admin) {
		t.Errorf("1.14.0, no ICMPv6 135 rule: failures %v, want %v", got, admin)
	}
	ns := "      - {name: ndp, nodes: {}, ingress: [{entities: [world], icmp: [{family: IPv6, type: 135}]}]}"
	if got := failures("1.14.0", ns); len(got) != 0 {
		t.Errorf("1.14.0 with an ICMPv6 135 rule: failures %v, want none", got)
	}
	if got := failures("1.16.5", ""); len(got) != 0 {
		t.Errorf("1.16.5 (solicitations reach the node around the policies): failures %v, want none", got)
	}
	out := "      - {name: out, nodes: {}, egress: [{entities: [cluster]}]}"
	if got := failures("1.16.5", out); !slices.Equal(got, admin) {
		t.Errorf("1.16.5 with an egress default deny: failures %v, want %v", got, admin)
	}
	// The fix was backported to 1.19.6 (its release notes: Backport PR cilium/cilium#46669).
	if got := failures("1.19.5", out); !slices.Equal(got, admin) {
		t.Errorf("1.19.5 with an egress default deny: failures %v, want %v", got, admin)
	}
	if got := failures("1.19.6", out); len(got) != 0 {
		t.Errorf("1.19.6 with an egress default deny (the fix's backport): failures %v, want none", got)
	}
	if got := failures("1.20.2", out); len(got) != 0 {
		t.Errorf("1.20.2 with an egress default deny (its solicitations pass around the policies): failures %v, want none", got)
	}
	tr := explainOne(t, icmpv6Cluster(t, "1.14.0", "false", ""), "admin", "6443/tcp")
	if tr.Allowed || !strings.Contains(tr.Cilium.Reason, "neighbour") {
		t.Errorf("1.14.0 admin 6443: allowed %v, reason %q; want denied for neighbour discovery", tr.Allowed, tr.Cilium.Reason)
	}
}

// TestNeighbourDiscoveryLint: a dual-stack node whose host policies drop its neighbour solicitations loses IPv6; the
// lint says so even when no assertion goes over IPv6 (an IPv4 admin).
func TestNeighbourDiscoveryLint(t *testing.T) {
	warned := func(version, extra string) []string {
		doc := strings.NewReplacer("%VERSION%", version, "%AUDIT%", "false", "%EXTRA%", extra, `"2a02:8108::/32"`, "89.23.224.44/32").Replace(icmpv6Spec)
		_, warnings := Lint(load(t, doc))
		var out []string
		for _, w := range warnings {
			if strings.Contains(w.String(), "loses IPv6") {
				out = append(out, w.String())
			}
		}
		return out
	}
	if got := warned("1.14.0", ""); len(got) != 1 || !strings.Contains(got[0], "clusters[0].hostPolicies[0]: cp1 loses IPv6: Cilium 1.14.0 hands its ingress neighbour solicitations") {
		t.Errorf("1.14.0: %v; want one warning on the preset's policy", got)
	}
	if got := warned("1.16.5", ""); len(got) != 0 {
		t.Errorf("1.16.5 without egress policies: %v; want none", got)
	}
	// A range names the releases of it that hand them to the policies, not all of it: 1.15.2 on answer them.
	want := "cp1 loses IPv6: Cilium 1.15.0 to 1.15.1 (among the releases the agents may run: Cilium ~1.15.0) hands its ingress neighbour solicitations (icmpv6:135) to the host policies"
	if got := warned(`"~1.15.0"`, ""); len(got) != 1 || !strings.Contains(got[0], want) {
		t.Errorf("~1.15.0: %v; want one warning with %q", got, want)
	}
	out := "      - {name: out, nodes: {}, egress: [{entities: [cluster]}]}"
	// The hint is in the spec's words: an egress rule's peers are entities, as an ingress rule's (toEntities is
	// Cilium's field, which the spec does not have).
	if got := warned("1.16.5", out); len(got) != 1 || !strings.Contains(got[0], "hands its egress neighbour solicitations") ||
		!strings.HasSuffix(got[0], "(add an egress rule icmp: [{family: IPv6, type: NeighborSolicitation}] with entities: [world])") {
		t.Errorf("1.16.5 with an egress default deny: %v; want one egress warning with the spec's syntax", got)
	}
}

// TestNeighbourSolicitationReleases: the datapath's neighbour solicitation responder on from-netdev was removed in
// 1.14.0 (cilium/cilium#25329) and put back by #30837, backported to 1.14.8 (#31186) and 1.15.2 (#31155), both per
// the release notes. In between, solicitations arriving at the node go to the host policies: 1.15.0 and 1.15.1 behave
// like 1.14.0, not like 1.15.2. A range is judged by every release it admits, since Flux may install any of them.
func TestNeighbourSolicitationReleases(t *testing.T) {
	failures := func(version string) int {
		return len(failedChecks(load(t, strings.NewReplacer("%VERSION%", version, "%AUDIT%", "false", "%EXTRA%", "").Replace(icmpv6Spec))))
	}
	for version, want := range map[string]int{
		"1.13.4": 0, "1.14.0": 2, "1.14.7": 2, "1.14.8": 0, "1.15.0": 2, "1.15.1": 2, "1.15.2": 0, "1.16.0": 0,
		`">=1.14.8 <1.16.0"`: 2, // admits 1.15.0 and 1.15.1
		`"~1.15.2"`:          0,
	} {
		if got := failures(version); got != want {
			t.Errorf("Cilium %s, ingress solicitations under the preset's default deny: %d failed checks, want %d", version, got, want)
		}
	}
}

// Failures is Verify's failing checks, in Verify's order, traces and all: the guard that reads it judges what Verify
// would have shown it.
func TestFailuresAreVerifysFailingChecks(t *testing.T) {
	m := load(t, strings.NewReplacer("%VERSION%", "1.14.0", "%AUDIT%", "false", "%EXTRA%", "").Replace(icmpv6Spec))
	var want []Check
	passing := 0
	for _, ch := range Verify(m) {
		if ch.OK {
			passing++
		} else {
			want = append(want, ch)
		}
	}
	got := Failures(m)
	if len(want) == 0 || passing == 0 {
		t.Fatalf("the fixture has %d failing and %d passing checks; it needs both", len(want), passing)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Failures: %d checks, want Verify's %d failing ones:\n%v\nwant\n%v", len(got), len(want), got, want)
	}
}
