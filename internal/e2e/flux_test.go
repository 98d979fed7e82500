package e2e

import (
	"encoding/base64"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/kronform/kronform-gen/internal/testenv"
)

// Cilium releases whose Go module ships the Helm chart (install/kubernetes/cilium): 1.20.2 checks the values of the
// current vocabulary against the chart's own values.schema.json; 1.15.6 (which has no schema) the older vocabulary
// (kubeProxyReplacement, etcd.clusterDomain) through the chart's templates.
const (
	ciliumModule = "github.com/cilium/cilium"
	cluster      = "e2e"
)

var ciliumVersions = []string{"1.20.2", "1.15.6"}

// TestFluxReconcilesTheGeneratedTree lets Flux's own controllers reconcile a tree kronform-gen generated: pulled
// from a git server, its SOPS secrets decrypted, the real Cilium chart installed with the generated values. Then the
// spec changes (a policy port, a secret value and the Secret's immutable type, a policy removed) and the cluster must
// converge again.
//
// The environment forces two things, and only these differ from a real cluster: the spec's chart repository is a
// chart server on 127.0.0.1 (the spec's own repository field, no patch), and the cilium folder's kustomization.yaml
// gets a patch setting install/upgrade disableWait on the HelmRelease, since with no kubelet no pod ever runs.
//
// The two runs also cover both layouts of the repository Flux follows: the first has the tree at its root, the second
// the layout the README shows, the spec and output/ in one repository (repositoryPath: output, flux bootstrap --path
// output/clusters/<cluster>), where every spec.path must start at the repository's root.
func TestFluxReconcilesTheGeneratedTree(t *testing.T) {
	testenv.Require(t)
	for i, version := range ciliumVersions {
		repositoryPath := ""
		if i == 1 {
			repositoryPath = "output"
		}
		t.Run("cilium-"+version, func(t *testing.T) { reconcile(t, version, repositoryPath) })
	}
}

