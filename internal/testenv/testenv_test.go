package testenv_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kronform/kronform-gen/internal/testenv"
)

// The Go versions of the binaries must be the ones the scripts build, or
// every end-to-end test fails with "not found" after a version bump.
func TestVersionsMatchScripts(t *testing.T) {
	scripts := map[string]string{}
	for _, b := range testenv.Binaries() {
		if _, ok := scripts[b.Script]; !ok {
			data, err := os.ReadFile(filepath.Join("..", "..", b.Script))
			if err != nil {
				t.Fatal(err)
			}
			scripts[b.Script] = string(data)
		}
		// build_tool NAME "$VAR" ... with VAR=VERSION set above it.
		call := regexp.MustCompile(`(?m)^build_tool ` + regexp.QuoteMeta(b.Name) + ` "\$(\w+)"`).FindStringSubmatch(scripts[b.Script])
		if call == nil {
			t.Errorf("%s does not build %s", b.Script, b.Name)
			continue
		}
		def := regexp.MustCompile(`(?m)^` + call[1] + `=(\S+)$`).FindStringSubmatch(scripts[b.Script])
		if def == nil || def[1] != b.Version {
			t.Errorf("%s builds %s %v, testenv expects %s", b.Script, b.Name, def, b.Version)
		}
	}
}

func TestPackChart(t *testing.T) {
	dir := t.TempDir()
	testenv.WriteFile(t, filepath.Join(dir, "Chart.yaml"), "apiVersion: v2\nname: demo\nversion: 0.1.0\n")
	testenv.WriteFile(t, filepath.Join(dir, "templates", "cm.yaml"), "kind: ConfigMap\n")
	chart, err := testenv.PackChart(dir)
	if err != nil {
		t.Fatal(err)
	}
	if chart.Name != "demo" || chart.Version != "0.1.0" {
		t.Errorf("got chart %s %s, want demo 0.1.0", chart.Name, chart.Version)
	}
	gz, err := gzip.NewReader(bytes.NewReader(chart.Archive))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var names []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
	}
	if got, want := strings.Join(names, ","), "demo/Chart.yaml,demo/templates/cm.yaml"; got != want {
		t.Errorf("archive holds %s, want %s", got, want)
	}
	again, err := testenv.PackChart(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(chart.Archive, again.Archive) {
		t.Error("packing the same chart twice gave different archives")
	}
}

// TestEndToEnd starts the whole environment once and checks each piece
// against the real programs: CRD validation by kube-apiserver, a
// GitRepository and Kustomization reconciled by Flux, and the Cilium chart
// installed by helm-controller.
func TestEndToEnd(t *testing.T) {
	testenv.Require(t)
	start := time.Now()
	api := testenv.StartAPIServer(t)
	if err := api.ApplyCRDs(filepath.Join("..", "..", "generator", "validate", "crds")); err != nil {
		t.Fatal(err)
	}
	t.Logf("API server with CRDs after %v", time.Since(start).Round(time.Millisecond))

	t.Run("CiliumClusterwideNetworkPolicy dry-run", func(t *testing.T) {
		testCCNPDryRun(t, api)
	})
	if t.Failed() {
		return
	}

	testenv.StartFlux(t, api)
	t.Logf("Flux ready after %v", time.Since(start).Round(time.Millisecond))

	t.Run("GitRepository and Kustomization", func(t *testing.T) {
		phase := time.Now()
		testGitKustomization(t, api)
		t.Logf("reconciled in %v", time.Since(phase).Round(time.Millisecond))
	})
	t.Run("HelmRelease of the Cilium chart", func(t *testing.T) {
		phase := time.Now()
		testCiliumHelmRelease(t, api)
		t.Logf("installed in %v", time.Since(phase).Round(time.Millisecond))
	})
	t.Logf("end-to-end checks done after %v", time.Since(start).Round(time.Millisecond))
}

