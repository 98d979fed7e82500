package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run is kronform-gen with a spec written to a temporary folder; out is the tree folder next to it.
func runSpec(t *testing.T, specText string, args ...string) (code int, stdout, stderr, out string) {
	t.Helper()
	dir := t.TempDir()
	specPath := filepath.Join(dir, "cluster-spec.yaml")
	if err := os.WriteFile(specPath, []byte(specText), 0o644); err != nil {
		t.Fatal(err)
	}
	out = filepath.Join(dir, "output")
	var o, e bytes.Buffer
	code = Main(append(args, "--spec", specPath, "--out", out), strings.NewReader(""), &o, &e)
	rel := func(s string) string { return strings.ReplaceAll(s, dir+string(filepath.Separator), "") }
	return code, rel(o.String()), rel(e.String()), out
}

const seedSpec = `apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: kronform
    apiServer: {host: api.kronform.pius.dev}
    nodes:
      - {name: n1, addresses: [159.69.60.182], roles: [control-plane]}
    cilium: {version: 1.13.4, hubble: {relay: true}, auditMode: AUDIT}
    hostPolicies:
      - name: host-fw-control-plane
        preset: talos-control-plane
        POLICY
    hetzner: {template: kronform, adminSources: [89.23.224.44/32]}
    assertions:
      - {from: world, to: n1, port: 2379/tcp, expect: denied}
`

// seed is the seed's cluster; lockout swaps its policy for one that forgets the API ports.
func seed(audit bool, lockout bool) string {
	s := strings.Replace(seedSpec, "AUDIT", map[bool]string{true: "true", false: "false"}[audit], 1)
	if lockout {
		return strings.Replace(strings.Replace(s, "preset: talos-control-plane", "nodes: {role: control-plane}", 1),
			"POLICY", "ingress: [{entities: [remote-node], ports: [2379-2380/tcp]}, {icmp: [{type: 8}]}]", 1)
	}
	return strings.Replace(s, "        POLICY\n", "", 1)
}

func TestExplain(t *testing.T) {
	code, stdout, stderr, _ := runSpec(t, seed(true, false), "explain", "--from", "world", "--to", "control-plane", "--port", "2379/tcp")
	want := `world 203.0.113.1 -> n1 159.69.60.182 2379/tcp
  hetzner  accept   rule 4 "accept rest" (every packet: accept) of template kronform
  cilium   audit    ingress at n1: would drop, passes (audit mode): default deny: host-fw-control-plane selects n1 for ingress and no allow rule matches 2379/tcp from world 203.0.113.1
  result   denied by Cilium at n1; audit mode is on: would drop, passes
`
	if code != 0 || stdout != want || stderr != "" {
		t.Fatalf("exit %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", code, stdout, want, stderr)
	}
	code, stdout, _, _ = runSpec(t, seed(false, false), "explain", "--from", "admin", "--to", "n1", "--port", "6443/tcp", "--output", "json")
	var traces []map[string]any
	if err := json.Unmarshal([]byte(stdout), &traces); err != nil || code != 0 {
		t.Fatalf("exit %d, %v:\n%s", code, err, stdout)
	}
	h := traces[0]["hetzner"].(map[string]any)
	c := traces[0]["cilium"].(map[string]any)
	if traces[0]["allowed"] != true || h["rule"] != 1.0 || c["policy"] != "host-fw-control-plane" || c["rule"] != "ingress[0]" {
		t.Fatalf("json trace: %s", stdout)
	}
}

// pinnedRangeSpec pins the agents' image to 1.15.1 by its tag alone under a 1.16.5 chart (so they may run either) and
// opens 6800-7300/tcp to the world: an agent before 1.16 knows no endPort and enforces the range as 6800 alone.
const pinnedRangeSpec = `apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: r
    apiServer: {host: api.example.com}
    nodes:
      - {name: cp1, addresses: [198.51.100.11], roles: [control-plane]}
    cilium:
      version: 1.16.5
      values: {image: {tag: v1.15.1}}
    hostPolicies:
      - name: cp
        nodes: {role: control-plane}
        ingress:
          - {entities: [world], ports: [6443/tcp, 50000/tcp, 6800-7300/tcp]}
    hetzner: {adminSources: [89.23.224.44/32]}
    assertions:
      - {from: world, to: cp1, port: 7000/tcp, expect: allowed}
`

