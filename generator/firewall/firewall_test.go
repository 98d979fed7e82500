package firewall

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kronform/kronform-gen/generator/cilium"
	"github.com/kronform/kronform-gen/generator/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// load reads a spec written inline, the way a user would write it.
func load(t *testing.T, yaml string) *spec.Model {
	t.Helper()
	m, err := spec.Load("test.yaml", []byte(yaml), spec.Options{})
	if err != nil {
		t.Fatalf("spec does not load:\n%v", err)
	}
	return m
}

// failedChecks runs every check of a spec and names the ones that fail, sorted.
func failedChecks(m *spec.Model) []string {
	var out []string
	for _, ch := range Verify(m) {
		if !ch.OK {
			out = append(out, ch.String())
		}
	}
	slices.Sort(out)
	return out
}

// seedSpec is the seed's cluster: one control plane behind the seed's Hetzner template, the seed's final policy.
const seedSpec = `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: kronform
    apiServer: {host: api.kronform.pius.dev}
    nodes:
      - {name: n1, addresses: [159.69.60.182], roles: [control-plane]}
    cilium: {version: 1.13.4, hubble: {relay: true, ui: true}, auditMode: %AUDIT%}
    hostPolicies:
      - {name: host-fw-control-plane, preset: talos-control-plane}
    hetzner: {template: kronform, adminSources: [89.23.224.44/32]}
`

// multiSpec is a fleet-shaped cluster: two control planes and a worker, both presets, WireGuard.
const multiSpec = `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: multi
    apiServer: {host: api.example.com}
    nodes:
      - {name: cp1, addresses: [198.51.100.11], roles: [control-plane]}
      - {name: cp2, addresses: [198.51.100.12], roles: [control-plane]}
      - {name: w1, addresses: [198.51.100.21], roles: [worker]}
    cilium: {version: 1.16.5, encryption: wireguard, hubble: {relay: true}}
    hostPolicies:
      - {name: cp, preset: talos-control-plane}
      - {name: workers, preset: talos-worker}
    hetzner: {adminSources: [89.23.224.44/32]}
`

type flowCase struct {
	from, to, port string
	verdict        string // enforced: allowed or denied
	hetznerRule    int    // 1-based rule that decided; 0: none decided or not evaluated
	ciliumRule     string // policy + rule that decided at the destination; "" for default deny or no policy
	result         string // prefix of the end result
}

func runFlows(t *testing.T, m *spec.Model, cases []flowCase) {
	t.Helper()
	sim := NewSimulator(m.Clusters[0])
	for _, tc := range cases {
		t.Run(tc.from+"->"+tc.to+":"+tc.port, func(t *testing.T) {
			traces, err := sim.Evaluate(spec.Assertion{From: tc.from, To: tc.to, Port: tc.port})
			if err != nil {
				t.Fatal(err)
			}
			for _, tr := range traces {
				got := flowCase{from: tc.from, to: tc.to, port: tc.port, verdict: tr.Verdict(), hetznerRule: tr.Hetzner.Rule, result: tc.result}
				if tr.Cilium.Policy != "" {
					got.ciliumRule = tr.Cilium.Policy + " " + tr.Cilium.Rule
				}
				if !strings.HasPrefix(tr.Result, tc.result) {
					got.result = tr.Result
				}
				if diff := cmp.Diff(tc, got, cmp.AllowUnexported(flowCase{})); diff != "" {
					t.Errorf("verdict differs (-want +got):\n%s\ntrace:\n%s", diff, tr)
				}
			}
		})
	}
}

// The seed's own checks: what it tried by hand with kubectl, talosctl and cilium monitor, and what it feared.
func TestSeedFlows(t *testing.T) {
	m := load(t, strings.ReplaceAll(seedSpec, "%AUDIT%", "false"))
	runFlows(t, m, []flowCase{
		{"admin", "n1", "6443/tcp", "allowed", 1, "host-fw-control-plane ingress[0]", "allowed"},
		{"89.23.224.44", "n1", "50000/tcp", "allowed", 1, "host-fw-control-plane ingress[1]", "allowed"},
		{"world", "n1", "6443/tcp", "denied", 2, "host-fw-control-plane ingress[0]", "denied: Hetzner discards it (rule 2 \"discard 6443\")"},
		{"world", "n1", "50001/tcp", "denied", 3, "host-fw-control-plane ingress[1]", "denied: Hetzner"},
		// 50002 is outside the Talos range the seed meant (its 500001 is a typo): Hetzner lets it by, Cilium drops it.
		{"world", "n1", "50002/tcp", "denied", 4, "", "denied by Cilium at n1"},
		{"world", "n1", "2379/tcp", "denied", 4, "", "denied by Cilium at n1"},
		{"world", "control-plane", "10250/tcp", "denied", 4, "", "denied by Cilium"},
		{"remote-node", "n1", "8472/udp", "allowed", 0, "host-fw-control-plane ingress[6]", "allowed"},
		{"entity:remote-node", "n1", "2380/tcp", "allowed", 0, "host-fw-control-plane ingress[7]", "allowed"},
		{"world", "n1", "icmp", "allowed", 4, "host-fw-control-plane ingress[5]", "allowed"},
		// n1 has no IPv6 address: nothing reaches it over IPv6, whatever the policy allows.
		{"world", "n1", "icmpv6", "denied", 0, "", "denied: n1 has no IPv6 address (it has 159.69.60.182)"},
		{"world", "n1", "icmp:13", "denied", 4, "", "denied by Cilium"},
		{"pod:k8s-app=hubble-relay", "n1", "4244/tcp", "allowed", 0, "host-fw-control-plane ingress[3]", "allowed"},
		{"pod:k8s-app=hubble-ui", "n1", "4244/tcp", "denied", 0, "", "denied by Cilium"},
		{"kube-apiserver", "n1", "10250/tcp", "allowed", 0, "host-fw-control-plane ingress[2]", "allowed"},
		{"pod:k8s-app=metrics-server", "n1", "10250/tcp", "allowed", 0, "host-fw-control-plane ingress[4]", "allowed"},
		// cluster covers pods: any pod reaches the API server on the node.
		{"pod:app=web", "n1", "6443/tcp", "allowed", 0, "host-fw-control-plane ingress[0]", "allowed"},
		{"n1", "n1", "2379/tcp", "allowed", 0, "", "allowed (local)"},
	})
}

func TestSeedTraceText(t *testing.T) {
	m := load(t, strings.ReplaceAll(seedSpec, "%AUDIT%", "true"))
	sim := NewSimulator(m.Clusters[0])
	var b strings.Builder
	for _, a := range []spec.Assertion{
		{From: "admin", To: "n1", Port: "6443/tcp"},
		{From: "world", To: "n1", Port: "6443/tcp"},
		{From: "world", To: "n1", Port: "2379/tcp"},
		{From: "remote-node", To: "n1", Port: "8472/udp"},
	} {
		traces, err := sim.Evaluate(a)
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range traces {
			b.WriteString(tr.String())
		}
	}
	golden(t, "seed-traces.txt", []byte(b.String()))
}

// Audit mode: a drop is judged a drop (assertions see the enforced verdict) but passes now.
func TestAuditModePasses(t *testing.T) {
	m := load(t, strings.ReplaceAll(seedSpec, "%AUDIT%", "true"))
	traces, err := NewSimulator(m.Clusters[0]).Evaluate(spec.Assertion{From: "world", To: "n1", Port: "2379/tcp"})
	if err != nil {
		t.Fatal(err)
	}
	tr := traces[0]
	if tr.Allowed || !tr.Passes || !tr.Cilium.Audit || tr.Result != "denied by Cilium at n1; audit mode is on: would drop, passes" {
		t.Fatalf("audit mode: allowed=%v passes=%v audit=%v result=%q", tr.Allowed, tr.Passes, tr.Cilium.Audit, tr.Result)
	}
	// Hetzner's discards are not Cilium's to audit.
	traces, _ = NewSimulator(m.Clusters[0]).Evaluate(spec.Assertion{From: "world", To: "n1", Port: "6443/tcp"})
	if traces[0].Passes {
		t.Fatalf("a Hetzner discard passed in audit mode:\n%s", traces[0])
	}
}

func TestNodeToNodeFlows(t *testing.T) {
	m := load(t, multiSpec)
	runFlows(t, m, []flowCase{
		// The node accept rules keep the discard rules from cutting kubelets off the API server and trustd.
		{"w1", "cp1", "6443/tcp", "allowed", 4, "cp ingress[0]", "allowed"},
		{"w1", "control-plane", "50001/tcp", "allowed", 4, "cp ingress[1]", "allowed"},
		{"w1", "cp1", "2379/tcp", "allowed", 4, "cp ingress[7]", "allowed"},
		// kube-apiserver runs on the control planes, so their addresses carry that identity too; a worker's do not.
		{"cp2", "cp1", "10250/tcp", "allowed", 3, "cp ingress[2]", "allowed"},
		{"w1", "cp1", "10250/tcp", "denied", 4, "", "denied by Cilium at cp1"},
		{"cp1", "w1", "10250/tcp", "allowed", 2, "workers ingress[1]", "allowed"}, // first match: the kube-apiserver rule
		{"cp2", "w1", "50000/tcp", "allowed", 3, "workers ingress[0]", "allowed"},
		{"cp1", "w1", "51871/udp", "allowed", 2, "workers ingress[6]", "allowed"},
		{"w1", "cp2", "51871/udp", "allowed", 4, "cp ingress[7]", "allowed"},
		// CIDR peers and world rules do not decide node traffic: a worker is no world address.
		{"198.51.100.21", "cp1", "4240/tcp", "allowed", 4, "cp ingress[6]", "allowed"},
		// Workers run no API server: the worker preset does not open 6443.
		{"admin", "w1", "6443/tcp", "denied", 1, "", "denied by Cilium at w1"},
	})
}