func reconcile(t *testing.T, ciliumVersion, repositoryPath string) {
	start := time.Now()
	api := testenv.StartAPIServer(t)
	// Cilium's agent registers its CRDs when it starts; no agent runs here, so the CRD is applied as the agent would.
	if err := api.ApplyCRDs(filepath.Join(repoRoot(t), "generator", "validate", "crds")); err != nil {
		t.Fatal(err)
	}
	// On failure testenv prints the end of every controller's and the API server's log; the waits below add the
	// objects' conditions.
	testenv.StartFlux(t, api)
	t.Logf("API server and Flux up after %v", time.Since(start).Round(time.Millisecond))

	chartURL, chart := testenv.StartChartServer(t, filepath.Join(testenv.ModuleDir(t, ciliumModule+"@v"+ciliumVersion), "install", "kubernetes", "cilium"))
	if chart.Version != ciliumVersion {
		t.Fatalf("chart server serves %s, the spec names %s", chart.Version, ciliumVersion)
	}

	work := t.TempDir()
	identity, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(work, "e2e.agekey")
	testenv.WriteFile(t, keyFile, identity.String()+"\n")
	testenv.WriteFile(t, filepath.Join(work, "spec", "db-password.txt"), "first-password\n")
	// Keys that YAML (yaml.v2's natural order) and JSON (byte order) sort differently: the controller decrypts the
	// Secret as JSON, so the SOPS MAC must not depend on the order the file was written in.
	for k, v := range orderKeys {
		testenv.WriteFile(t, filepath.Join(work, "spec", k+".txt"), v)
	}
	specFile := filepath.Join(work, "spec", "cluster-spec.yaml")
	testenv.WriteFile(t, specFile, testSpec(ciliumVersion, chartURL, identity.Recipient().String(), "9100/tcp", "Opaque", true, repositoryPath))

	// root is the repository Flux follows; the tree (--out) is its folder repositoryPath.
	root := filepath.Join(work, "repo")
	repo := filepath.Join(root, filepath.FromSlash(repositoryPath))
	gen := generator{t: t, bin: kronformGen(t), spec: specFile, out: repo, env: []string{
		"SOPS_AGE_KEY_FILE=" + keyFile, "E2E_API_TOKEN=first-token", "KRONFORM_GEN_CACHE=" + filepath.Join(work, "cache"),
	}}
	gen.generate()
	userApps(t, repo, repositoryPath, identity.Recipient().String())
	testenv.Git(t, root, "init", "--quiet", "--initial-branch=main")
	forceEnvironment(t, repo)
	testenv.Git(t, root, "add", "-A")
	testenv.Git(t, root, "commit", "--quiet", "-m", "kronform-gen: first generation")
	gitURL := testenv.StartGitServer(t, root)

	source := bootstrapFlux(t, api, identity, gitURL, "./"+path.Join(repositoryPath, "clusters", cluster))

	generated := []string{"secrets", "cilium", "host-policies"}
	order := waitKustomizationsReady(t, api, append(slices.Clone(generated), "apps"), 4*time.Minute)
	t.Logf("Kustomizations Ready in the order %v after %v", order, time.Since(start).Round(time.Millisecond))
	// dependsOn: host-policies waits for cilium (whose health check is the HelmRelease), cilium for nothing else here.
	if slices.Index(order, "host-policies") < slices.Index(order, "cilium") {
		t.Errorf("host-policies became Ready before cilium, its dependency: %v", order)
	}

	release := get(t, api, "helm.toolkit.fluxcd.io/v2", "HelmRelease", "kube-system", "cilium")
	if !ready(release) {
		t.Errorf("HelmRelease cilium not Ready: %s", conditions(release))
	}
	history, _, _ := unstructured.NestedSlice(release.Object, "status", "history")
	if len(history) == 0 || history[0].(map[string]any)["status"] != "deployed" || history[0].(map[string]any)["chartVersion"] != ciliumVersion {
		t.Errorf("Cilium %s not deployed: %v", ciliumVersion, history)
	}
	if _, err := api.Get(object(t, "apps/v1", "DaemonSet", "kube-system", "cilium")); err != nil {
		t.Errorf("the chart's DaemonSet was not applied: %v", err)
	}
	for _, name := range []string{"host-fw-control-plane", "host-fw-worker", "node-exporter"} {
		if _, err := api.Get(object(t, "cilium.io/v2", "CiliumClusterwideNetworkPolicy", "", name)); err != nil {
			t.Errorf("CCNP %s: %v", name, err)
		}
	}
	assertPorts(t, api, "node-exporter", "9100")
	assertSecret(t, api, withOrderKeys(map[string]string{"token": "first-token", "password": "first-password\n"}))
	assertBuildIsApplied(t, api, gen, repo, keyFile, "apps")

	// The spec changes: a policy port, a secret value, the Secret's type (immutable in the API: Flux must recreate
	// it), and one policy goes away.
	testenv.WriteFile(t, specFile, testSpec(ciliumVersion, chartURL, identity.Recipient().String(), "9200/tcp", "kubernetes.io/basic-auth", false, repositoryPath))
	testenv.WriteFile(t, filepath.Join(work, "spec", "db-password.txt"), "second-password\n")
	gen.generate()
	forceEnvironment(t, repo)
	testenv.Git(t, root, "add", "-A")
	testenv.Git(t, root, "commit", "--quiet", "-m", "kronform-gen: port 9200, new password, basic-auth, no worker policy")
	phase := time.Now()
	requestReconcile(t, api, source)

	deadline := time.Now().Add(3 * time.Minute)
	for {
		err := converged(t, api)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cluster did not converge to the changed spec: %v\n%s", err, kustomizationStates(t, api, append([]string{"flux-system"}, generated...)))
		}
		time.Sleep(time.Second)
	}
	t.Logf("converged to the changed spec in %v; whole test %v", time.Since(phase).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

// testSpec is the cluster this test generates: two nodes, the Talos presets, one policy of its own, one secret from an
// environment variable and the others from files, of the given type. repositoryPath is the tree's folder in the
// repository Flux follows ("" for its root).
func testSpec(ciliumVersion, chartURL, recipient, exporterPort, secretType string, workerPolicy bool, repositoryPath string) string {
	worker := ""
	if workerPolicy {
		worker = "      - name: host-fw-worker\n        preset: talos-worker\n"
	}
	layout := ""
	if repositoryPath != "" {
		layout = "repositoryPath: " + repositoryPath + "\n"
	}
	return layout + fmt.Sprintf(`apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: %s
    apiServer:
      host: 192.0.2.10
    nodes:
      - name: cp1
        addresses: [192.0.2.10]
        roles: [control-plane]
      - name: w1
        addresses: [192.0.2.20]
        roles: [worker]
    flux:
      interval: 1m
      retryInterval: 5s
    cilium:
      version: %s
      repository: %s
      hubble: {relay: true}
      auditMode: true
    hostPolicies:
      - name: host-fw-control-plane
        preset: talos-control-plane
%s      - name: node-exporter
        nodes: {}
        ingress:
          - entities: [cluster]
            ports: [%s]
    ageRecipients: [%s]
    secrets:
      - name: app
        namespace: default
        type: %s
        data:
          token: {env: E2E_API_TOKEN}
          password: {file: db-password.txt}
          key9: {file: key9.txt}
          key10: {file: key10.txt}
          DB_HOST: {file: DB_HOST.txt}
          DBNAME: {file: DBNAME.txt}
`, cluster, ciliumVersion, chartURL, worker, exporterPort, recipient, secretType)
}

// forceEnvironment is the test overlay: with no kubelet, the chart's pods never run, so helm-controller must not wait
// for them. It patches the generated HelmRelease through the folder's kustomization.yaml, the way a user would.
func forceEnvironment(t *testing.T, repo string) {
	t.Helper()
	k := filepath.Join(repo, "infrastructure", cluster, "cilium", "kustomization.yaml")
	data, err := os.ReadFile(k)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "disableWait") {
		return
	}
	patch := `patches:
- target:
    kind: HelmRelease
    name: cilium
  patch: |
    - op: add
      path: /spec/install/disableWait
      value: true
    - op: add
      path: /spec/upgrade/disableWait
      value: true
`
	testenv.WriteFile(t, k, string(data)+patch)
}

