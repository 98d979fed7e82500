package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kronform/kronform-gen/internal/gittest"
)

// workspace is a spec and its output folder in one temporary folder, generated again and again as the spec changes.
type workspace struct {
	t         *testing.T
	dir, spec string
}

func newWorkspace(t *testing.T) *workspace {
	return &workspace{t: t, dir: t.TempDir()}
}

// generate writes the spec and runs generate on it.
func (w *workspace) generate(specText string, args ...string) (code int, stderr string) {
	w.t.Helper()
	if err := os.WriteFile(filepath.Join(w.dir, "cluster-spec.yaml"), []byte(specText), 0o644); err != nil {
		w.t.Fatal(err)
	}
	var o, e bytes.Buffer
	code = Main(append([]string{"generate", "--spec", filepath.Join(w.dir, "cluster-spec.yaml"), "--out", filepath.Join(w.dir, "output")}, args...),
		strings.NewReader(""), &o, &e)
	return code, strings.ReplaceAll(e.String(), w.dir+string(filepath.Separator), "")
}

func (w *workspace) mustGenerate(specText string) string {
	w.t.Helper()
	code, stderr := w.generate(specText)
	if code != 0 {
		w.t.Fatalf("generate: exit %d\n%s", code, stderr)
	}
	return stderr
}

func (w *workspace) read(rel string) string {
	w.t.Helper()
	b, err := os.ReadFile(filepath.Join(w.dir, "output", filepath.FromSlash(rel)))
	if err != nil {
		w.t.Fatal(err)
	}
	return string(b)
}

// transitionSpec is the reviewer's repro: one control plane whose policy opens the APIs to the world only, in audit
// mode while it is worked out.
const transitionSpec = `apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: alpha
    apiServer: {host: api.alpha.example.com, port: 6443}
    nodes: [{name: a1, addresses: [198.51.100.1], roles: [control-plane]}]
    cilium: {version: 1.15.6, hostFirewall: true, kubeProxyReplacement: true, auditMode: true}
    hostPolicies:
      - name: cp
        nodes: {role: control-plane}
        ingress: [{entities: [world], ports: [6443/tcp, 50000/tcp, 50001/tcp]}]
    hetzner: {adminSources: [203.0.113.7/32]}
`

// fixed is transitionSpec with the policy fixed (Flux's pods are in cluster), audit mode off and Cilium 1.16: each
// change alone is sound, and the end state passes every check.
func fixed(s string) string {
	return strings.NewReplacer("entities: [world]", "entities: [world, cluster]", "auditMode: true", "auditMode: false",
		"version: 1.15.6", "version: 1.16.0").Replace(s)
}