func testCCNPDryRun(t *testing.T, api *testenv.APIServer) {
	// The control-plane policy of the seed, reduced to its shape.
	const valid = `
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: host-fw-control-plane
spec:
  nodeSelector:
    matchLabels:
      node-role.kubernetes.io/control-plane: ""
  ingress:
  - fromEntities: [world]
    toPorts:
    - ports:
      - port: "6443"
        protocol: TCP
`
	tests := []struct {
		name    string
		edit    func(ingress map[string]any)
		wantErr string // "" = accepted; else a part of the server's message
	}{
		{name: "valid", edit: func(map[string]any) {}},
		{
			name:    "unknown field under ingress",
			edit:    func(in map[string]any) { in["fromEntitiez"] = []any{"world"} },
			wantErr: `unknown field "spec.ingress[0].fromEntitiez"`,
		},
		{
			name: "lower-case protocol",
			edit: func(in map[string]any) {
				in["toPorts"].([]any)[0].(map[string]any)["ports"].([]any)[0].(map[string]any)["protocol"] = "tcp"
			},
			wantErr: `Unsupported value: "tcp"`,
		},
		{
			name:    "unknown entity",
			edit:    func(in map[string]any) { in["fromEntities"] = []any{"bogus"} },
			wantErr: `Unsupported value: "bogus"`,
		},
		{
			// Cilium's CRD does NOT reject this: its port pattern is
			// ^(0-65535 as digits)|(name)$, so "^7000" matches the first
			// alternative. Kept here to record that the API server cannot
			// catch an out-of-range port: the generator must.
			name: "port out of range is accepted (CRD pattern bug)",
			edit: func(in map[string]any) { setPort(in, "70000") },
		},
		{
			name:    "port not a number or name",
			edit:    func(in map[string]any) { setPort(in, "-1") },
			wantErr: `spec.ingress[0].toPorts[0].ports[0].port`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := testenv.DecodeYAML([]byte(valid))
			if err != nil {
				t.Fatal(err)
			}
			obj := objs[0]
			ingress, _, _ := unstructured.NestedSlice(obj.Object, "spec", "ingress")
			tt.edit(ingress[0].(map[string]any))
			if err := unstructured.SetNestedSlice(obj.Object, ingress, "spec", "ingress"); err != nil {
				t.Fatal(err)
			}
			err = api.DryRunApply(obj)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("rejected: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("accepted, want an error containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			case err != nil:
				t.Logf("rejected as expected: %v", err)
			}
		})
	}
	// Dry-run stores nothing.
	objs, _ := testenv.DecodeYAML([]byte(valid))
	if _, err := api.Get(objs[0]); err == nil {
		t.Error("the dry-run created the policy")
	}
}

func setPort(ingress map[string]any, port string) {
	toPorts := ingress["toPorts"].([]any)
	ports := toPorts[0].(map[string]any)["ports"].([]any)
	ports[0].(map[string]any)["port"] = port
}