// converged says what, if anything, still differs from the changed spec.
func converged(t *testing.T, api *testenv.APIServer) error {
	if _, err := api.Get(object(t, "cilium.io/v2", "CiliumClusterwideNetworkPolicy", "", "host-fw-worker")); err == nil {
		return fmt.Errorf("host-fw-worker was not pruned")
	}
	if got := policyPorts(t, api, "node-exporter"); !slices.Equal(got, []string{"9200"}) {
		return fmt.Errorf("node-exporter ports %v, want [9200]", got)
	}
	if got := secretValues(t, api); got["password"] != "second-password\n" || got["token"] != "first-token" {
		return fmt.Errorf("secret default/app not updated")
	}
	if obj, err := api.Get(object(t, "v1", "Secret", "default", "app")); err != nil || obj.Object["type"] != "kubernetes.io/basic-auth" {
		return fmt.Errorf("secret default/app does not have its new type kubernetes.io/basic-auth")
	}
	return nil
}

func assertPorts(t *testing.T, api *testenv.APIServer, policy string, want ...string) {
	t.Helper()
	if got := policyPorts(t, api, policy); !slices.Equal(got, want) {
		t.Errorf("CCNP %s allows ports %v, want %v", policy, got, want)
	}
}

func policyPorts(t *testing.T, api *testenv.APIServer, policy string) []string {
	t.Helper()
	obj, err := api.Get(object(t, "cilium.io/v2", "CiliumClusterwideNetworkPolicy", "", policy))
	if err != nil {
		return nil
	}
	var ports []string
	ingress, _, _ := unstructured.NestedSlice(obj.Object, "spec", "ingress")
	for _, r := range ingress {
		toPorts, _, _ := unstructured.NestedSlice(r.(map[string]any), "toPorts")
		for _, tp := range toPorts {
			list, _, _ := unstructured.NestedSlice(tp.(map[string]any), "ports")
			for _, p := range list {
				ports = append(ports, fmt.Sprint(p.(map[string]any)["port"]))
			}
		}
	}
	return ports
}

