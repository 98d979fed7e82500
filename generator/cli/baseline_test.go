package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kronform/kronform-gen/generator/gitrepo"
	"github.com/kronform/kronform-gen/generator/spec"
	"github.com/kronform/kronform-gen/internal/gittest"
)

// fakeComponents stands for flux bootstrap's gotk-components.yaml: Flux's CRDs (three of them, about 140 kB), which
// name the GitRepository and Kustomization kinds as the real file does.
func fakeComponents(t *testing.T) *bytes.Buffer {
	t.Helper()
	var components bytes.Buffer
	for _, f := range []string{"source.toolkit.fluxcd.io_gitrepositories.yaml", "kustomize.toolkit.fluxcd.io_kustomizations.yaml",
		"helm.toolkit.fluxcd.io_helmreleases.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "validate", "crds", f))
		if err != nil {
			t.Fatal(err)
		}
		components.Write(b)
		components.WriteString("\n---\n")
	}
	return &components
}

// gotkSync is flux bootstrap's gotk-sync.yaml for a cluster folder: the GitRepository the fleet's clusters follow
// (branch main) and the Kustomization that applies clusters/<cluster>.
func gotkSync(cluster string) string {
	return `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec: {interval: 1m0s, ref: {branch: main}, url: ssh://git@github.com/acme/fleet}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: flux-system, namespace: flux-system}
spec: {interval: 10m0s, path: ./clusters/` + cluster + `, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}
`
}

// Every cluster folder of a bootstrapped fleet holds the same gotk-components.yaml, hundreds of kB of CRDs that name
// the GitRepository kind; finding each cluster's GitRepository parsed it every time, most of a no-op generate of
// 1000 such clusters. The same contents are parsed once: each further cluster costs about the bytes read.
func TestBootstrapSourceParsesTheSameComponentsOnce(t *testing.T) {
	components := fakeComponents(t)
	out := t.TempDir()
	a := &app{outDir: out}
	const n = 12
	var clusters []spec.Cluster
	for i := range n {
		name := fmt.Sprintf("c%02d", i)
		c := spec.Cluster{Name: name, Flux: spec.Flux{Namespace: "flux-system", GitRepository: "flux-system", Path: "clusters/" + name}}
		clusters = append(clusters, c)
		dir := filepath.Join(out, "clusters", name, "flux-system")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "gotk-components.yaml"), components.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "gotk-sync.yaml"), []byte(gotkSync(name)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	find := func(c spec.Cluster) {
		r, file, err := a.bootstrapSource(c)
		if err != nil || r == nil || r.Spec.Reference.Branch != "main" || file != c.Flux.Path+"/flux-system/gotk-sync.yaml" {
			t.Fatalf("%s: %+v, %s, %v", c.Name, r, file, err)
		}
	}
	find(clusters[0])
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, c := range clusters[1:] {
		find(c)
	}
	runtime.ReadMemStats(&after)
	per := float64(after.TotalAlloc-before.TotalAlloc) / float64(n-1)
	t.Logf("%.0f bytes allocated per cluster, for %d bytes of gotk-components.yaml", per, components.Len())
	if per > 4*float64(components.Len()) {
		t.Errorf("each cluster allocates %.1f times its gotk-components.yaml: it is parsed again", per/float64(components.Len()))
	}
}