func testGitKustomization(t *testing.T, api *testenv.APIServer) {
	repo := filepath.Join(t.TempDir(), "fleet")
	testenv.WriteFile(t, filepath.Join(repo, "configmap.yaml"), `apiVersion: v1
kind: ConfigMap
metadata:
  name: e2e-probe
  namespace: default
data:
  hello: flux
`)
	testenv.Git(t, repo, "init", "--quiet", "--initial-branch=main")
	testenv.Git(t, repo, "add", ".")
	testenv.Git(t, repo, "commit", "--quiet", "-m", "probe")
	url := testenv.StartGitServer(t, repo)

	gitRepo := testenv.Object(t, map[string]any{
		"apiVersion": "source.toolkit.fluxcd.io/v1",
		"kind":       "GitRepository",
		"metadata":   map[string]any{"name": "fleet", "namespace": testenv.FluxNamespace},
		"spec": map[string]any{
			"url":      url,
			"interval": "1m",
			"ref":      map[string]any{"branch": "main"},
		},
	})
	ks := testenv.Object(t, map[string]any{
		"apiVersion": "kustomize.toolkit.fluxcd.io/v1",
		"kind":       "Kustomization",
		"metadata":   map[string]any{"name": "probe", "namespace": testenv.FluxNamespace},
		"spec": map[string]any{
			"interval":  "1m",
			"path":      "./",
			"prune":     true,
			"sourceRef": map[string]any{"kind": "GitRepository", "name": "fleet"},
		},
	})
	for _, obj := range []*unstructured.Unstructured{gitRepo, ks} {
		if err := api.Apply(obj); err != nil {
			t.Fatal(err)
		}
	}
	// The git server stops with this subtest; so must its GitRepository.
	t.Cleanup(func() {
		for _, obj := range []*unstructured.Unstructured{ks, gitRepo} {
			if err := api.Delete(obj); err != nil {
				t.Error(err)
			}
		}
	})
	for _, obj := range []*unstructured.Unstructured{gitRepo, ks} {
		if _, err := api.WaitReady(obj, 90*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	cm, err := api.Get(testenv.Object(t, map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "e2e-probe", "namespace": "default"},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _ := unstructured.NestedString(cm.Object, "data", "hello"); got != "flux" {
		t.Errorf("ConfigMap data.hello = %q, want flux", got)
	}
}

// ciliumModule is a Cilium release whose Go module ships the Helm chart;
// hack/e2e-deps.sh puts it in the module cache.
const ciliumModule = "github.com/cilium/cilium@v1.15.6"

func testCiliumHelmRelease(t *testing.T, api *testenv.APIServer) {
	chartDir := filepath.Join(testenv.ModuleDir(t, ciliumModule), "install", "kubernetes", "cilium")
	url, chart := testenv.StartChartServer(t, chartDir)

	helmRepo := testenv.Object(t, map[string]any{
		"apiVersion": "source.toolkit.fluxcd.io/v1",
		"kind":       "HelmRepository",
		"metadata":   map[string]any{"name": "cilium", "namespace": testenv.FluxNamespace},
		"spec":       map[string]any{"url": url, "interval": "1h"},
	})
	release := testenv.Object(t, map[string]any{
		"apiVersion": "helm.toolkit.fluxcd.io/v2",
		"kind":       "HelmRelease",
		"metadata":   map[string]any{"name": "cilium", "namespace": testenv.FluxNamespace},
		"spec": map[string]any{
			"interval":        "1h",
			"releaseName":     "cilium",
			"targetNamespace": "kube-system",
			"chart": map[string]any{"spec": map[string]any{
				"chart":   chart.Name,
				"version": chart.Version,
				"sourceRef": map[string]any{
					"kind": "HelmRepository", "name": "cilium", "namespace": testenv.FluxNamespace,
				},
			}},
			// No kubelet runs: nothing the chart creates ever becomes ready.
			"install": map[string]any{"disableWait": true},
			"upgrade": map[string]any{"disableWait": true},
			"values": map[string]any{
				"ipam":         map[string]any{"mode": "kubernetes"},
				"hostFirewall": map[string]any{"enabled": true},
			},
		},
	})
	for _, obj := range []*unstructured.Unstructured{helmRepo, release} {
		if err := api.Apply(obj); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := api.WaitReady(helmRepo, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := api.WaitReady(release, 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := api.WaitFor(release, "installed", 30*time.Second, func(hr *unstructured.Unstructured) bool {
		history, _, _ := unstructured.NestedSlice(hr.Object, "status", "history")
		return len(history) > 0
	})
	if err != nil {
		status, _ := json.MarshalIndent(got.Object["status"], "", "  ")
		t.Fatalf("%v; status:\n%s", err, status)
	}
	history, _, _ := unstructured.NestedSlice(got.Object, "status", "history")
	last := history[0].(map[string]any)
	if last["status"] != "deployed" || last["chartVersion"] != chart.Version {
		t.Errorf("latest release: status %v chart %v, want deployed %s", last["status"], last["chartVersion"], chart.Version)
	}
	// The chart's objects went through the API server.
	if _, err := api.Get(testenv.Object(t, map[string]any{
		"apiVersion": "apps/v1", "kind": "DaemonSet",
		"metadata": map[string]any{"name": "cilium", "namespace": "kube-system"},
	})); err != nil {
		t.Errorf("Cilium DaemonSet: %v", err)
	}
}
