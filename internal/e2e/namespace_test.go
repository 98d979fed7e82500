package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kronform/kronform-gen/internal/testenv"
)

// TestFluxHoldsBackEverySecretForOneInAMissingNamespace shows, with Flux's own controllers, why generate warns of a
// secret whose namespace nothing creates (docs/secrets.md): the API server refuses that Secret, and kustomize-controller
// applies the secrets Kustomization all or nothing, so the cluster's other secrets are not applied either. A
// Namespace object in the cluster's folder, which flux bootstrap's Kustomization applies, settles it.
func TestFluxHoldsBackEverySecretForOneInAMissingNamespace(t *testing.T) {
	testenv.Require(t)
	api := testenv.StartAPIServer(t)
	if err := api.ApplyCRDs(filepath.Join(repoRoot(t), "generator", "validate", "crds")); err != nil {
		t.Fatal(err)
	}
	testenv.StartFlux(t, api)
	work := t.TempDir()
	identity, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(work, "e2e.agekey")
	testenv.WriteFile(t, keyFile, identity.String()+"\n")
	specFile := filepath.Join(work, "spec", "cluster-spec.yaml")
	testenv.WriteFile(t, specFile, `apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
repositoryPath: output
clusters:
  - name: `+cluster+`
    apiServer: {host: 192.0.2.10}
    nodes: [{name: cp1, addresses: [192.0.2.10], roles: [control-plane]}]
    flux: {path: clusters/`+cluster+`, interval: 1m, retryInterval: 5s, timeout: 10s}
    cilium: {version: 1.15.6, repository: http://127.0.0.1:9/, auditMode: true}
    ageRecipients: [`+identity.Recipient().String()+`]
    secrets:
      - name: hcloud
        namespace: kube-system
        data: {token: {env: E2E_TOKEN}}
      - name: db
        namespace: apps
        data: {password: {env: E2E_TOKEN}}
`)
	root := filepath.Join(work, "repo")
	out := filepath.Join(root, "output")
	gen := generator{t: t, bin: kronformGen(t), spec: specFile, out: out, env: []string{
		"SOPS_AGE_KEY_FILE=" + keyFile, "E2E_TOKEN=token", "KRONFORM_GEN_CACHE=" + filepath.Join(work, "cache"),
	}}
	stderr, err := gen.run("generate")
	if err != nil {
		t.Fatalf("generate: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, `clusters[0].secrets[1].namespace: namespace "apps" is not one the cluster is known to have`) {
		t.Errorf("generate does not warn of namespace apps, which nothing creates:\n%s", stderr)
	}
	testenv.Git(t, root, "init", "--quiet", "--initial-branch=main")
	commit := func(msg string) {
		testenv.Git(t, root, "add", "-A")
		testenv.Git(t, root, "commit", "--quiet", "-m", msg)
	}
	commit("kronform-gen: a secret in a namespace nothing creates")
	url := testenv.StartGitServer(t, root)

	source := bootstrapFlux(t, api, identity, url, "./output/clusters/"+cluster)

	secrets := object(t, "kustomize.toolkit.fluxcd.io/v1", "Kustomization", testenv.FluxNamespace, "secrets")
	failed, err := api.WaitFor(secrets, "failed on the missing namespace", 2*time.Minute, func(o *unstructured.Unstructured) bool {
		return strings.Contains(conditions(o), `namespaces "apps" not found`)
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, kustomizationStates(t, api, []string{"flux-system", "secrets"}))
	}
	t.Logf("secrets Kustomization: %s", conditions(failed))
	if _, err := api.Get(object(t, "v1", "Secret", "kube-system", "hcloud")); err == nil {
		t.Error("kube-system/hcloud was applied: the secrets Kustomization is not all or nothing after all")
	}

	// The fix the warning gives: a Namespace in the cluster's folder.
	testenv.WriteFile(t, filepath.Join(out, "clusters", cluster, "namespaces.yaml"),
		"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n")
	if stderr, err = gen.run("generate"); err != nil {
		t.Fatalf("generate: %v\n%s", err, stderr)
	}
	if strings.Contains(stderr, `namespace "apps"`) {
		t.Errorf("generate still warns of namespace apps, which clusters/%s/namespaces.yaml creates:\n%s", cluster, stderr)
	}
	commit("the apps namespace")
	requestReconcile(t, api, source)
	waitKustomizationsReady(t, api, []string{"secrets"}, 2*time.Minute)
	for _, id := range [][2]string{{"kube-system", "hcloud"}, {"apps", "db"}} {
		if _, err := api.Get(object(t, "v1", "Secret", id[0], id[1])); err != nil {
			t.Errorf("Secret %s/%s: %v", id[0], id[1], err)
		}
	}
}
