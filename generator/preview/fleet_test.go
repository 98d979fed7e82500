package preview_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/getsops/sops/v3/cmd/sops/formats"

	"github.com/kronform/kronform-gen/generator/preview"
	"github.com/kronform/kronform-gen/generator/secrets"
)

// fluxKustomization is a Flux Kustomization of the cluster's own GitRepository, with extra spec lines.
func fluxKustomization(name, path string, spec ...string) string {
	s := fmt.Sprintf("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: %s\n  namespace: flux-system\n"+
		"spec:\n  interval: 10m\n  path: %s\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n", name, path)
	for _, l := range spec {
		s += "  " + l + "\n"
	}
	return s
}

func configMap(name string, data ...string) string {
	s := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  namespace: flux-system\ndata:\n"
	for _, d := range data {
		s += "  " + d + "\n"
	}
	return s
}

// buildTree builds every Kustomization of an in-memory tree.
func buildTree(t *testing.T, files map[string]string, opts preview.Options) (*preview.Result, error) {
	t.Helper()
	m := map[string][]byte{}
	for p, s := range files {
		m[p] = []byte(s)
	}
	src, ks := fromFiles(t, m)
	return src.Build(ks, opts)
}

func ids(ks []preview.Kustomization) string {
	var out []string
	for _, k := range ks {
		out = append(out, k.ID())
	}
	return strings.Join(out, " ")
}

func buildOf(t *testing.T, res *preview.Result, id string) string {
	t.Helper()
	for _, b := range res.Builds {
		if b.ID() == id {
			y, err := b.YAML(false)
			if err != nil {
				t.Fatal(err)
			}
			return string(y)
		}
	}
	t.Fatalf("%s was not built; built: %v", id, res.Builds)
	return ""
}