// orderKeys are secret keys whose order differs between YAML's natural sort (key9 before key10, DB_HOST before
// DBNAME) and JSON's byte order, with distinct values, so that a MAC over the wrong order cannot pass by chance.
var orderKeys = map[string]string{"key9": "nine", "key10": "ten", "DB_HOST": "db.internal", "DBNAME": "app"}

func withOrderKeys(m map[string]string) map[string]string {
	maps.Copy(m, orderKeys)
	return m
}

// assertSecret compares the Secret kustomize-controller decrypted into the cluster with the values of the sources.
func assertSecret(t *testing.T, api *testenv.APIServer, want map[string]string) {
	t.Helper()
	got := secretValues(t, api)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("secret default/app key %s does not hold its source's value", k) // never print values
		}
	}
	if len(got) != len(want) {
		t.Errorf("secret default/app has keys %v, want %d keys", slices.Sorted(mapKeys(got)), len(want))
	}
}

func secretValues(t *testing.T, api *testenv.APIServer) map[string]string {
	t.Helper()
	obj, err := api.Get(object(t, "v1", "Secret", "default", "app"))
	if err != nil {
		return nil
	}
	out := map[string]string{}
	data, _, _ := unstructured.NestedStringMap(obj.Object, "data")
	for k, v := range data {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			t.Fatalf("secret key %s is not base64", k)
		}
		out[k] = string(b)
	}
	return out
}

// waitKustomizationsReady polls until every named Kustomization is Ready=True and returns the order in which they
// were first seen Ready (ties keep the given order).
func waitKustomizationsReady(t *testing.T, api *testenv.APIServer, names []string, timeout time.Duration) []string {
	t.Helper()
	var order []string
	deadline := time.Now().Add(timeout)
	for len(order) < len(names) {
		for _, n := range names {
			if slices.Contains(order, n) {
				continue
			}
			if obj, err := api.Get(object(t, "kustomize.toolkit.fluxcd.io/v1", "Kustomization", testenv.FluxNamespace, n)); err == nil && ready(obj) {
				order = append(order, n)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Kustomizations not Ready after %v (ready: %v):\n%s", timeout, order, kustomizationStates(t, api, append([]string{"flux-system"}, names...)))
		}
		time.Sleep(500 * time.Millisecond)
	}
	return order
}

func kustomizationStates(t *testing.T, api *testenv.APIServer, names []string) string {
	var b strings.Builder
	for _, n := range names {
		obj, err := api.Get(object(t, "kustomize.toolkit.fluxcd.io/v1", "Kustomization", testenv.FluxNamespace, n))
		if err != nil {
			fmt.Fprintf(&b, "  Kustomization %s: %v\n", n, err)
			continue
		}
		fmt.Fprintf(&b, "  Kustomization %s: %s\n", n, conditions(obj))
	}
	if hr, err := api.Get(object(t, "helm.toolkit.fluxcd.io/v2", "HelmRelease", "kube-system", "cilium")); err == nil {
		fmt.Fprintf(&b, "  HelmRelease kube-system/cilium: %s\n", conditions(hr))
	}
	return b.String()
}

func ready(obj *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m := c.(map[string]any)
		if m["type"] == "Ready" && m["status"] == "True" {
			return true
		}
	}
	return false
}

