package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// oneRepository is the layout the README shows: the spec and output/ in one git repository, which Flux follows, so
// flux bootstrap --path output/clusters/<cluster> and every spec.path starts at the repository's root
// (repositoryPath: output). The cluster is bootstrapped, and the repository has one commit.
func oneRepository(t *testing.T) *project {
	t.Helper()
	p := newProject(t)
	spec, err := os.ReadFile(p.spec)
	if err != nil {
		t.Fatal(err)
	}
	p.writeSpec(t, strings.Replace(string(spec), "kind: ClusterSpec\n", "kind: ClusterSpec\nrepositoryPath: output\n", 1))
	p.write("clusters/kronform/flux-system/gotk-sync.yaml", bootstrapSync("./output/clusters/kronform"))
	p.write("clusters/kronform/flux-system/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [gotk-sync.yaml]\n")
	if code, _, stderr := p.run("generate"); code != 0 {
		t.Fatalf("generate: exit %d\n%s", code, stderr)
	}
	gitRepo(t, p.dir)
	return p
}

func (p *project) writeSpec(t *testing.T, text string) {
	t.Helper()
	if err := os.WriteFile(p.spec, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// bootstrapSync is what flux bootstrap writes to gotk-sync.yaml for a --path.
func bootstrapSync(fluxPath string) string {
	return `---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m0s
  ref:
    branch: main
  url: ssh://git@example.com/fleet
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10m0s
  path: ` + fluxPath + `
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
`
}

// In one repository, every Flux Kustomization kronform-gen writes names its folder from the repository's root, and
// check, build and diff read the tree as kustomize-controller does (the e2e test has Flux reconcile this layout).
func TestOneRepositoryLayout(t *testing.T) {
	p := oneRepository(t)
	for _, k := range []string{"cilium", "host-policies", "secrets"} {
		if want := "path: ./output/infrastructure/kronform/" + k + "\n"; !strings.Contains(p.read("clusters/kronform/"+k+".yaml"), want) {
			t.Errorf("clusters/kronform/%s.yaml does not hold %q:\n%s", k, want, p.read("clusters/kronform/"+k+".yaml"))
		}
	}
	if !strings.Contains(p.read(".kronform-gen/owned.json"), `"repositoryPath": "output"`) {
		t.Errorf("the record does not say where the tree lies:\n%s", p.read(".kronform-gen/owned.json"))
	}
	if code, stdout, stderr := p.run("check"); code != 0 {
		t.Fatalf("check: exit %d\n%s%s", code, stdout, stderr)
	}

	// build follows bootstrap's path into the tree, and the Kustomizations' paths from there.
	code, stdout, stderr := p.run("build", "kronform")
	if code != 0 {
		t.Fatalf("build: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"kind: HelmRelease", "kind: CiliumClusterwideNetworkPolicy", "name: host-fw-control-plane", "path: ./output/infrastructure/kronform/cilium"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("build prints no %q", want)
		}
	}

	// A Kustomization of the user's whose folder lies beside the tree: TestKustomizationBesideTheTreeIsNotBuilt.

	// diff reads the ref's tree where the ref's record says it lies.
	spec, _ := os.ReadFile(p.spec)
	p.writeSpec(t, strings.Replace(string(spec), "ui: true", "ui: false", 1))
	if code, _, stderr := p.run("generate"); code != 0 {
		t.Fatalf("generate: exit %d\n%s", code, stderr)
	}
	code, stdout, stderr = p.run("diff", "--ref", "HEAD")
	if code != 1 || !strings.Contains(stdout, "0 added, 1 changed, 0 removed") {
		t.Errorf("diff --ref HEAD: exit %d\n%s%s", code, stdout, stderr)
	}
}

// A repositoryPath that is not where flux bootstrap applies the cluster folder from is a spec error naming the value
// to write: Flux would find none of the folders the generated Kustomizations name, and with the bootstrap unrecognised
// no guard of a live cluster would hold.
func TestRepositoryPathMustMatchBootstrap(t *testing.T) {
	p := oneRepository(t)
	spec, err := os.ReadFile(p.spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, spec, sync, want string }{
		{"left out", strings.Replace(string(spec), "repositoryPath: output\n", "", 1), "./output/clusters/kronform",
			`cluster-spec.yaml:1:1: repositoryPath: clusters/kronform/flux-system/gotk-sync.yaml applies ./output/clusters/kronform: the tree is the folder output of the repository Flux follows, not the root, and Flux would find none of the folders the Kustomizations in clusters/kronform name (write repositoryPath: output)`},
		{"another folder", strings.Replace(string(spec), "repositoryPath: output\n", "repositoryPath: fleet\n", 1), "./output/clusters/kronform",
			`cluster-spec.yaml:6:17: repositoryPath: clusters/kronform/flux-system/gotk-sync.yaml applies ./output/clusters/kronform: the tree is the folder output of the repository Flux follows, not the folder fleet, and Flux would find none of the folders the Kustomizations in clusters/kronform name (write repositoryPath: output)`},
		{"the root", string(spec), "./clusters/kronform",
			`cluster-spec.yaml:6:17: repositoryPath: clusters/kronform/flux-system/gotk-sync.yaml applies ./clusters/kronform: the tree is the root of the repository Flux follows, not the folder output, and Flux would find none of the folders the Kustomizations in clusters/kronform name (leave repositoryPath out)`},
		{"another cluster folder", string(spec), "./output/clusters/other",
			`repositoryPath: ` /* not this one */},
	} {
		t.Run(c.name, func(t *testing.T) {
			p.writeSpec(t, c.spec)
			p.write("clusters/kronform/flux-system/gotk-sync.yaml", bootstrapSync(c.sync))
			before := p.read("clusters/kronform/cilium.yaml")
			for _, cmd := range []string{"check", "generate"} {
				code, _, stderr := p.run(cmd)
				if c.name == "another cluster folder" {
					want := `clusters[0].flux.path: clusters/kronform/flux-system/gotk-sync.yaml applies ./output/clusters/other, which is not this cluster's folder (output/clusters/kronform in the repository Flux follows): Flux does not apply what kronform-gen writes there (bootstrap the cluster again with --path output/clusters/kronform)`
					if code != 2 || !strings.Contains(stderr, want) || strings.Contains(stderr, c.want) {
						t.Errorf("%s: exit %d\n%s\nwant %s", cmd, code, stderr, want)
					}
					continue
				}
				if code != 2 || !strings.Contains(stderr, c.want) {
					t.Errorf("%s: exit %d\n%s\nwant %s", cmd, code, stderr, c.want)
				}
			}
			if p.read("clusters/kronform/cilium.yaml") != before {
				t.Error("generate wrote despite the problem")
			}
		})
	}
	if _, err := os.Stat(filepath.Join(p.dir, "output", ".kronform-gen", "txn")); err == nil {
		t.Error("a refused generate left a staging folder")
	}
}

// The prune guard judges flux bootstrap's files by where they apply the cluster folder from, not by the spec's
// repositoryPath: a change that removes or renames a bootstrapped cluster and moves repositoryPath (either way) would
// otherwise not recognise the bootstrap, and generate removed the Kustomizations Flux there prunes Cilium with.
func TestPruneGuardHoldsAcrossARepositoryPathChange(t *testing.T) {
	for _, c := range []struct{ name, sync, from, to string }{
		{"left out", "./output/clusters/kronform", "repositoryPath: output\n", ""},
		{"written", "./clusters/kronform", "", "repositoryPath: output\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newProject(t)
			spec, err := os.ReadFile(p.spec)
			if err != nil {
				t.Fatal(err)
			}
			text := strings.Replace(string(spec), "kind: ClusterSpec\n", "kind: ClusterSpec\n"+c.from, 1)
			p.writeSpec(t, text)
			p.write("clusters/kronform/flux-system/gotk-sync.yaml", bootstrapSync(c.sync))
			if code, _, stderr := p.run("generate"); code != 0 {
				t.Fatalf("generate: exit %d\n%s", code, stderr)
			}
			gitRepo(t, p.dir)
			text = strings.Replace(text, "kind: ClusterSpec\n"+c.from, "kind: ClusterSpec\n"+c.to, 1)
			p.writeSpec(t, strings.Replace(text, "  - name: kronform\n", "  - name: kronform2\n", 1))
			code, _, stderr := p.run("generate")
			if code != 2 || !strings.Contains(stderr, "refusing to remove the Flux Kustomizations in clusters/kronform/") ||
				!strings.Contains(stderr, "HelmRelease kube-system/cilium (Cilium, the CNI") {
				t.Errorf("generate: exit %d\n%s", code, stderr)
			}
			if _, err := os.Stat(p.path("clusters/kronform/cilium.yaml")); err != nil {
				t.Errorf("the cluster's Kustomizations were removed: %v", err)
			}
		})
	}
}

// In one repository, a Kustomization of the user's may apply a folder beside the tree (./apps next to output/): Flux
// builds it from there, kronform-gen cannot. Like one with another source, it is left out of build and diff with a
// note, and the rest is built and compared; named on build's command line, it fails saying why.
func TestKustomizationBesideTheTreeIsNotBuilt(t *testing.T) {
	p := oneRepository(t)
	p.write("clusters/kronform/apps.yaml", `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec: {interval: 10m, path: ./apps, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}
`)
	note := `kronform/apps: not built from this tree: its spec.path "./apps" lies outside the tree, which is the folder output of the repository Flux follows: Flux builds it from there`
	code, stdout, stderr := p.run("diff", "--ref", "HEAD")
	if code != 1 || !strings.Contains(stdout, "+ kronform/Kustomization/flux-system/apps (added)") ||
		!strings.Contains(stdout, "1 added, 0 changed, 0 removed") || !strings.Contains(stderr, note) {
		t.Errorf("diff --ref HEAD: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = p.run("build", "kronform")
	if code != 0 || !strings.Contains(stdout, "kind: HelmRelease") || !strings.Contains(stderr, note) {
		t.Errorf("build kronform: exit %d\n%s", code, stderr)
	}
	code, _, stderr = p.run("build", "kronform/apps")
	if code != 1 || !strings.Contains(stderr, `kronform/apps: spec.path "./apps" lies outside the tree, which is the folder output of the repository Flux follows (repositoryPath): kronform-gen builds only what the tree holds`) {
		t.Errorf("build kronform/apps: exit %d\n%s", code, stderr)
	}
}