// fluxRef reads spec.ref as source-controller does: commit first, then name (before semver, tag and branch), then
// semver, tag, branch; no ref is branch master. A name or tag Flux follows is judged at that tag, a commit or a semver
// range at no reference of its own (the upstream of the current branch stands for it).
func TestFluxRefReadsTheReferenceAsSourceControllerDoes(t *testing.T) {
	gittest.Isolate(t)
	root := t.TempDir()
	gittest.Run(t, root, "init", "-q", "-b", "main")
	out := filepath.Join(root, "output")
	dir := filepath.Join(out, "clusters", "alpha", "flux-system")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sync := filepath.Join(dir, "gotk-sync.yaml")
	if err := os.WriteFile(sync, []byte("a: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gittest.Run(t, root, "add", "-A")
	gittest.Run(t, root, "commit", "-q", "-m", "alpha")
	gittest.Run(t, root, "tag", "live")
	gittest.Run(t, root, "tag", "other")
	repo, err := gitrepo.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	a := &app{outDir: out}
	c := spec.Cluster{Name: "alpha", Flux: spec.Flux{Namespace: "flux-system", GitRepository: "flux-system", Path: "clusters/alpha"}}
	for ref, want := range map[string]string{
		"{tag: live}":                                      "refs/tags/live",
		"{name: refs/tags/live}":                           "refs/tags/live",
		"{name: refs/tags/live, semver: '>=1.0.0'}":        "refs/tags/live",
		"{name: refs/tags/live, tag: other}":               "refs/tags/live",
		"{semver: '>=1.0.0', tag: live}":                   "",
		"{commit: 0123456789abcdef, name: refs/tags/live}": "",
		"{tag: live, branch: main}":                        "refs/tags/live",
	} {
		if err := os.WriteFile(sync, fmt.Appendf(nil, `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec: {interval: 1m0s, ref: %s, url: ssh://git@github.com/acme/fleet}
`, ref), 0o644); err != nil {
			t.Fatal(err)
		}
		got, why, err := a.fluxRef(repo, c)
		if err != nil || got != want {
			t.Errorf("ref %s: %q (%s), %v; want %q", ref, got, why, err, want)
		}
	}
}

// betaToRemove is a workspace in a git repository (remote origin, nothing fetched) whose tree holds the clusters
// alpha and beta, generated, with beta bootstrapped: Flux there follows ref (a GitRepository spec.ref, in flow
// style). bootstrap rewrites beta's gotk-sync.yaml with the fields its Kustomization's spec holds besides interval,
// path and sourceRef.
func betaToRemove(t *testing.T, ref string) (w *workspace, bootstrap func(fields string)) {
	t.Helper()
	gittest.Isolate(t)
	w = newWorkspace(t)
	gittest.Run(t, w.dir, "init", "-q", "-b", "main")
	gittest.Run(t, w.dir, "remote", "add", "origin", "git@github.com:acme/fleet.git")
	beta := strings.ReplaceAll(strings.SplitN(twoNodes, "  - name: alpha\n", 2)[1], "alpha", "beta")
	w.mustGenerate(twoNodes + "  - name: beta\n" + strings.ReplaceAll(beta, "198.51.100.", "198.51.101."))
	sync := filepath.Join(w.dir, "output", "clusters", "beta", "flux-system", "gotk-sync.yaml")
	if err := os.MkdirAll(filepath.Dir(sync), 0o755); err != nil {
		t.Fatal(err)
	}
	return w, func(fields string) {
		t.Helper()
		if err := os.WriteFile(sync, []byte(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec: {interval: 1m0s, ref: `+ref+`, url: ssh://git@github.com/acme/fleet}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: flux-system, namespace: flux-system}
spec: {interval: 10m0s, path: ./clusters/beta, `+fields+`, sourceRef: {kind: GitRepository, name: flux-system}}
`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A removal that suspend: true (or prune: false) in flux bootstrap's Kustomization lets through is warned about while
// the branch Flux follows does not hold that setting: kustomize-controller prunes by the settings it had before the
// revision that empties the folder, so the hold must be live first. Once it is on the followed branch, no warning.
func TestRemovalHeldOnlyInThisChangeIsWarned(t *testing.T) {
	w, bootstrap := betaToRemove(t, "{branch: main}")
	bootstrap("prune: true")
	gittest.Run(t, w.dir, "add", "-A")
	gittest.Run(t, w.dir, "commit", "-q", "-m", "alpha and beta")
	gittest.Run(t, w.dir, "update-ref", "refs/remotes/origin/main", "HEAD") // as if pushed

	const warning = "warning: clusters/beta: clusters/beta/flux-system/gotk-sync.yaml says %s, but not at origin/main " +
		"(branch main of ssh://git@github.com/acme/fleet, which Flux follows (clusters/beta/flux-system/gotk-sync.yaml), " +
		"as this clone last fetched or pushed it): unless it is live on the cluster already (flux suspend kustomization " +
		"flux-system -n flux-system), Flux prunes by the settings it has when this change lands, and deletes what " +
		"clusters/beta/cilium.yaml, clusters/beta/host-policies.yaml applied; commit and push the %s on its own first, " +
		"and let Flux apply it\n"
	for _, hold := range []struct{ fields, says string }{{"prune: true, suspend: true", "suspend: true"}, {"prune: false", "prune: false"}} {
		bootstrap(hold.fields)
		code, stderr := w.generate(twoNodes)
		if want := fmt.Sprintf(warning, hold.says, hold.says); code != 0 || !strings.Contains(stderr, want) {
			t.Errorf("%s in this change only: exit %d, want 0 and\n%s\nin:\n%s", hold.says, code, want, stderr)
		}
		gittest.Run(t, w.dir, "reset", "-q", "--hard", "HEAD")
	}

	// The hold committed and pushed on its own: Flux has it, and the removal deletes nothing.
	bootstrap("prune: true, suspend: true")
	gittest.Run(t, w.dir, "commit", "-q", "-am", "suspend beta")
	gittest.Run(t, w.dir, "update-ref", "refs/remotes/origin/main", "HEAD")
	if code, stderr := w.generate(twoNodes); code != 0 || strings.Contains(stderr, "warning: clusters/beta") {
		t.Errorf("hold on the followed branch: exit %d, want 0 and no warning:\n%s", code, stderr)
	}
}

// Flux following a tag applies a commit when the tag moves to it: the warning about a hold not yet followed says to
// move the tag, not to push the branch (which Flux does not read), and is quiet once the tag holds it.
func TestRemovalHeldOnlyInThisChangeIsWarnedWithATag(t *testing.T) {
	w, bootstrap := betaToRemove(t, "{tag: v1}")
	bootstrap("prune: true")
	gittest.Run(t, w.dir, "add", "-A")
	gittest.Run(t, w.dir, "commit", "-q", "-m", "alpha and beta")
	gittest.Run(t, w.dir, "tag", "v1")
	gittest.Run(t, w.dir, "update-ref", "refs/remotes/origin/main", "HEAD")

	// The hold committed and the branch pushed: the tag Flux follows does not have it.
	bootstrap("prune: true, suspend: true")
	gittest.Run(t, w.dir, "commit", "-q", "-am", "suspend beta")
	gittest.Run(t, w.dir, "update-ref", "refs/remotes/origin/main", "HEAD")
	const want = "warning: clusters/beta: clusters/beta/flux-system/gotk-sync.yaml says suspend: true, but not at v1 (tag v1, " +
		"which Flux follows (clusters/beta/flux-system/gotk-sync.yaml), as this clone last fetched it): unless it is live on " +
		"the cluster already (flux suspend kustomization flux-system -n flux-system), Flux prunes by the settings it has when " +
		"this change lands, and deletes what clusters/beta/cilium.yaml, clusters/beta/host-policies.yaml applied; commit the " +
		"suspend: true on its own first, move the tag v1 to that commit and push it, and let Flux apply it\n"
	if code, stderr := w.generate(twoNodes); code != 0 || !strings.Contains(stderr, want) {
		t.Errorf("hold not on the tag: exit %d, want 0 and\n%s\nin:\n%s", code, want, stderr)
	}
	gittest.Run(t, w.dir, "reset", "-q", "--hard", "HEAD")

	// The tag moved to the hold: Flux has it.
	gittest.Run(t, w.dir, "tag", "-f", "v1")
	if code, stderr := w.generate(twoNodes); code != 0 || strings.Contains(stderr, "warning: clusters/beta") {
		t.Errorf("hold on the tag: exit %d, want 0 and no warning:\n%s", code, stderr)
	}
}