// Flux applies the cilium Kustomization first and host-policies after it: new Cilium settings with the old policies
// in between. Turning audit off and fixing the policy in one change enforces the old policy in between, which cuts
// Flux off the API server, so host-policies never comes: generate refuses, naming both steps and the order to split
// them in, and writes nothing.
func TestGenerateRefusesUnsafeTransition(t *testing.T) {
	w := newWorkspace(t)
	w.mustGenerate(transitionSpec)
	release, policy := w.read("infrastructure/alpha/cilium/helmrelease.yaml"), w.read("infrastructure/alpha/host-policies/cp.yaml")

	code, stderr := w.generate(fixed(transitionSpec))
	for _, want := range []string{
		"cluster alpha: Flux applies this change in two steps: 1. cilium: chart 1.15.6 -> 1.16.0; values etcd, policyAuditMode; " +
			"2. host-policies, which waits for it: cp changed. The new chart version restarts the agents in step 1 (a new image). " +
			"What Flux applies now is read in output: the folder is in no git repository",
		"cluster alpha: after step 1 and before step 2, the agents run the new Cilium settings with the host policies in output, and 1 check(s) fail:\n" +
			"FAIL  alpha: built-in: pod:app=kustomize-controller,io.kubernetes.pod.namespace=flux-system -> node:a1 6443/tcp allowed",
		"cluster alpha: a way that works: first the host policies alone, with the Cilium settings in output; commit, push and let Flux apply them; then the Cilium change.\n",
		"kronform-gen: refusing to write output: cluster alpha: 1 check(s) fail between Flux's two steps, which could lock you out " +
			"(Flux too: then nothing more is applied); split the change as given above\n",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if code != ExitFailure {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	if w.read("infrastructure/alpha/cilium/helmrelease.yaml") != release || w.read("infrastructure/alpha/host-policies/cp.yaml") != policy {
		t.Fatal("a refused generate wrote the tree")
	}

	// Split as told: the policy first, with Cilium as it is (audit on); then Cilium, whose in-between state is the
	// end state.
	policyFirst := strings.Replace(transitionSpec, "entities: [world]", "entities: [world, cluster]", 1)
	w.mustGenerate(policyFirst)
	w.mustGenerate(fixed(transitionSpec))
}

// Audit mode on does not make a change safe in between: the agents take it only when they restart, and the chart
// does not restart them, so host-policies can be enforced under the old settings, audit off. Geneve with its port
// instead of VXLAN's, with audit mode turned on, leaves VXLAN running under a policy that drops it: refused, with
// the ways that work, which then pass.
func TestGenerateRefusesPoliciesAheadOfAuditMode(t *testing.T) {
	w := newWorkspace(t)
	w.mustGenerate(twoNodes)
	geneve := strings.NewReplacer("auditMode: false}", "auditMode: true, values: {routingMode: tunnel, tunnelProtocol: geneve}}",
		"8472/udp", "6081/udp").Replace(twoNodes)
	stderr := w.mustRefuse(geneve, nil,
		"The agents take the new values (policyAuditMode, routingMode, tunnelProtocol) only when they restart, which the chart does not do here",
		"cluster alpha: after step 2 and until the agents restart, they run the Cilium settings in output with the new host policies, and 2 check(s) fail:\n"+
			"FAIL  alpha: built-in: node:a2 -> node:a1 8472/udp allowed (Cilium's VXLAN overlay carries pod traffic between nodes)\n",
		"cluster alpha: a way that works: set rollOutCiliumPods: true in cilium.values in this change: the chart then restarts the agents in step 1, "+
			"so only the new Cilium settings with the host policies in output come in between, and they pass. Or first the Cilium change alone, "+
			"with the host policies in output; commit, push and let Flux apply it; restart the agents (kubectl -n kube-system rollout restart "+
			"daemonset/cilium; kubectl -n kube-system rollout status daemonset/cilium); then the host policies.\n",
	)
	if strings.Contains(stderr, "after step 1 and before step 2") {
		t.Errorf("audit mode on enforces nothing between the steps:\n%s", stderr)
	}
	// Either way out passes.
	w.mustGenerate(strings.Replace(geneve, "tunnelProtocol: geneve}", "tunnelProtocol: geneve, rollOutCiliumPods: true}", 1))
	w = newWorkspace(t)
	w.mustGenerate(twoNodes)
	w.mustGenerate(strings.Replace(geneve, "6081/udp", "8472/udp", 1))
	w.mustGenerate(geneve)
}

// The reviewer's repro: audit mode on and a policy that denies the APIs to the world, in one change. Audit mode
// waits for the agents' restart; the deny does not, and the restart the note asks for needs the API it cuts.
func TestGenerateRefusesDenyAheadOfAuditMode(t *testing.T) {
	w := newWorkspace(t)
	w.mustGenerate(twoNodes)
	lock := "      - {name: lock, nodes: {role: control-plane}, ingressDeny: [{entities: [world], ports: [6443/tcp, 50000/tcp]}]}\n"
	locked := strings.Replace(twoNodes, "    hetzner:", lock+"    hetzner:", 1)
	both := strings.Replace(locked, "auditMode: false", "auditMode: true", 1)
	w.mustRefuse(both, nil,
		"2. host-policies, which waits for it: lock added. The agents take the new values (policyAuditMode) only when they restart",
		"cluster alpha: after step 2 and until the agents restart, they run the Cilium settings in output with the new host policies, and 4 check(s) fail:\n"+
			"FAIL  alpha: built-in: admin -> node:a1 6443/tcp allowed (the admin reaches the Kubernetes API)\n",
		"cluster alpha: a way that works: set rollOutCiliumPods: true in cilium.values in this change",
		"kronform-gen: refusing to write output: cluster alpha: 4 check(s) fail between Flux's two steps, which could lock you out",
	)
	// Audit mode first, then the deny: the second change leaves the settings alone, so nothing comes in between.
	if stderr := w.mustGenerate(strings.Replace(twoNodes, "auditMode: false", "auditMode: true", 1)); !strings.Contains(stderr, "restart them (until then audit mode stays off)") {
		t.Errorf("no restart note:\n%s", stderr)
	}
	w.mustGenerate(both)
}

// Without a hetzner block native routing may replace the overlay. Its values wait for the agents' restart, and a
// policy that no longer opens VXLAN's port is applied in step 2: the agents still tunnel in VXLAN until they restart.
func TestGenerateRefusesPoliciesAheadOfNativeRouting(t *testing.T) {
	w := newWorkspace(t)
	noHetzner := strings.Replace(twoNodes, "    hetzner: {adminSources: [203.0.113.7/32]}\n", "", 1)
	w.mustGenerate(noHetzner)
	native := strings.NewReplacer("auditMode: false}", "auditMode: false, values: {routingMode: native, ipv4NativeRoutingCIDR: 10.0.0.0/8, autoDirectNodeRoutes: true}}",
		" 8472/udp,", "").Replace(noHetzner)
	w.mustRefuse(native, nil,
		"cluster alpha: after step 2 and until the agents restart, they run the Cilium settings in output with the new host policies, and 2 check(s) fail:\n"+
			"FAIL  alpha: built-in: node:a2 -> node:a1 8472/udp allowed (Cilium's VXLAN overlay carries pod traffic between nodes)\n",
		"cluster alpha: a way that works: set rollOutCiliumPods: true in cilium.values in this change",
	)
	w.mustGenerate(strings.Replace(native, "autoDirectNodeRoutes: true}", "autoDirectNodeRoutes: true, rollOutCiliumPods: true}", 1))
}

// twoNodes is a sound cluster of two control planes, audit mode off, on Cilium's default VXLAN overlay.
const twoNodes = `apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: alpha
    apiServer: {host: api.alpha.example.com, port: 6443}
    nodes:
      - {name: a1, addresses: [198.51.100.1], roles: [control-plane]}
      - {name: a2, addresses: [198.51.100.2], roles: [control-plane]}
    cilium: {version: 1.16.0, hostFirewall: true, kubeProxyReplacement: true, auditMode: false}
    hostPolicies:
      - name: cp
        nodes: {role: control-plane}
        ingress:
          - {entities: [world, cluster], ports: [6443/tcp, 50000-50001/tcp]}
          - {entities: [remote-node], ports: [2379-2380/tcp, 10250/tcp, 8472/udp, 4240/tcp]}
    hetzner: {adminSources: [203.0.113.7/32]}
`

// The reviewer's second repro: audit already off, Geneve instead of VXLAN and a policy that opens its port, in one
// change. In between, the agents tunnel over 6081/udp, which the old policy drops.
func TestGenerateRefusesOverlayChangeWithItsPolicy(t *testing.T) {
	w := newWorkspace(t)
	w.mustGenerate(twoNodes)
	openGeneve := strings.Replace(twoNodes, "          - {entities: [remote-node], ports: [2379", "          - {entities: [remote-node], ports: [6081/udp]}\n          - {entities: [remote-node], ports: [2379", 1)
	geneve := strings.Replace(openGeneve, "auditMode: false}", "auditMode: false, values: {routingMode: tunnel, tunnelProtocol: geneve}}", 1)
	code, stderr := w.generate(geneve)
	if code != ExitFailure || !strings.Contains(stderr, "1. cilium: values routingMode, tunnelProtocol; 2. host-policies, which waits for it: cp changed.") ||
		!strings.Contains(stderr, "after step 1 and before step 2, the agents run the new Cilium settings with the host policies in output, and 2 check(s) fail:\n"+
			"FAIL  alpha: built-in: node:a2 -> node:a1 6081/udp allowed (Cilium's Geneve overlay carries pod traffic between nodes)") ||
		!strings.Contains(stderr, "cluster alpha: a way that works: first the host policies alone, with the Cilium settings in output;") {
		t.Fatalf("exit %d, want 1 and the Geneve port failing in between\n%s", code, stderr)
	}
	w.mustGenerate(openGeneve)
	w.mustGenerate(geneve)
}

// A port range is written with endPort from Cilium 1.16; an agent before 1.16 knows no endPort and enforces the
// range's first port alone. Downgrading keeps the 1.16 policy applied under the old agent in between: trustd (50001)
// of 50000-50001 is cut between the control planes. The policies cannot go first (at 1.16 the spec writes the range
// with endPort): the ranges must be written as single ports first, which then lets the downgrade through.
func TestGenerateRefusesDowngradeUnderRangePolicies(t *testing.T) {
	w := newWorkspace(t)
	w.mustGenerate(twoNodes)
	downgrade := strings.NewReplacer("version: 1.16.0", "version: 1.15.6",
		"8472/udp, 4240/tcp]}", "8472/udp, 4240/tcp, 4244/tcp]}").Replace(twoNodes)
	stderr := w.mustRefuse(downgrade, nil,
		"FAIL  alpha: built-in: node:a2 -> node:a1 50001/tcp allowed (nodes get certificates from trustd)",
		"cluster alpha: a way that works: first write the port ranges of the host policies as single ports (cp: 50000-50001/tcp, "+
			"cp: 2379-2380/tcp), with the Cilium settings in output: an agent before 1.16 knows no endPort and enforces only the first "+
			"port of a range written for 1.16.0 until host-policies is applied",
	)
	if strings.Contains(stderr, "first the host policies alone") {
		t.Errorf("advice that cannot be followed:\n%s", stderr)
	}
	singles := strings.NewReplacer("50000-50001/tcp", "50000/tcp, 50001/tcp", "2379-2380/tcp", "2379/tcp, 2380/tcp")
	w.mustGenerate(singles.Replace(twoNodes))
	w.mustGenerate(singles.Replace(downgrade))
}

// A range the agent in between enforces as its first port also shrinks a deny: with audit mode off after the
// change, a check that expects a denial and holds now fails in between (exposed until host-policies is applied):
// here a policy opens every port to the world but etcd's.
func TestGenerateRefusesDowngradeExposingDenyRange(t *testing.T) {
	w := newWorkspace(t)
	deny := strings.NewReplacer("    hetzner:", "      - {name: etcd, nodes: {role: control-plane}, ingress: [{entities: [world]}], ingressDeny: [{entities: [world], ports: [2379-2380/tcp]}]}\n    hetzner:",
		"50000-50001/tcp", "50000/tcp, 50001/tcp", "2379-2380/tcp, 10250", "2379/tcp, 2380/tcp, 10250").Replace(twoNodes) +
		"    assertions: [{from: world, to: a1, port: 2380/tcp, expect: denied}]\n"
	w.mustGenerate(deny)
	w.mustRefuse(strings.Replace(deny, "version: 1.16.0", "version: 1.15.6", 1), nil,
		"after step 1 and before step 2, the agents run the new Cilium settings with the host policies in output, and 1 check(s) fail:\n"+
			"FAIL  alpha: cluster-spec.yaml:",
		"clusters[0].assertions[0]: world -> a1 2380/tcp denied",
		"kronform-gen: refusing to write output: cluster alpha: 1 check(s) fail between Flux's two steps, which would expose what they should deny",
	)
}

// The policies applied now must be known to judge the state in between: a host-policies folder kronform-gen could
// not have written (a patch in its kustomization.yaml) is refused as unverifiable.
func TestGenerateRefusesTransitionFromUnknownPolicies(t *testing.T) {
	w := newWorkspace(t)
	w.mustGenerate(twoNodes)
	k := filepath.Join(w.dir, "output", "infrastructure", "alpha", "host-policies", "kustomization.yaml")
	b, err := os.ReadFile(k)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(k, append(b, "patches: [{path: more.yaml}]\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	w.mustRefuse(strings.NewReplacer("auditMode: false}", "auditMode: false, values: {tunnelPort: 8473}}",
		"8472/udp", "8472-8473/udp").Replace(twoNodes), nil,
		"after step 1 and before step 2, the agents run the new Cilium settings with the host policies in output, which cannot be read: "+
			"infrastructure/alpha/host-policies/kustomization.yaml: patches: kronform-gen writes only a list of resources\n",
		"cluster alpha: a way that works: first the host policies alone, with the Cilium settings in output;",
		"kronform-gen: refusing to write output: cluster alpha: the state between Flux's two steps cannot be verified; split the change as given above\n",
	)
}