// remote-node stands for every other node of the cluster, and their packets reach the node from their own addresses,
// so the Robot firewall filters them: the source is one flow per other node through every layer, as a role's
// members are, and an assertion from it holds only when it holds for each of them.
func TestRemoteNodeCrossesRobot(t *testing.T) {
	m := load(t, `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: three
    apiServer: {host: api.example.com}
    nodes:
      - {name: n1, addresses: [198.51.100.11], roles: [control-plane]}
      - {name: n2, addresses: [198.51.100.12], roles: [control-plane]}
      - {name: n3, addresses: [198.51.100.13], roles: [control-plane]}
    cilium: {version: 1.16.5}
    hostPolicies:
      - {name: cp, preset: talos-control-plane}
    hetzner:
      adminSources: [89.23.224.44/32]
      rules:
        - {name: admin, ipVersion: ipv4, srcIP: 89.23.224.44/32, action: accept}
        - {name: n2, ipVersion: ipv4, srcIP: 198.51.100.12/32, action: accept}
        - {name: no vxlan, ipVersion: ipv4, protocol: udp, dstPort: "8472", action: discard}
        - {name: rest, action: accept}
    assertions:
      - {from: remote-node, to: n1, port: 8472/udp, expect: allowed}
      - {from: remote-node, to: n1, port: 8472/udp, expect: denied}
      - {from: entity:remote-node, to: n1, port: 4240/tcp, expect: allowed}
`)
	sim := NewSimulator(m.Clusters[0])
	traces, err := sim.Evaluate(spec.Assertion{From: "remote-node", To: "n1", Port: "8472/udp"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tr := range traces {
		got = append(got, tr.Flow.String()+": "+tr.Result)
	}
	want := []string{
		"remote-node n2 -> n1 198.51.100.11 8472/udp: allowed",
		`remote-node n3 -> n1 198.51.100.11 8472/udp: denied: Hetzner discards it (rule 3 "no vxlan")`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("flows (-want +got):\n%s", diff)
	}
	for _, tr := range traces {
		// The same flow written with the sending node gets the same verdict, for the same reasons.
		node, err := sim.Evaluate(spec.Assertion{From: tr.Flow.SourceNode, To: "n1", Port: "8472/udp"})
		if err != nil {
			t.Fatal(err)
		}
		if len(node) != 1 || node[0].Result != tr.Result || node[0].Hetzner != tr.Hetzner || node[0].Cilium.Reason != tr.Cilium.Reason {
			t.Errorf("remote-node and %s disagree:\n%s\n%s", tr.Flow.SourceNode, tr, node)
		}
	}
	var verdicts []string
	for _, c := range Verify(m) {
		if c.Path != "" {
			verdicts = append(verdicts, fmt.Sprintf("%s: ok=%v", c, c.OK))
		}
	}
	// n3 is discarded, so allowed fails; n2 gets through, so denied fails too; 4240/tcp passes from both.
	if diff := cmp.Diff([]string{
		"remote-node -> n1 8472/udp allowed: ok=false",
		"remote-node -> n1 8472/udp denied: ok=false",
		"entity:remote-node -> n1 4240/tcp allowed: ok=true",
	}, verdicts); diff != "" {
		t.Errorf("assertions (-want +got):\n%s", diff)
	}
}

// kube-apiserver is the API server, which runs in the host network of every control plane: from another node's, its
// packets carry that node's address and cross the Robot firewall, so it is one flow per other control plane, each
// exactly that node's flow, as remote-node is one per other node.
func TestKubeAPIServerCrossesRobot(t *testing.T) {
	m := load(t, `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: multi
    apiServer: {host: api.example.com}
    nodes:
      - {name: cp1, addresses: [198.51.100.11], roles: [control-plane]}
      - {name: cp2, addresses: [198.51.100.12], roles: [control-plane]}
      - {name: w1, addresses: [198.51.100.21], roles: [worker]}
    cilium: {version: 1.16.5}
    hostPolicies:
      - {name: cp, preset: talos-control-plane}
      - {name: workers, preset: talos-worker}
    hetzner:
      adminSources: [89.23.224.44/32]
      rules:
        - {name: admin, ipVersion: ipv4, srcIP: 89.23.224.44/32, action: accept}
        - {name: cp2, ipVersion: ipv4, srcIP: 198.51.100.12, action: accept}
        - {name: no kubelet, ipVersion: ipv4, protocol: tcp, dstPort: "10250", action: discard}
        - {name: rest, action: accept}
`)
	sim := NewSimulator(m.Clusters[0])
	var got []string
	for _, to := range []string{"w1", "cp1"} {
		traces, err := sim.Evaluate(spec.Assertion{From: "kube-apiserver", To: to, Port: "10250/tcp"})
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range traces {
			got = append(got, tr.Flow.String()+": "+tr.Result)
			node, err := sim.Evaluate(spec.Assertion{From: tr.Flow.SourceNode, To: to, Port: "10250/tcp"})
			if err != nil || len(node) != 1 || node[0].Result != tr.Result || node[0].Hetzner != tr.Hetzner {
				t.Errorf("kube-apiserver and %q disagree (%v):\n%s\n%s", tr.Flow.SourceNode, err, tr, node)
			}
		}
	}
	want := []string{
		`kube-apiserver cp1 -> w1 198.51.100.21 10250/tcp: denied: Hetzner discards it (rule 3 "no kubelet")`,
		"kube-apiserver cp2 -> w1 198.51.100.21 10250/tcp: allowed",
		"kube-apiserver cp2 -> cp1 198.51.100.11 10250/tcp: allowed",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("flows (-want +got):\n%s", diff)
	}
}

// With no other node (control plane) in the spec, remote-node (kube-apiserver) has no address for the Robot firewall
// to filter: the Cilium policies alone judge it, and the trace says why Robot was not.
func TestNodeEntitiesWithoutOtherNodes(t *testing.T) {
	m := load(t, strings.ReplaceAll(seedSpec, "%AUDIT%", "false"))
	for _, tc := range []struct{ from, port, reason string }{
		{"remote-node", "8472/udp", "remote-node: the spec has no node besides n1, so no address for the Robot firewall to filter; judged by the Cilium policies alone"},
		{"kube-apiserver", "10250/tcp", "kube-apiserver: the spec has no control plane besides n1, so no address for the Robot firewall to filter; judged by the Cilium policies alone"},
	} {
		traces, err := NewSimulator(m.Clusters[0]).Evaluate(spec.Assertion{From: tc.from, To: "n1", Port: tc.port})
		if err != nil {
			t.Fatal(err)
		}
		if len(traces) != 1 || traces[0].Hetzner.Evaluated || !traces[0].Allowed || traces[0].Hetzner.Reason != tc.reason {
			t.Errorf("%s in a one-node cluster:\n%v", tc.from, traces)
		}
	}
}

func TestBuiltInAssertionsHoldForThePresets(t *testing.T) {
	m := load(t, multiSpec)
	checks := Verify(m)
	var names []string
	for _, c := range checks {
		if !c.OK {
			t.Errorf("%s failed:\n%s", c, c.Failed())
		}
		names = append(names, c.String())
	}
	// 2 control planes x 2 admin ports, then 6 ordered node pairs, then kustomize-controller to 2 control planes,
	// then hubble-relay to 3 nodes.
	if len(checks) != 4+len(nodePairAssertions(m))+2+3 {
		t.Errorf("unexpected built-ins:\n%s", strings.Join(names, "\n"))
	}
	want := []string{
		"admin -> node:cp1 6443/tcp allowed", "admin -> node:cp1 50000/tcp allowed",
		"node:w1 -> node:cp1 50001/tcp allowed", "node:cp2 -> node:cp1 2380/tcp allowed",
		"node:cp1 -> node:w1 10250/tcp allowed", "node:w1 -> node:cp2 51871/udp allowed",
		"pod:k8s-app=hubble-relay -> node:w1 4244/tcp allowed",
	}
	for _, w := range want {
		if !strings.Contains(strings.Join(names, "\n"), w) {
			t.Errorf("missing built-in %q", w)
		}
	}
	for _, n := range names {
		if strings.HasPrefix(n, "node:w1 -> node:cp1 2379") || strings.HasPrefix(n, "node:w1 -> node:cp1 10250") {
			t.Errorf("workers need neither etcd nor a control plane's kubelet: %q", n)
		}
	}
}

func nodePairAssertions(m *spec.Model) []BuiltIn {
	var out []BuiltIn
	for _, b := range BuiltInAssertions(m.Clusters[0]) {
		if strings.HasPrefix(b.From, "node:") {
			out = append(out, b)
		}
	}
	return out
}

// A policy that forgets the API ports: the admin is locked out as soon as audit mode is off.
const lockoutSpec = `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: kronform
    apiServer: {host: api.kronform.pius.dev}
    nodes:
      - {name: n1, addresses: [159.69.60.182], roles: [control-plane]}
    cilium: {version: 1.13.4}
    hostPolicies:
      - name: etcd-only
        nodes: {role: control-plane}
        ingress:
          - {entities: [remote-node], ports: [2379-2380/tcp]}
          - icmp: [{type: 8}]
    hetzner: {template: kronform, adminSources: [89.23.224.44/32]}
`

func TestLockoutIsCaught(t *testing.T) {
	m := load(t, lockoutSpec)
	var failed []string
	for _, c := range Verify(m) {
		if !c.OK {
			failed = append(failed, c.String())
			for _, tr := range c.Failed() {
				if tr.Flow.Source.Kind == spec.SourcePod {
					continue // Flux's pod has no address for Robot to judge
				}
				if tr.Hetzner.Rule != 1 || tr.Cilium.Allowed || !strings.Contains(tr.Cilium.Reason, "default deny: etcd-only selects n1") {
					t.Errorf("the trace should show Hetzner letting the admin in and Cilium's default deny:\n%s", tr)
				}
			}
		}
	}
	want := []string{"admin -> node:n1 6443/tcp allowed", "admin -> node:n1 50000/tcp allowed",
		"pod:app=kustomize-controller,io.kubernetes.pod.namespace=flux-system -> node:n1 6443/tcp allowed"}
	if diff := cmp.Diff(want, failed); diff != "" {
		t.Fatalf("failed assertions (-want +got):\n%s", diff)
	}
}

// Without a hetzner block there are no admin addresses to assert from, and the same lockout went unnoticed: now the
// APIs of every control plane must be reachable from somewhere outside the cluster, the world or an address of a
// CIDR the policies let in (outside its holes).
func TestLockoutWithoutHetznerIsCaught(t *testing.T) {
	base := strings.Replace(lockoutSpec, "    hetzner: {template: kronform, adminSources: [89.23.224.44/32]}\n", "", 1)
	outside := func(m *spec.Model) (checks []Check) {
		for _, c := range Verify(m) {
			if c.Assertion.From == Outside {
				checks = append(checks, c)
			}
		}
		return checks
	}
	locked := outside(load(t, base))
	if len(locked) != 2 || locked[0].OK || locked[1].OK || locked[0].Assertion.Port != "6443/tcp" || locked[1].Assertion.Port != "50000/tcp" {
		t.Fatalf("a lockout without a hetzner block: %+v", locked)
	}
	if tr := locked[0].Failed(); len(tr) != 1 || tr[0].Flow.From != "world 203.0.113.1" || !strings.Contains(tr[0].Cilium.Reason, "default deny: etcd-only selects n1") {
		t.Errorf("the failure should show the world's flow and Cilium's default deny:\n%v", tr)
	}

	// Narrowed to an office network with a hole at its start: the last address of the block gets in.
	narrowed := strings.Replace(base, "          - icmp: [{type: 8}]\n",
		"          - icmp: [{type: 8}]\n          - {cidrs: [{cidr: 10.0.0.0/8, except: [10.0.0.0/24]}], ports: [6443/tcp, 50000/tcp]}\n", 1)
	for _, c := range outside(load(t, narrowed)) {
		if !c.OK || len(c.Traces) != 1 || c.Traces[0].Flow.From != "10.0.1.0" || len(c.Failed()) != 0 {
			t.Errorf("%s: %+v", c, c.Traces)
		}
		if !strings.Contains(c.Why, "tried from world, 10.0.1.0") {
			t.Errorf("the check does not say where it tried from: %s", c.Why)
		}
	}

	// With a hetzner block the admin assertions stand for it; the presets open the APIs to the world.
	if c := outside(load(t, lockoutSpec)); len(c) != 0 {
		t.Errorf("outside checks beside the admin's: %v", c)
	}
	presets := strings.Replace(multiSpec, "    hetzner: {adminSources: [89.23.224.44/32]}\n", "", 1)
	if c := outside(load(t, presets)); len(c) != 4 || !c[0].OK || !c[3].OK {
		t.Errorf("the presets without a hetzner block: %+v", c)
	}
}

// A deny rule with holes is a way in too: the APIs open to the world (the preset) and denied to all but an office
// network (except) let the office in, so the outside check passes from an address in the hole, and generate does
// not refuse a working setup. A hole inside a hole's hole is found as well: every range the rules cut counts.
func TestOutsideCheckFindsHolesOfDenyRules(t *testing.T) {
	const doc = `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: office
    apiServer: {host: api.example.com}
    nodes:
      - {name: n1, addresses: [159.69.60.182], roles: [control-plane]}
    cilium: {version: 1.16.5}
    hostPolicies:
      - name: cp
        preset: talos-control-plane
        ingressDeny:
%DENY%`
	for _, c := range []struct{ deny, from string }{
		{"          - {cidrs: [{cidr: 0.0.0.0/0, except: [89.23.224.0/24]}], ports: [6443/tcp, 50000/tcp]}\n", "89.23.224.0"},
		// The office's first half is denied again: its second half gets in.
		{"          - {cidrs: [{cidr: 0.0.0.0/0, except: [89.23.224.0/24]}], ports: [6443/tcp, 50000/tcp]}\n" +
			"          - {cidrs: [89.23.224.0/25], ports: [6443/tcp, 50000/tcp]}\n", "89.23.224.128"},
	} {
		for _, ch := range Verify(load(t, strings.Replace(doc, "%DENY%", c.deny, 1))) {
			if ch.Assertion.From != Outside {
				continue
			}
			if !ch.OK || len(ch.Traces) != 1 || ch.Traces[0].Flow.From != c.from {
				t.Errorf("%s with %s: ok=%v, %s\n%v", ch, strings.TrimSpace(c.deny), ch.OK, ch.Why, ch.Traces)
			}
		}
	}
}

// The outside addresses tried for a port: the world, then the first address that can be outside of each range the
// rules' CIDR peers tell apart from the world address, in address order.
func TestOutsidePeers(t *testing.T) {
	// peersCluster's one policy, cp, goes on with its rules.
	const peersCluster = `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: peers
    apiServer: {host: api.example.com}
    nodes:
      - {name: n1, addresses: [10.0.0.1, "2001:db8:ff::1"], roles: [control-plane]}
    cilium: {version: 1.16.5}
    hostPolicies:
      - name: cp
        nodes: {}
`
	const doc = peersCluster + `        ingress:
          - {cidrs: [%CIDRS%], ports: [6443/tcp]}
          - {cidrs: [192.0.2.0/24], ports: [9100/tcp]}
`
	port, _ := spec.ParseFlowPort("6443/tcp")
	for _, c := range []struct{ cidrs, want string }{
		{"10.0.0.0/8", "world 10.0.0.0"},
		{"{cidr: 10.0.0.0/8, except: [10.0.0.0/31]}", "world 10.0.0.2"}, // 10.0.0.1 is the node
		{"{cidr: 10.0.0.0/8, except: [10.0.0.0/32]}", "world 10.0.0.2"},
		{"192.0.2.7/32", "world 192.0.2.7"},
		{"{cidr: 192.0.2.0/24, except: [192.0.2.0/24]}", "world"},
		{"{cidr: \"2001:db8::/32\", except: [\"2001:db8::/64\"]}", "world 2001:db8:0:1::"},
		{"127.0.0.0/8", "world"},
		{"0.0.0.0/32", "world"},
		{"0.0.0.0/0", "world"}, // the world address is in it: nothing to tell apart
		{"\"::/0\"", "world"},
		{"224.0.0.0/3", "world"},
		{"169.254.0.0/15", "world 169.255.0.0"},
		{"fe80::/10", "world"},
		// The IPv4-mapped range is not written as a peer (the spec refuses it) but may be what a wider one leaves.
		{"{cidr: \"::fffe:0:0/95\", except: [\"::fffe:0:0/96\"]}", "world"},
		{"\"::/64\"", "world ::2"},
		// Holds the world address: the rest of the world gets in nowhere the world address does not.
		{"203.0.113.0/24", "world"},
	} {
		sim := NewSimulator(load(t, strings.Replace(doc, "%CIDRS%", c.cidrs, 1)).Clusters[0])
		if got := strings.Join(outsidePeers(sim, port, false), " "); got != c.want {
			t.Errorf("%s: tried %q, want %q", c.cidrs, got, c.want)
		}
	}
	// A deny rule's hole is tried; the addresses it denies and the world address does not are no way in, however
	// many: a block list of 200 networks adds no sender (and no failure trace) of its own.
	var blocked []string
	for i := range 100 {
		blocked = append(blocked, fmt.Sprintf("198.%d.%d.0/24", 18+i%2, i), fmt.Sprintf("{cidr: \"2a0%d:%x::/32\", except: [\"2a0%d:%x::/48\"]}", i%10, i, i%10, i))
	}
	const denyDoc = peersCluster + `        ingress:
          - {entities: [world], ports: [6443/tcp]}
        ingressDeny:
          - {cidrs: [%CIDRS%], ports: [6443/tcp]}
`
	for _, c := range []struct{ cidrs, want string }{
		{"{cidr: 0.0.0.0/0, except: [192.0.2.0/24]}", "world 192.0.2.0"},
		{"198.18.0.0/15", "world"},
		{strings.Join(blocked, ", "), "world"},
	} {
		sim := NewSimulator(load(t, strings.Replace(denyDoc, "%CIDRS%", c.cidrs, 1)).Clusters[0])
		if got := strings.Join(outsidePeers(sim, port, false), " "); got != c.want {
			t.Errorf("deny %.60s: tried %.200q, want %q", c.cidrs, got, c.want)
		}
	}
}

// Without a hetzner block, the outside check must be passed by an address that can be outside: not loopback or
// unspecified (c6), not a node's own address, which Cilium sees as the node (c7), and only from a rule for the port.
func TestOutsideSendersAreOutside(t *testing.T) {
	const base = `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: kronform
    apiServer: {host: api.kronform.pius.dev}
    nodes:
      - {name: n1, addresses: [159.69.60.182], roles: [control-plane]}
    cilium: {version: 1.16.5}
    hostPolicies:
      - name: cp
        nodes: {role: control-plane}
        ingress:
          - {entities: [cluster], ports: [6443/tcp, 50000-50001/tcp, 2379-2380/tcp, 10250/tcp, 4240/tcp, 8472/udp]}
%RULE%`
	for _, c := range []struct{ rule, tried string }{
		{"          - {cidrs: [127.0.0.0/8, 0.0.0.0/32], ports: [6443/tcp, 50000/tcp]}\n", "tried from world"},
		{"          - {cidrs: [159.69.60.182/32], ports: [6443/tcp, 50000/tcp]}\n", "tried from world"},
		{"          - {cidrs: [159.69.60.0/24], ports: [9100/tcp]}\n", "tried from world"},
		{"          - {cidrs: [224.0.0.0/4, 169.254.0.0/16, 240.0.0.0/4], ports: [6443/tcp, 50000/tcp]}\n", "tried from world"},
	} {
		for _, ch := range Verify(load(t, strings.Replace(base, "%RULE%", c.rule, 1))) {
			if ch.Assertion.From != Outside {
				continue
			}
			if ch.OK || !strings.HasSuffix(ch.Why, c.tried) {
				t.Errorf("%s with %s: ok=%v, %s\n%v", ch, strings.TrimSpace(c.rule), ch.OK, ch.Why, ch.Traces)
			}
		}
	}
	// A block holding the node: the first address that is neither the node nor special gets in.
	for _, ch := range Verify(load(t, strings.Replace(base, "%RULE%", "          - {cidrs: [159.69.60.182/31], ports: [6443/tcp, 50000/tcp]}\n", 1))) {
		if ch.Assertion.From == Outside && (!ch.OK || ch.Traces[0].Flow.From != "159.69.60.183") {
			t.Errorf("%s: ok=%v %s %v", ch, ch.OK, ch.Why, ch.Traces)
		}
	}
}

// The label-filter trap: Cilium drops kubernetes.io/* labels before matching, so this policy selects nothing, the
// node stays wide open, and cilium.Lint refuses it.
func TestLabelFilterTrap(t *testing.T) {
	m := load(t, `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: trap
    apiServer: {host: api.example.com}
    nodes:
      - {name: n1, addresses: [159.69.60.182], roles: [control-plane]}
    cilium: {version: 1.16.5}
    hostPolicies:
      - name: linux-nodes
        nodes: {labels: {kubernetes.io/os: linux}}
        ingress:
          - {entities: [world], ports: [6443/tcp]}
`)
	traces, err := NewSimulator(m.Clusters[0]).Evaluate(spec.Assertion{From: "world", To: "n1", Port: "2379/tcp"})
	if err != nil {
		t.Fatal(err)
	}
	want := "no host policy selects n1 for ingress: Cilium allows everything (linux-nodes would select n1 but Cilium's label filter hides the labels it matches)"
	if tr := traces[0]; !tr.Allowed || tr.Cilium.Reason != want {
		t.Fatalf("got allowed=%v reason %q, want allowed with %q", tr.Allowed, tr.Cilium.Reason, want)
	}
	errs, _ := cilium.Lint(m)
	if len(errs) != 1 || !strings.Contains(errs[0].String(), `Cilium's label filter drops "kubernetes.io/os" before matching`) {
		t.Fatalf("cilium.Lint: %v", errs)
	}
}

// The simulator judges the compiled objects: break the compiled policy and the verdict moves with it.
func TestSimulatorJudgesCompiledPolicies(t *testing.T) {
	m := load(t, strings.ReplaceAll(seedSpec, "%AUDIT%", "false"))
	sim := NewSimulator(m.Clusters[0])
	sim.Policies[0].Spec.Ingress[0].ToPorts[0].Ports[0].Port = "6444" // a compiler writing the wrong port
	traces, _ := sim.Evaluate(spec.Assertion{From: "admin", To: "n1", Port: "6443/tcp"})
	if traces[0].Allowed {
		t.Fatalf("a wrong compiled port still allowed the admin:\n%s", traces[0])
	}
	// A compiled rule Cilium rejects: the whole policy is not applied, and the node falls open.
	sim = NewSimulator(m.Clusters[0])
	sim.Policies[0].Spec.Ingress[0].FromCIDR = []string{"10.0.0.0/8"}
	want := []string{"ingress[0]: combining fromCIDR and fromEntities is not supported"}
	if diff := cmp.Diff(want, RejectedBy(sim.Policies[0])); diff != "" {
		t.Fatalf("RejectedBy (-want +got):\n%s", diff)
	}
	traces, _ = sim.Evaluate(spec.Assertion{From: "world", To: "n1", Port: "2379/tcp"})
	if !traces[0].Allowed || !strings.Contains(traces[0].Cilium.Reason, "host-fw-control-plane is rejected by Cilium") {
		t.Fatalf("a rejected policy must enforce nothing:\n%s", traces[0])
	}
	if got := RejectedBy(NewSimulator(m.Clusters[0]).Policies[0]); len(got) != 0 {
		t.Fatalf("the compiler's own output is rejected: %v", got)
	}
}

func TestDenyWinsAndEgress(t *testing.T) {
	m := load(t, `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: deny
    apiServer: {host: api.example.com}
    nodes:
      - {name: cp1, addresses: [198.51.100.11], roles: [control-plane]}
      - {name: w1, addresses: [198.51.100.21], roles: [worker]}
    cilium: {version: 1.16.5}
    hostPolicies:
      - name: open
        nodes: {}
        ingress:
          - {entities: [all]}
      - name: no-ssh
        nodes: {}
        ingressDeny:
          - {cidrs: [203.0.113.0/24], ports: [22/tcp]}
      - name: worker-egress
        nodes: {role: worker}
        egress:
          - {entities: [world], ports: [443/tcp]}
`)
	runFlows(t, m, []flowCase{
		{"203.0.113.9", "cp1", "22/tcp", "denied", 0, "no-ssh ingressDeny[0]", "denied by Cilium at cp1"},
		{"192.0.2.9", "cp1", "22/tcp", "allowed", 0, "open ingress[0]", "allowed"},
		// A CIDR deny never hits a node, whatever address it holds.
		{"w1", "cp1", "22/tcp", "denied", 0, "open ingress[0]", "denied by Cilium egress at w1"},
		{"cp1", "w1", "22/tcp", "allowed", 0, "open ingress[0]", "allowed"},
	})
}

// twoControlPlanes is a cluster of two control planes, n1 and n2, whose policy cp is the talos-control-plane preset:
// cilium is the value of its cilium field, and rest what follows cp (more policies, hetzner).
func twoControlPlanes(cilium, rest string) string {
	return `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: two
    apiServer: {host: api.example.com}
    nodes:
      - {name: n1, addresses: [198.51.100.11], roles: [control-plane]}
      - {name: n2, addresses: [198.51.100.12], roles: [control-plane]}
    cilium: ` + cilium + `
    hostPolicies:
      - {name: cp, preset: talos-control-plane}
` + rest
}

// Cilium's tunnels get no replies: each node sends its VXLAN (or Geneve) packets to the other's tunnel port from a
// port of its own, and WireGuard from 51871 to 51871, so the packets back are the other node's flow to the same port,
// which the built-in checks of the other direction judge. A template that accepts the tunnel ports from the nodes
// and discards the rest carries both; a check of a reply to an ephemeral port would refuse it for nothing. Other
// UDP flows keep their reply check, and a reply no rule accepts says so rather than "rule 0".
func TestTunnelsHaveNoReplies(t *testing.T) {
	m := load(t, twoControlPlanes("{version: 1.16.5, encryption: wireguard}", `      - {name: app, nodes: {}, ingress: [{entities: [remote-node], ports: [9999/udp]}]}
    hetzner:
      adminSources: [89.23.224.44/32]
      rules:
        - {name: admin, ipVersion: ipv4, srcIP: 89.23.224.44/32, action: accept}
        - {name: nodes tcp, ipVersion: ipv4, srcIP: 198.51.100.0/24, protocol: tcp, action: accept}
        - {name: vxlan, ipVersion: ipv4, srcIP: 198.51.100.0/24, protocol: udp, dstPort: "8472", action: accept}
        - {name: wireguard, ipVersion: ipv4, srcIP: 198.51.100.0/24, protocol: udp, srcPort: "51871", dstPort: "51871", action: accept}
        - {name: app, ipVersion: ipv4, srcIP: 198.51.100.0/24, protocol: udp, dstPort: "9999", action: accept}
        - {name: replies, ipVersion: ipv4, protocol: tcp, dstPort: 32768-65535, tcpFlags: ack, action: accept}
        - {name: dns replies, ipVersion: ipv4, protocol: udp, srcPort: "53", dstPort: 32768-65535, action: accept}
        - {name: ntp replies, ipVersion: ipv4, protocol: udp, srcPort: "123", dstPort: 32768-65535, action: accept}
`))
	runFlows(t, m, []flowCase{
		{"n2", "n1", "8472/udp", "allowed", 3, "cp ingress[6]", "allowed"},
		{"n2", "n1", "51871/udp", "allowed", 4, "cp ingress[7]", "allowed"},
		{"n2", "n1", "9999/udp", "denied", 5, "app ingress[0]", "denied: the reply is discarded by Hetzner at n2 (Robot is stateless; no rule accepts it)"},
	})
	for _, c := range Verify(m) {
		if !c.OK {
			t.Errorf("%s failed:\n%s", c, c.Failed())
		}
	}
}

// A tunnel's packets leave from a port the kernel picks per inner flow: VXLAN in the local port range (32768-60998),
// Geneve anywhere in 1-65534 (drivers/net/geneve.c: udp_flow_src_port(..., 1, USHRT_MAX, ...), whose max is never
// picked), WireGuard from
// 51871. A template that accepts the tunnel only from the ephemeral ports passes VXLAN whole and cuts Geneve's flows
// from low ports: the check must hold for every source port the tunnel may use, not for 32768 alone.
func TestTunnelSourcePorts(t *testing.T) {
	doc := twoControlPlanes("{version: 1.16.5, values: {tunnelProtocol: %PROTO%, tunnelPort: 8472}}", `    hetzner:
      adminSources: [89.23.224.44/32]
      rules:
        - {name: admin, ipVersion: ipv4, srcIP: 89.23.224.44/32, action: accept}
        - {name: nodes tcp, ipVersion: ipv4, srcIP: 198.51.100.0/24, protocol: tcp, action: accept}
        - {name: tunnel, ipVersion: ipv4, srcIP: 198.51.100.0/24, protocol: udp, srcPort: 32768-65535, dstPort: "8472", action: accept}
        - {name: replies, ipVersion: ipv4, protocol: tcp, dstPort: 32768-65535, tcpFlags: ack, action: accept}
        - {name: udp replies, ipVersion: ipv4, protocol: udp, dstPort: 32768-65535, action: accept}
`)
	runFlows(t, load(t, strings.Replace(doc, "%PROTO%", "vxlan", 1)), []flowCase{
		{"n2", "n1", "8472/udp", "allowed", 3, "cp ingress[6]", "allowed"},
	})
	runFlows(t, load(t, strings.Replace(doc, "%PROTO%", "geneve", 1)), []flowCase{
		{"n2", "n1", "8472/udp", "denied", 0, "cp ingress[6]", "denied: Hetzner discards it (no rule accepts it)"},
	})
	traces, err := NewSimulator(load(t, strings.Replace(doc, "%PROTO%", "geneve", 1)).Clusters[0]).Evaluate(spec.Assertion{From: "n2", To: "n1", Port: "8472/udp"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "from source port 1 (Geneve's packets leave from a port in 1-65534 the kernel picks per flow)"; !strings.Contains(traces[0].Hetzner.Reason, want) {
		t.Errorf("the trace does not say which source port is discarded, want %q:\n%s", want, traces[0])
	}
	// The top of the range is never picked: a template that takes it out cuts no flow.
	for proto, top := range map[string]string{"vxlan": "32768-60998", "geneve": "1-65534"} {
		m := load(t, strings.NewReplacer("%PROTO%", proto, "srcPort: 32768-65535", "srcPort: "+top).Replace(doc))
		runFlows(t, m, []flowCase{{"n2", "n1", "8472/udp", "allowed", 3, "cp ingress[6]", "allowed"}})
	}
}

// A pod on another node reaches the node inside Cilium's tunnels between node addresses: the trace names the tunnels
// the cluster runs (Geneve on its port, WireGuard), not VXLAN 8472/udp whatever the values say.
func TestPodTraceNamesTheTunnels(t *testing.T) {
	m := load(t, twoControlPlanes("{version: 1.16.5, encryption: wireguard, values: {tunnelProtocol: geneve}}", `    hetzner: {adminSources: [89.23.224.44/32]}
`))
	traces, err := NewSimulator(m.Clusters[0]).Evaluate(spec.Assertion{From: "pod:k8s-app=hubble-relay", To: "n1", Port: "4244/tcp"})
	if err != nil {
		t.Fatal(err)
	}
	want := "a pod on another node reaches this one inside Cilium's tunnels between node addresses (Geneve 6081/udp, WireGuard 51871/udp), which the node-to-node assertions check"
	if len(traces) != 1 || traces[0].Hetzner.Reason != want {
		t.Errorf("want the Hetzner line %q, got:\n%v", want, traces)
	}
}

// Robot is stateless: a default-discard template without the reply rule drops the answers to the nodes' own
// connections, node-to-node flows included.
func TestStatelessReplies(t *testing.T) {
	spec := `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: strict
    apiServer: {host: api.example.com}
    nodes:
      - {name: cp1, addresses: [198.51.100.11], roles: [control-plane]}
      - {name: w1, addresses: [198.51.100.21], roles: [worker]}
    cilium: {version: 1.16.5}
    hetzner:
      adminSources: [89.23.224.44]
      rules:
        - {name: admin, ipVersion: ipv4, srcIP: 89.23.224.44/32, action: accept}
        - {name: api from nodes, ipVersion: ipv4, srcIP: 198.51.100.0/24, protocol: tcp, dstPort: "6443", action: accept}
%REPLY%`
	m := load(t, strings.ReplaceAll(spec, "%REPLY%", ""))
	runFlows(t, m, []flowCase{
		{"w1", "cp1", "6443/tcp", "denied", 2, "", "denied: the reply is discarded by Hetzner at w1"},
		{"world", "cp1", "443/tcp", "denied", 0, "", "denied: Hetzner discards it (no rule accepts it)"},
	})
	_, warnings := Lint(m)
	const prefix = "test.yaml:14:9: clusters[0].hetzner.rules: template strict-escape-hatch discards what no rule accepts, and Robot's firewall is stateless: the replies to the nodes' "
	if len(warnings) != 2 || !strings.HasPrefix(warnings[0].String(), prefix+"DNS (53/udp) and NTP (123/udp) queries would be discarded") ||
		!strings.HasPrefix(warnings[1].String(), prefix+"own connections") {
		t.Fatalf("want the TCP and UDP reply-rule lints, got:\n%v", warnings)
	}
	tcpReplies := "        - {name: replies, ipVersion: ipv4, protocol: tcp, dstPort: 32768-65535, tcpFlags: ack, action: accept}\n"
	m = load(t, strings.ReplaceAll(spec, "%REPLY%", tcpReplies))
	runFlows(t, m, []flowCase{{"w1", "cp1", "6443/tcp", "allowed", 2, "", "allowed"}})
	if _, warnings := Lint(m); len(warnings) != 1 || !strings.HasPrefix(warnings[0].String(), prefix+"DNS (53/udp) and NTP (123/udp)") {
		t.Fatalf("TCP reply rule present: want only the UDP lint, got %v", warnings)
	}
	// DNS answered, NTP not: the lint names what is still lost.
	dns := "        - {name: dns, ipVersion: ipv4, protocol: udp, srcPort: \"53\", dstPort: 32768-65535, action: accept}\n"
	if _, warnings := Lint(load(t, strings.ReplaceAll(spec, "%REPLY%", tcpReplies+dns))); len(warnings) != 1 || !strings.HasPrefix(warnings[0].String(), prefix+"NTP (123/udp) queries") {
		t.Fatalf("DNS replies accepted: want the NTP lint, got %v", warnings)
	}
	udp := "        - {name: udp replies, ipVersion: ipv4, protocol: udp, dstPort: 32768-65535, action: accept}\n"
	if _, warnings := Lint(load(t, strings.ReplaceAll(spec, "%REPLY%", tcpReplies+udp))); len(warnings) != 0 {
		t.Fatalf("reply rules present, still warned: %v", warnings)
	}
}

// Lints of the spec's intent: a worker policy that skips a node with both roles (c10), an admin source that is the
// whole internet.
func TestRoleAndAdminLints(t *testing.T) {
	m := load(t, `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: both
    apiServer: {host: api.example.com}
    nodes:
      - {name: n1, addresses: [159.69.60.182], roles: [control-plane, worker]}
      - {name: n2, addresses: [159.69.60.183], roles: [worker]}
    cilium: {version: 1.16.5}
    hostPolicies:
      - {name: cp, preset: talos-control-plane}
      - {name: workers, preset: talos-worker}
    hetzner: {adminSources: [89.23.224.44/32, 0.0.0.0/0, "::/0"]}
`)
	_, warnings := Lint(m)
	var got []string
	for _, w := range warnings {
		got = append(got, w.String())
	}
	want := []string{
		"test.yaml:13:9: clusters[0].hostPolicies[1]: workers does not apply to n1: n1 has the roles control-plane and worker, but role: worker selects nodes without the node-role.kubernetes.io/control-plane label, which Talos puts on every control plane, even one that runs workloads (select the node by a label of your own (nodes: {labels: ...}), or make the control-plane policy cover its workloads too)",
		"test.yaml:14:47: clusters[0].hetzner.adminSources[1]: 0.0.0.0/0 as an admin source makes the admin the whole internet: the template accepts everyone before its discard rules, and the admin assertions prove nothing (list the addresses or networks you connect from)",
		"test.yaml:14:58: clusters[0].hetzner.adminSources[2]: ::/0 as an admin source makes the admin the whole internet: the template accepts everyone before its discard rules, and the admin assertions prove nothing (list the addresses or networks you connect from)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func TestLints(t *testing.T) {
	m := load(t, `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: lint
    apiServer: {host: api.example.com}
    nodes:
      - {name: cp1, addresses: [198.51.100.11], roles: [control-plane]}
      - {name: w1, addresses: [198.51.100.21, "2001:db8:5::21"], roles: [worker]}
    cilium: {version: 1.16.5, values: {ipv6: {enabled: true}}}
    hostPolicies:
      - name: nodes-by-cidr
        nodes: {role: control-plane}
        ingress:
          - {cidrs: [198.51.100.0/24], ports: [2379/tcp]}
      - name: workers
        nodes: {role: worker}
        ingress:
          - {entities: [world], ports: [443/tcp]}
          - {icmp: [{type: 8}]}
`)
	errs, warnings := Lint(m)
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := []string{
		`test.yaml:12:9: clusters[0].hostPolicies[0]: ping (icmp:8) to cp1 is dropped: nodes-by-cidr selects it and no rule allows ICMP, which Cilium blocks once port rules apply (if ping should work, add an ingress rule icmp: [{family: IPv4, type: 8}])`,
		`test.yaml:15:22: clusters[0].hostPolicies[0].ingress[0].cidrs[0]: 198.51.100.0/24 holds the address of cp1 (198.51.100.11), w1 (198.51.100.21), but CIDR peers never match cluster nodes: Cilium gives node traffic the host or remote-node identity (for node traffic use entities: [remote-node] (other nodes), [host] (the node itself) or [cluster])`,
		`test.yaml:16:9: clusters[0].hostPolicies[1]: ping (icmpv6:128) to w1 is dropped: workers selects it and no rule allows ICMP, which Cilium blocks once port rules apply (if ping should work, add an ingress rule icmp: [{family: IPv6, type: 128}])`,
	}
	var got []string
	for _, w := range warnings {
		got = append(got, w.String())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("warnings (-want +got):\n%s", diff)
	}
}

// A CIDR peer written for the whole internet (0.0.0.0/0, ::/0: Cilium's world), or one whose except holes take the
// node addresses out, does not mean the nodes: no warning. A narrower one holding a node's address still warns.
func TestCIDRPeerLintLeavesTheWorldAlone(t *testing.T) {
	doc := `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: lint
    apiServer: {host: api.example.com}
    nodes:
      - {name: cp1, addresses: [198.51.100.11, "2001:db8:5::11"], roles: [control-plane]}
    cilium: {version: 1.16.5, values: {ipv6: {enabled: true}}}
    hostPolicies:
      - name: cp
        nodes: {}
        ingress:
          - {entities: [world, cluster], icmp: [{type: 8}, {family: IPv6, type: 128}]}
          - {entities: [world, cluster], ports: [6443/tcp]}
        ingressDeny:
          - {cidrs: [%CIDRS%], ports: [6443/tcp]}
`
	for cidrs, warned := range map[string]bool{
		"0.0.0.0/0": false,
		"\"::/0\"":  false,
		"{cidr: 0.0.0.0/0, except: [89.23.224.0/24]}":          false,
		"{cidr: 198.51.100.0/24, except: [198.51.100.0/28]}":   false,
		"{cidr: 198.51.100.0/24, except: [198.51.100.128/25]}": true,
		"198.51.100.0/24":   true,
		"\"2001:db8::/32\"": true,
	} {
		_, warnings := Lint(load(t, strings.Replace(doc, "%CIDRS%", cidrs, 1)))
		got := false
		for _, w := range warnings {
			got = got || strings.Contains(w.String(), "CIDR peers never match cluster nodes")
		}
		if got != warned {
			t.Errorf("%s: warned %v, want %v: %v", cidrs, got, warned, warnings)
		}
	}
}

func TestTemplateEncoding(t *testing.T) {
	m := load(t, strings.ReplaceAll(seedSpec, "%AUDIT%", "false"))
	tpl, ok := BuildTemplate(m.Clusters[0])
	if !ok {
		t.Fatal("no template")
	}
	j, err := tpl.JSON()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "seed-template.json", j)
	golden(t, "seed-template.form", tpl.Form())

	// Per-protocol discards need an ip_version, so IPv6 filtering doubles them; nodes get their own accepts.
	m = load(t, strings.Replace(multiSpec, "hetzner: {adminSources: [89.23.224.44/32]}",
		`hetzner: {adminSources: [89.23.224.44/32, "2001:db8:9::/48"], discard: [6443/tcp, "50000-50001"], filterIPv6: true}`, 1))
	tpl, _ = BuildTemplate(m.Clusters[0])
	var rules []string
	for _, r := range tpl.Rules {
		rules = append(rules, r.Name+": "+DescribeRule(r))
	}
	want := []string{
		"admin 1: ip_version ipv4, src_ip 89.23.224.44/32: accept",
		"admin 2: ip_version ipv6, src_ip 2001:db8:9::/48: accept",
		"node cp1: ip_version ipv4, src_ip 198.51.100.11/32: accept",
		"node cp2: ip_version ipv4, src_ip 198.51.100.12/32: accept",
		"node w1: ip_version ipv4, src_ip 198.51.100.21/32: accept",
		"discard 6443 tcp: ip_version ipv4, protocol tcp, dst_port 6443: discard",
		"discard 6443 tcp v6: ip_version ipv6, protocol tcp, dst_port 6443: discard",
		"discard 50000-50001: dst_port 50000-50001: discard",
		"accept rest: every packet: accept",
	}
	if diff := cmp.Diff(want, rules); diff != "" {
		t.Fatalf("rules (-want +got):\n%s", diff)
	}
	// IPv6 is only filtered when asked: without filterIPv6 an IPv6 world flow passes Hetzner.
	v := Template{Name: "x", Rules: []spec.HetznerRule{{Name: "drop", Action: "discard"}}}.Evaluate(Packet{Src: mustAddr("2001:db8::1"), Protocol: "tcp", DstPort: 6443})
	if !v.Accepted || v.Reason != "template x does not filter IPv6 (filter_ipv6 false)" {
		t.Fatalf("IPv6 without filter_ipv6: %+v", v)
	}
}

func TestTemplateTooManyRules(t *testing.T) {
	var admins []string
	for i := 1; i <= 8; i++ {
		admins = append(admins, "203.0.113."+string(rune('0'+i)))
	}
	m := load(t, strings.Replace(strings.ReplaceAll(seedSpec, "%AUDIT%", "false"), "adminSources: [89.23.224.44/32]", "adminSources: ["+strings.Join(admins, ", ")+"]", 1))
	errs, _ := Lint(m)
	want := "test.yaml:12:14: clusters[0].hetzner: the template has 11 input rules; Robot accepts at most 10 (list fewer admin sources or discard ports, or write rules: yourself with a CIDR that covers several sources)"
	if len(errs) != 1 || errs[0].String() != want {
		t.Fatalf("got %v\nwant %s", errs, want)
	}
}

func TestRunbook(t *testing.T) {
	m := load(t, strings.ReplaceAll(seedSpec, "%AUDIT%", "true"))
	on, err := AuditRunbook(m.Clusters[0], true)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "runbook-audit-on.txt", []byte(on))
	c := m.Clusters[0]
	c.Cilium.Version = "1.16.5"
	off, _ := AuditRunbook(c, false)
	for _, want := range []string{
		"cilium-dbg endpoint config \"$EP\" PolicyAuditMode=Disabled",
		"# The spec still sets cilium.auditMode: true",
		"cilium-dbg monitor -t policy-verdict --related-to \"$EP\"",
	} {
		if !strings.Contains(off, want) {
			t.Errorf("runbook off for 1.16 lacks %q:\n%s", want, off)
		}
	}
}

// The runbook is printed to be run (runbook audit off > audit-off.sh; sh audit-off.sh): run against a kubectl that
// answers at once, except that cilium monitor never ends (as the real one does not), it must switch every node and
// finish.
func TestRunbookRunsAsScript(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	m := load(t, multiSpec)
	for _, on := range []bool{true, false} {
		text, err := AuditRunbook(m.Clusters[0], on)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		log := filepath.Join(dir, "kubectl.log")
		kubectl := `#!/bin/sh
echo "$*" >> "` + log + `"
case "$*" in
*" get pods "*) echo cilium-x ;;
*"endpoint list"*) echo 7 ;;
*"endpoint config 7") echo "PolicyAuditMode : Disabled" ;;
*monitor*) exec sleep 3600 ;;
esac
`
		if err := os.WriteFile(filepath.Join(dir, "kubectl"), []byte(kubectl), 0o755); err != nil {
			t.Fatal(err)
		}
		script := filepath.Join(dir, "audit.sh")
		if err := os.WriteFile(script, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		cmd := exec.CommandContext(ctx, "sh", script)
		cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
		// A hung script leaves its sleep behind: kill the whole group, and stop waiting for its output soon after.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		cmd.WaitDelay = time.Second
		out, err := cmd.CombinedOutput()
		hung := ctx.Err() != nil
		cancel()
		if hung {
			t.Fatalf("audit on=%v: the script did not finish (a step that never ends?)\n%s", on, out)
		}
		calls, _ := os.ReadFile(log)
		state := "Disabled"
		if on {
			state = "Enabled"
		}
		if n := strings.Count(string(calls), "cilium-dbg endpoint config 7 PolicyAuditMode="+state); n != len(m.Clusters[0].Nodes) || err != nil {
			t.Errorf("audit on=%v: %d of %d nodes switched (%v)\n%s\n%s", on, n, len(m.Clusters[0].Nodes), err, calls, out)
		}
		for _, line := range strings.Split(text, "\n") {
			if strings.Contains(line, " monitor ") && !strings.HasPrefix(line, "#") {
				t.Errorf("audit on=%v: a live monitor step: %s", on, line)
			}
		}
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// adminCIDRSpec: the admin connects from a /24; the policy and the template are the knobs.
const adminCIDRSpec = `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: kronform
    apiServer: {host: api.kronform.pius.dev}
    nodes:
      - {name: n1, addresses: [159.69.60.182], roles: [control-plane]}
    cilium: {version: 1.16.5}
    hostPolicies:
      - name: cp
        nodes: {role: control-plane}
        ingress:
          - {cidrs: [{cidr: %CIDR%}], ports: [6443/tcp, 50000/tcp]}
          - {entities: [cluster], ports: [6443/tcp, 50000-50001/tcp, 2379-2380/tcp, 10250/tcp, 4240/tcp, 8472/udp]}
    hetzner:
      adminSources: [89.23.224.0/24]
%RULES%`

// An admin CIDR stands for every address in it: a policy or template that lets in only part of it fails, naming an
// address that is cut off (it used to be judged by the CIDR's first address only).
func TestAdminCIDRIsCheckedWhole(t *testing.T) {
	failedFrom := func(yaml string) (from []string) {
		t.Helper()
		for _, c := range Verify(load(t, yaml)) {
			if c.Assertion.From != "admin" {
				continue
			}
			for _, tr := range c.Failed() {
				from = append(from, c.Assertion.Port+" "+tr.Flow.From)
			}
		}
		return from
	}
	spec := func(cidr, rules string) string {
		return strings.NewReplacer("%CIDR%", cidr, "%RULES%", rules).Replace(adminCIDRSpec)
	}
	// Cilium lets in the first address only.
	want := []string{"6443/tcp admin 89.23.224.1 (in 89.23.224.0/24)", "50000/tcp admin 89.23.224.1 (in 89.23.224.0/24)"}
	if diff := cmp.Diff(want, failedFrom(spec("89.23.224.0/32", ""))); diff != "" {
		t.Errorf("Cilium allowing 89.23.224.0/32 only (-want +got):\n%s", diff)
	}
	// The whole block allowed: it holds, with one flow per piece (here the whole /24 is one).
	if got := failedFrom(spec("89.23.224.0/24", "")); len(got) != 0 {
		t.Errorf("the whole /24 allowed, still failing: %v", got)
	}
	// Robot accepts the lower half only; the upper half hits the discard rules.
	rules := `      rules:
        - {name: admin, ipVersion: ipv4, srcIP: 89.23.224.0/25, action: accept}
        - {name: d6443, dstPort: "6443", action: discard}
        - {name: d50000, dstPort: "50000-50001", action: discard}
        - {name: rest, action: accept}
`
	want = []string{"6443/tcp admin 89.23.224.128 (in 89.23.224.0/24)", "50000/tcp admin 89.23.224.128 (in 89.23.224.0/24)"}
	if diff := cmp.Diff(want, failedFrom(spec("89.23.224.0/24", rules))); diff != "" {
		t.Errorf("Robot accepting 89.23.224.0/25 only (-want +got):\n%s", diff)
	}
}

func TestPieces(t *testing.T) {
	pfx := netip.MustParsePrefix
	for _, c := range []struct {
		p    string
		cuts []string
		want string
	}{
		{"10.0.0.0/24", nil, "10.0.0.0"},
		{"10.0.0.0/24", []string{"10.0.0.0/32"}, "10.0.0.0 10.0.0.1"},
		{"10.0.0.0/24", []string{"10.0.0.64/26", "0.0.0.0/0", "10.0.0.0/8", "192.0.2.0/24"}, "10.0.0.0 10.0.0.64 10.0.0.128"},
		{"10.0.0.0/24", []string{"10.0.0.255/32"}, "10.0.0.0 10.0.0.255"},
		{"255.255.255.0/24", []string{"255.255.255.128/25"}, "255.255.255.0 255.255.255.128"},
		{"2001:db8::/32", []string{"2001:db8::/64", "10.0.0.0/8"}, "2001:db8:: 2001:db8:0:1::"},
	} {
		var cuts []netip.Prefix
		for _, s := range c.cuts {
			cuts = append(cuts, pfx(s))
		}
		var got []string
		for _, a := range pieces(pfx(c.p), cuts) {
			got = append(got, a.String())
		}
		want := c.want
		if strings.Join(got, " ") != want {
			t.Errorf("pieces(%s, %v) = %v, want %s", c.p, c.cuts, got, want)
		}
	}
}

// Robot is stateless for inbound connections too: a template that accepts the admin's SYN by its flags but not the
// ACKs that follow lets no connection up (c4). Both packets are checked and the trace says which one was dropped.
func TestStatelessInboundConnection(t *testing.T) {
	const tmpl = `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: kronform
    apiServer: {host: api.kronform.pius.dev}
    nodes:
      - {name: n1, addresses: [159.69.60.182], roles: [control-plane]}
    cilium: {version: 1.16.5}
    hostPolicies:
      - {name: host-fw-control-plane, preset: talos-control-plane}
    hetzner:
      adminSources: [89.23.224.44/32]
      rules:
        - {name: admin new conns, ipVersion: ipv4, srcIP: 89.23.224.44/32, protocol: tcp, tcpFlags: syn, action: accept}
%ACK%        - {name: replies, ipVersion: ipv4, protocol: tcp, dstPort: 32768-65535, tcpFlags: ack, action: accept}
        - {name: icmp, ipVersion: ipv4, protocol: icmp, action: accept}
`
	m := load(t, strings.ReplaceAll(tmpl, "%ACK%", ""))
	runFlows(t, m, []flowCase{
		{"admin", "n1", "6443/tcp", "denied", 0, "host-fw-control-plane ingress[0]",
			"denied: Hetzner accepts the SYN but discards the connection's ACK packets (no rule accepts it); Robot is stateless"},
		// 50000 lies inside the reply rule's 32768-65535, so that rule accepts the admin's ACKs to apid: it works.
		{"admin", "n1", "50000/tcp", "allowed", 1, "host-fw-control-plane ingress[1]", "allowed"},
		{"admin", "n1", "icmp", "allowed", 3, "host-fw-control-plane ingress[5]", "allowed"},
	})
	traces, _ := NewSimulator(m.Clusters[0]).Evaluate(spec.Assertion{From: "admin", To: "n1", Port: "6443/tcp"})
	if v := traces[0].Hetzner; v.Packet != PacketACK || !strings.Contains(v.Reason, `the SYN passes (rule 1 "admin new conns"`) {
		t.Errorf("the trace should say the SYN passed and the ACK did not: %+v", v)
	}
	failed := 0
	for _, c := range Verify(m) {
		if !c.OK {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("the admin's 6443 built-in should fail, %d checks failed", failed)
	}
	// Accepting the admin's ACKs too brings the connection up.
	m = load(t, strings.ReplaceAll(tmpl, "%ACK%", "        - {name: admin acks, ipVersion: ipv4, srcIP: 89.23.224.44/32, protocol: tcp, tcpFlags: ack, action: accept}\n"))
	runFlows(t, m, []flowCase{{"admin", "n1", "6443/tcp", "allowed", 1, "host-fw-control-plane ingress[0]", "allowed"}})

	// The reply lint: a reply rule that matches by SYN lets the SYN-ACK through, not the data after it.
	synOnly := Template{Name: "x", Rules: []spec.HetznerRule{
		{Name: "replies", IPVersion: "ipv4", Protocol: "tcp", DstPort: "32768-65535", TCPFlags: "syn", Action: "accept"},
	}}
	if synOnly.AcceptsReplies(mustAddr("159.69.60.182")) {
		t.Error("a reply rule on tcpFlags syn counted as accepting replies")
	}
}

// World flows go over every family the node has (c9: Robot does not filter IPv6, so 6443 is open to the IPv6
// internet), and a flow from a family the node has no address in is never allowed (c13).
func TestIPv6Flows(t *testing.T) {
	const dual = `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: kronform
    apiServer: {host: api.kronform.pius.dev}
    nodes:
      - {name: n1, addresses: [159.69.60.182, %V6%], roles: [control-plane]}
    cilium: {version: 1.16.5, values: {ipv6: {enabled: true}}}
    hostPolicies:
      - {name: host-fw-control-plane, preset: talos-control-plane}
    hetzner: {adminSources: [89.23.224.44/32]%FILTER%}
    assertions:
      - {from: world, to: n1, port: 6443/tcp, expect: denied}
      - {from: "2a02:8108::5", to: n1, port: 6443/tcp, expect: allowed}
`
	verdicts := func(yaml string) (out []string) {
		t.Helper()
		for _, c := range Verify(load(t, yaml)) {
			if c.Path == "" {
				continue
			}
			for _, tr := range c.Traces {
				out = append(out, fmt.Sprintf("%s %s: %s", tr.Flow.From, c.Assertion.Port, tr.Result))
			}
		}
		return out
	}
	r := strings.NewReplacer("%V6%", `"2a01:4f8:1::1"`, "%FILTER%", "")
	want := []string{
		`world 203.0.113.1 6443/tcp: denied: Hetzner discards it (rule 2 "discard 6443")`,
		"world 2001:db8::1 6443/tcp: allowed",
		"2a02:8108::5 6443/tcp: allowed",
	}
	if diff := cmp.Diff(want, verdicts(r.Replace(dual))); diff != "" {
		t.Errorf("dual stack, IPv6 unfiltered (-want +got):\n%s", diff)
	}
	m := load(t, r.Replace(dual))
	_, warnings := Lint(m)
	if len(warnings) != 1 || !strings.Contains(warnings[0].String(), "template kronform-escape-hatch does not filter IPv6, so Robot lets every IPv6 packet through to n1 (2a01:4f8:1::1)") {
		t.Errorf("want the filterIPv6 lint, got %v", warnings)
	}
	r = strings.NewReplacer("%V6%", `"2a01:4f8:1::1"`, "%FILTER%", ", filterIPv6: true")
	want = []string{
		`world 203.0.113.1 6443/tcp: denied: Hetzner discards it (rule 2 "discard 6443")`,
		`world 2001:db8::1 6443/tcp: denied: Hetzner discards it (rule 2 "discard 6443")`,
		`2a02:8108::5 6443/tcp: denied: Hetzner discards it (rule 2 "discard 6443")`,
	}
	if diff := cmp.Diff(want, verdicts(r.Replace(dual))); diff != "" {
		t.Errorf("dual stack, IPv6 filtered (-want +got):\n%s", diff)
	}
	if _, warnings := Lint(load(t, r.Replace(dual))); len(warnings) != 0 {
		t.Errorf("IPv6 filtered, still warned: %v", warnings)
	}
	// IPv4 only: the IPv6 sender cannot reach n1 at all.
	v4 := strings.Replace(r.Replace(dual), `, "2a01:4f8:1::1"`, "", 1)
	want = []string{
		`world 203.0.113.1 6443/tcp: denied: Hetzner discards it (rule 2 "discard 6443")`,
		"2a02:8108::5 6443/tcp: denied: n1 has no IPv6 address (it has 159.69.60.182), so 2a02:8108::5 cannot reach it over IPv6",
	}
	if diff := cmp.Diff(want, verdicts(v4)); diff != "" {
		t.Errorf("IPv4 only (-want +got):\n%s", diff)
	}
}

// With kube-proxy replacement a pod's kubernetes Service traffic lands on a control plane's 6443 through the host
// firewall: a policy opening 6443 only to the world and the nodes (c11) cuts Flux off the API, so no fix can be
// applied. The built-in check catches it; the presets (which allow cluster) and a selector on Flux's namespace pass.
func TestFluxReachesTheAPI(t *testing.T) {
	const tmpl = `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: kronform
    apiServer: {host: api.kronform.pius.dev}
    nodes:
      - {name: n1, addresses: [159.69.60.182], roles: [control-plane]}
      - {name: n2, addresses: [159.69.60.183], roles: [worker]}
    cilium: {version: 1.16.5}
    hostPolicies:
      - name: cp
        nodes: {role: control-plane}
        ingress:
          - {entities: [world, remote-node], ports: [6443/tcp, 50000-50001/tcp, 2379-2380/tcp, 4240/tcp, 8472/udp]}
%RULE%    hetzner: {adminSources: [89.23.224.44/32]}
`
	failed := func(yaml string) (out []string) {
		t.Helper()
		for _, c := range Verify(load(t, yaml)) {
			if !c.OK {
				out = append(out, c.String())
			}
		}
		return out
	}
	want := []string{"pod:app=kustomize-controller,io.kubernetes.pod.namespace=flux-system -> node:n1 6443/tcp allowed"}
	if diff := cmp.Diff(want, failed(strings.ReplaceAll(tmpl, "%RULE%", ""))); diff != "" {
		t.Errorf("6443 closed to pods (-want +got):\n%s", diff)
	}
	for _, rule := range []string{
		"          - {entities: [cluster], ports: [6443/tcp]}\n",
		"          - {endpoints: [{io.kubernetes.pod.namespace: flux-system}], ports: [6443/tcp]}\n",
		"          - {endpoints: [{app: kustomize-controller}], ports: [6443/tcp]}\n",
	} {
		if got := failed(strings.ReplaceAll(tmpl, "%RULE%", rule)); len(got) != 0 {
			t.Errorf("with %s: %v", strings.TrimSpace(rule), got)
		}
	}
	// The seed's policy allows cluster on 6443.
	if got := failed(strings.ReplaceAll(seedSpec, "%AUDIT%", "false")); len(got) != 0 {
		t.Errorf("the seed: %v", got)
	}
}

// One machine in two clusters: each cluster's template and checks would take it for its own.
func TestSharedAddressLint(t *testing.T) {
	m := load(t, `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: a
    apiServer: {host: api.a.example.com}
    nodes:
      - {name: cp1, addresses: [198.51.100.11, "2001:db8::1"], roles: [control-plane]}
    cilium: {version: 1.16.5}
  - name: b
    apiServer: {host: api.b.example.com}
    nodes:
      - {name: cp1, addresses: [198.51.100.12], roles: [control-plane]}
      - {name: cp2, addresses: ["2001:db8:0::1"], roles: [control-plane]}
    cilium: {version: 1.16.5}
`)
	_, warnings := Lint(m)
	var shared []string
	for _, w := range warnings {
		if strings.Contains(w.String(), "is also an address") {
			shared = append(shared, w.String())
		}
	}
	if len(shared) != 1 || !strings.HasPrefix(shared[0], "test.yaml:14:33:") || !strings.Contains(shared[0], "clusters[1].nodes[1].addresses[0]: 2001:db8:0::1 is also an address of node cp1 of cluster a") {
		t.Fatalf("got %q", shared)
	}
}

// The agents read policy-audit-mode from cilium-config only when they start, and the chart does not restart them
// when it changes (rollOutCiliumPods is off): the script restarts them once cilium-config says what the spec asks
// for, and only then; when the spec says the other way, it only says how to get there, since a restart would bring
// the spec's setting back.
func TestRunbookRestartsAgents(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	for _, tc := range []struct {
		specAudit, on bool
		configMap     string // what kubectl says cilium-config holds for policy-audit-mode
		restart       bool
	}{
		{specAudit: false, on: false, configMap: "", restart: true},
		{specAudit: false, on: false, configMap: "false", restart: true},
		{specAudit: false, on: false, configMap: "true", restart: false}, // Flux has not applied the spec yet
		{specAudit: true, on: true, configMap: "true", restart: true},
		{specAudit: true, on: true, configMap: "", restart: false},
		{specAudit: false, on: true, configMap: "", restart: false}, // an emergency: the spec must change first
		{specAudit: true, on: false, configMap: "true", restart: false},
	} {
		spec := strings.Replace(multiSpec, "hubble: {relay: true}}", fmt.Sprintf("hubble: {relay: true}, auditMode: %t}", tc.specAudit), 1)
		text, err := AuditRunbook(load(t, spec).Clusters[0], tc.on)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		log := filepath.Join(dir, "kubectl.log")
		kubectl := `#!/bin/sh
echo "$*" >> "` + log + `"
case "$*" in
*" get pods "*) echo cilium-x ;;
*"endpoint list"*) echo 7 ;;
*"endpoint config 7") echo "PolicyAuditMode : Disabled" ;;
*"get configmap cilium-config"*) printf %s "` + tc.configMap + `" ;;
esac
`
		if err := os.WriteFile(filepath.Join(dir, "kubectl"), []byte(kubectl), 0o755); err != nil {
			t.Fatal(err)
		}
		script := filepath.Join(dir, "audit.sh")
		if err := os.WriteFile(script, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("sh", script)
		cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%+v: %v\n%s", tc, err, out)
		}
		calls, _ := os.ReadFile(log)
		restarted := strings.Contains(string(calls), "-n kube-system rollout restart daemonset/cilium")
		if restarted != tc.restart {
			t.Errorf("%+v: restarted %v, want %v\n%s\n%s", tc, restarted, tc.restart, calls, text)
		}
		if restarted && !strings.Contains(string(calls), "-n kube-system rollout status daemonset/cilium") {
			t.Errorf("%+v: the restart is not waited for\n%s", tc, calls)
		}
		if !strings.Contains(text, "kubectl -n kube-system rollout restart daemonset/cilium") {
			t.Errorf("%+v: the runbook does not name the restart\n%s", tc, text)
		}
	}
}