// Flux applies a Kustomization that another Kustomization's build holds, and reconciles it in turn: a Kustomization
// declared outside clusters/<cluster>/, at any depth, belongs to that cluster and is built. A Kustomization that
// declares its own parent again ends the walk rather than looping.
func TestBuildFollowsKustomizationsThatBuildsDeclare(t *testing.T) {
	files := map[string]string{
		"clusters/kronform/apps.yaml": fluxKustomization("parent", "./apps/nested"),
		"apps/nested/child.yaml":      fluxKustomization("child", "./apps/onlychild"),
		"apps/onlychild/cm.yaml":      configMap("only", "color: blue"),
		"apps/onlychild/deeper.yaml":  fluxKustomization("grandchild", "./apps/deepest"),
		"apps/deepest/loop.yaml":      fluxKustomization("loop", "./apps/nested"),
		"apps/deepest/cm.yaml":        configMap("deep", "depth: \"3\""),
	}
	res, err := buildTree(t, files, preview.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(res.Kustomizations), "kronform/child kronform/grandchild kronform/loop kronform/parent"; got != want {
		t.Fatalf("Kustomizations: %s, want %s", got, want)
	}
	if y := buildOf(t, res, "kronform/child"); !strings.Contains(y, "color: blue") {
		t.Errorf("child's build lacks its ConfigMap:\n%s", y)
	}
	if y := buildOf(t, res, "kronform/grandchild"); !strings.Contains(y, `depth: "3"`) {
		t.Errorf("grandchild's build lacks its ConfigMap:\n%s", y)
	}
	for _, k := range res.Kustomizations {
		if k.Name == "grandchild" && k.DeclaredBy != "kronform/child" {
			t.Errorf("grandchild declared by %q", k.DeclaredBy)
		}
	}

	// One Kustomization, named on its own, is found the same way.
	res, err = buildTree(t, files, preview.Options{Cluster: "kronform", Name: "child"})
	if err != nil || len(res.Builds) != 1 || res.Builds[0].ID() != "kronform/child" {
		t.Fatalf("selecting kronform/child: %v, %v", res.Builds, err)
	}

	// Two Kustomizations of one cluster with one name (in two namespaces) would make cluster/name ambiguous.
	files["apps/onlychild/clash.yaml"] = strings.Replace(fluxKustomization("parent", "./apps/deepest"), "namespace: flux-system", "namespace: other", 1)
	_, err = buildTree(t, files, preview.Options{})
	var e *preview.Error
	if !errors.As(err, &e) || e.ID != "kronform/parent" || !strings.Contains(err.Error(), "flux-system/parent (clusters/kronform/apps.yaml) and other/parent (in the build of kronform/child)") {
		t.Errorf("a name in two namespaces: %v", err)
	}
}

// substituteFrom reads a source as it stands in the cluster: after its own Kustomization's postBuild.
func TestSubstituteFromReadsSourcesAfterTheirSubstitution(t *testing.T) {
	files := map[string]string{
		"clusters/kronform/vars.yaml": fluxKustomization("vars", "./vars", "postBuild:", "  substitute:", "    base_domain: kronform.example"),
		"clusters/kronform/apps.yaml": fluxKustomization("apps-subst", "./apps", "postBuild:", "  substituteFrom:", "  - kind: ConfigMap", "    name: cluster-vars"),
		"vars/cm.yaml":                configMap("cluster-vars", "domain: ${base_domain}"),
		"apps/cm.yaml":                configMap("app", "host: app.${domain}"),
	}
	res, err := buildTree(t, files, preview.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if y := buildOf(t, res, "kronform/apps-subst"); !strings.Contains(y, "host: app.kronform.example") {
		t.Errorf("apps-subst:\n%s", y)
	}

	// Sources that wait on each other are a cycle Flux cannot apply: those two fail, saying so; the rest builds.
	files["clusters/kronform/vars.yaml"] = fluxKustomization("vars", "./vars", "postBuild:", "  substituteFrom:", "  - kind: ConfigMap", "    name: app")
	files["clusters/kronform/other.yaml"] = fluxKustomization("other", "./other")
	files["other/cm.yaml"] = configMap("other")
	res, err = buildTree(t, files, preview.Options{})
	var failed []string
	for _, e := range unjoinErrors(err) {
		failed = append(failed, e.Error())
	}
	slices.Sort(failed)
	if len(failed) != 2 || !strings.HasPrefix(failed[0], "kronform/apps-subst: postBuild.substituteFrom sources form a cycle") ||
		!strings.HasPrefix(failed[1], "kronform/vars: postBuild.substituteFrom sources form a cycle") ||
		!strings.Contains(failed[1], "kronform/vars needs ConfigMap/app from kronform/apps-subst → kronform/apps-subst needs ConfigMap/cluster-vars from kronform/vars") {
		t.Errorf("a cycle:\n%s", strings.Join(failed, "\n"))
	}
	if len(res.Builds) != 1 || res.Builds[0].ID() != "kronform/other" {
		t.Errorf("builds beside the cycle: %v", res.Builds)
	}
}

func unjoinErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

// A Kustomization fails only with itself or with one that provides a source it needs, and then names it.
func TestAFailureStaysWithTheKustomizationsThatNeedIt(t *testing.T) {
	sopsSecret := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\n  namespace: flux-system\nstringData:\n  token: ENC[AES256_GCM,data:eA==,iv:eA==,tag:eA==,type:str]\nsops:\n  mac: ENC[AES256_GCM,data:eA==,iv:eA==,tag:eA==,type:str]\n  version: 3.13.3\n"
	files := map[string]string{
		"clusters/kronform/vars.yaml":   fluxKustomization("vars", "./vars"),
		"clusters/kronform/apps.yaml":   fluxKustomization("apps-subst", "./apps", "postBuild:", "  substituteFrom:", "  - kind: ConfigMap", "    name: cluster-vars"),
		"clusters/kronform/charts.yaml": fluxKustomization("charts", "./charts"),
		"clusters/kronform/keys.yaml":   fluxKustomization("keys", "./keys", "decryption:", "  provider: sops"),
		"clusters/kronform/db.yaml":     fluxKustomization("db", "./db", "postBuild:", "  substituteFrom:", "  - kind: Secret", "    name: db-keys"),
		"vars/cm.yaml":                  configMap("cluster-vars", "domain: kronform.example"),
		"apps/cm.yaml":                  configMap("app", "host: app.${domain}"),
		// kustomize-controller refuses helmCharts; so does the preview, offline.
		"charts/kustomization.yaml": "helmCharts:\n- name: podinfo\n  repo: https://stefanprodan.github.io/podinfo\n  version: 6.5.4\n",
		"keys/secret.yaml":          fmt.Sprintf(sopsSecret, "db-keys"),
		"db/cm.yaml":                configMap("db", "token: ${token}"),
	}
	var noKey wrongKey
	res, err := buildTree(t, files, preview.Options{Decrypt: noKey})
	var failed []string
	for _, e := range unjoinErrors(err) {
		failed = append(failed, e.Error())
	}
	slices.Sort(failed)
	if len(failed) != 3 || !strings.HasPrefix(failed[0], "kronform/charts: ") ||
		failed[1] != "kronform/db: postBuild.substituteFrom Secret/db-keys comes from Kustomization kronform/keys, which does not build" ||
		failed[2] != "kronform/keys: decrypting Secret/flux-system/db-keys: "+secrets.ErrWrongKey.Error() {
		t.Errorf("failures:\n%s", strings.Join(failed, "\n"))
	}
	if y := buildOf(t, res, "kronform/apps-subst"); !strings.Contains(y, "host: app.kronform.example") {
		t.Errorf("apps-subst:\n%s", y)
	}

	// A source that no build holds may be in one that does not build: the note says which.
	files["clusters/kronform/vars.yaml"] = fluxKustomization("vars", "./charts")
	res, _ = buildTree(t, files, preview.Options{Decrypt: noKey})
	buildOf(t, res, "kronform/apps-subst")
	for _, b := range res.Builds {
		if b.ID() == "kronform/apps-subst" && !slices.Contains(b.Notes, "postBuild.substituteFrom ConfigMap/cluster-vars may be held by a Kustomization that does not build: kronform/charts, kronform/vars") {
			t.Errorf("apps-subst's notes: %q", b.Notes)
		}
	}
	files["clusters/kronform/vars.yaml"] = fluxKustomization("vars", "./vars")

	// Selected alone, it builds, and the others' failures are not its own.
	res, err = buildTree(t, files, preview.Options{Cluster: "kronform", Name: "apps-subst", Decrypt: noKey})
	if err != nil || len(res.Builds) != 1 {
		t.Errorf("apps-subst alone: %v, %v", res.Builds, err)
	}
}

// Flux applies nothing from a suspended Kustomization, and builds one with another source from that source: neither
// is built from this tree, unless named on its own. The cluster's own GitRepository is the one its bootstrap
// Kustomization (clusters/<cluster>/flux-system) reads.
func TestKustomizationsFluxDoesNotApplyFromTheTreeAreSkipped(t *testing.T) {
	ociRef := "sourceRef:\n    kind: OCIRepository\n    name: podinfo"
	files := map[string]string{
		"clusters/kronform/flux-system/gotk-sync.yaml": fluxKustomization("flux-system", "./clusters/kronform") +
			"---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\n" +
			"spec:\n  interval: 1m\n  url: ssh://git@example.com/fleet\n  ref:\n    branch: main\n",
		"clusters/kronform/apps.yaml":      fluxKustomization("apps", "./apps"),
		"clusters/kronform/paused.yaml":    fluxKustomization("paused", "./apps", "suspend: true"),
		"clusters/kronform/oci.yaml":       strings.Replace(fluxKustomization("oci", "./apps"), "sourceRef:\n    kind: GitRepository\n    name: flux-system", ociRef, 1),
		"clusters/kronform/other-git.yaml": strings.Replace(fluxKustomization("other-git", "./apps"), "name: flux-system\n", "name: elsewhere\n", 2),
		"apps/cm.yaml":                     configMap("app"),
	}
	res, err := buildTree(t, files, preview.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range res.Builds {
		got = append(got, b.ID())
	}
	if strings.Join(got, " ") != "kronform/apps kronform/flux-system" {
		t.Errorf("built %v", got)
	}
	var skipped []string
	for _, s := range res.Skipped {
		skipped = append(skipped, s.ID()+": "+s.Reason)
	}
	want := []string{
		"kronform/oci: its source is OCIRepository flux-system/podinfo, not this repository's GitRepository flux-system/flux-system: Flux builds it from that source",
		"kronform/other-git: its source is GitRepository flux-system/elsewhere, not this repository's GitRepository flux-system/flux-system: Flux builds it from that source",
		"kronform/paused: it is suspended (spec.suspend: true): Flux applies nothing from it until it is resumed",
	}
	if strings.Join(skipped, "\n") != strings.Join(want, "\n") {
		t.Errorf("skipped:\n%s\nwant:\n%s", strings.Join(skipped, "\n"), strings.Join(want, "\n"))
	}

	// Named on its own, it is built, with the note.
	res, err = buildTree(t, files, preview.Options{Cluster: "kronform", Name: "paused"})
	if err != nil || len(res.Builds) != 1 || len(res.Builds[0].Notes) != 1 || !strings.Contains(res.Builds[0].Notes[0], "suspended") {
		t.Fatalf("paused, named: %v, %v", res.Builds, err)
	}

	// A cluster bootstrapped with another GitRepository: that one is the cluster's own.
	for p, s := range files {
		files[p] = strings.ReplaceAll(s, "name: flux-system\n", "name: fleet\n")
	}
	res, err = buildTree(t, files, preview.Options{})
	if err != nil || len(res.Builds) != 2 || len(res.Skipped) != 3 || !strings.Contains(res.Skipped[0].Reason, "GitRepository flux-system/fleet") {
		t.Errorf("bootstrapped with GitRepository fleet: built %v, skipped %v, %v", res.Builds, res.Skipped, err)
	}

	// Not bootstrapped yet (a freshly generated tree of a spec with flux.gitRepository: fleet): the Kustomizations at
	// the bootstrap path all name fleet, so that is the one bootstrap will make, and they are built.
	generated := map[string]string{"apps/cm.yaml": configMap("app")}
	for _, name := range []string{"cilium", "host-policies"} {
		generated["clusters/kronform/"+name+".yaml"] = strings.ReplaceAll(fluxKustomization(name, "./apps"), "name: flux-system\n", "name: fleet\n")
	}
	res, err = buildTree(t, generated, preview.Options{})
	if err != nil || len(res.Builds) != 2 || len(res.Skipped) != 0 {
		t.Errorf("not bootstrapped, GitRepository fleet: built %v, skipped %v, %v", res.Builds, res.Skipped, err)
	}
}

// wrongKey decrypts nothing, as a key that is not the tree's.
type wrongKey struct{}

func (wrongKey) Object([]byte) ([]byte, error) { return nil, secrets.ErrWrongKey }
func (wrongKey) File([]byte, formats.Format, formats.Format) ([]byte, error) {
	return nil, secrets.ErrWrongKey
}

// With the key, postBuild substitutes a Secret's values in the clear: an error about the objects they are
// substituted into (here an alias to an unknown anchor) prints no value.
func TestPostBuildErrorsDoNotPrintSecretValues(t *testing.T) {
	files := map[string]string{
		"clusters/kronform/vars.yaml": fluxKustomization("vars", "./vars"),
		"clusters/kronform/apps.yaml": fluxKustomization("apps", "./apps", "postBuild:", "  substituteFrom:", "  - {kind: Secret, name: vars}"),
		"vars/secret.yaml":            "apiVersion: v1\nkind: Secret\nmetadata: {name: vars, namespace: flux-system}\nstringData: {pw: '*CANARY-s3cr3t'}\n",
		"apps/cm.yaml":                configMap("app", "x: ${pw}"),
	}
	_, err := buildTree(t, files, preview.Options{Decrypt: wrongKey{}})
	if err == nil || strings.Contains(err.Error(), "CANARY") || !strings.Contains(err.Error(), "kronform/apps: postBuild: ConfigMap/app: ") ||
		!strings.Contains(err.Error(), "unknown anchor '(not shown)' referenced") {
		t.Errorf("build: %v", err)
	}
}