// What Flux applies is what was committed: in a git repository the state in between is judged against HEAD, so two
// runs before one commit (the policies, then Cilium) are one change, and refused as such. Committed in between, the
// second run is its own step.
func TestTransitionJudgedAgainstHEAD(t *testing.T) {
	gittest.Isolate(t)
	w := newWorkspace(t)
	gittest.Run(t, w.dir, "init", "-q")
	w.mustGenerate(transitionSpec)
	gittest.Run(t, w.dir, "add", "-A")
	gittest.Run(t, w.dir, "commit", "-q", "-m", "audit mode")

	policyFirst := strings.Replace(transitionSpec, "entities: [world]", "entities: [world, cluster]", 1)
	w.mustGenerate(policyFirst) // written, not committed
	code, stderr := w.generate(fixed(transitionSpec))
	if code != ExitFailure || !strings.Contains(stderr, "with the host policies at HEAD, and 1 check(s) fail") ||
		!strings.Contains(stderr, "What Flux applies now is read at HEAD: no remote branch Flux follows is known") {
		t.Fatalf("the policy and Cilium generated in two runs but not committed apart: exit %d, want 1\n%s", code, stderr)
	}
	gittest.Run(t, w.dir, "add", "-A")
	gittest.Run(t, w.dir, "commit", "-q", "-m", "policy")
	w.mustGenerate(fixed(transitionSpec))
}

// The agents read cilium-config only when they start and the chart does not restart them when it changes, so audit
// mode, either way, takes effect only after a restart: generate says so. A new chart version restarts them (a new
// image), and rollOutCiliumPods makes the chart do it: no note then.
func TestGenerateSaysToRestartAgents(t *testing.T) {
	w := newWorkspace(t)
	if stderr := w.mustGenerate(twoNodes); strings.Contains(stderr, "restart") {
		t.Fatalf("a new tree: %s", stderr)
	}
	stderr := w.mustGenerate(strings.Replace(twoNodes, "auditMode: false", "auditMode: true", 1))
	want := "note: cluster alpha: Cilium's values change (policyAuditMode): the agents read cilium-config only when they start, and the chart restarts them " +
		"only with rollOutCiliumPods: true; once Flux has applied this, restart them (until then audit mode stays off): kubectl -n kube-system rollout restart daemonset/cilium\n"
	if !strings.Contains(stderr, want) {
		t.Fatalf("audit mode on: stderr lacks %q:\n%s", want, stderr)
	}
	if stderr := w.mustGenerate(twoNodes); !strings.Contains(stderr, "(until then audit mode stays on)") {
		t.Fatalf("audit mode off:\n%s", stderr)
	}
	if stderr := w.mustGenerate(strings.Replace(twoNodes, "version: 1.16.0", "version: 1.16.1", 1)); strings.Contains(stderr, "restart") {
		t.Fatalf("a new chart version restarts the agents itself:\n%s", stderr)
	}
	rollOut := strings.Replace(twoNodes, "auditMode: false}", "auditMode: true, values: {rollOutCiliumPods: true}}", 1)
	if stderr := w.mustGenerate(rollOut); strings.Contains(stderr, "restart") {
		t.Fatalf("rollOutCiliumPods: true restarts the agents itself:\n%s", stderr)
	}
}

// nodePorts is a sound cluster with a worker that opens a NodePort range to the world, which the admin uses.
const nodePorts = `apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: alpha
    apiServer: {host: api.alpha.example.com, port: 6443}
    nodes:
      - {name: a1, addresses: [198.51.100.1], roles: [control-plane]}
      - {name: w1, addresses: [198.51.100.11], roles: [worker]}
    cilium: {version: 1.16.0, hostFirewall: true, kubeProxyReplacement: true, auditMode: false}
    hostPolicies:
      - name: cp
        nodes: {role: control-plane}
        ingress:
          - {entities: [world, cluster], ports: [6443/tcp, 50000/tcp, 50001/tcp]}
          - {entities: [remote-node], ports: [8472/udp, 4240/tcp]}
      - name: workers
        nodes: {role: worker}
        ingress:
          - {entities: [world], ports: [30000-30010/tcp]}
          - {entities: [remote-node], ports: [10250/tcp, 50000/tcp, 8472/udp, 4240/tcp]}
    hetzner: {adminSources: [89.23.224.44/32]}
    assertions:
      - {from: 89.23.224.44, to: w1, port: 30005/tcp, expect: allowed}
`