func conditions(obj *unstructured.Unstructured) string {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	var parts []string
	for _, c := range conds {
		m := c.(map[string]any)
		parts = append(parts, fmt.Sprintf("%v=%v (%v: %v)", m["type"], m["status"], m["reason"], m["message"]))
	}
	return strings.Join(parts, "; ")
}

// requestReconcile asks source-controller to fetch now, as flux reconcile source git does.
func requestReconcile(t *testing.T, api *testenv.APIServer, obj *unstructured.Unstructured) {
	t.Helper()
	current, err := api.Get(obj)
	if err != nil {
		t.Fatal(err)
	}
	annotations := current.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations["reconcile.fluxcd.io/requestedAt"] = time.Now().Format(time.RFC3339Nano)
	obj.SetAnnotations(annotations)
	if err := api.Apply(obj); err != nil {
		t.Fatal(err)
	}
}

type generator struct {
	t              *testing.T
	bin, spec, out string
	env            []string
}

func (g generator) generate() {
	g.t.Helper()
	cmd := exec.Command(g.bin, "generate", "-f", g.spec, "--out", g.out)
	cmd.Env = append(os.Environ(), g.env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		g.t.Fatalf("kronform-gen generate: %v\n%s", err, out)
	}
}

// bootstrapFlux creates what the README's kubectl create secret generic sops-age and flux bootstrap --path would
// have, and nothing else: the sops-age Secret holding the age identity, the flux-system GitRepository following url's
// main branch, and the flux-system Kustomization applying clusterPath (./...) with prune: true. It returns the
// GitRepository.
func bootstrapFlux(t *testing.T, api *testenv.APIServer, identity *age.X25519Identity, url, clusterPath string) *unstructured.Unstructured {
	t.Helper()
	apply(t, api, map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": "sops-age", "namespace": testenv.FluxNamespace},
		"data":     map[string]any{"age.agekey": base64.StdEncoding.EncodeToString([]byte(identity.String() + "\n"))},
	})
	source := apply(t, api, map[string]any{
		"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
		"metadata": map[string]any{"name": "flux-system", "namespace": testenv.FluxNamespace},
		"spec":     map[string]any{"url": url, "interval": "1m0s", "ref": map[string]any{"branch": "main"}},
	})
	apply(t, api, map[string]any{
		"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
		"metadata": map[string]any{"name": "flux-system", "namespace": testenv.FluxNamespace},
		"spec": map[string]any{
			"interval": "10m0s", "path": clusterPath, "prune": true,
			"sourceRef": map[string]any{"kind": "GitRepository", "name": "flux-system"},
		},
	})
	return source
}

func apply(t *testing.T, api *testenv.APIServer, m map[string]any) *unstructured.Unstructured {
	t.Helper()
	obj := testenv.Object(t, m)
	if err := api.Apply(obj); err != nil {
		t.Fatalf("apply %s %s: %v", obj.GetKind(), obj.GetName(), err)
	}
	return obj
}

func get(t *testing.T, api *testenv.APIServer, apiVersion, kind, namespace, name string) *unstructured.Unstructured {
	t.Helper()
	obj, err := api.Get(object(t, apiVersion, kind, namespace, name))
	if err != nil {
		t.Fatalf("%s %s/%s: %v", kind, namespace, name, err)
	}
	return obj
}

