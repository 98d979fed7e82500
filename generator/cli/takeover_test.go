package cli

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kronform/kronform-gen/generator/spec"
	"github.com/kronform/kronform-gen/internal/gittest"
)

// takeoverSpec adopts a live cluster whose Cilium runs in audit mode; version and policies are filled in by each test.
const takeoverSpec = `apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: alpha
    apiServer: {host: api.alpha.example.com, port: 6443}
    nodes: [{name: a1, addresses: [198.51.100.1], roles: [control-plane]}]
    cilium: {version: 1.16.5, hostFirewall: true, kubeProxyReplacement: true, auditMode: true}
`

// adopting is a repository that Flux ran before kronform-gen: flux bootstrap's files for clusters/alpha (its
// gotk-components.yaml as large as the real one), and a Kustomization of the user's applying ./infrastructure, where
// the user keeps their own Cilium HelmRelease at kube-system/cilium with the chart version and values given. files
// adds or replaces files of the tree (relative to it).
func adopting(t *testing.T, chart, values string, files map[string]string) *workspace {
	t.Helper()
	w := newWorkspace(t)
	all := map[string]string{
		"clusters/alpha/flux-system/gotk-components.yaml": fakeComponents(t).String(),
		"clusters/alpha/flux-system/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" +
			"resources: [gotk-components.yaml, gotk-sync.yaml]\n",
		"clusters/alpha/flux-system/gotk-sync.yaml": gotkSync("alpha"),
		"clusters/alpha/infrastructure.yaml": `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: infrastructure, namespace: flux-system}
spec: {interval: 1h, path: ./infrastructure/controllers, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}
`,
		"infrastructure/controllers/cilium.yaml": `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: cilium, namespace: kube-system}
spec:
  interval: 30m
  chart:
    spec:
      chart: cilium
      version: "` + chart + `"
      sourceRef: {kind: HelmRepository, name: cilium}
  values:
` + values,
	}
	for p, data := range files {
		all[p] = data
	}
	for p, data := range all {
		if data == "" {
			continue // removed
		}
		full := filepath.Join(w.dir, "output", filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// userValues are values a user's Cilium release may have: audit mode off, the host firewall on, IPv6.
const userValues = `    kubeProxyReplacement: true
    k8sServiceHost: api.alpha.example.com
    k8sServicePort: 6443
    hostFirewall: {enabled: true}
    ipv6: {enabled: true}
`

// The generic note for a cluster whose Cilium the tree cannot see.
const installedAnotherWay = "a Cilium installed another way under the same release name (kube-system/cilium"

// A takeover from the user's own HelmRelease at 1.14 to the spec's 1.16 jumps a minor release: the warning names
// both versions, as for a release kronform-gen wrote; and the note says the user's release is what was compared.
func TestTakeoverWarnsOfSkippedMinors(t *testing.T) {
	w := adopting(t, "1.14.5", userValues, nil)
	stderr := w.mustGenerate(takeoverSpec)
	wantInStderr(t, stderr,
		"warning: cluster alpha: Cilium goes from 1.14.5 to 1.16.5, across more than one minor release: Cilium tests upgrades "+
			"and rollbacks only between consecutive minor releases (its Upgrade Guide), and each minor's upgrade notes say what "+
			"to do before it; go through 1.15 first (its latest patch), let Flux apply it, then go on\n",
		"note: cluster alpha: Flux applies a HelmRelease of yours under the name kronform-gen's takes, kube-system/cilium (read in "+
			"output: Kustomization flux-system/infrastructure, path ./infrastructure/controllers, chart 1.14.5): kronform-gen's "+
			"replaces it, and helm-controller upgrades that release to the spec's chart and values. The transition checks, the "+
			"restart note and the warning of skipped minor releases take it for the release before this change; of its values, "+
			"the spec does not set ipv6: the release takes the chart's defaults for them (to keep one, set it in the spec). "+
			"A kustomize.toolkit.fluxcd.io/reconcile: disabled or kustomize.toolkit.fluxcd.io/ssa: Ignore mark set on it in the "+
			"cluster alone (kubectl annotate or label) cannot be seen here, and with it kustomize-controller would not apply "+
			"kronform-gen's HelmRelease while it applies the host policies: before pushing, check kubectl -n kube-system get "+
			"helmrelease cilium -o jsonpath='{.metadata.annotations} {.metadata.labels}' and remove such a mark first.\n",
	)
	// The new chart restarts the agents itself: no restart note, and not the note for a Cilium the tree cannot see.
	for _, not := range []string{"Cilium's values change", installedAnotherWay} {
		if strings.Contains(stderr, not) {
			t.Errorf("stderr has %q:\n%s", not, stderr)
		}
	}
}

// A takeover under the same chart version whose values change what the agents read gets the restart note, naming the
// values that change (audit mode turned on among them; the operator's needs no restart), and the values of the user's
// that the spec drops.
func TestTakeoverNamesTheValuesThatChange(t *testing.T) {
	w := adopting(t, "1.16.5", userValues+"    bpf: {masquerade: true}\n    operator: {replicas: 1}\n", nil)
	stderr := w.mustGenerate(takeoverSpec)
	wantInStderr(t, stderr,
		"note: cluster alpha: Cilium's values change (bpf, cgroup, hubble, ipam, ipv6, policyAuditMode, securityContext): the agents read cilium-config only when they start, and the chart restarts them only with "+
			"rollOutCiliumPods: true; once Flux has applied this, restart them (until then audit mode stays off): kubectl -n "+
			"kube-system rollout restart daemonset/cilium\n",
		"the spec does not set bpf, ipv6, operator: the release takes the chart's defaults for them",
	)
	if strings.Contains(stderr, installedAnotherWay) || strings.Contains(stderr, "across more than one minor") {
		t.Errorf("stderr:\n%s", stderr)
	}
}

// The agents of the user's release enforce the host firewall (audit mode off), and the spec turns audit mode on with
// a policy that leaves Flux out of the API server: the chart (the same version) does not restart the agents, so after
// host-policies is applied they enforce it under the user's settings until they restart. Taken for a first install,
// that state went unchecked and the tree was written; judged against the user's release, generate refuses.
func TestTakeoverIsJudgedAgainstTheUsersRelease(t *testing.T) {
	w := adopting(t, "1.16.5", userValues, nil)
	worldOnly := takeoverSpec + `    hostPolicies:
      - name: cp
        nodes: {role: control-plane}
        ingress: [{entities: [world], ports: [6443/tcp, 50000/tcp, 50001/tcp]}]
    hetzner: {adminSources: [203.0.113.7/32]}
`
	code, stderr := w.generate(worldOnly)
	wantInStderr(t, stderr,
		"cluster alpha: Flux applies this change in two steps: 1. cilium: the HelmRelease takes over yours (Kustomization "+
			"flux-system/infrastructure, path ./infrastructure/controllers); values cgroup, hubble, ipam, ipv6, policyAuditMode, "+
			"securityContext; 2. host-policies, which waits for it: cp added.",
		"cluster alpha: after step 2 and until the agents restart, they run the Cilium settings in output with the new host "+
			"policies, and 1 check(s) fail:\nFAIL  alpha: built-in: pod:app=kustomize-controller,io.kubernetes.pod.namespace=flux-system -> node:a1 6443/tcp allowed",
		"kronform-gen: refusing to write output: cluster alpha:",
	)
	if code != ExitFailure {
		t.Fatalf("exit %d, want %d:\n%s", code, ExitFailure, stderr)
	}
	if _, err := os.Stat(filepath.Join(w.dir, "output", "infrastructure", "alpha")); err == nil {
		t.Fatal("a refused generate wrote the tree")
	}
	// The user's release in audit mode too: nothing is enforced before or after, and the tree is written.
	w = adopting(t, "1.16.5", userValues+"    policyAuditMode: true\n", nil)
	w.mustGenerate(worldOnly)
}

// Where the tree applies no HelmRelease kube-system/cilium, the note for a Cilium installed another way stays: the
// user's release in a folder no Kustomization applies is not what Flux applies, and one under another name is a
// second release, which that note covers. (One in a suspended Kustomization is: see TestTakeoverFromASuspendedKustomization.)
func TestTakeoverWithoutUserReleaseKeepsTheNote(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"none": {"infrastructure/controllers/cilium.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: default}\n"},
		"not applied": {"clusters/alpha/infrastructure.yaml": `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: infrastructure, namespace: flux-system}
spec: {interval: 1h, path: ./infrastructure/other, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}
`, "infrastructure/other/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: default}\n"},
	} {
		t.Run(name, func(t *testing.T) {
			w := adopting(t, "1.14.5", userValues, files)
			stderr := w.mustGenerate(takeoverSpec)
			if !strings.Contains(stderr, installedAnotherWay) {
				t.Errorf("stderr lacks the note for a Cilium installed another way:\n%s", stderr)
			}
			for _, not := range []string{"HelmRelease of yours under the name", "across more than one minor", "Cilium's values change"} {
				if strings.Contains(stderr, not) {
					t.Errorf("stderr has %q:\n%s", not, stderr)
				}
			}
		})
	}
	// With rollOutCiliumPods the upgrade restarts the agents: the note does not tell to restart them by hand.
	w := adopting(t, "1.14.5", userValues, map[string]string{"infrastructure/controllers/cilium.yaml": ""})
	stderr := w.mustGenerate(strings.Replace(takeoverSpec, "auditMode: true}", "auditMode: true, values: {rollOutCiliumPods: true}}", 1))
	if want := "the agents read new values only when they start, and with rollOutCiliumPods: true the chart restarts them when " +
		"helm-controller upgrades the release\n"; !strings.Contains(stderr, installedAnotherWay) || !strings.Contains(stderr, want) ||
		strings.Contains(stderr, "rollout restart") {
		t.Errorf("rollOutCiliumPods: stderr lacks %q, or tells to restart the agents:\n%s", want, stderr)
	}
	// A Kustomization of the cluster that does not build may hold one: the note says so, naming it, not its error, and
	// does not take one for applied; it says how to find the one that runs, if one does.
	w = adopting(t, "1.14.5", userValues, map[string]string{"infrastructure/controllers/kustomization.yaml": "resources: [missing.yaml]\n"})
	stderr = w.mustGenerate(takeoverSpec)
	if want := "note: cluster alpha: Flux may apply a HelmRelease of yours there under that name, which could not be read: " +
		"Kustomization flux-system/infrastructure does not build here (kronform-gen build shows why), so whether Flux applies a " +
		"HelmRelease kube-system/cilium in output is unknown; what the agents run now is unknown, so host policies in the same " +
		"change are refused unless the chart restarts the agents in step 1 (rollOutCiliumPods: true in cilium.values); later " +
		"changes are judged as if the agents ran this release, so restart them once Flux has applied it, before any host " +
		"policies; to find whether a HelmRelease kube-system/cilium runs there, and which Kustomization applies it: kubectl -n " +
		"kube-system get helmrelease cilium -o jsonpath='{.metadata.labels}' (its labels kustomize.toolkit.fluxcd.io/name and " +
		"kustomize.toolkit.fluxcd.io/namespace name the Kustomization)\n"; !strings.Contains(stderr, installedAnotherWay) || !strings.Contains(stderr, want) {
		t.Errorf("unbuildable: stderr lacks %q:\n%s", want, stderr)
	}
	// Under another name, with the chart's own releaseName: helm-controller installs kronform-gen's beside it.
	w = adopting(t, "1.14.5", userValues, map[string]string{"infrastructure/controllers/cilium.yaml": `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: cni, namespace: kube-system}
spec:
  interval: 30m
  chart: {spec: {chart: cilium, version: "1.14.5", sourceRef: {kind: HelmRepository, name: cilium}}}
`})
	if stderr := w.mustGenerate(takeoverSpec); !strings.Contains(stderr, installedAnotherWay) || strings.Contains(stderr, "of yours under the name") {
		t.Errorf("another name:\n%s", stderr)
	}
}

// The chart version and values are read as kustomize-controller applies them: postBuild substitutes the version from
// a ConfigMap in the tree. A value substituted from a Secret is not decrypted nor printed: its key is named as
// compared masked, in the ConfigMap of its valuesFrom that the same Kustomization applies, which is read and merged
// under spec.values. A SOPS-encrypted Secret beside the release is built encrypted, and nothing of it prints.
func TestTakeoverReadsWhatFluxApplies(t *testing.T) {
	w := adopting(t, "${cilium_version}", userValues, map[string]string{
		"clusters/alpha/infrastructure.yaml": `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: infrastructure, namespace: flux-system}
spec:
  interval: 1h
  path: ./infrastructure/controllers
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
  decryption: {provider: sops, secretRef: {name: sops-age}}
  postBuild:
    substituteFrom:
      - {kind: ConfigMap, name: versions}
      - {kind: Secret, name: network}
`,
		"infrastructure/controllers/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cilium-extra, namespace: kube-system}\n" +
			"data:\n  values.yaml: |\n    ipv4NativeRoutingCIDR: ${native_cidr}\n    bpf: {masquerade: true}\n",
		"infrastructure/controllers/creds.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: kube-system}\n" +
			"stringData:\n  token: ENC[AES256_GCM,data:eA==,iv:eA==,tag:eA==,type:str]\n" +
			"sops:\n  mac: ENC[AES256_GCM,data:eA==,iv:eA==,tag:eA==,type:str]\n  version: 3.13.3\n",
		"clusters/alpha/versions.yaml": `apiVersion: v1
kind: ConfigMap
metadata: {name: versions, namespace: flux-system}
data: {cilium_version: 1.14.2}
---
apiVersion: v1
kind: Secret
metadata: {name: network, namespace: flux-system}
stringData: {native_cidr: 10.99.77.0/24}
`,
	})
	release := filepath.Join(w.dir, "output", "infrastructure", "controllers", "cilium.yaml")
	b, err := os.ReadFile(release)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(release, []byte(string(b)+"  valuesFrom:\n    - {kind: ConfigMap, name: cilium-extra, valuesKey: values.yaml}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stderr := w.mustGenerate(takeoverSpec)
	wantInStderr(t, stderr,
		"Cilium goes from 1.14.2 to 1.16.5, across more than one minor release",
		"; of its values, the spec does not set bpf, ipv4NativeRoutingCIDR, ipv6: the release takes the chart's defaults for "+
			"them (to keep one, set it in the spec); of its valuesFrom, ConfigMap/cilium-extra (values.yaml), which the "+
			"Kustomization applies with it, is read here and merged under its spec.values, as helm-controller merges them; "+
			"ipv4NativeRoutingCIDR, substituted from a Secret or SOPS-encrypted, which is not decrypted here, is compared masked, "+
			"so counted as changed. A ",
	)
	if strings.Contains(stderr, "10.99.77") || strings.Contains(stderr, "KRONFORMGENMASKED") || strings.Contains(stderr, "ENC[") {
		t.Errorf("stderr shows a value substituted from a Secret:\n%s", stderr)
	}
}

// In a git repository, what Flux applies is read at the branch it follows: the user's release deleted in the working
// tree but not pushed is still what helm-controller runs.
func TestTakeoverReadAtTheBranchFluxFollows(t *testing.T) {
	gittest.Isolate(t)
	w := adopting(t, "1.14.5", userValues, nil)
	gittest.Run(t, w.dir, "init", "-q", "-b", "main")
	gittest.Run(t, w.dir, "remote", "add", "origin", "ssh://git@github.com/acme/fleet")
	gittest.Run(t, w.dir, "add", "-A")
	gittest.Run(t, w.dir, "commit", "-q", "-m", "fleet before kronform-gen")
	gittest.Run(t, w.dir, "update-ref", "refs/remotes/origin/main", "HEAD") // as if pushed
	if err := os.Remove(filepath.Join(w.dir, "output", "infrastructure", "controllers", "cilium.yaml")); err != nil {
		t.Fatal(err)
	}
	stderr := w.mustGenerate(takeoverSpec)
	wantInStderr(t, stderr, "(read at origin/main: Kustomization flux-system/infrastructure", "Cilium goes from 1.14.5 to 1.16.5")
}

// chartRefRelease is the user's Cilium HelmRelease taking its chart through an OCIRepository with the given spec.ref,
// its values enforcing (the host firewall on), as files for adopting.
func chartRefRelease(ref string) map[string]string {
	return map[string]string{"infrastructure/controllers/cilium.yaml": `apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: cilium-chart, namespace: kube-system}
spec: {interval: 1h, url: oci://quay.io/cilium/charts/cilium, ref: ` + ref + `}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: cilium, namespace: kube-system}
spec:
  interval: 30m
  chartRef: {kind: OCIRepository, name: cilium-chart}
  values: {hostFirewall: {enabled: true}}
`}
}

// A release whose chart comes by chartRef is read through the source it names, where a Kustomization of the cluster
// applies it: an OCIRepository's spec.ref.tag (or semver) is the chart version. A digest, or no version at all, says
// none: the release is then not taken for the one before, and the note says why (the agents' settings are then
// unknown: see TestUnreadableTakeoverRefusesPoliciesInBetween).
func TestTakeoverReadsTheChartRef(t *testing.T) {
	for _, c := range []struct{ ref, want string }{
		{"{tag: 1.14.5}", "Cilium goes from 1.14.5 to 1.16.5, across more than one minor release"},
		{"{semver: '~1.14.0'}", "Cilium goes from ~1.14.0 (Flux installs the newest 1.14 release it admits) to 1.16.5"},
		{"{tag: 1.14.5, digest: 'sha256:0000000000000000000000000000000000000000000000000000000000000000'}",
			"note: cluster alpha: a HelmRelease of yours that Flux applies there could not be read: HelmRelease kube-system/cilium " +
				"takes its chart by digest (its chartRef, OCIRepository kube-system/cilium-chart): which version that is cannot be " +
				"read here; what the agents run now is unknown, so host policies in the same change are refused unless the " +
				"chart restarts the agents in step 1 (rollOutCiliumPods: true in cilium.values); later changes are judged as if " +
				"the agents ran this release, so restart them once Flux has applied it, before any host policies\n"},
		{"{}", "HelmRelease kube-system/cilium names no chart version (its chartRef, OCIRepository kube-system/cilium-chart): " +
			"which one helm-controller installs cannot be read here"},
	} {
		w := adopting(t, "", "", chartRefRelease(c.ref))
		if stderr := w.mustGenerate(takeoverSpec); !strings.Contains(stderr, c.want) {
			t.Errorf("ref %s: stderr lacks %q:\n%s", c.ref, c.want, stderr)
		}
	}
}

// A HelmRelease of the user's under kronform-gen's name whose Helm release is another (its own releaseName, a
// targetNamespace) is not upgraded: helm-controller finds the object's release target changed, uninstalls the user's
// Cilium and installs kronform-gen's. That is the CNI uninstalled on a live cluster, as when cilium.namespace moves
// kronform-gen's own release: generate refuses it (exit 2, nothing written) unless --allow-prune names the cluster,
// and then warns of that reinstall, and compares nothing with it.
func TestTakeoverOfAnotherReleaseTargetIsAReinstall(t *testing.T) {
	for field, moved := range map[string]string{
		"releaseName: cilium-cni": "release name cilium-cni, not cilium",
		"targetNamespace: cni":    "release name cni-cilium, not cilium, targetNamespace cni, not kube-system",
	} {
		w := adopting(t, "1.14.5", userValues, nil)
		release := filepath.Join(w.dir, "output", "infrastructure", "controllers", "cilium.yaml")
		b, err := os.ReadFile(release)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(release, []byte(strings.Replace(string(b), "  interval: 30m\n", "  interval: 30m\n  "+field+"\n", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		code, stderr := w.generate(takeoverSpec)
		refusal := "cluster-spec.yaml:7:13: clusters[0].cilium: taking over your HelmRelease kube-system/cilium (read in output: " +
			"Kustomization flux-system/infrastructure, path ./infrastructure/controllers) is a reinstall of Cilium on a live " +
			"cluster, not a Flux change: its Helm release is not kronform-gen's (" + moved + "), so once kronform-gen's replaces " +
			"the object, helm-controller finds the release target changed and uninstalls your release (Cilium, the CNI: pods " +
			"lose their network) before it installs kronform-gen's"
		if code != ExitUsage || !strings.Contains(stderr, refusal) || !strings.Contains(stderr, "--allow-prune=alpha") {
			t.Errorf("%s: exit %d, want %d and a refusal %q:\n%s", field, code, ExitUsage, refusal, stderr)
		}
		if _, err := os.Stat(filepath.Join(w.dir, "output", "infrastructure", "alpha")); err == nil {
			t.Errorf("%s: a refused generate wrote the tree", field)
		}
		code, stderr = w.generate(takeoverSpec, "--allow-prune=alpha")
		if code != 0 || !strings.Contains(stderr, "note: --allow-prune=alpha: helm-controller on that cluster will uninstall your Cilium "+
			"release and install kronform-gen's\n") {
			t.Errorf("%s: --allow-prune: exit %d:\n%s", field, code, stderr)
		}
		want := "warning: cluster alpha: Flux applies a HelmRelease of yours under the name kronform-gen's takes, kube-system/cilium " +
			"(read in output: Kustomization flux-system/infrastructure, path ./infrastructure/controllers), whose Helm release is " +
			"not kronform-gen's (" + moved + "): once kronform-gen's replaces the object, helm-controller finds the release target " +
			"changed, uninstalls your release (Cilium, the CNI: pods lose their network) and then installs kronform-gen's; " +
			"kronform-gen cannot write that target, so this is a reinstall of Cilium, not an upgrade, and the transition checks " +
			"took it for a first install\n"
		if !strings.Contains(stderr, want) {
			t.Errorf("%s: stderr lacks %q:\n%s", field, want, stderr)
		}
		for _, not := range []string{installedAnotherWay, "across more than one minor", "Cilium's values change"} {
			if strings.Contains(stderr, not) {
				t.Errorf("%s: stderr has %q:\n%s", field, not, stderr)
			}
		}
	}
	// Marked ssa: IfNotPresent, the release in the cluster is whatever was created first, most likely with this target:
	// still refused as a reinstall, not merely judged as unknown settings.
	w := adopting(t, "", "", releaseWith(", annotations: {kustomize.toolkit.fluxcd.io/ssa: IfNotPresent}", "  releaseName: cilium-cni\n"))
	if code, stderr := w.generate(takeoverSpec); code != ExitUsage || !strings.Contains(stderr, "is a reinstall of Cilium on a live cluster") {
		t.Errorf("IfNotPresent: exit %d, want %d and the refusal of a reinstall:\n%s", code, ExitUsage, stderr)
	}
}

// realComponents stands for flux bootstrap's gotk-components.yaml at its real size, about 700 kB: fakeComponents'
// CRDs, and copies of them under other groups, as Flux's other controllers' CRDs.
func realComponents(t *testing.T) string {
	t.Helper()
	crds := fakeComponents(t).String()
	var b strings.Builder
	b.WriteString(crds)
	for i := range 4 {
		b.WriteString(strings.ReplaceAll(crds, "toolkit.fluxcd.io", fmt.Sprintf("toolkit%d.fluxcd.io", i)))
	}
	return b.String()
}

// pushedFleet is a git repository whose tree (its root) holds flux bootstrap's files for n clusters, pushed to
// the branch they follow, and the files given (relative to the tree) in the same commit; it returns the app for that
// tree and the model of a spec of those clusters.
func pushedFleet(t *testing.T, n int, files map[string]string) (*app, *spec.Model) {
	t.Helper()
	gittest.Isolate(t)
	root := t.TempDir()
	components := realComponents(t)
	var specText strings.Builder
	specText.WriteString("apiVersion: kronform.dev/v1alpha1\nkind: ClusterSpec\nclusters:\n")
	all := maps.Clone(files)
	if all == nil {
		all = map[string]string{}
	}
	for i := range n {
		name := fmt.Sprintf("c%02d", i)
		fmt.Fprintf(&specText, "  - name: %s\n    apiServer: {host: api.%s.example.com, port: 6443}\n"+
			"    nodes: [{name: n1, addresses: [198.51.100.%d], roles: [control-plane]}]\n    cilium: {version: 1.16.5}\n", name, name, i+1)
		dir := "clusters/" + name + "/flux-system/"
		all[dir+"gotk-components.yaml"] = components
		all[dir+"kustomization.yaml"] = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [gotk-components.yaml, gotk-sync.yaml]\n"
		all[dir+"gotk-sync.yaml"] = gotkSync(name)
	}
	for p, data := range all {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gittest.Run(t, root, "init", "-q", "-b", "main")
	gittest.Run(t, root, "remote", "add", "origin", "ssh://git@github.com/acme/fleet")
	gittest.Run(t, root, "add", "-A")
	gittest.Run(t, root, "commit", "-q", "-m", "flux bootstrap")
	gittest.Run(t, root, "update-ref", "refs/remotes/origin/main", "HEAD")
	m, err := spec.Load("cluster-spec.yaml", []byte(specText.String()), spec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &app{outDir: root}, m
}

// Until kronform-gen's release is pushed, every generate in a repository Flux runs looks for a release of the user's
// on every bootstrapped cluster. Each cluster's baseline names its own gotk-sync.yaml, yet all read one tree: it is
// read once, not once per cluster. And flux bootstrap's gotk-components.yaml, most of the tree's bytes, is not parsed
// for it: where no file holds a HelmRelease, nothing is built; where one does (the user's podinfo), Flux's CRDs are
// left out of the build. Allocation, not time, is what the test measures: reading the tree per cluster and parsing
// the CRDs in every build cost many times each cluster's gotk-components.yaml.
func TestTakeoverSearchDoesNotParseFluxComponentsPerCluster(t *testing.T) {
	const n = 8
	size := len(realComponents(t))
	podinfo := map[string]string{"apps/podinfo.yaml": `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: podinfo, namespace: default}
spec: {interval: 1h, chart: {spec: {chart: podinfo, version: 6.5.0, sourceRef: {kind: HelmRepository, name: podinfo}}}}
`}
	for i := range n {
		podinfo[fmt.Sprintf("clusters/c%02d/apps.yaml", i)] = `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec: {interval: 1h, path: ./apps, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}
`
	}
	for name, files := range map[string]map[string]string{"no HelmRelease": nil, "a HelmRelease of another name": podinfo} {
		t.Run(name, func(t *testing.T) {
			a, m := pushedFleet(t, n, files)
			bases, err := a.baselines(m)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]int, n)
			for i := range want {
				want[i] = i
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			users := userReleases(m, bases, want)
			runtime.ReadMemStats(&after)
			for i := range n {
				if u := users[i]; u.found != nil || u.why != "" {
					t.Errorf("cluster %d: %+v", i, u)
				}
			}
			per := float64(after.TotalAlloc-before.TotalAlloc) / n
			t.Logf("%.0f bytes allocated per cluster, for %d bytes of gotk-components.yaml", per, size)
			if per > 3*float64(size) {
				t.Errorf("each cluster allocates %.1f times its gotk-components.yaml", per/float64(size))
			}
		})
	}
}

// A tree in which no file holds a HelmRelease is not built; one whose kustomization names a remote base may still
// apply one (kustomize-controller fetches it, kronform-gen does not): it is built, and the note says its build fails.
func TestTakeoverOfARemoteBaseIsUnknown(t *testing.T) {
	w := adopting(t, "1.14.5", userValues, map[string]string{
		"infrastructure/controllers/cilium.yaml":        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: default}\n",
		"infrastructure/controllers/kustomization.yaml": "resources: [cilium.yaml, 'github.com/acme/platform//cilium?ref=v1.2.0']\n",
	})
	want := "note: cluster alpha: Flux may apply a HelmRelease of yours there under that name, which could not be read: " +
		"Kustomization flux-system/infrastructure does not build here"
	if stderr := w.mustGenerate(takeoverSpec); !strings.Contains(stderr, want) || !strings.Contains(stderr, installedAnotherWay) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
}

// kustomize-controller returns early for a suspended Kustomization: it deletes nothing it applied, and the release
// it applied stays, run by helm-controller, until kronform-gen's replaces it and helm-controller upgrades it. So a
// release in a suspended Kustomization (or in one that a suspended one declares, which reconciles on its own) is the
// release before the change, and the note says that it is read from a suspended Kustomization. Taken for a first
// install, the lock-out check never looked at the agents that enforce the user's settings, and the tree was written.
func TestTakeoverFromASuspendedKustomization(t *testing.T) {
	suspended := `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: infrastructure, namespace: flux-system}
spec: {suspend: true, interval: 1h, path: ./infrastructure/controllers, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}
`
	w := adopting(t, "1.14.5", userValues, map[string]string{"clusters/alpha/infrastructure.yaml": suspended})
	stderr := w.mustGenerate(takeoverSpec)
	wantInStderr(t, stderr,
		"(read in output: Kustomization flux-system/infrastructure, path ./infrastructure/controllers, suspended, chart 1.14.5)",
		"Kustomization flux-system/infrastructure is suspended, which deletes nothing it applied: if it ever applied this "+
			"release, helm-controller runs it still",
		"warning: cluster alpha: Cilium goes from 1.14.5 to 1.16.5, across more than one minor release",
	)
	if strings.Contains(stderr, installedAnotherWay) {
		t.Errorf("stderr has the note for a Cilium the tree cannot see:\n%s", stderr)
	}
	// The lock-out check judges the agents that enforce the user's settings, as for a release applied now.
	w = adopting(t, "1.16.5", userValues, map[string]string{"clusters/alpha/infrastructure.yaml": suspended})
	code, stderr := w.generate(takeoverSpec + `    hostPolicies:
      - name: cp
        nodes: {role: control-plane}
        ingress: [{entities: [world], ports: [6443/tcp, 50000/tcp, 50001/tcp]}]
    hetzner: {adminSources: [203.0.113.7/32]}
`)
	if code != ExitFailure || !strings.Contains(stderr, "kronform-gen: refusing to write output: cluster alpha:") {
		t.Errorf("exit %d, want %d and a refusal:\n%s", code, ExitFailure, stderr)
	}
	// A suspended copy beside one applied now: the one applied now is what helm-controller runs.
	w = adopting(t, "1.14.5", userValues, map[string]string{
		"clusters/alpha/old.yaml": strings.NewReplacer("name: infrastructure", "name: old", "./infrastructure/controllers", "./infrastructure/old").Replace(suspended),
		"infrastructure/old/cilium.yaml": `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: cilium, namespace: kube-system}
spec: {interval: 30m, chart: {spec: {chart: cilium, version: "1.13.4", sourceRef: {kind: HelmRepository, name: cilium}}}}
`,
	})
	stderr = w.mustGenerate(takeoverSpec)
	if want := "(read in output: Kustomization flux-system/infrastructure, path ./infrastructure/controllers, chart 1.14.5)"; !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
}

// twoNodesTakeover is the user's release on two nodes, the host firewall on and audit mode off in its spec.values,
// with the valuesFrom given; twoNodes (transition_test.go) adopts it, its policy opening VXLAN's 8472/udp between the
// nodes and not Geneve's 6081/udp.
const twoNodesTakeover = `    kubeProxyReplacement: true
    k8sServiceHost: api.alpha.example.com
    k8sServicePort: 6443
    hostFirewall: {enabled: true}
  valuesFrom:
    - {kind: ConfigMap, name: cilium-values}
`

// ciliumValues is a ConfigMap cilium-values in kube-system holding the values given, as a valuesFrom reads it.
func ciliumValues(values string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cilium-values, namespace: kube-system}\ndata:\n  values.yaml: |\n" +
		values
}

// The reviewer's repro: the user's release leaves its values to a valuesFrom ConfigMap, which may set tunnelProtocol:
// geneve; then the old agents tunnel over 6081/udp, which the new policy drops between the steps. Only the host
// firewall and audit mode were taken as enforcing there, every other setting as the chart's default (VXLAN), and the
// tree was written. Settings nobody read are unknown: refused as for a release that cannot be read, naming the
// valuesFrom and the keys the checks read, with the same ways out, which pass.
func TestTakeoverWithValuesFromNotReadIsUnknown(t *testing.T) {
	w := adopting(t, "1.16.0", twoNodesTakeover, nil)
	stderr := w.refusedGenerate(twoNodes)
	wantInStderr(t, stderr,
		"cluster alpha: Flux applies this change in two steps: 1. cilium: the HelmRelease replaces what Flux applies now under its "+
			"name, kube-system/cilium, which cannot be read; 2. host-policies, which waits for it: cp added.",
		"cluster alpha: after step 2 and until the agents restart, they run the Cilium settings in output, which cannot be read: "+
			"HelmRelease kube-system/cilium (Kustomization flux-system/infrastructure, path ./infrastructure/controllers, chart "+
			"1.16.0) leaves encryption.enabled, encryption.type, hubble.relay.enabled, ipv4.enabled, ipv6.enabled, policyAuditMode, "+
			"routingMode, tunnelPort, tunnelProtocol to its valuesFrom (ConfigMap/cilium-values: no Kustomization of the cluster "+
			"applies it from this tree), which helm-controller reads in the cluster, not here: the transition checks read them "+
			"of the agents' settings\n",
		"cluster alpha: a way that works: set rollOutCiliumPods: true in cilium.values in this change",
		"kronform-gen: refusing to write output: cluster alpha: the state between Flux's two steps cannot be verified; "+
			"split the change as given above\n",
	)
	// The ways out: rollOutCiliumPods, or Cilium first.
	w.mustGenerate(strings.Replace(twoNodes, "auditMode: false}", "auditMode: false, values: {rollOutCiliumPods: true}}", 1))
	w = adopting(t, "1.16.0", twoNodesTakeover, nil)
	noPolicies := twoNodes[:strings.Index(twoNodes, "    hostPolicies:")] + twoNodes[strings.Index(twoNodes, "    hetzner:"):]
	w.mustGenerate(noPolicies)
	w.mustGenerate(twoNodes)

	// Its spec.values in audit mode: the agents enforce nothing now, whatever the rest, and the tree is written.
	w = adopting(t, "1.16.0", strings.Replace(twoNodesTakeover, "  valuesFrom:", "    policyAuditMode: true\n  valuesFrom:", 1), nil)
	wantInStderr(t, w.mustGenerate(twoNodes), "; its valuesFrom not read here (ConfigMap/cilium-values: no Kustomization of the "+
		"cluster applies it from this tree) is read by helm-controller in the cluster: values set there are not compared, and "+
		"count as unset, but the transition checks read none of them (what they read of the agents' settings is merged after "+
		"it, or is audit mode on). A ")
}

// A ConfigMap named by valuesFrom that the Kustomization applying the release applies with it is read, merged under
// spec.values as helm-controller merges them: its tunnelProtocol: geneve is what the old agents run, and the 6081/udp
// the new policy drops is the failure named; values the checks do not read leave the change as it is, and the note
// says the valuesFrom was read. One another Kustomization applies, one kustomize-controller does not keep as built, an
// entry with a targetPath, or a key the ConfigMap lacks here, is not read (a Secret: see unreadableTakeovers).
func TestTakeoverReadsValuesFromTheTree(t *testing.T) {
	geneve := ciliumValues("    routingMode: tunnel\n    tunnelProtocol: geneve\n")
	w := adopting(t, "1.16.0", twoNodesTakeover, map[string]string{"infrastructure/controllers/values.yaml": geneve})
	code, stderr := w.generate(twoNodes)
	wantInStderr(t, stderr,
		"cluster alpha: after step 2 and until the agents restart, they run the Cilium settings in output with the new host "+
			"policies, and 2 check(s) fail:\nFAIL  alpha: built-in: node:a2 -> node:a1 6081/udp allowed (Cilium's Geneve overlay "+
			"carries pod traffic between nodes)\n",
		"kronform-gen: refusing to write output: cluster alpha: 2 check(s) fail between Flux's two steps",
	)
	if code != ExitFailure {
		t.Errorf("exit %d, want %d", code, ExitFailure)
	}
	// spec.values win over the ConfigMap, as in helm-controller.
	vxlan := strings.Replace(twoNodesTakeover, "  valuesFrom:", "    tunnelProtocol: vxlan\n  valuesFrom:", 1)
	w = adopting(t, "1.16.0", vxlan, map[string]string{"infrastructure/controllers/values.yaml": geneve})
	w.mustGenerate(twoNodes)

	w = adopting(t, "1.16.0", twoNodesTakeover, map[string]string{"infrastructure/controllers/values.yaml": ciliumValues("    bpf: {masquerade: true}\n")})
	stderr = w.mustGenerate(twoNodes)
	wantInStderr(t, stderr, "the spec does not set bpf: the release takes the chart's defaults for them (to keep one, set it in the spec); of its valuesFrom, "+
		"ConfigMap/cilium-values, which the Kustomization applies with it, is read here and merged under its spec.values, as "+
		"helm-controller merges them. A ")

	inTree := map[string]string{"infrastructure/controllers/values.yaml": ciliumValues("    bpf: {masquerade: true}\n")}
	for name, c := range map[string]struct {
		values string
		files  map[string]string
	}{
		"applied by another Kustomization": {twoNodesTakeover, map[string]string{
			"clusters/alpha/values.yaml": `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: values, namespace: flux-system}
spec: {interval: 1h, path: ./infrastructure/values, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}
`,
			"infrastructure/values/values.yaml": ciliumValues("    bpf: {masquerade: true}\n"),
		}},
		"not kept as built": {twoNodesTakeover, map[string]string{"infrastructure/controllers/values.yaml": strings.Replace(
			ciliumValues("    bpf: {masquerade: true}\n"), "namespace: kube-system}",
			"namespace: kube-system, annotations: {kustomize.toolkit.fluxcd.io/ssa: IfNotPresent}}", 1)}},
		// kustomize-controller matches its marks on labels as on annotations, the value in any case.
		"not kept as built, by a label": {twoNodesTakeover, map[string]string{"infrastructure/controllers/values.yaml": strings.Replace(
			ciliumValues("    bpf: {masquerade: true}\n"), "namespace: kube-system}",
			"namespace: kube-system, labels: {kustomize.toolkit.fluxcd.io/reconcile: Disabled}}", 1)}},
		"a targetPath": {strings.Replace(twoNodesTakeover, "name: cilium-values}", "name: cilium-values, targetPath: bpf}", 1), inTree},
		"another key":  {strings.Replace(twoNodesTakeover, "name: cilium-values}", "name: cilium-values, valuesKey: extra.yaml}", 1), inTree},
	} {
		w = adopting(t, "1.16.0", c.values, c.files)
		code, stderr = w.generate(twoNodes)
		if code != ExitFailure || !strings.Contains(stderr, "to its valuesFrom (ConfigMap/cilium-values") {
			t.Errorf("%s: exit %d, want %d and the valuesFrom not read:\n%s", name, code, ExitFailure, stderr)
		}
	}
}

// A ConfigMap from a configMapGenerator gets a hash suffix, and kustomize rewrites a HelmRelease's valuesFrom name to it
// only with a nameReference configuration: without one, helm-controller looks for the name the HelmRelease gives, and
// the ConfigMap the tree applies is not it. The reason says so, and names the way to have it read, which passes.
func TestTakeoverValuesFromAGeneratedConfigMap(t *testing.T) {
	generated := map[string]string{
		"infrastructure/controllers/kustomization.yaml": "resources: [cilium.yaml]\nconfigMapGenerator:\n" +
			"- {name: cilium-values, namespace: kube-system, files: [values.yaml=cilium-values.yaml]}\n",
		"infrastructure/controllers/cilium-values.yaml": "bpf: {masquerade: true}\n",
	}
	w := adopting(t, "1.16.0", twoNodesTakeover, generated)
	code, stderr := w.generate(twoNodes)
	wantInStderr(t, stderr, "to its valuesFrom (ConfigMap/cilium-values: no Kustomization of the cluster applies it from this "+
		"tree; Kustomization flux-system/infrastructure applies ConfigMap kube-system/cilium-values-")
	wantInStderr(t, stderr, ", a name with a generator's hash suffix, which kustomize writes into a HelmRelease's valuesFrom "+
		"only with a configuration (configurations:) whose nameReference for ConfigMap has the fieldSpec spec/valuesFrom/name "+
		"of kind HelmRelease)")
	if code != ExitFailure {
		t.Errorf("exit %d, want %d", code, ExitFailure)
	}
	generated["infrastructure/controllers/kustomization.yaml"] = strings.Replace(generated["infrastructure/controllers/kustomization.yaml"],
		"resources: [cilium.yaml]\n", "resources: [cilium.yaml]\nconfigurations: [kustomizeconfig.yaml]\n", 1)
	generated["infrastructure/controllers/kustomizeconfig.yaml"] = "nameReference:\n- kind: ConfigMap\n  version: v1\n  fieldSpecs:\n" +
		"  - {path: spec/valuesFrom/name, kind: HelmRelease}\n"
	w = adopting(t, "1.16.0", twoNodesTakeover, generated)
	wantInStderr(t, w.mustGenerate(twoNodes), "of its valuesFrom, ConfigMap/cilium-values-")
}

// settledTakeover is a user's release on twoNodes whose spec.values set every key the transition checks read of the
// agents' settings: audit mode off, Geneve, the host firewall as given; what a valuesFrom before them sets of those
// keys is overridden.
func settledTakeover(hostFirewall bool) string {
	return fmt.Sprintf(`    kubeProxyReplacement: true
    k8sServiceHost: api.alpha.example.com
    k8sServicePort: 6443
    policyAuditMode: false
    routingMode: tunnel
    tunnelProtocol: geneve
    tunnelPort: 0
    encryption: {enabled: false, type: wireguard}
    hubble: {relay: {enabled: false}}
    ipv4: {enabled: true}
    ipv6: {enabled: false}
    hostFirewall: {enabled: %t}
`, hostFirewall)
}

// helm-controller sets a valuesFrom entry's targetPath with Helm's --set parser into values that hold spec.values'
// maps themselves (fluxcd/pkg chartutil.ChartValuesFromReferences): hostFirewall.enabled from a Secret wins over
// spec.values' hostFirewall: {enabled: false}, and a value with a comma sets further keys. Only a key spec.values sets
// at its top level stays its own. Taken as settled by spec.values, the old agents were judged without a host
// firewall, and a policy that drops their Geneve port was written.
func TestTakeoverTargetPathMaySetWhatSpecValuesSet(t *testing.T) {
	targetPath := "  valuesFrom:\n    - {kind: Secret, name: cilium-firewall, valuesKey: enabled, targetPath: hostFirewall.enabled}\n"
	w := adopting(t, "1.16.0", settledTakeover(false)+targetPath, nil)
	stderr := w.refusedGenerate(twoNodes)
	wantInStderr(t, stderr,
		"they run the Cilium settings in output, which cannot be read: HelmRelease kube-system/cilium (Kustomization "+
			"flux-system/infrastructure, path ./infrastructure/controllers, chart 1.16.0) leaves encryption.enabled, "+
			"encryption.type, hostFirewall.enabled, hubble.relay.enabled, ipv4.enabled, ipv6.enabled to its valuesFrom "+
			"(Secret/cilium-firewall (enabled): with a targetPath, which is not read here: helm-controller sets it (Helm's "+
			"--set syntax, which may name more keys) over spec.values, but for the keys spec.values sets at its top level)",
		"cluster alpha: a way that works: set rollOutCiliumPods: true in cilium.values in this change",
		"kronform-gen: refusing to write output: cluster alpha: the state between Flux's two steps cannot be verified")
	// The ways out pass: rollOutCiliumPods, or Cilium first.
	w.mustGenerate(strings.Replace(twoNodes, "auditMode: false}", "auditMode: false, values: {rollOutCiliumPods: true}}", 1))
	w = adopting(t, "1.16.0", settledTakeover(false)+targetPath, nil)
	w.mustGenerate(twoNodes[:strings.Index(twoNodes, "    hostPolicies:")] + twoNodes[strings.Index(twoNodes, "    hetzner:"):])
	w.mustGenerate(twoNodes)
	// policyAuditMode: true at the top level of spec.values is merged last, over what any entry sets: nothing is
	// enforced now, and the tree is written.
	w = adopting(t, "1.16.0", strings.Replace(settledTakeover(false), "policyAuditMode: false", "policyAuditMode: true", 1)+targetPath, nil)
	w.mustGenerate(twoNodes)
}

// rollOutCiliumPods: true read from a ConfigMap of the release's valuesFrom says that the upgrade restarts the agents
// in step 1 (their pods lose the config's checksum), and the check of the old agents under the new policies is
// skipped: but a Secret merged after it may set it false, and then the agents keep Geneve under a policy that drops
// it. Unread, it is taken as unset, and the check runs; merged after the Secret, it is read. The Secret may pin the
// agents' image too, so they are judged as any release: those before 1.16 know no endPort, and enforce the ranges
// 2379-2380 and 50000-50001 as their first ports.
func TestTakeoverRollOutBeforeAnUnreadValuesFromIsUnset(t *testing.T) {
	files := map[string]string{"infrastructure/controllers/values.yaml": ciliumValues("    rollOutCiliumPods: true\n")}
	w := adopting(t, "1.16.0", settledTakeover(true)+"  valuesFrom:\n    - {kind: ConfigMap, name: cilium-values}\n"+
		"    - {kind: Secret, name: cilium-more}\n", files)
	code, stderr := w.generate(twoNodes)
	wantInStderr(t, stderr,
		"cluster alpha: after step 2 and until the agents restart, they run the Cilium settings in output (agents judged as "+
			"Cilium (any release: values not read here may pin the agents' image; chart 1.16.0)) with the new host policies, and 6 check(s) fail:",
		"FAIL  alpha: built-in: node:a2 -> node:a1 6081/udp allowed",
		"FAIL  alpha: built-in: node:a2 -> node:a1 2380/tcp allowed",
		"kronform-gen: refusing to write output: cluster alpha: 6 check(s) fail between Flux's two steps")
	if code != ExitFailure {
		t.Errorf("exit %d, want %d", code, ExitFailure)
	}
	w = adopting(t, "1.16.0", settledTakeover(true)+"  valuesFrom:\n    - {kind: Secret, name: cilium-more}\n"+
		"    - {kind: ConfigMap, name: cilium-values}\n", files)
	w.mustGenerate(twoNodes)
}

// Whether the old agents restart in step 1 on a new chart version depends on whether their values pin the image: a
// valuesFrom not read may. That alone is no reason to refuse: taken as pinned (no restart), the old agents' settings,
// read, are checked under the new policies, as agents of any release (the pin is not read). The change passes when
// they pass (VXLAN, as the new ones, and policies without port ranges, which agents before 1.16 would enforce as their
// first ports), and fails on the check when they do not (Geneve), naming the pin that may keep them.
func TestTakeoverUnreadImagePinIsChecked(t *testing.T) {
	secret := "  valuesFrom:\n    - {kind: Secret, name: cilium-more}\n"
	newChart := strings.Replace(twoNodes, "version: 1.16.0", "version: 1.16.5", 1)
	vxlan := strings.Replace(settledTakeover(true), "tunnelProtocol: geneve", "tunnelProtocol: vxlan", 1)
	w := adopting(t, "1.16.0", vxlan+secret, nil)
	code, stderr := w.generate(newChart)
	wantInStderr(t, stderr,
		"they run the Cilium settings in output (agents judged as Cilium (any release: values not read here may pin the agents' "+
			"image; chart 1.16.0)) with the new host policies, and 4 check(s) fail:",
		"cilium   deny     ingress at a1: default deny: cp selects a1 for ingress and no allow rule matches 2380/tcp from "+
			"remote-node+kube-apiserver (as an agent before 1.16.0 enforces the policies: no endPort, so a port range is its first "+
			"port; the agents may run Cilium (any release: values not read here may pin the agents' image; chart 1.16.0))")
	if code != ExitFailure {
		t.Errorf("VXLAN with port ranges: exit %d, want %d", code, ExitFailure)
	}
	w = adopting(t, "1.16.0", vxlan+secret, nil)
	w.mustGenerate(singlePorts(newChart))

	w = adopting(t, "1.16.0", settledTakeover(true)+secret, nil)
	code, stderr = w.generate(singlePorts(newChart))
	wantInStderr(t, stderr,
		"only when they restart, which the chart does not do here (chart 1.16.0 -> 1.16.5, but the values before may pin "+
			"the agents' image: image.digest, image.override, image.tag, not read here, no rollOutCiliumPods)",
		"cluster alpha: after step 2 and until the agents restart, they run the Cilium settings in output (agents judged as "+
			"Cilium (any release: values not read here may pin the agents' image; chart 1.16.0)) with the new host "+
			"policies, and 2 check(s) fail:\nFAIL  alpha: built-in: node:a2 -> node:a1 6081/udp allowed")
	if code != ExitFailure {
		t.Errorf("exit %d, want %d", code, ExitFailure)
	}
}

// A host firewall switched on or off by a value substituted from a Secret is masked here: the agents' settings are
// unknown, as with a valuesFrom not read, and the change is refused as for a release that cannot be read.
func TestTakeoverWithSecretSubstitutedFirewallIsUnknown(t *testing.T) {
	w := adopting(t, "1.16.5", "    kubeProxyReplacement: true\n    hostFirewall:\n      enabled: ${host_firewall}\n", map[string]string{
		"clusters/alpha/infrastructure.yaml": `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: infrastructure, namespace: flux-system}
spec:
  interval: 1h
  path: ./infrastructure/controllers
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
  postBuild: {substituteFrom: [{kind: Secret, name: cilium-switches}]}
`,
		"clusters/alpha/switches.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: cilium-switches, namespace: flux-system}\n" +
			"stringData: {host_firewall: \"true\"}\n",
	})
	code, stderr := w.generate(takeoverSpec + `    hostPolicies:
      - name: cp
        nodes: {role: control-plane}
        ingress: [{entities: [world], ports: [6443/tcp, 50000/tcp, 50001/tcp]}]
    hetzner: {adminSources: [203.0.113.7/32]}
`)
	want := "cluster alpha: after step 2 and until the agents restart, they run the Cilium settings in output, which cannot be " +
		"read: HelmRelease kube-system/cilium (Kustomization flux-system/infrastructure, path ./infrastructure/controllers, chart " +
		"1.16.5) has hostFirewall.enabled substituted from a Secret or SOPS-encrypted, which is not decrypted here: the " +
		"transition checks read it of the agents' settings\n"
	if code != ExitFailure || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, want %d and %q:\n%s", code, ExitFailure, want, stderr)
	}
}

// wantInStderr fails the test for each text stderr lacks.
func wantInStderr(t *testing.T, stderr string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

// refusedGenerate runs generate on the spec and wants it refused: exit 1, and the output folder byte for byte as it
// was. It returns generate's stderr.
func (w *workspace) refusedGenerate(specText string) string {
	w.t.Helper()
	before := w.snapshot()
	code, stderr := w.generate(specText)
	if code != ExitFailure {
		w.t.Errorf("exit %d, want %d", code, ExitFailure)
	}
	if after := w.snapshot(); !maps.Equal(before, after) {
		w.t.Errorf("a refused generate changed the tree")
	}
	return stderr
}

// snapshot is every file under the workspace's output folder, by path: a refused generate leaves them byte for byte.
func (w *workspace) snapshot() map[string]string {
	w.t.Helper()
	out := map[string]string{}
	root := filepath.Join(w.dir, "output")
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = string(b)
		return err
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

// worldOnly is takeoverSpec with a policy that leaves Flux out of the API server: it shuts Flux out wherever the
// agents enforce it, so a state in between whose settings are unknown may lock the operator out.
const worldOnly = takeoverSpec + `    hostPolicies:
      - name: cp
        nodes: {role: control-plane}
        ingress: [{entities: [world], ports: [6443/tcp, 50000/tcp, 50001/tcp]}]
    hetzner: {adminSources: [203.0.113.7/32]}
`

// unreadableTakeovers are trees in which Flux applies (or may apply: may) a HelmRelease of the user's under
// kronform-gen's name that generate cannot read, each with the reason the refusal gives. Its values enforce (the
// host firewall on, audit mode off), and they are not read.
func unreadableTakeovers() map[string]struct {
	chart string
	files map[string]string
	why   string
	may   bool
} {
	fromSecret := map[string]string{
		"clusters/alpha/infrastructure.yaml": `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: infrastructure, namespace: flux-system}
spec:
  interval: 1h
  path: ./infrastructure/controllers
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
  postBuild: {substituteFrom: [{kind: Secret, name: versions}]}
`,
		"clusters/alpha/versions.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: versions, namespace: flux-system}\n" +
			"stringData: {cilium_version: 1.16.5}\n",
	}
	byTurns := map[string]string{
		"clusters/alpha/other.yaml": `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: other, namespace: flux-system}
spec: {interval: 1h, path: ./infrastructure/other, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}
`,
		"infrastructure/other/cilium.yaml": `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: cilium, namespace: kube-system}
spec: {interval: 30m, chart: {spec: {chart: cilium, version: "1.16.4", sourceRef: {kind: HelmRepository, name: cilium}}}}
`,
	}
	valuesFrom := map[string]string{"infrastructure/controllers/cilium.yaml": `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: cilium, namespace: kube-system}
spec:
  interval: 30m
  chart: {spec: {chart: cilium, version: "1.16.5", sourceRef: {kind: HelmRepository, name: cilium}}}
  values: {hostFirewall: {enabled: true}, policyAuditMode: false}
  valuesFrom: [{kind: Secret, name: cilium-values}]
`}
	return map[string]struct {
		chart string
		files map[string]string
		why   string
		may   bool
	}{
		"by digest": {"", chartRefRelease("{tag: 1.16.5, digest: 'sha256:0000000000000000000000000000000000000000000000000000000000000000'}"),
			"HelmRelease kube-system/cilium takes its chart by digest (its chartRef, OCIRepository kube-system/cilium-chart): " +
				"which version that is cannot be read here", false},
		"no version": {"", chartRefRelease("{}"), "HelmRelease kube-system/cilium names no chart version (its chartRef, OCIRepository " +
			"kube-system/cilium-chart): which one helm-controller installs cannot be read here", false},
		"a version not modelled": {"1.12.0", nil, "HelmRelease kube-system/cilium names chart version 1.12.0 (spec.chart.spec.version), " +
			"which kronform-gen does not model: ", false},
		"a version from a Secret": {"${cilium_version}", fromSecret, "HelmRelease kube-system/cilium has its chart version " +
			"(spec.chart.spec.version) substituted from a Secret or SOPS-encrypted, which is not decrypted here", false},
		"a remote base": {"1.16.5", map[string]string{"infrastructure/controllers/kustomization.yaml": "resources: [cilium.yaml, " +
			"'github.com/acme/platform//cilium?ref=v1.2.0']\n"}, "Kustomization flux-system/infrastructure does not build here " +
			"(kronform-gen build shows why), so whether Flux applies a HelmRelease kube-system/cilium in output is unknown", true},
		"copies by turns": {"1.16.5", byTurns, "Kustomizations flux-system/infrastructure, flux-system/other apply different " +
			"copies of HelmRelease kube-system/cilium in output, by turns, so which one helm-controller runs now is unknown", false},
		// The user's release reads well, but the Kustomizations that may apply another copy cannot be found: the
		// reason names the file to repair.
		"a Kustomization that does not parse": {"1.16.5", map[string]string{"clusters/alpha/apps/bad.yaml": "apiVersion: " +
			"kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n  bad: [\n"}, "the Flux Kustomizations in output cannot be read " +
			"(clusters/alpha/apps/bad.yaml: yaml: line 3: mapping values are not allowed in this context)", true},
		// No file of the tree names a HelmRelease: the Kustomization from another repository may apply one (suspended,
		// what it applied stays).
		"another source": {"", map[string]string{"infrastructure/controllers/cilium.yaml": "", "clusters/alpha/infrastructure.yaml": "",
			"clusters/alpha/platform.yaml": `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: platform, namespace: flux-system}
spec: {interval: 1h, path: ./cilium, prune: true, suspend: true, sourceRef: {kind: GitRepository, name: platform}}
`}, "Kustomization flux-system/platform (its source is GitRepository flux-system/platform, not this repository's GitRepository " +
			"flux-system/flux-system: Flux builds it from that source) is not built from this tree, so whether Flux applies a " +
			"HelmRelease kube-system/cilium is unknown", true},
		// kustomize-controller applies a release marked ssa: IfNotPresent only where none exists: the one in the cluster
		// is whatever was created first. kronform-gen's, unmarked, is applied over it.
		"ssa: IfNotPresent": {"", releaseWith(", annotations: {kustomize.toolkit.fluxcd.io/ssa: IfNotPresent}", ""),
			"HelmRelease kube-system/cilium (Kustomization flux-system/infrastructure, path ./infrastructure/controllers) has " +
				"the annotation kustomize.toolkit.fluxcd.io/ssa: IfNotPresent, set in infrastructure/controllers/cilium.yaml: " +
				"kustomize-controller creates it when the cluster has none and never applies it over one that exists, so the " +
				"release in the cluster is whatever was created first, not what the file says (to have it read here, remove " +
				"the annotation from infrastructure/controllers/cilium.yaml and let Flux apply that)", false},
		// The Kustomization applying it is not kept in the cluster as the tree has it: its path and patches there, and so
		// whether and what it applies, are whatever was applied before.
		"its Kustomization marked": {"1.16.5", map[string]string{"clusters/alpha/infrastructure.yaml": strings.Replace(
			withVars(nil, "", nil)["clusters/alpha/infrastructure.yaml"], "namespace: flux-system}",
			"namespace: flux-system, labels: {kustomize.toolkit.fluxcd.io/reconcile: Disabled}}", 1)},
			"Kustomization flux-system/infrastructure, which applies HelmRelease kube-system/cilium, has the label " +
				"kustomize.toolkit.fluxcd.io/reconcile: Disabled, so kustomize-controller does not keep it in the cluster as " +
				"this tree has it: what it applies there is unknown (remove the label from its file, and from the object in " +
				"the cluster, to have it read here)", true},
		// helm-controller does not reconcile a suspended release: the Helm release is what it last ran. kronform-gen's,
		// with no spec.suspend, is reconciled again.
		"suspended": {"", releaseWith("", "  suspend: true\n"), "HelmRelease kube-system/cilium has spec.suspend: true, so " +
			"helm-controller does not reconcile it: the Helm release in the cluster is whatever it last installed or " +
			"upgraded, not what the file says", false},
		// helm-controller keeps the values of the release it last ran under the file's, or patches what Helm renders:
		// what the agents run is not only what the file says. kronform-gen's release does neither.
		"preserveValues": {"", releaseWith("", "  upgrade: {preserveValues: true}\n"), "HelmRelease kube-system/cilium has " +
			"spec.upgrade.preserveValues: true, so helm-controller keeps the values of the release it last ran under the " +
			"file's: what the release runs is not only what the file says", false},
		"postRenderers": {"", releaseWith("", "  postRenderers: [{kustomize: {patches: [{target: {kind: ConfigMap, name: "+
			"cilium-config}, patch: '[{op: add, path: /data/policy-audit-mode, value: \"false\"}]'}]}}]\n"),
			"HelmRelease kube-system/cilium has spec.postRenderers, which helm-controller applies to the chart's manifests " +
				"after Helm renders them (cilium-config and the agents' DaemonSet among them): what the agents run is not only " +
				"what its values say", false},
		// Read, but what the checks read of the agents' settings is left to a valuesFrom not read here.
		"values from a Secret": {"", valuesFrom, "HelmRelease kube-system/cilium (Kustomization flux-system/infrastructure, path " +
			"./infrastructure/controllers, chart 1.16.5) leaves encryption.enabled, encryption.type, hubble.relay.enabled, " +
			"ipv4.enabled, ipv6.enabled, routingMode, tunnelPort, tunnelProtocol to its valuesFrom (Secret/cilium-values: a " +
			"Secret, which is not read here), which helm-controller reads in the cluster, not here: the transition checks read " +
			"them of the agents' settings", false},
	}
}

// A HelmRelease of the user's under kronform-gen's name that generate cannot read runs agents whose settings are
// unknown: the state after host-policies and before they restart cannot be checked. Taken for a first install, it was
// not checked at all, and a policy that shuts Flux out of the API server was written beside agents that may enforce
// it. generate refuses it as it refuses a release of its own it cannot read: exit 1, nothing written, and the ways
// out, which then pass: rollOutCiliumPods (the chart restarts the agents in step 1), or Cilium first, then the
// policies.
func TestUnreadableTakeoverRefusesPoliciesInBetween(t *testing.T) {
	for name, c := range unreadableTakeovers() {
		t.Run(name, func(t *testing.T) {
			w := adopting(t, c.chart, userValues, c.files)
			stderr := w.refusedGenerate(worldOnly)
			replaces, note := "what Flux applies now", "a HelmRelease of yours that Flux applies there could not be read: "
			find := "cluster alpha: to find whether a HelmRelease kube-system/cilium runs there, and which Kustomization applies " +
				"it: kubectl -n kube-system get helmrelease cilium -o jsonpath='{.metadata.labels}' (its labels " +
				"kustomize.toolkit.fluxcd.io/name and kustomize.toolkit.fluxcd.io/namespace name the Kustomization)\n"
			if c.may {
				replaces, note = "any that Flux may apply now", "Flux may apply a HelmRelease of yours there under that name, which could not be read: "
				wantInStderr(t, stderr, find)
			} else if strings.Contains(stderr, find) {
				t.Errorf("stderr says a release may not exist:\n%s", stderr)
			}
			wantInStderr(t, stderr,
				"cluster alpha: Flux applies this change in two steps: 1. cilium: the HelmRelease replaces "+replaces+" under its "+
					"name, kube-system/cilium, which cannot be read; 2. host-policies, which waits for it: cp added. "+
					"What the agents run now is unknown, and they take the new settings only when they restart, before or after step 2.",
				"cluster alpha: after step 2 and until the agents restart, they run the Cilium settings in output, which cannot be read: "+c.why,
				"cluster alpha: a way that works: set rollOutCiliumPods: true in cilium.values in this change: the chart then restarts "+
					"the agents in step 1, so only the new Cilium settings with the host policies in output come in between, and they "+
					"pass. Or first the Cilium change alone, with the host policies in output; commit, push and let Flux apply it; "+
					"restart the agents (kubectl -n kube-system rollout restart daemonset/cilium; kubectl -n kube-system rollout status "+
					"daemonset/cilium); then the host policies.\n",
				"kronform-gen: refusing to write output: cluster alpha: the state between Flux's two steps cannot be verified; "+
					"split the change as given above\n",
			)
			// rollOutCiliumPods: the agents restart in step 1, and the new settings meet no host policy of kronform-gen's.
			stderr = w.mustGenerate(strings.Replace(worldOnly, "auditMode: true}", "auditMode: true, values: {rollOutCiliumPods: true}}", 1))
			end := "\n"
			if c.may {
				end = "; to find whether a HelmRelease kube-system/cilium runs there"
			}
			wantInStderr(t, stderr, "note: cluster alpha: "+note+c.why,
				"; what the agents run now is unknown, and with rollOutCiliumPods the chart restarts them in step 1: the "+
					"transition checks judged the new settings alone"+end,
				// The chart restarts them: the note does not say to.
				"the agents read new values only when they start, and with rollOutCiliumPods: true the chart restarts them "+
					"when helm-controller upgrades the release\n")

			// Or split: Cilium alone, then the policies, judged against kronform-gen's release.
			w = adopting(t, c.chart, userValues, c.files)
			w.mustGenerate(takeoverSpec)
			w.mustGenerate(worldOnly)
		})
	}
}

// With audit mode off and policies that pass under the new settings, the agents' unknown settings may still be
// another overlay or firewall: refused all the same, and rollOutCiliumPods lets the change through, the new settings
// with no host policy of kronform-gen's in between.
func TestUnreadableTakeoverRefusedWhenEnforcing(t *testing.T) {
	c := unreadableTakeovers()["by digest"]
	enforcing := strings.NewReplacer("auditMode: true}", "auditMode: false}", "entities: [world]", "entities: [world, cluster]").Replace(worldOnly)
	w := adopting(t, c.chart, userValues, c.files)
	stderr := w.refusedGenerate(enforcing)
	wantInStderr(t, stderr, "cluster alpha: after step 2 and until the agents restart, they run the Cilium settings in output, which cannot be read: "+c.why,
		"kronform-gen: refusing to write output: cluster alpha: the state between Flux's two steps cannot be verified")
	w.mustGenerate(strings.Replace(enforcing, "auditMode: false}", "auditMode: false, values: {rollOutCiliumPods: true}}", 1))
}

// The restart note speaks of audit mode only as the release before has it: a user's policyAuditMode: false that the
// spec drops, with audit mode off, stays off (the note said "stays on"), and needs no word; one the user's valuesFrom
// sets is read where the ConfigMap is applied with the release, and where it is not, the settings the agents run are
// unknown: no restart note guesses, and the note for a release that cannot be read says to restart them.
func TestTakeoverRestartNoteKeepsTheAuditModeBefore(t *testing.T) {
	enforcing := strings.Replace(takeoverSpec, "auditMode: true", "auditMode: false", 1)
	valuesFrom := userValues + "  valuesFrom: [{kind: ConfigMap, name: cilium-values}]\n"
	for _, c := range []struct {
		name, values string
		files        map[string]string
		spec         string
		want         []string
		not          string
	}{
		{"off, dropped", userValues + "    policyAuditMode: false\n", nil, enforcing,
			[]string{"note: cluster alpha: Cilium's values change (", "policyAuditMode", "once Flux has applied this, restart them: kubectl"}, "audit mode stays"},
		{"on, turned off", userValues + "    policyAuditMode: true\n", nil, enforcing,
			[]string{"note: cluster alpha: Cilium's values change (", "policyAuditMode", "restart them (until then audit mode stays on): kubectl"}, ""},
		{"on in its valuesFrom", valuesFrom, map[string]string{"infrastructure/controllers/values.yaml": ciliumValues("    policyAuditMode: true\n")},
			enforcing, []string{"note: cluster alpha: Cilium's values change (", "policyAuditMode", "restart them (until then audit mode stays on): kubectl"}, ""},
		{"left to valuesFrom", valuesFrom, nil, takeoverSpec, []string{"note: cluster alpha: a HelmRelease of yours that Flux applies " +
			"there could not be read: HelmRelease kube-system/cilium", "later changes are judged as if the agents ran this release, " +
			"so restart them once Flux has applied it, before any host policies\n"}, "Cilium's values change"},
	} {
		t.Run(c.name, func(t *testing.T) {
			stderr := adopting(t, "1.16.5", c.values, c.files).mustGenerate(c.spec)
			wantInStderr(t, stderr, c.want...)
			if c.not != "" && strings.Contains(stderr, c.not) {
				t.Errorf("stderr has %q:\n%s", c.not, stderr)
			}
		})
	}
}

// releaseWith is the user's Cilium HelmRelease at kube-system/cilium, chart 1.16.5 and enforcing values (audit mode
// off, the host firewall on), with the metadata fields meta adds (", annotations: {...}") and the spec fields spec
// adds (indented lines), as files for adopting.
func releaseWith(meta, spec string) map[string]string {
	return map[string]string{"infrastructure/controllers/cilium.yaml": `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: cilium, namespace: kube-system` + meta + `}
spec:
  interval: 30m
` + spec + `  chart: {spec: {chart: cilium, version: "1.16.5", sourceRef: {kind: HelmRepository, name: cilium}}}
  values:
` + userValues}
}

// A release of the user's that kustomize-controller does not apply as its file says, and whose mark in the cluster
// keeps kronform-gen's release from being applied as written in its place (reconcile: disabled, ssa: Ignore, ssa:
// Merge; on a label as on an annotation, the value in any case, set by the file or by its kustomization.yaml): the
// release before is not what the file says, and after the change the host policies would be applied while Cilium
// stays as it was. Read as its file says, it was taken over and judged as if both were applied. generate refuses it
// whatever the change (exit 1, nothing written), with or without rollOutCiliumPods, which changes nothing there, and
// says what to do; once the mark is gone from the repository (and, as the refusal says, from the cluster), the release
// is taken over as before. Other values (ssa: Override, reconcile: enabled) mark nothing.
func TestTakeoverOfAMarkedReleaseIsRefused(t *testing.T) {
	const file = "infrastructure/controllers/cilium.yaml"
	skipped := func(kind string) string {
		return "kustomize-controller applies no object that carries it, in the tree or in the cluster: the release in the " +
			"cluster is not what the file says, and while the object in the cluster carries the " + kind + ", kronform-gen's " +
			"HelmRelease, which replaces it under that name, would not be applied either, while its host policies would"
	}
	substituted := func(kind string) string {
		return "its value is substituted by Flux (spec.postBuild) from what is not read here, and may be disabled, Ignore " +
			"or Merge, with which kustomize-controller does not apply the release as the file says, and while the object in " +
			"the cluster carries the " + kind + ", would not apply kronform-gen's HelmRelease in its place either, or not " +
			"only as written"
	}
	for name, c := range map[string]struct {
		files                  map[string]string
		kind, verb, key, value string
		where, what            string
	}{
		"reconcile: disabled": {releaseWith(", annotations: {kustomize.toolkit.fluxcd.io/reconcile: disabled}", ""),
			"annotation", "annotate", "kustomize.toolkit.fluxcd.io/reconcile", "disabled", file, skipped("annotation")},
		"ssa: Ignore": {releaseWith(", annotations: {kustomize.toolkit.fluxcd.io/ssa: Ignore}", ""),
			"annotation", "annotate", "kustomize.toolkit.fluxcd.io/ssa", "Ignore", file, skipped("annotation")},
		"ssa: merge, a label": {releaseWith(", labels: {kustomize.toolkit.fluxcd.io/ssa: merge}", ""),
			"label", "label", "kustomize.toolkit.fluxcd.io/ssa", "merge", file, "kustomize-controller applies the fields " +
				"the file sets, but keeps those that kubectl apply set in the cluster (field manager kubectl, whose fields it " +
				"otherwise takes back) while the " +
				"tree or the object in the cluster carries it: the release in the cluster is not only what the file says, " +
				"and while the object in the cluster carries the label, kronform-gen's HelmRelease, which replaces it under " +
				"that name, would keep them too"},
		"commonAnnotations": {map[string]string{"infrastructure/controllers/kustomization.yaml": "resources: [cilium.yaml]\n" +
			"commonAnnotations: {kustomize.toolkit.fluxcd.io/reconcile: Disabled}\n"},
			"annotation", "annotate", "kustomize.toolkit.fluxcd.io/reconcile", "Disabled",
			"infrastructure/controllers/kustomization.yaml", skipped("annotation")},
		// A value Flux substitutes from what is not read here (a substituteFrom source not in the tree, a Secret) is
		// whatever it is in the cluster: disabled as likely as not.
		"a variable not substituted here": {withVars(releaseWith(", annotations: {kustomize.toolkit.fluxcd.io/reconcile: "+
			"\"${RECONCILE}\"}", ""), "  postBuild: {substituteFrom: [{kind: ConfigMap, name: cluster-vars}]}\n", nil),
			"annotation", "annotate", "kustomize.toolkit.fluxcd.io/reconcile", "${RECONCILE}", file, substituted("annotation")},
		"a value from a Secret": {withVars(releaseWith(", labels: {kustomize.toolkit.fluxcd.io/ssa: \"${SSA}\"}", ""),
			"  postBuild: {substituteFrom: [{kind: Secret, name: cluster-vars}]}\n", map[string]string{
				"clusters/alpha/vars.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: cluster-vars, " +
					"namespace: flux-system}\nstringData: {SSA: Ignore}\n"}),
			"label", "label", "kustomize.toolkit.fluxcd.io/ssa", "*****", file, substituted("label")},
	} {
		t.Run(name, func(t *testing.T) {
			want := "kronform-gen: refusing to write output: cluster alpha: HelmRelease kube-system/cilium (Kustomization " +
				"flux-system/infrastructure, path ./infrastructure/controllers) has the " + c.kind + " " + c.key + ": " + c.value +
				", set in " + c.where + ": " + c.what + "; rollOutCiliumPods cannot settle that. Remove the " + c.kind + " from " +
				c.where + " and from the object in the cluster (kubectl -n kube-system " + c.verb + " helmrelease cilium " +
				c.key + "-); commit, push and let Flux apply your release as the file says (compare it first: helm -n " +
				"kube-system get values cilium); then run generate again. Nothing was written\n"
			w := adopting(t, "1.14.5", userValues, c.files)
			for _, specText := range []string{takeoverSpec, worldOnly,
				strings.Replace(worldOnly, "auditMode: true}", "auditMode: true, values: {rollOutCiliumPods: true}}", 1)} {
				if stderr := w.refusedGenerate(specText); !strings.HasSuffix(stderr, want) {
					t.Errorf("stderr does not end with %q:\n%s", want, stderr)
				}
			}
			// The mark removed from the repository (and from the cluster, which this run cannot see): taken over.
			w = adopting(t, "1.14.5", userValues, nil)
			wantInStderr(t, w.mustGenerate(takeoverSpec), "note: cluster alpha: Flux applies a HelmRelease of yours under the "+
				"name kronform-gen's takes, kube-system/cilium (read in output: Kustomization flux-system/infrastructure, path "+
				"./infrastructure/controllers, chart 1.14.5)")
		})
	}
	// The Helm release to compare is the one helm-controller manages: its releaseName (or targetNamespace-name), stored
	// in its storageNamespace.
	for spec, helm := range map[string]string{
		"  releaseName: cilium-cni\n":                           "helm -n kube-system get values cilium-cni)",
		"  targetNamespace: cni\n  storageNamespace: cni\n":     "helm -n cni get values cni-cilium)",
		"  releaseName: c\n  storageNamespace: flux-releases\n": "helm -n flux-releases get values c)",
	} {
		w := adopting(t, "", "", releaseWith(", annotations: {kustomize.toolkit.fluxcd.io/reconcile: disabled}", spec))
		wantInStderr(t, w.refusedGenerate(takeoverSpec), "(compare it first: "+helm)
	}
	// Values that select nothing: taken over as any release, and judged against it.
	for _, meta := range []string{", annotations: {kustomize.toolkit.fluxcd.io/ssa: Override}",
		", annotations: {kustomize.toolkit.fluxcd.io/reconcile: enabled}"} {
		w := adopting(t, "", "", releaseWith(meta, ""))
		wantInStderr(t, w.mustGenerate(takeoverSpec), "note: cluster alpha: Flux applies a HelmRelease of yours under the name "+
			"kronform-gen's takes, kube-system/cilium (read in output: Kustomization flux-system/infrastructure, path "+
			"./infrastructure/controllers, chart 1.16.5)")
		w = adopting(t, "", "", releaseWith(meta, ""))
		wantInStderr(t, w.refusedGenerate(worldOnly), "they run the Cilium settings in output with the new host policies, and 1 check(s) fail")
	}
}

// withVars is files with the Kustomization flux-system/infrastructure given postBuild (an indented spec field) and
// more files.
func withVars(files map[string]string, postBuild string, more map[string]string) map[string]string {
	out := map[string]string{"clusters/alpha/infrastructure.yaml": `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: infrastructure, namespace: flux-system}
spec:
  interval: 1h
  path: ./infrastructure/controllers
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
` + postBuild}
	maps.Copy(out, files)
	maps.Copy(out, more)
	return out
}

// A release whose settings cannot be read for what helm-controller adds to its file (upgrade.preserveValues, which
// keeps the values it last ran; postRenderers, which patch what Helm renders) still runs the chart version its file
// names: the warning of skipped minor releases reads it, as for a valuesFrom not read.
func TestUnreadableTakeoverStillWarnsOfSkippedMinors(t *testing.T) {
	for name, spec := range map[string]string{
		"preserveValues": "  upgrade: {preserveValues: true}\n",
		"postRenderers":  "  postRenderers: [{kustomize: {images: [{name: quay.io/cilium/cilium, newTag: v1.14.5}]}}]\n",
	} {
		t.Run(name, func(t *testing.T) {
			files := releaseWith("", spec)
			for p, data := range files {
				files[p] = strings.Replace(data, `version: "1.16.5"`, `version: "1.14.5"`, 1)
			}
			w := adopting(t, "", "", files)
			wantInStderr(t, w.mustGenerate(takeoverSpec),
				"warning: cluster alpha: Cilium goes from 1.14.5 to 1.16.5, across more than one minor release",
				"note: cluster alpha: a HelmRelease of yours that Flux applies there could not be read: HelmRelease kube-system/cilium has spec.")
		})
	}
}

// singlePorts is a spec with twoNodes' port ranges written as single ports, which agents of any release enforce alike.
func singlePorts(doc string) string {
	return strings.NewReplacer("50000-50001/tcp", "50000/tcp, 50001/tcp", "2379-2380/tcp", "2379/tcp, 2380/tcp").Replace(doc)
}

// A release of the user's that helm-controller runs in another cluster (spec.kubeConfig) is not this cluster's
// Cilium: kronform-gen's would replace the object, install Cilium here and leave that cluster's release unmanaged.
// generate refuses it whatever the change, and says how to move it out of the way without uninstalling that release;
// moved so (a copy under another name that keeps its Helm release), kronform-gen's is a first install here.
func TestTakeoverOfAReleaseInAnotherClusterIsRefused(t *testing.T) {
	for spec, c := range map[string]struct{ ref, release, storage string }{
		"  kubeConfig: {secretRef: {name: edge-kubeconfig}}\n":                                       {"Secret edge-kubeconfig", "cilium", "kube-system"},
		"  kubeConfig: {secretRef: {name: edge}}\n  targetNamespace: cni\n  storageNamespace: cni\n": {"Secret edge", "cni-cilium", "cni"},
		// Flux 2.7's configMapRef (workload identity), which helm-controller v1.6 reads (buildRESTClientGetter).
		"  kubeConfig: {configMapRef: {name: edge-cluster}}\n": {"ConfigMap edge-cluster", "cilium", "kube-system"},
	} {
		want := "kronform-gen: refusing to write output: cluster alpha: HelmRelease kube-system/cilium (Kustomization " +
			"flux-system/infrastructure, path ./infrastructure/controllers) has spec.kubeConfig (" + c.ref + "): " +
			"helm-controller runs it in the cluster that kubeconfig names, not in this one. kronform-gen's HelmRelease would " +
			"replace it under that name; helm-controller would then install Cilium in this cluster and leave the release in the " +
			"other cluster running as it is, no longer managed (a changed kubeConfig is no release target change to " +
			"helm-controller, so nothing uninstalls it). Move yours out of the way without uninstalling that release: set " +
			"spec.suspend: true on it and let Flux apply that (a HelmRelease deleted while not suspended uninstalls its " +
			"release); then replace it by a copy under another name whose spec.releaseName is " + c.release + " (and " +
			"spec.storageNamespace " + c.storage + "), which takes that release over; commit, push and let Flux apply it; then " +
			"run generate again. Nothing was written\n"
		w := adopting(t, "", "", releaseWith("", spec))
		for _, specText := range []string{takeoverSpec, worldOnly,
			strings.Replace(worldOnly, "auditMode: true}", "auditMode: true, values: {rollOutCiliumPods: true}}", 1)} {
			if stderr := w.refusedGenerate(specText); !strings.HasSuffix(stderr, want) {
				t.Errorf("stderr does not end with %q:\n%s", want, stderr)
			}
		}
	}
	// Moved out of the way as the refusal says: a copy under another name that keeps the Helm release. No HelmRelease of
	// the user's takes kronform-gen's name any more, and generate writes.
	files := releaseWith("", "  kubeConfig: {secretRef: {name: edge-kubeconfig}}\n  releaseName: cilium\n")
	files["infrastructure/controllers/cilium.yaml"] = strings.Replace(files["infrastructure/controllers/cilium.yaml"],
		"name: cilium, namespace: kube-system", "name: edge-cilium, namespace: kube-system", 1)
	w := adopting(t, "", "", files)
	if stderr := w.mustGenerate(takeoverSpec); strings.Contains(stderr, "kubeConfig") {
		t.Errorf("a release under another name is refused:\n%s", stderr)
	}
}

// A release of the user's that a Flux Kustomization with spec.kubeConfig applies (or one that such a Kustomization
// declares: kustomize-controller applies it, and what it declares, in the cluster that kubeconfig names) is an object
// of another cluster: kronform-gen's HelmRelease does not replace it, and is a first install in this one. It is not
// taken over (here a release target kronform-gen's does not have, which a takeover refuses as a reinstall), nor
// refused for a spec.kubeConfig of its own.
func TestReleaseAppliedInAnotherClusterIsNoTakeover(t *testing.T) {
	const remote = `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: infrastructure, namespace: flux-system}
spec: {interval: 1h, path: ./infrastructure/controllers, prune: true, sourceRef: {kind: GitRepository, name: flux-system},
  kubeConfig: {secretRef: {name: edge-kubeconfig}}}
`
	for name, files := range map[string]map[string]string{
		"its Kustomization":      releaseWith("", "  releaseName: cilium-cni\n"),
		"its own kubeConfig too": releaseWith("", "  releaseName: cilium-cni\n  kubeConfig: {secretRef: {name: edge}}\n"),
		"declared by it": {
			"infrastructure/controllers/cilium.yaml": "",
			"infrastructure/controllers/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" +
				"resources: [cni.yaml]\n",
			"infrastructure/controllers/cni.yaml": `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: cni, namespace: flux-system}
spec: {interval: 1h, path: ./infrastructure/cni, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}
`,
			"infrastructure/cni/cilium.yaml": releaseWith("", "  releaseName: cilium-cni\n")["infrastructure/controllers/cilium.yaml"],
		},
	} {
		files["clusters/alpha/infrastructure.yaml"] = remote
		w := adopting(t, "", "", files)
		code, stderr := w.generate(takeoverSpec)
		if code != 0 || !strings.Contains(stderr, installedAnotherWay) {
			t.Errorf("%s: exit %d, want 0 and a first install:\n%s", name, code, stderr)
		}
	}
}