// nodePortsSingle writes nodePorts' range as its eleven ports.
var nodePortsSingle = strings.Replace(nodePorts, "30000-30010/tcp", "30000/tcp, 30001/tcp, 30002/tcp, 30003/tcp, 30004/tcp, "+
	"30005/tcp, 30006/tcp, 30007/tcp, 30008/tcp, 30009/tcp, 30010/tcp", 1)

// Flux applies what was pushed, not HEAD: two changes committed one after the other and pushed together reach Flux as
// one. The reviewer's repro: the range written as single ports, committed; the downgrade to 1.15, committed; pushed
// together, the 1.16 range is applied under the 1.15 agent in between, which cuts 30005. Judged against the
// upstream, the second commit is refused, saying why; pushed (and so applied) first, it passes.
func TestTransitionJudgedAgainstUpstream(t *testing.T) {
	gittest.Isolate(t)
	w := newWorkspace(t)
	remote := t.TempDir()
	gittest.Run(t, remote, "init", "-q", "--bare")
	gittest.Run(t, w.dir, "init", "-q", "-b", "main")
	gittest.Run(t, w.dir, "remote", "add", "origin", remote)
	w.mustGenerate(nodePorts)
	gittest.Run(t, w.dir, "add", "-A")
	gittest.Run(t, w.dir, "commit", "-q", "-m", "alpha")
	gittest.Run(t, w.dir, "push", "-q", "-u", "origin", "main")

	if code, stderr := w.generate(nodePortsSingle, "--commit", "-m", "single ports"); code != 0 {
		t.Fatalf("single ports: exit %d\n%s", code, stderr)
	}
	downgrade := strings.Replace(nodePortsSingle, "version: 1.16.0", "version: 1.15.6", 1)
	w.mustRefuse(downgrade, []string{"--commit", "-m", "1.15"},
		"What Flux applies now is read at origin/main: the upstream of the current branch, as this clone last fetched or pushed it",
		"HEAD has 1 commit(s) changing the tree that origin/main lacks: Flux has not applied them, so they count as part of this change "+
			"(push them and let Flux apply them first, if each is a step of its own).\n",
		"after step 1 and before step 2, the agents run the new Cilium settings with the host policies at origin/main, and 1 check(s) fail:\n"+
			"FAIL  alpha: cluster-spec.yaml:",
		"clusters[0].assertions[0]: 89.23.224.44 -> w1 30005/tcp allowed",
	)
	gittest.Run(t, w.dir, "push", "-q", "origin", "main")
	if code, stderr := w.generate(downgrade, "--commit", "-m", "1.15"); code != 0 {
		t.Fatalf("the single ports pushed: exit %d\n%s", code, stderr)
	}
}