func object(t *testing.T, apiVersion, kind, namespace, name string) *unstructured.Unstructured {
	md := map[string]any{"name": name}
	if namespace != "" {
		md["namespace"] = namespace
	}
	return testenv.Object(t, map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": md})
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// userApps adds to the repository what a user keeps beside the generated tree: a Kustomization of their own with
// spec.decryption, whose folder generates Secrets from SOPS-encrypted files (dotenv envs, a YAML file, a binary file)
// and patches a ConfigMap with an encrypted patch, all encrypted by the real sops CLI for the cluster's key.
func userApps(t *testing.T, repo, repositoryPath, recipient string) {
	t.Helper()
	enc := func(name, text string, args ...string) {
		t.Helper()
		plain := filepath.Join(t.TempDir(), name)
		testenv.WriteFile(t, plain, text)
		out, err := exec.Command("go", append(append([]string{"tool", "sops", "encrypt", "--age", recipient}, args...), plain)...).Output()
		if err != nil {
			t.Fatalf("sops encrypt %s: %v", name, err)
		}
		testenv.WriteFile(t, filepath.Join(repo, "apps", name), string(out))
	}
	enc("app.enc.env", "API_KEY=env-value\nDB_HOST=db.internal\n")
	enc("creds.enc.yaml", "user: admin\npassword: yaml-value\n")
	enc("token.enc", "binary-value\n")
	enc("patch.enc.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\ndata:\n  mode: patched\n",
		"--encrypted-regex", "^data$")
	testenv.WriteFile(t, filepath.Join(repo, "apps", "settings.yaml"),
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\ndata:\n  mode: plain\n")
	testenv.WriteFile(t, filepath.Join(repo, "apps", "kustomization.yaml"), `resources: [settings.yaml]
secretGenerator:
- name: app-env
  namespace: default
  envs: [app.enc.env]
- name: app-files
  namespace: default
  files: [creds.yaml=creds.enc.yaml, token=token.enc]
patches:
- path: patch.enc.yaml
`)
	testenv.WriteFile(t, filepath.Join(repo, "clusters", cluster, "apps.yaml"), strings.ReplaceAll(`apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m0s
  path: ./APPS
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
  decryption:
    provider: sops
    secretRef:
      name: sops-age
`, "./APPS", "./"+path.Join(repositoryPath, "apps")))
}

// assertBuildIsApplied holds `kronform-gen build --decrypt` of a Kustomization to what kustomize-controller applied:
// every object it prints is in the cluster under the same name (generated Secrets carry a hash of their decrypted
// values in it) with the same data. Values are compared, never printed.
func assertBuildIsApplied(t *testing.T, api *testenv.APIServer, gen generator, repo, keyFile, name string) {
	t.Helper()
	cmd := exec.Command(gen.bin, "build", cluster+"/"+name, "--decrypt", "--out", repo)
	cmd.Env = append(os.Environ(), "SOPS_AGE_KEY_FILE="+keyFile, "KRONFORM_GEN_CACHE="+t.TempDir())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kronform-gen build --decrypt: %v\n%s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("kronform-gen build --decrypt noted: %s", stderr.String())
	}
	objects := 0
	for _, doc := range strings.Split(string(out), "\n---\n") {
		var m map[string]any
		if err := sigsyaml.Unmarshal([]byte(doc), &m); err != nil || m == nil {
			t.Fatalf("build printed a document that does not parse: %v", err)
		}
		built := &unstructured.Unstructured{Object: m}
		applied, err := api.Get(object(t, built.GetAPIVersion(), built.GetKind(), built.GetNamespace(), built.GetName()))
		if err != nil {
			t.Errorf("build prints %s %s/%s, which Flux did not apply: %v", built.GetKind(), built.GetNamespace(), built.GetName(), err)
			continue
		}
		objects++
		want, _, _ := unstructured.NestedStringMap(applied.Object, "data")
		got, _, _ := unstructured.NestedStringMap(built.Object, "data")
		for k := range mapKeys(want) {
			if got[k] != want[k] {
				t.Errorf("%s %s key %s: build's value differs from the applied one", built.GetKind(), built.GetName(), k)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s %s: build has keys %v, the cluster %v", built.GetKind(), built.GetName(), slices.Sorted(mapKeys(got)), slices.Sorted(mapKeys(want)))
		}
	}
	if objects != 3 {
		t.Errorf("%d of build's objects are in the cluster, want 3 (ConfigMap settings, Secrets app-env-*, app-files-*)", objects)
	}
}
