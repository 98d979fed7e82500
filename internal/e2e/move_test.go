package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kronform/kronform-gen/internal/testenv"
)

// TestFluxKeepsTheKustomizationsOfAMovedClusterFolder walks, with Flux's own controllers, what generate's refusal to
// prune a bootstrapped cluster folder tells the user to do to move the folder (flux.path): first make the bootstrap's
// Kustomization stop pruning (prune: false, live); then, in one commit, generate at the new folder and copy
// bootstrap's files there; then flux bootstrap there; then delete the old folder. Cilium's Kustomizations must live
// through every step. A cluster renamed with its flux.path kept, the refusal's other advice, keeps its HelmRelease.
//
// It also shows why the order matters: an earlier refusal said to keep the old flux.path "until flux bootstrap has
// run at the new one", and a bootstrap at a folder that does not hold the cluster's Kustomizations yet has Flux prune
// them all, Cilium with them. (A bootstrap at a folder holding them but not bootstrap's files has Flux, still at the
// earlier revision, prune its own GitRepository and Kustomization, and then everything.)
func TestFluxKeepsTheKustomizationsOfAMovedClusterFolder(t *testing.T) {
	testenv.Require(t)
	t.Run("bootstrap first prunes", func(t *testing.T) {
		f := startFleet(t)
		// flux bootstrap --path output/clusters/moved, the spec's flux.path kept.
		f.bootstrap("moved")
		f.commit("flux bootstrap at clusters/moved")
		f.applySync("moved", true)
		f.reconcile()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			obj, err := f.api.Get(f.kustomization("cilium"))
			if err != nil || deleting(obj) {
				break // pruned, as the cluster's Flux prunes what its folder no longer holds
			}
			if time.Now().After(deadline) {
				t.Fatal("Flux kept the cilium Kustomization after a bootstrap at a folder without it")
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
	t.Run("renamed, its flux.path kept", func(t *testing.T) {
		f := startFleet(t)
		release := object(t, "helm.toolkit.fluxcd.io/v2", "HelmRelease", "kube-system", "cilium")
		if _, err := f.api.WaitFor(release, "applied", 2*time.Minute, func(*unstructured.Unstructured) bool { return true }); err != nil {
			t.Fatal(err)
		}
		f.writeNamedSpec("renamed", cluster)
		f.gen.generate()
		f.commit("kronform-gen: the cluster renamed, its flux.path kept")
		revision := f.reconcile()
		f.alive("renamed")
		// The cilium Kustomization applies the same HelmRelease from the renamed folder, and prunes nothing. (Before
		// flux-system gives it the new path, it may try the old one at the new revision: path not found, nothing
		// pruned.) Its health checks at the new revision come after it applied and pruned; the chart is never served
		// here, so they never pass.
		if _, err := f.api.WaitFor(f.kustomization("cilium"), "applied from the renamed folder at "+revision, 2*time.Minute, func(o *unstructured.Unstructured) bool {
			path, _, _ := unstructured.NestedString(o.Object, "spec", "path")
			return path == "./output/infrastructure/renamed/cilium" && strings.Contains(fmt.Sprint(o.Object["status"]), "health checks for revision "+revision)
		}); err != nil {
			t.Fatal(err)
		}
		if hr, err := f.api.Get(release); err != nil || deleting(hr) {
			t.Errorf("the renamed cluster's Flux pruned the HelmRelease (%v)", err)
		}
	})
	t.Run("as the refusal says", func(t *testing.T) {
		f := startFleet(t)
		// The refusal, for a spec that moves the folder.
		f.writeSpec("moved")
		out, err := f.gen.run("generate")
		if err == nil {
			t.Fatalf("generate moved the folder of a bootstrapped cluster:\n%s", out)
		}
		for _, want := range []string{"set prune: false in clusters/" + cluster + "/flux-system/gotk-sync.yaml",
			"copy clusters/" + cluster + "/flux-system/ into the new folder", "then run flux bootstrap at the new folder",
			"Never bootstrap at a folder that does not hold bootstrap's files and the Kustomizations already"} {
			if !strings.Contains(out, want) {
				t.Errorf("the refusal does not say %q:\n%s", want, out)
			}
		}

		// 1. The bootstrap stops pruning, and that is live before the folder moves.
		f.writeSpec(cluster)
		sync := filepath.Join(f.repo, "clusters", cluster, "flux-system", "gotk-sync.yaml")
		b, err := os.ReadFile(sync)
		if err != nil {
			t.Fatal(err)
		}
		testenv.WriteFile(t, sync, strings.Replace(string(b), "prune: true", "prune: false", 1))
		f.commit("flux-system: prune: false")
		f.reconcile()
		f.alive("prune: false is live")

		// 2. In one commit, the folder moves and bootstrap's files are copied there, naming it; the cluster's Flux,
		// not pruning, leaves the Kustomizations as they are.
		f.writeSpec("moved")
		f.gen.generate()
		b, err = os.ReadFile(sync)
		if err != nil {
			t.Fatal(err)
		}
		testenv.WriteFile(t, filepath.Join(f.repo, "clusters", "moved", "flux-system", "gotk-sync.yaml"),
			strings.Replace(string(b), "path: ./output/clusters/"+cluster+"\n", "path: ./output/clusters/moved\n", 1))
		testenv.WriteFile(t, filepath.Join(f.repo, "clusters", "moved", "flux-system", "kustomization.yaml"),
			"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [gotk-sync.yaml]\n")
		f.commit("kronform-gen: flux.path clusters/moved, with bootstrap's files")
		f.reconcile()
		f.alive("the folder moved")

		// 3. flux bootstrap --path output/clusters/moved: it applies its Kustomization with prune: true, which Flux
		// reconciles at once at the revision it has (here, before bootstrap's own commit), then commits.
		f.applySync("moved", true)
		if _, err := f.api.WaitFor(f.kustomization("flux-system"), "reconciled at clusters/moved", 2*time.Minute, func(o *unstructured.Unstructured) bool {
			observed, _, _ := unstructured.NestedInt64(o.Object, "status", "observedGeneration")
			return observed == o.GetGeneration()
		}); err != nil {
			t.Fatal(err)
		}
		f.alive("flux bootstrap applied the new folder")
		f.bootstrap("moved")
		f.commit("flux bootstrap at clusters/moved")
		f.reconcile()
		f.alive("bootstrapped at the new folder")

		// 4. The old folder goes.
		if err := os.RemoveAll(filepath.Join(f.repo, "clusters", cluster)); err != nil {
			t.Fatal(err)
		}
		if out, err := f.gen.run("check"); err != nil {
			t.Fatalf("check after the old folder went: %v\n%s", err, out)
		}
		f.commit("the old folder goes")
		f.reconcile()
		f.alive("the old folder deleted")
	})
}

// fleet is one bootstrapped cluster whose spec and output/ live in one repository Flux follows.
type fleet struct {
	t              *testing.T
	api            *testenv.APIServer
	gen            generator
	root, repo     string
	specFile, url  string
	source         *unstructured.Unstructured
	generatedNames []string
}

func startFleet(t *testing.T) *fleet {
	api := testenv.StartAPIServer(t)
	if err := api.ApplyCRDs(filepath.Join(repoRoot(t), "generator", "validate", "crds")); err != nil {
		t.Fatal(err)
	}
	testenv.StartFlux(t, api)
	work := t.TempDir()
	f := &fleet{t: t, api: api, root: filepath.Join(work, "repo"), specFile: filepath.Join(work, "spec", "cluster-spec.yaml"),
		generatedNames: []string{"cilium", "host-policies"}}
	f.repo = filepath.Join(f.root, "output")
	f.gen = generator{t: t, bin: kronformGen(t), spec: f.specFile, out: f.repo,
		env: []string{"KRONFORM_GEN_CACHE=" + filepath.Join(work, "cache")}}
	f.writeSpec(cluster)
	f.gen.generate()
	testenv.Git(t, f.root, "init", "--quiet", "--initial-branch=main")
	f.url = testenv.StartGitServer(t, f.root)
	f.bootstrap(cluster)
	f.commit("kronform-gen: first generation, flux bootstrap")
	f.source = apply(t, api, map[string]any{
		"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
		"metadata": map[string]any{"name": "flux-system", "namespace": testenv.FluxNamespace},
		"spec":     map[string]any{"url": f.url, "interval": "1m0s", "ref": map[string]any{"branch": "main"}},
	})
	f.applySync(cluster, true)
	f.reconcile()
	f.alive("bootstrapped")
	return f
}

// writeSpec writes a spec whose one cluster has its Flux folder at clusters/<folder>.
func (f *fleet) writeSpec(folder string) { f.writeNamedSpec(cluster, folder) }

// writeNamedSpec writes a spec whose one cluster is called name and has its Flux folder at clusters/<folder>.
func (f *fleet) writeNamedSpec(name, folder string) {
	testenv.WriteFile(f.t, f.specFile, `apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
repositoryPath: output
clusters:
  - name: `+name+`
    apiServer: {host: 192.0.2.10}
    nodes: [{name: cp1, addresses: [192.0.2.10], roles: [control-plane]}]
    flux: {path: clusters/`+folder+`, interval: 1m, retryInterval: 5s, timeout: 10s}
    cilium: {version: 1.15.6, repository: http://127.0.0.1:9/, auditMode: true}
    hostPolicies:
      - {name: host-fw-control-plane, preset: talos-control-plane}
`)
}

// bootstrap writes what flux bootstrap --path output/clusters/<folder> commits.
func (f *fleet) bootstrap(folder string) {
	dir := filepath.Join(f.repo, "clusters", folder, "flux-system")
	testenv.WriteFile(f.t, filepath.Join(dir, "gotk-sync.yaml"), `---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m0s
  ref:
    branch: main
  url: `+f.url+`
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10m0s
  path: ./output/clusters/`+folder+`
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
`)
	testenv.WriteFile(f.t, filepath.Join(dir, "kustomization.yaml"),
		"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [gotk-sync.yaml]\n")
}

// applySync applies the flux-system Kustomization as flux bootstrap does for a folder.
func (f *fleet) applySync(folder string, prune bool) {
	apply(f.t, f.api, map[string]any{
		"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
		"metadata": map[string]any{"name": "flux-system", "namespace": testenv.FluxNamespace},
		"spec": map[string]any{
			"interval": "10m0s", "path": "./output/clusters/" + folder, "prune": prune,
			"sourceRef": map[string]any{"kind": "GitRepository", "name": "flux-system"},
		},
	})
}

func (f *fleet) commit(msg string) {
	testenv.Git(f.t, f.root, "add", "-A")
	testenv.Git(f.t, f.root, "commit", "--quiet", "--allow-empty", "-m", msg)
}

// reconcile has Flux fetch the repository, waits until the flux-system Kustomization applied its last commit, and
// returns that revision.
func (f *fleet) reconcile() string {
	f.t.Helper()
	head, err := exec.Command("git", "-C", f.root, "rev-parse", "HEAD").Output()
	if err != nil {
		f.t.Fatal(err)
	}
	revision := "main@sha1:" + strings.TrimSpace(string(head))
	requestReconcile(f.t, f.api, f.source)
	if _, err := f.api.WaitFor(f.kustomization("flux-system"), "applied at "+revision, 2*time.Minute, func(o *unstructured.Unstructured) bool {
		got, _, _ := unstructured.NestedString(o.Object, "status", "lastAppliedRevision")
		return got == revision
	}); err != nil {
		f.t.Fatal(err)
	}
	return revision
}

// alive fails the test when a generated Kustomization is gone or being deleted.
func (f *fleet) alive(when string) {
	f.t.Helper()
	for _, n := range f.generatedNames {
		obj, err := f.api.Get(f.kustomization(n))
		if err != nil || deleting(obj) {
			f.t.Fatalf("%s: Flux pruned the %s Kustomization (%v)", when, n, err)
		}
	}
}

func (f *fleet) kustomization(name string) *unstructured.Unstructured {
	return object(f.t, "kustomize.toolkit.fluxcd.io/v1", "Kustomization", testenv.FluxNamespace, name)
}

func deleting(obj *unstructured.Unstructured) bool { return obj.GetDeletionTimestamp() != nil }

// run runs a kronform-gen command on the generator's spec and tree and returns its combined output.
func (g generator) run(args ...string) (string, error) {
	cmd := exec.Command(g.bin, append(args, "-f", g.spec, "--out", g.out)...)
	cmd.Env = append(os.Environ(), g.env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