// Without an upstream, the branch flux bootstrap's GitRepository names, on the remote of its URL, is what Flux
// applies: on a feature branch, two unpushed commits are judged against origin/main.
func TestTransitionJudgedAgainstTheBranchFluxFollows(t *testing.T) {
	gittest.Isolate(t)
	w := newWorkspace(t)
	gittest.Run(t, w.dir, "init", "-q", "-b", "main")
	gittest.Run(t, w.dir, "remote", "add", "origin", "git@github.com:acme/fleet.git")
	w.mustGenerate(nodePorts)
	sync := filepath.Join(w.dir, "output", "clusters", "alpha", "flux-system", "gotk-sync.yaml")
	if err := os.MkdirAll(filepath.Dir(sync), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sync, []byte(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 1m0s
  ref: {branch: main}
  secretRef: {name: flux-system}
  url: ssh://git@github.com/acme/fleet
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 10m0s
  path: ./clusters/alpha
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	gittest.Run(t, w.dir, "add", "-A")
	gittest.Run(t, w.dir, "commit", "-q", "-m", "alpha")
	// As if pushed and fetched: the remote-tracking branch, and no upstream.
	gittest.Run(t, w.dir, "update-ref", "refs/remotes/origin/main", "HEAD")
	gittest.Run(t, w.dir, "checkout", "-q", "-b", "feature")

	if code, stderr := w.generate(nodePortsSingle, "--commit", "-m", "single ports"); code != 0 {
		t.Fatalf("single ports: exit %d\n%s", code, stderr)
	}
	w.mustRefuse(strings.Replace(nodePortsSingle, "version: 1.16.0", "version: 1.15.6", 1), []string{"--commit", "-m", "1.15"},
		"What Flux applies now is read at origin/main: branch main of ssh://git@github.com/acme/fleet, which Flux follows "+
			"(clusters/alpha/flux-system/gotk-sync.yaml), as this clone last fetched or pushed it. HEAD has 1 commit(s)")
}

// A renamed cluster keeps its Flux folder (flux.path), and what Flux applies there is found through the
// Kustomizations in it, wherever they point: the release under infrastructure/alpha/ is not new to the cluster, and
// the downgrade that comes with the rename is judged against it.
func TestTransitionFollowsTheClusterFolder(t *testing.T) {
	w := newWorkspace(t)
	w.mustGenerate(twoNodes)
	renamed := strings.NewReplacer("  - name: alpha\n", "  - name: alpha2\n    flux: {path: clusters/alpha}\n",
		"version: 1.16.0", "version: 1.15.6").Replace(twoNodes)
	w.mustRefuse(renamed, nil,
		"cluster alpha2: Flux applies this change in two steps: 1. cilium: chart 1.16.0 -> 1.15.6;",
		"FAIL  alpha2: built-in: node:a2 -> node:a1 50001/tcp allowed (nodes get certificates from trustd)",
	)
}

// Values the agents do not read (the operator's) restart no agent and leave the agents' settings as they are: no
// restart note, and no state in between, so a new flow asserted with the policy that opens it goes in one change.
func TestNonAgentValuesChangeNoAgent(t *testing.T) {
	w := newWorkspace(t)
	operator := strings.Replace(twoNodes, "auditMode: false}", "auditMode: false, values: {operator: {replicas: 2}}}", 1)
	w.mustGenerate(operator)
	more := strings.NewReplacer("replicas: 2", "replicas: 3", "ports: [6443/tcp, 50000-50001/tcp]", "ports: [6443/tcp, 50000-50001/tcp, 8080/tcp]").Replace(operator) +
		"    assertions: [{from: world, to: a1, port: 8080/tcp, expect: allowed}]\n"
	stderr := w.mustGenerate(more)
	if strings.Contains(stderr, "restart") {
		t.Errorf("operator.replicas needs no agent restart:\n%s", stderr)
	}
}

// The Robot template of a first generate replaces nothing: the note says it is new.
func TestGenerateNotesNewRobotTemplate(t *testing.T) {
	w := newWorkspace(t)
	stderr := w.mustGenerate(twoNodes)
	want := "note: the Robot firewall template in hetzner/alpha/ is new, and Flux does not apply it: upload hetzner/alpha/firewall-template.form " +
		"to Robot and apply it to each server of the cluster (docs/firewall.md, \"The Hetzner escape hatch\"); until then it filters nothing, whatever verify says\n"
	if !strings.Contains(stderr, want) || strings.Contains(stderr, "keep the old one") {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
	stderr = w.mustGenerate(strings.Replace(twoNodes, "203.0.113.7/32", "203.0.113.8/32", 1))
	if !strings.Contains(stderr, "hetzner/alpha/ changed, and Flux does not apply it") || !strings.Contains(stderr, "until then the servers keep the old one") {
		t.Errorf("a changed template:\n%s", stderr)
	}
}

// A cluster renamed with its folder and its Robot template name kept (as the README says to rename one) moves the
// template's files from hetzner/<old>/ to hetzner/<new>/, but Robot knows a template by its name: it is the one Robot
// has. The notes said it was new and filtered nothing, and that the old one stayed in Robot until removed there:
// removing it would take the escape hatch off the servers.
func TestGenerateRobotTemplateMovedWithItsCluster(t *testing.T) {
	w := newWorkspace(t)
	named := strings.Replace(twoNodes, "hetzner: {adminSources", "hetzner: {template: alpha-fw, adminSources", 1)
	w.mustGenerate(named)
	renamed := strings.Replace(named, "  - name: alpha\n", "  - name: beta\n    flux: {path: clusters/alpha}\n", 1)
	stderr := w.mustGenerate(renamed)
	want := "note: the Robot firewall template alpha-fw moved from hetzner/alpha/ to hetzner/beta/ unchanged: it is the template Robot has, nothing to upload or remove\n"
	if !strings.Contains(stderr, want) || strings.Contains(stderr, "is new") || strings.Contains(stderr, "no longer generated") {
		t.Errorf("an unchanged template moved: want %q, and no other note about it, in:\n%s", want, stderr)
	}
	// Moved and changed: to upload, as any changed template, and nothing to remove.
	stderr = w.mustGenerate(strings.NewReplacer("name: beta", "name: gamma", "203.0.113.7/32", "203.0.113.8/32").Replace(renamed))
	want = "note: the Robot firewall template alpha-fw (moved from hetzner/beta/ to hetzner/gamma/) changed, and Flux does not apply it: upload hetzner/gamma/firewall-template.form"
	if !strings.Contains(stderr, want) || !strings.Contains(stderr, "until then the servers keep the old one") || strings.Contains(stderr, "no longer generated") {
		t.Errorf("a changed template moved: want %q in:\n%s", want, stderr)
	}
	// Moved under a new name, it is another template in Robot: new, and the old one stays there until removed.
	stderr = w.mustGenerate(strings.NewReplacer("name: beta", "name: delta", "203.0.113.7/32", "203.0.113.8/32", "template: alpha-fw", "template: delta-fw").Replace(renamed))
	if !strings.Contains(stderr, "hetzner/delta/ is new") || !strings.Contains(stderr, "note: hetzner/gamma/ is no longer generated") || strings.Contains(stderr, "moved from") {
		t.Errorf("a template moved under another name:\n%s", stderr)
	}
}

// A Robot template name that another cluster takes over (a new one; the cluster that had it renamed, under a new
// template name) is no move: the new cluster's servers have no template yet, so it is to upload and apply to them,
// however alike the files are (one node, the same admin: the same form). generate said it "moved ... unchanged: it
// is the template Robot has, nothing to upload or remove", leaving the new servers without their escape hatch.
func TestGenerateRobotTemplateNameTakenOverIsNotMoved(t *testing.T) {
	w := newWorkspace(t)
	alpha := `apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: alpha
    apiServer: {host: api.alpha.example.com, port: 6443}
    nodes: [{name: a1, addresses: [198.51.100.1], roles: [control-plane]}]
    cilium: {version: 1.16.0, auditMode: false}
    hostPolicies:
      - {name: cp, preset: talos-control-plane}
    hetzner: {template: alpha-fw, adminSources: [203.0.113.7/32]}
`
	w.mustGenerate(alpha)
	delta := strings.NewReplacer("alpha-fw", "alpha-fw", "alpha", "delta", "198.51.100.1", "198.51.100.4").Replace(alpha[strings.Index(alpha, "  - name:"):])
	renamed := strings.NewReplacer("  - name: alpha\n", "  - name: gamma\n    flux: {path: clusters/alpha}\n", "template: alpha-fw", "template: gamma-fw").Replace(alpha)
	stderr := w.mustGenerate(renamed + delta)
	for _, want := range []string{
		"note: the Robot firewall template in hetzner/delta/ is new, and Flux does not apply it: upload hetzner/delta/firewall-template.form",
		"note: hetzner/alpha/ is no longer generated",
	} {
		if !strings.Contains(stderr, want) || strings.Contains(stderr, "moved from") {
			t.Errorf("a template name another cluster takes over: want %q, and no move, in:\n%s", want, stderr)
		}
	}
	if got := w.read("hetzner/delta/firewall-template.form"); !strings.Contains(got, "name=alpha-fw&") {
		t.Fatalf("the case needs delta to hold alpha-fw:\n%s", got)
	}
}

// Two clusters that swap names (each its flux.path and its template name kept) swap folders under hetzner/: each
// template is the one Robot has, on the same servers. generate paired only a folder that went away with one that
// came, so it said both templates changed, to upload, and the servers kept the old ones; and a folder left holding
// another's template did not say that its own is no longer generated.
func TestGenerateRobotTemplatesSwappedWithTheirClusters(t *testing.T) {
	w := newWorkspace(t)
	two := twoNodes + strings.NewReplacer("alpha", "beta", "198.51.100.", "198.51.101.").Replace(twoNodes[strings.Index(twoNodes, "  - name: alpha"):])
	named := strings.NewReplacer("hetzner: {adminSources", "hetzner: {template: TEMPLATE, adminSources").Replace(two)
	named = strings.Replace(named, "TEMPLATE", "alpha-fw", 1)
	named = strings.Replace(named, "TEMPLATE", "beta-fw", 1)
	w.mustGenerate(named)
	swapped := strings.NewReplacer("  - name: alpha\n", "  - name: beta\n    flux: {path: clusters/alpha}\n",
		"  - name: beta\n", "  - name: alpha\n    flux: {path: clusters/beta}\n").Replace(named)
	stderr := w.mustGenerate(swapped)
	for _, want := range []string{
		"note: the Robot firewall template alpha-fw moved from hetzner/alpha/ to hetzner/beta/ unchanged: it is the template Robot has, nothing to upload or remove\n",
		"note: the Robot firewall template beta-fw moved from hetzner/beta/ to hetzner/alpha/ unchanged: it is the template Robot has, nothing to upload or remove\n",
	} {
		if !strings.Contains(stderr, want) || strings.Contains(stderr, "upload hetzner/") || strings.Contains(stderr, "no longer generated") {
			t.Errorf("two clusters swapping names: want %q, and nothing to upload or remove, in:\n%s", want, stderr)
		}
	}
	// beta (renamed alpha) keeps its folder clusters/beta and takes beta-fw to hetzner/alpha/, where alpha-fw was; the
	// cluster that had alpha-fw is gone, so alpha-fw is no longer generated, though its folder is.
	gone := strings.Replace(named[:strings.Index(named, "  - name: beta")], "  - name: alpha\n", "  - name: placeholder\n", 1)
	gone = gone[:strings.Index(gone, "  - name: placeholder")] + strings.Replace(named[strings.Index(named, "  - name: beta"):], "  - name: beta\n", "  - name: alpha\n    flux: {path: clusters/beta}\n", 1)
	w.mustGenerate(named)
	stderr = w.mustGenerate(gone)
	for _, want := range []string{
		"note: the Robot firewall template beta-fw moved from hetzner/beta/ to hetzner/alpha/ unchanged",
		"note: the Robot firewall template alpha-fw that hetzner/alpha/ held is no longer generated: it stays in Robot, and on the servers it is applied to, until you remove it there\n",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("a folder left holding another cluster's template: want %q in:\n%s", want, stderr)
		}
	}
}

// A chart version that is written anew but may name the release installed (v1.16.0 for 1.16.0, a range that admits
// it) installs no new image, so it restarts no agent: the geneve change with audit mode on and VXLAN's port closed
// is refused as it is without it, and says to restart the agents when let through. A chart that is certainly another
// restarts them in step 1, where audit mode on enforces nothing.
func TestGenerateRefusesPoliciesAheadOfAgentsUnderTheSameChart(t *testing.T) {
	geneve := strings.NewReplacer("auditMode: false}", "auditMode: true, values: {routingMode: tunnel, tunnelProtocol: geneve}}",
		"8472/udp", "6081/udp")
	for _, version := range []string{`"v1.16.0"`, `"~1.16.0"`, `">=1.16.0 <1.16.1"`} {
		w := newWorkspace(t)
		w.mustGenerate(twoNodes)
		code, stderr := w.generate(geneve.Replace(strings.Replace(twoNodes, "version: 1.16.0", "version: "+version, 1)))
		for _, want := range []string{
			"only when they restart, which the chart does not do here (" + strings.Trim(version, `"`) + " may name the chart 1.16.0 installed, so no new image, no rollOutCiliumPods)",
			"cluster alpha: after step 2 and until the agents restart, they run the Cilium settings in output with the new host policies, and 2 check(s) fail:\n" +
				"FAIL  alpha: built-in: node:a2 -> node:a1 8472/udp allowed",
		} {
			if code != ExitFailure || !strings.Contains(stderr, want) {
				t.Errorf("%s: exit %d, want 1 and %q in:\n%s", version, code, want, stderr)
			}
		}
		// Audit mode alone goes through, and needs the restart.
		auditOn := strings.NewReplacer("version: 1.16.0", "version: "+version, "auditMode: false", "auditMode: true").Replace(twoNodes)
		if stderr := w.mustGenerate(auditOn); !strings.Contains(stderr, "note: cluster alpha: Cilium's values change (policyAuditMode)") {
			t.Errorf("%s: no restart note:\n%s", version, stderr)
		}
	}
	w := newWorkspace(t)
	w.mustGenerate(twoNodes)
	w.mustGenerate(geneve.Replace(strings.Replace(twoNodes, "version: 1.16.0", "version: 1.16.1", 1)))
}

// The refusal names a value as it is spelt: rollOutCiliumPods, not a capitalised key that the chart does not read.
func TestRefusalSpellsRollOutCiliumPods(t *testing.T) {
	w := newWorkspace(t)
	w.mustGenerate(twoNodes)
	code, stderr := w.generate(strings.NewReplacer("auditMode: false}", "auditMode: false, values: {rollOutCiliumPods: true, tunnelPort: 8473}}",
		"8472/udp", "8472-8473/udp").Replace(twoNodes))
	if code != ExitFailure || !strings.Contains(stderr, " With rollOutCiliumPods the chart restarts the agents in step 1.") ||
		strings.Contains(stderr, "RollOutCiliumPods") {
		t.Errorf("exit %d, want 1 and the key as written:\n%s", code, stderr)
	}
}

// A GitRepository may follow a tag: Flux applies the commit the tag names, whatever the branches hold, so commits
// after it reach Flux together when the tag moves. The downgrade is judged against the tag (the range still applied),
// not against HEAD, where the single ports are committed but not yet tagged.
func TestTransitionJudgedAgainstTheTagFluxFollows(t *testing.T) {
	gittest.Isolate(t)
	w := newWorkspace(t)
	gittest.Run(t, w.dir, "init", "-q", "-b", "main")
	w.mustGenerate(nodePorts)
	sync := filepath.Join(w.dir, "output", "clusters", "alpha", "flux-system", "gotk-sync.yaml")
	if err := os.MkdirAll(filepath.Dir(sync), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sync, []byte(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 1m0s
  ref: {tag: live}
  url: ssh://git@github.com/acme/fleet
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 10m0s
  path: ./clusters/alpha
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	gittest.Run(t, w.dir, "add", "-A")
	gittest.Run(t, w.dir, "commit", "-q", "-m", "alpha")
	gittest.Run(t, w.dir, "tag", "-a", "-m", "live", "live")

	if code, stderr := w.generate(nodePortsSingle, "--commit", "-m", "single ports"); code != 0 {
		t.Fatalf("single ports: exit %d\n%s", code, stderr)
	}
	downgrade := strings.Replace(nodePortsSingle, "version: 1.16.0", "version: 1.15.6", 1)
	w.mustRefuse(downgrade, nil,
		"What Flux applies now is read at live: tag live, which Flux follows (clusters/alpha/flux-system/gotk-sync.yaml), as this "+
			"clone last fetched it. HEAD has 1 commit(s) changing the tree that live lacks",
		"after step 1 and before step 2, the agents run the new Cilium settings with the host policies at live, and 1 check(s) fail:",
	)
	gittest.Run(t, w.dir, "tag", "-f", "-a", "-m", "live", "live")
	w.mustGenerate(downgrade)
}

// Values that pin the agents' image keep it across a chart version: the new chart need not restart the agents, so
// the geneve change with audit mode on and VXLAN's port closed is refused as under the same chart.
func TestGenerateRefusesPoliciesAheadOfAgentsWhoseImageIsPinned(t *testing.T) {
	pinned := strings.Replace(twoNodes, "auditMode: false}", "auditMode: false, values: {image: {override: quay.io/cilium/cilium:v1.16.0}}}", 1)
	geneve := strings.NewReplacer("version: 1.16.0", "version: 1.16.1", "values: {", "auditMode: true, values: {routingMode: tunnel, tunnelProtocol: geneve, ",
		"auditMode: false, ", "", "8472/udp", "6081/udp")
	w := newWorkspace(t)
	w.mustGenerate(pinned)
	w.mustRefuse(geneve.Replace(pinned), nil,
		"which the chart does not do here (chart 1.16.0 -> 1.16.1, but the values pin the agents' image, no rollOutCiliumPods)",
		"cluster alpha: after step 2 and until the agents restart, they run the Cilium settings in output with the new host policies, and 2 check(s) fail:\n"+
			"FAIL  alpha: built-in: node:a2 -> node:a1 8472/udp allowed",
	)
}

// A change of the pinned image with the same chart changes the agents' pod template, which may restart them: the
// message must not say the chart does not, while the check still judges the old agents under the new policies.
func TestGenerateSaysAPinChangeMayRestartTheAgents(t *testing.T) {
	pinned := strings.Replace(twoNodes, "auditMode: false}", "auditMode: false, values: {image: {override: quay.io/cilium/cilium:v1.16.0}}}", 1)
	geneve := strings.NewReplacer("v1.16.0", "v1.16.1", "values: {", "auditMode: true, values: {routingMode: tunnel, tunnelProtocol: geneve, ",
		"auditMode: false, ", "", "8472/udp", "6081/udp")
	w := newWorkspace(t)
	w.mustGenerate(pinned)
	w.mustRefuse(geneve.Replace(pinned), nil,
		"The agents take the new values (image.override, policyAuditMode, routingMode, tunnelProtocol) only when they restart, "+
			"which the chart may not do here (no new chart version, no rollOutCiliumPods; image.override change, which restarts "+
			"them only if that changes the image reference the chart renders, not judged here): that may be before or after step 2.",
		"cluster alpha: after step 2 and until the agents restart, they run the Cilium settings in output with the new host policies, and 2 check(s) fail:\n",
	)
}

// The restart note after a change of the pinned image alone says the chart may restart the agents for it, not that
// it restarts them only with rollOutCiliumPods.
func TestRestartNoteOfAPinChange(t *testing.T) {
	pinned := strings.Replace(twoNodes, "auditMode: false}", "auditMode: false, values: {image: {override: quay.io/cilium/cilium:v1.16.0}}}", 1)
	w := newWorkspace(t)
	w.mustGenerate(pinned)
	stderr := w.mustGenerate(strings.Replace(pinned, "v1.16.0", "v1.16.1", 1))
	want := "note: cluster alpha: Cilium's values change (image.override): the agents read cilium-config only when they start, and the " +
		"chart restarts them only with rollOutCiliumPods: true or where the image reference it renders changes, which this run " +
		"does not judge; once Flux has applied this, restart them: kubectl -n kube-system rollout restart daemonset/cilium\n"
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
}

// Cilium tests upgrades and rollbacks only between consecutive minor releases: a change of more than one minor from
// what Flux applies, either way, is warned about, naming the release to go through; the tree is written all the same.
func TestGenerateWarnsOfSkippedCiliumMinors(t *testing.T) {
	w := newWorkspace(t)
	w.mustGenerate(twoNodes)
	version := func(v string) string { return strings.Replace(twoNodes, "version: 1.16.0", "version: '"+v+"'", 1) }
	for _, c := range []struct{ to, want string }{
		{"1.17.3", ""},
		{"1.19.0", "warning: cluster alpha: Cilium goes from 1.17.3 to 1.19.0, across more than one minor release: Cilium tests " +
			"upgrades and rollbacks only between consecutive minor releases (its Upgrade Guide), and each minor's upgrade notes say " +
			"what to do before it; go through 1.18 first (its latest patch), let Flux apply it, then go on\n"},
		{"~1.17.0", "go through 1.18 first"},
		{"1.18.2", ""},
		{"1.18.3", ""},
		// A range is the release Flux installs for it, the newest it admits, not the lowest whose values are written;
		// one open past the newest minor kronform-gen knows counts as that minor.
		{">=1.18.0 <1.21.0", "Cilium goes from 1.18.3 to >=1.18.0 <1.21.0 (Flux installs the newest 1.20 release it admits), " +
			"across more than one minor release"},
		{"1.20.1", ""},
		{"^1.19.0", ""},
		{"1.18.0", "Cilium goes from ^1.19.0 (Flux installs the newest 1.20 release it admits) to 1.18.0, across more than one " +
			"minor release: Cilium tests upgrades and rollbacks only between consecutive minor releases (its Upgrade Guide), " +
			"and each minor's upgrade notes say what to do before it; go through 1.19 first"},
	} {
		stderr := w.mustGenerate(version(c.to))
		got := strings.Contains(stderr, "across more than one minor release")
		if got != (c.want != "") || !strings.Contains(stderr, c.want) {
			t.Errorf("to %s: want %q, got:\n%s", c.to, c.want, stderr)
		}
	}
}

// A release of kronform-gen's that Flux applies now and that cannot be read leaves the agents' settings unknown: a
// change of Cilium (audit mode on, Geneve for VXLAN) and the host policies (Geneve's port for VXLAN's) in one go is
// refused as unverifiable, with rollOutCiliumPods as a way out. That way must then pass: the chart restarts the agents in step 1 whatever the release before it set, so the
// agents never meet the new policies with the unknown settings. It was offered and then refused again.
func TestUnreadableReleaseRollOutIsAWayOut(t *testing.T) {
	w := newWorkspace(t)
	w.mustGenerate(twoNodes)
	p := filepath.Join(w.dir, "output", "infrastructure", "alpha", "cilium", "helmrelease.yaml")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), "kind: HelmRelease\n", "kind: HelmChart\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	geneve := strings.NewReplacer("auditMode: false}", "auditMode: true, values: {routingMode: tunnel, tunnelProtocol: geneve}}",
		"8472/udp", "6081/udp").Replace(twoNodes)
	code, stderr := w.generate(geneve)
	wantInStderr(t, stderr,
		"1. cilium: the HelmRelease applied now cannot be read (infrastructure/alpha/cilium/helmrelease.yaml: not a HelmRelease);",
		"cluster alpha: after step 2 and until the agents restart, they run the Cilium settings in output, which cannot be read: "+
			"infrastructure/alpha/cilium/helmrelease.yaml: not a HelmRelease\n",
		"cluster alpha: a way that works: set rollOutCiliumPods: true in cilium.values in this change",
		"kronform-gen: refusing to write output: cluster alpha: the state between Flux's two steps cannot be verified",
	)
	if code != ExitFailure {
		t.Errorf("exit %d, want %d", code, ExitFailure)
	}
	stderr = w.mustGenerate(strings.Replace(geneve, "tunnelProtocol: geneve}", "tunnelProtocol: geneve, rollOutCiliumPods: true}", 1))
	if strings.Contains(stderr, "Cilium's values change") {
		t.Errorf("rollOutCiliumPods restarts the agents itself:\n%s", stderr)
	}
}

