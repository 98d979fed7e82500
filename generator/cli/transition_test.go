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
			"2. host-policies, which waits for it: cp changed. In between, Cilium runs the new settings with the host policies in output, and 1 check(s) fail:\n",
		"FAIL  alpha: built-in: pod:app=kustomize-controller,io.kubernetes.pod.namespace=flux-system -> node:a1 6443/tcp allowed",
		"kronform-gen: refusing to write output: cluster alpha: 1 check(s) fail between Flux's two steps, which could lock you out " +
			"(Flux too: then nothing more is applied). Split the change: first the host policies alone, with the Cilium settings in output; " +
			"commit, push and let Flux apply it; then the Cilium change\n",
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

// Loosening is never refused: with audit mode on after the change, nothing is enforced in between, although the old
// policy drops the new overlay's port.
func TestGenerateAllowsLooseningTransition(t *testing.T) {
	w := newWorkspace(t)
	w.mustGenerate(twoNodes)
	w.mustGenerate(strings.NewReplacer("auditMode: false}", "auditMode: true, values: {routingMode: tunnel, tunnelProtocol: geneve}}",
		"8472/udp", "6081/udp").Replace(twoNodes))
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
		!strings.Contains(stderr, "FAIL  alpha: built-in: node:a2 -> node:a1 6081/udp allowed (Cilium's Geneve overlay carries pod traffic between nodes)") {
		t.Fatalf("exit %d, want 1 and the Geneve port failing in between\n%s", code, stderr)
	}
	w.mustGenerate(openGeneve)
	w.mustGenerate(geneve)
}

// A port range is written with endPort from Cilium 1.16; an agent before 1.16 knows no endPort and enforces the
// range's first port alone. Downgrading with a policy change keeps the 1.16 policy applied under the old agent in
// between: trustd (50001) of 50000-50001 is cut between the control planes.
func TestGenerateRefusesDowngradeUnderRangePolicies(t *testing.T) {
	w := newWorkspace(t)
	w.mustGenerate(twoNodes)
	downgrade := strings.NewReplacer("version: 1.16.0", "version: 1.15.6",
		"8472/udp, 4240/tcp]}", "8472/udp, 4240/tcp, 4244/tcp]}").Replace(twoNodes)
	code, stderr := w.generate(downgrade)
	if code != ExitFailure || !strings.Contains(stderr, "FAIL  alpha: built-in: node:a2 -> node:a1 50001/tcp allowed (nodes get certificates from trustd)") {
		t.Fatalf("exit %d, want 1 and trustd failing in between\n%s", code, stderr)
	}
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
	code, stderr := w.generate(strings.NewReplacer("auditMode: false}", "auditMode: false, values: {tunnelPort: 8473}}",
		"8472/udp", "8472-8473/udp").Replace(twoNodes))
	for _, want := range []string{
		"In between, Cilium runs the new settings with the host policies in output, which cannot be read: infrastructure/alpha/host-policies/kustomization.yaml: patches: kronform-gen writes only a list of resources\n",
		"kronform-gen: refusing to write output: cluster alpha: the state between Flux's two steps cannot be verified. Split the change:",
	} {
		if code != ExitFailure || !strings.Contains(stderr, want) {
			t.Errorf("exit %d, want 1 and %q in:\n%s", code, want, stderr)
		}
	}
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
	if code != ExitFailure || !strings.Contains(stderr, "with the host policies at HEAD, and 1 check(s) fail") {
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
