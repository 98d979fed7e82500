package testenv

import (
	"embed"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// fluxCRDs are every CRD the three controllers watch, copied from their
// modules by hack/fetch-crds.sh (see crds/flux/VERSIONS).
//
//go:embed crds/flux/*.yaml
var fluxCRDs embed.FS

// FluxNamespace is the namespace the controllers run "in" (RUNTIME_NAMESPACE).
const FluxNamespace = "flux-system"

// controllerReadyTimeout bounds the wait for a controller's /readyz.
const controllerReadyTimeout = 60 * time.Second

// Flux is source-, kustomize- and helm-controller running out of cluster
// against an APIServer.
type Flux struct {
	// StorageURL is where source-controller serves its artifacts.
	StorageURL string

	procs []*process // in start order
}

// StartFlux installs the Flux CRDs and the flux-system namespace into api
// and starts source-controller, kustomize-controller and helm-controller
// watching all namespaces. They are stopped when the test ends, before the
// API server; on failure the end of their logs is printed.
func StartFlux(t testing.TB, api *APIServer) *Flux {
	t.Helper()
	require(t, SourceController, KustomizeController, HelmController)
	dir := t.TempDir()
	f := &Flux{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("testenv: Flux logs:\n%s", f.LogTail(60))
		}
		f.stop(t)
	})

	start := time.Now()
	sub, err := fs.Sub(fluxCRDs, "crds/flux")
	if err != nil {
		t.Fatal(err)
	}
	if err := api.applyCRDsFS(sub, "internal/testenv/crds/flux"); err != nil {
		t.Fatalf("install Flux CRDs: %v", err)
	}
	ns := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": FluxNamespace},
	}}
	if err := api.Apply(ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}

	storageAddr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	f.StorageURL = "http://" + storageAddr
	storage := filepath.Join(dir, "storage")
	if err := os.Mkdir(storage, 0o700); err != nil {
		t.Fatal(err)
	}
	controllers := []struct {
		bin  Binary
		args []string
	}{
		{SourceController, []string{
			"--storage-path=" + storage,
			"--storage-addr=" + storageAddr,
			"--storage-adv-addr=" + storageAddr,
		}},
		{KustomizeController, nil},
		{HelmController, []string{"--graceful-shutdown-timeout=5s"}},
	}
	for _, c := range controllers {
		if err := f.startController(c.bin, c.args, api, dir); err != nil {
			t.Fatal(err) // the cleanup prints the logs
		}
	}
	t.Logf("testenv: Flux controllers ready in %v", time.Since(start).Round(time.Millisecond))
	return f
}

func (f *Flux) startController(b Binary, extra []string, api *APIServer, dir string) error {
	bin, err := b.Find()
	if err != nil {
		return err
	}
	healthAddr, err := freeAddr()
	if err != nil {
		return err
	}
	metricsAddr, err := freeAddr()
	if err != nil {
		return err
	}
	home := filepath.Join(dir, b.Name)
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	args := append([]string{
		"--watch-all-namespaces=true",
		"--events-addr=",
		"--metrics-addr=" + metricsAddr,
		"--health-addr=" + healthAddr,
		// Settle dependsOn chains in seconds instead of 30 s steps.
		"--requeue-dependency=2s",
		"--log-level=debug",
	}, extra...)
	p, err := startProcess(b.Name, bin, args, minimalEnv(home,
		"KUBECONFIG="+api.KubeconfigPath,
		"RUNTIME_NAMESPACE="+FluxNamespace,
	), dir)
	if err != nil {
		return err
	}
	f.procs = append(f.procs, p)
	client := &http.Client{Timeout: time.Second}
	return waitReadyz(p, controllerReadyTimeout, client, "http://"+healthAddr+"/readyz")
}

// stop ends the controllers, last started first.
func (f *Flux) stop(t testing.TB) {
	for i := len(f.procs) - 1; i >= 0; i-- {
		p := f.procs[i]
		start := time.Now()
		peak := p.stop()
		t.Logf("testenv: stopped %s in %v (peak RSS %s)", p.name, time.Since(start).Round(time.Millisecond), formatBytes(peak))
	}
}

// LogTail returns the last n lines of each controller's log.
func (f *Flux) LogTail(n int) string {
	var parts []string
	for _, p := range f.procs {
		parts = append(parts, p.describe(n))
	}
	return strings.Join(parts, "\n")
}