// The Flux Kustomizations of the cluster's folder that cannot be read at the baseline leave where Flux applies Cilium
// and the host policies from unknown, whatever the spec says: generate refused an unchanged spec and the host policies
// alone, the way out it offered. The refusal names the file to repair by hand; repaired, the change passes.
func TestUnreadableKustomizationsSayWhatToRepair(t *testing.T) {
	w := newWorkspace(t)
	w.mustGenerate(twoNodes)
	p := filepath.Join(w.dir, "output", "clusters", "alpha", "cilium.yaml")
	good, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(good), "kind: Kustomization\n", "kind: Kustomization\n  bad: [\n", 1)
	if err := os.WriteFile(p, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, specText := range []string{twoNodes, strings.Replace(twoNodes, "10250/tcp", "10250/tcp, 10255/tcp", 1)} {
		code, stderr := w.generate(specText)
		wantInStderr(t, stderr,
			"cluster alpha: a way that works: repair clusters/alpha/cilium.yaml by hand first (the error above says why it cannot "+
				"be read): while the Flux Kustomizations in clusters/alpha cannot be read in output, what Flux applies for the cluster "+
				"is unknown whatever the spec says, and no split of the change helps; commit, push and let Flux apply that repair "+
				"alone; then run generate again.\n",
			"clusters/alpha/cilium.yaml: yaml: line ",
			"kronform-gen: refusing to write output: cluster alpha: the state between Flux's two steps cannot be verified; "+
				"repair the files named above first\n")
		if code != ExitFailure || strings.Contains(stderr, "first the host policies alone") {
			t.Errorf("exit %d, want %d, and no split offered:\n%s", code, ExitFailure, stderr)
		}
		if w.read("clusters/alpha/cilium.yaml") != broken {
			t.Errorf("a refused generate rewrote the file")
		}
	}
	if err := os.WriteFile(p, good, 0o644); err != nil {
		t.Fatal(err)
	}
	w.mustGenerate(strings.Replace(twoNodes, "10250/tcp", "10250/tcp, 10255/tcp", 1))
}