// explain judges the agents as verify does: a port inside a range beyond its first is dropped by agents before 1.16,
// which explain shows per release, and counts the flow as allowed nowhere; verify fails the assertion that it is.
func TestExplainShowsEachAgentRelease(t *testing.T) {
	code, stdout, stderr, _ := runSpec(t, pinnedRangeSpec, "explain", "--from", "world", "--to", "cp1", "--port", "7000/tcp")
	agents := "Cilium 1.15.1 or 1.16.5 (the agents' image.tag v1.15.1, which the chart's own image digest overrides unless image.useDigest is false)"
	want := `world 203.0.113.1 -> cp1 198.51.100.11 7000/tcp
  on Cilium 1.15.1:
    hetzner  accept   rule 4 "accept rest" (every packet: accept) of template r-escape-hatch
    cilium   deny     ingress at cp1: default deny: cp selects cp1 for ingress and no allow rule matches 7000/tcp from world 203.0.113.1 (as an agent before 1.16.0 enforces the policies: no endPort, so a port range is its first port; the agents may run ` + agents + `)
    result   denied by Cilium at cp1
  on Cilium 1.16.5:
    hetzner  accept   rule 4 "accept rest" (every packet: accept) of template r-escape-hatch
    cilium   allow    ingress at cp1: cp ingress[0] (fromEntities [world], toPorts [6443/TCP 50000/TCP 6800-7300/TCP]) allows 7000/tcp from world 203.0.113.1
    reply    pass     conntrack lets the replies of an allowed connection through Cilium
    result   allowed
  result   denied on Cilium 1.15.1, allowed on Cilium 1.16.5: the agents may run ` + agents + `, and the release decides (verify fails an assertion of either verdict)
`
	if code != 0 || stdout != want {
		t.Fatalf("exit %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", code, stdout, want, stderr)
	}
	code, stdout, _, _ = runSpec(t, pinnedRangeSpec, "explain", "--from", "world", "--to", "cp1", "--port", "7000/tcp", "--output", "json")
	var traces []map[string]any
	if err := json.Unmarshal([]byte(stdout), &traces); err != nil || code != 0 || len(traces) != 1 {
		t.Fatalf("exit %d, %v:\n%s", code, err, stdout)
	}
	by, _ := traces[0]["byRelease"].([]any)
	if traces[0]["allowed"] != false || len(by) != 2 || by[0].(map[string]any)["releases"] != "1.15.1" {
		t.Fatalf("json trace: %s", stdout)
	}
	code, stdout, _, _ = runSpec(t, pinnedRangeSpec, "verify")
	if code != ExitFailure || !strings.Contains(stdout, "FAIL  r: cluster-spec.yaml:18:9: clusters[0].assertions[0]: world -> cp1 7000/tcp allowed\n") {
		t.Fatalf("verify: exit %d:\n%s", code, stdout)
	}
}

func TestExplainBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--from", "cluster", "--to", "n1", "--port", "6443/tcp"}, `kronform-gen: "cluster": entity cluster is a group of senders, not one; name a member such as remote-node or kube-apiserver` + "\n"},
		{[]string{"--from", "world", "--to", "worker", "--port", "6443/tcp"}, "kronform-gen: no node has the role worker\n"},
		{[]string{"--from", "world", "--to", "n1"}, "kronform-gen: --port is required\n"},
	} {
		code, stdout, stderr, _ := runSpec(t, seed(false, false), append([]string{"explain"}, tc.args...)...)
		if code != ExitUsage || stdout != "" || stderr != tc.want {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestVerify(t *testing.T) {
	code, stdout, stderr, _ := runSpec(t, seed(false, false), "verify")
	want := `ok    kronform: cluster-spec.yaml:14:9: clusters[0].assertions[0]: world -> n1 2379/tcp denied
ok    kronform: built-in: admin -> node:n1 6443/tcp allowed (the admin reaches the Kubernetes API)
ok    kronform: built-in: admin -> node:n1 50000/tcp allowed (the admin reaches the Talos API (apid))
ok    kronform: built-in: pod:app=kustomize-controller,io.kubernetes.pod.namespace=flux-system -> node:n1 6443/tcp allowed (Flux's kustomize-controller reaches the Kubernetes API, or no fix can be applied)
ok    kronform: built-in: pod:k8s-app=hubble-relay -> node:n1 4244/tcp allowed (hubble-relay reaches the Hubble server on every node)
`
	if code != 0 || stdout != want || stderr != "all 5 assertion(s) hold\n" {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	code, stdout, stderr, _ = runSpec(t, seed(false, true), "verify")
	if code != ExitFailure || stderr != "4 of 5 assertion(s) fail\n" {
		t.Fatalf("lockout: exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{
		"FAIL  kronform: built-in: admin -> node:n1 6443/tcp allowed (the admin reaches the Kubernetes API)\n      expected allowed, got denied:\n      admin 89.23.224.44 -> n1 159.69.60.182 6443/tcp\n",
		"      cilium   deny     ingress at n1: default deny: host-fw-control-plane selects n1 for ingress and no allow rule matches 6443/tcp from world 89.23.224.44\n",
		"FAIL  kronform: built-in: admin -> node:n1 50000/tcp allowed",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("verify output lacks %q:\n%s", want, stdout)
		}
	}

	code, stdout, _, _ = runSpec(t, seed(false, true), "verify", "--output", "json")
	var checks []struct {
		Assertion struct{ From, To, Port, Expect string }
		OK        bool
		BuiltIn   string
		Traces    []struct{ Allowed bool }
	}
	if err := json.Unmarshal([]byte(stdout), &checks); err != nil || code != ExitFailure || len(checks) != 5 {
		t.Fatalf("json: exit %d, %v:\n%s", code, err, stdout)
	}
	if checks[1].OK || checks[1].Assertion.Port != "6443/tcp" || checks[1].BuiltIn == "" || checks[1].Traces[0].Allowed || !checks[0].OK {
		t.Fatalf("json checks: %+v", checks)
	}
}

// The seed's "final exam", made safe: with audit mode off, a tree that locks the admin out is never written.
func TestGenerateRefusesLockoutWithAuditOff(t *testing.T) {
	code, stdout, stderr, out := runSpec(t, seed(false, true), "generate")
	if code != ExitFailure || stdout != "" {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("generate wrote %s although it refused: %v", out, err)
	}
	for _, want := range []string{
		"FAIL  kronform: built-in: admin -> node:n1 6443/tcp allowed (the admin reaches the Kubernetes API)\n",
		"      result   denied by Cilium at n1\n",
		"kronform-gen: refusing to write " + "output: 4 assertion(s) fail with audit mode off, so these policies could lock you out; fix them, or set cilium.auditMode: true while you work on them\n",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}

	// In audit mode the same tree is written, with a warning: audit mode is where policies are worked out.
	code, _, stderr, out = runSpec(t, seed(true, true), "generate")
	if code != 0 || !strings.Contains(stderr, "warning: cluster kronform: assertions fail; audit mode lets the drops pass for now") {
		t.Fatalf("audit on: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "hetzner/kronform/firewall-template.json")); err != nil {
		t.Fatalf("the Hetzner template was not written: %v", err)
	}

	// A sound policy leaves audit mode freely.
	if code, _, stderr, _ = runSpec(t, seed(false, false), "generate"); code != 0 {
		t.Fatalf("sound policy, audit off: exit %d\n%s", code, stderr)
	}

	// An expected deny that is allowed leaves something open; it locks no one out, and the refusal says so.
	exposed := strings.Replace(seed(false, false), "port: 2379/tcp, expect: denied", "port: icmp, expect: denied", 1)
	code, _, stderr, _ = runSpec(t, exposed, "generate")
	want := "kronform-gen: refusing to write output: 1 assertion(s) fail with audit mode off, so these policies would expose what should be denied; " +
		"fix them (audit mode is no way to work on these: with it on, the host policies drop nothing at all)\n"
	if code != ExitFailure || !strings.Contains(stderr, want) {
		t.Fatalf("an exposure: exit %d, want %q in:\n%s", code, want, stderr)
	}
	both := strings.Replace(seed(false, true), "port: 2379/tcp, expect: denied", "port: icmp, expect: denied", 1)
	if _, _, stderr, _ = runSpec(t, both, "generate"); !strings.Contains(stderr, "so these policies could lock you out and expose what should be denied; fix them, or set cilium.auditMode: true while you work on them") {
		t.Fatalf("a lockout and an exposure:\n%s", stderr)
	}
}

func TestRunbookAudit(t *testing.T) {
	code, stdout, _, _ := runSpec(t, seed(true, false), "runbook", "audit", "on")
	if code != 0 || !strings.Contains(stdout, `kubectl -n kube-system exec "$POD" -c cilium-agent -- cilium endpoint config "$EP" PolicyAuditMode=Enabled`) {
		t.Fatalf("runbook on: exit %d\n%s", code, stdout)
	}
	code, stdout, stderr, _ := runSpec(t, seed(true, true), "runbook", "audit", "off")
	if code != ExitFailure || stdout != "" || !strings.Contains(stderr, "kronform-gen: refusing to print the steps out of audit mode: 4 assertion(s) fail for cluster kronform\n") {
		t.Fatalf("runbook off with a lockout: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, stdout, _, _ = runSpec(t, seed(false, false), "runbook", "audit", "off")
	if code != 0 || !strings.Contains(stdout, "PolicyAuditMode=Disabled") {
		t.Fatalf("runbook off: exit %d\n%s", code, stdout)
	}
	if code, _, _, _ = runSpec(t, seed(false, false), "runbook", "audit", "maybe"); code != ExitUsage {
		t.Fatalf("runbook audit maybe: exit %d, want 2", code)
	}
}

// robotDiscardsAdmin is a cluster in audit mode whose hand-written Robot rules discard everything but ssh and the
// replies: the admin is locked out of 6443 and 50000 by Robot, which audit mode does not touch.
const robotDiscardsAdmin = `apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: kf
    apiServer: {host: api.example.com}
    nodes:
      - {name: cp1, addresses: [159.69.60.182], roles: [control-plane]}
    cilium: {version: 1.16.5, auditMode: true}
    hostPolicies:
      - {name: cp, preset: talos-control-plane}
    hetzner:
      adminSources: [89.23.224.44/32]
      rules:
        - {name: ssh, ipVersion: ipv4, protocol: tcp, dstPort: "22", action: accept}
        - {name: replies, ipVersion: ipv4, protocol: tcp, dstPort: 32768-65535, tcpFlags: ack, action: accept}
        - {name: udp replies, ipVersion: ipv4, protocol: udp, dstPort: 32768-65535, action: accept}
        - {name: drop, action: discard}
`

// Audit mode lets Cilium's policy drops pass, nothing else: a Robot template that discards the admin, or a family
// the agents do not run, locks the admin out with audit mode on too. generate refuses such a tree in audit mode as
// well, instead of writing it with a warning that the drops pass.
func TestGenerateRefusesLockoutAuditModeDoesNotLift(t *testing.T) {
	robot := robotDiscardsAdmin
	code, _, stderr, out := runSpec(t, robot, "generate")
	if code != ExitFailure || !strings.Contains(stderr, "FAIL  kf: built-in: admin -> node:cp1 6443/tcp allowed") ||
		!strings.Contains(stderr, "audit mode does not lift them all") || strings.Contains(stderr, "audit mode lets the drops pass") {
		t.Errorf("Robot discards the admin, audit on: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("generate wrote %s although the admin is locked out: %v", out, err)
	}
	// The refusal says where the fault is: not in the host policies (fixing those, or audit mode, changes nothing).
	refusal := stderr[strings.LastIndex(stderr, "kronform-gen: refusing"):]
	if strings.Contains(refusal, "these policies") || !strings.Contains(refusal, "the hetzner rules that discard") || !strings.Contains(refusal, "cilium.values") {
		t.Errorf("Robot discards the admin, audit on: the refusal does not say what to fix:\n%s", refusal)
	}

	// The same in Cilium's datapath: an IPv6 admin, and agents without IPv6.
	v6 := strings.NewReplacer("[159.69.60.182]", `[159.69.60.182, "2a01:4f8:1:2::2"]`, "[89.23.224.44/32]", `["2a02:8108::/32"]
      filterIPv6: true`).Replace(robot[:strings.Index(robot, "      rules:")])
	if code, _, stderr, _ = runSpec(t, v6, "generate"); code != ExitFailure || !strings.Contains(stderr, "audit mode does not lift them all") {
		t.Errorf("IPv6 admin, Cilium without IPv6, audit on: exit %d\n%s", code, stderr)
	}
	// With IPv6 on in Cilium the drops are policy drops, which audit mode lets pass: written, with the warning.
	v6on := strings.Replace(v6, "auditMode: true}", "auditMode: true, values: {ipv6: {enabled: true}}}", 1)
	if code, _, stderr, _ = runSpec(t, v6on, "generate"); code != 0 || strings.Contains(stderr, "FAIL") {
		t.Errorf("IPv6 on: exit %d\n%s", code, stderr)
	}
}

// Out of audit mode too, a refusal whose failures audit mode would not lift (the Robot firewall discards the admin,
// a node has no address in the family) must not offer audit mode as the way to work on them, nor blame the host
// policies: turning audit mode on gets the same tree refused again.
func TestGenerateRefusalAuditOffSaysWhenAuditModeWouldNotHelp(t *testing.T) {
	robot := strings.Replace(robotDiscardsAdmin, "auditMode: true}", "auditMode: false}", 1)
	family := `apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: kf
    apiServer: {host: api.example.com}
    nodes:
      - {name: cp1, addresses: [159.69.60.182], roles: [control-plane]}
      - {name: cp2, addresses: ["2a01:4f8:1:2::2"], roles: [control-plane]}
    cilium: {version: 1.16.5, auditMode: false, values: {ipv6: {enabled: true}}}
    hostPolicies:
      - {name: cp, preset: talos-control-plane}
`
	for name, s := range map[string]string{"robot": robot, "family": family} {
		code, _, stderr, out := runSpec(t, s, "generate")
		if code != ExitFailure || !strings.Contains(stderr, "kronform-gen: refusing") {
			t.Fatalf("%s: exit %d\n%s", name, code, stderr)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%s: generate wrote %s although it refused: %v", name, out, err)
		}
		refusal := stderr[strings.LastIndex(stderr, "kronform-gen: refusing"):]
		if strings.Contains(refusal, "set cilium.auditMode: true") || strings.Contains(refusal, "these policies") ||
			!strings.Contains(refusal, "audit mode does not lift them all") {
			t.Errorf("%s: the refusal points at audit mode or the policies, which would not help:\n%s", name, refusal)
		}
		if name == "family" && !strings.Contains(refusal, "nor a flow no address can carry") {
			t.Errorf("family: the refusal does not name what audit mode cannot lift here:\n%s", refusal)
		}
		// And indeed: in audit mode the same tree is refused too.
		audit := strings.Replace(s, "auditMode: false", "auditMode: true", 1)
		if code, _, stderr, _ = runSpec(t, audit, "generate"); code != ExitFailure {
			t.Errorf("%s, audit on: exit %d, want the refusal\n%s", name, code, stderr)
		}
	}

	// A lock-out in the host policies alone is what audit mode is for: that refusal still offers it.
	code, _, stderr, _ := runSpec(t, seed(false, true), "generate")
	if code != ExitFailure || !strings.Contains(stderr, "or set cilium.auditMode: true while you work on them") {
		t.Errorf("policy lock-out: exit %d\n%s", code, stderr)
	}
}