// The agents run the image the values pin, and the transition checks judge them as that release: pinning agents of
// 1.15.1 (which know no endPort) under a 1.16.0 chart restarts them in step 1 with the policies written for 1.16,
// whose port ranges they enforce as their first ports: etcd's 2380 and trustd's 50001 are cut between the steps. The
// chart alone said 1.16.0, and the change was written. With the single ports first, it passes.
func TestTransitionJudgesThePinnedAgentImage(t *testing.T) {
	w := newWorkspace(t)
	w.mustGenerate(twoNodes)
	pinned := strings.Replace(singlePorts(twoNodes), "auditMode: false}", "auditMode: false, values: {image: {tag: v1.15.1, useDigest: false}}}", 1)
	w.mustRefuse(pinned, nil,
		"cluster alpha: after step 1 and before step 2, the agents run the new Cilium settings (agents judged as Cilium 1.15.1 "+
			"(the agents' image.tag v1.15.1; chart 1.16.0)) with the host policies in output, and 4 check(s) fail:\n",
		"FAIL  alpha: built-in: node:a2 -> node:a1 2380/tcp allowed (etcd peers reach each other)",
		"no allow rule matches 2380/tcp from remote-node+kube-apiserver (as an agent before 1.16.0 enforces the policies: no "+
			"endPort, so a port range is its first port; the agents may run Cilium 1.15.1 (the agents' image.tag v1.15.1; chart 1.16.0))",
		"cluster alpha: a way that works: first the host policies alone, with the Cilium settings in output;",
		"kronform-gen: refusing to write output: cluster alpha: 4 check(s) fail between Flux's two steps",
	)
	// The way out: the single ports first, then the pin.
	w.mustGenerate(singlePorts(twoNodes))
	w.mustGenerate(pinned)
	// A pin of the chart's own release changes nothing the checks see: the ranges pass.
	w = newWorkspace(t)
	w.mustGenerate(singlePorts(twoNodes))
	w.mustGenerate(strings.Replace(twoNodes, "auditMode: false}", "auditMode: false, values: {image: {tag: v1.16.0, useDigest: false}}}", 1))
}

// A release of the user's taken over is judged as the release its values pin: agents of 1.15.1 under its 1.16.0
// chart (the takeover's values: image.tag v1.15.1, useDigest: false) run the old settings with the new policies until
// they restart, and enforce their port ranges as the first ports.
func TestTakeoverJudgesThePinnedAgentImage(t *testing.T) {
	values := strings.Replace(settledTakeover(true), "tunnelProtocol: geneve", "tunnelProtocol: vxlan", 1) +
		"    image: {tag: v1.15.1, useDigest: false}\n"
	w := adopting(t, "1.16.0", values, nil)
	code, stderr := w.generate(twoNodes)
	wantInStderr(t, stderr,
		"cluster alpha: after step 2 and until the agents restart, they run the Cilium settings in output (agents judged as "+
			"Cilium 1.15.1 (the agents' image.tag v1.15.1; chart 1.16.0)) with the new host policies, and 4 check(s) fail:\n",
		"FAIL  alpha: built-in: node:a1 -> node:a2 50001/tcp allowed (nodes get certificates from trustd)")
	if code != ExitFailure {
		t.Errorf("exit %d, want %d", code, ExitFailure)
	}
	w = adopting(t, "1.16.0", values, nil)
	w.mustGenerate(singlePorts(twoNodes))
}

// The other way round: the tree written before pins agents of 1.15.1 (single ports, which they enforce), and the
// change drops the pin and writes port ranges. Until the agents restart, the 1.15.1 agents run with the new policies
// and enforce each range as its first port: the state after step 2 must be judged as theirs, not as the chart's 1.16.0,
// and the change refused with a way out that works (the Cilium change first, the agents restarted, then the ranges).
func TestTransitionJudgesTheOldPinnedAgentImage(t *testing.T) {
	w := newWorkspace(t)
	pinned := strings.Replace(singlePorts(twoNodes), "auditMode: false}", "auditMode: false, values: {image: {tag: v1.15.1, useDigest: false}}}", 1)
	w.mustGenerate(pinned)
	code, stderr := w.generate(twoNodes)
	wantInStderr(t, stderr,
		"cluster alpha: after step 2 and until the agents restart, they run the Cilium settings in output (agents judged as "+
			"Cilium 1.15.1 (the agents' image.tag v1.15.1; chart 1.16.0)) with the new host policies, and 4 check(s) fail:\n",
		"FAIL  alpha: built-in: node:a2 -> node:a1 2380/tcp allowed (etcd peers reach each other)",
		"cluster alpha: a way that works: set rollOutCiliumPods: true in cilium.values in this change",
		"kronform-gen: refusing to write output: cluster alpha: 4 check(s) fail between Flux's two steps")
	if code != ExitFailure {
		t.Errorf("exit %d, want %d", code, ExitFailure)
	}
	// The ways out given: rollOutCiliumPods; or the Cilium change alone (the pin dropped, the single ports kept), then
	// the ranges.
	w.mustGenerate(strings.Replace(twoNodes, "auditMode: false}", "auditMode: false, values: {rollOutCiliumPods: true}}", 1))
	w = newWorkspace(t)
	w.mustGenerate(pinned)
	w.mustGenerate(singlePorts(twoNodes))
	w.mustGenerate(twoNodes)
}

// mustRefuse runs generate with specText and args, and wants it refused (exit 1) with each of wants on stderr; it
// gives stderr.
func (w *workspace) mustRefuse(specText string, args []string, wants ...string) string {
	w.t.Helper()
	code, stderr := w.generate(specText, args...)
	for _, want := range wants {
		if code != ExitFailure || !strings.Contains(stderr, want) {
			w.t.Errorf("exit %d, want 1 and %q in:\n%s", code, want, stderr)
		}
	}
	return stderr
}
