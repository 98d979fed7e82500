package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fluxTree writes a Flux repository tree under a new folder's output/ and returns the folder and output/.
func fluxTree(t *testing.T, files map[string]string) (dir, out string) {
	t.Helper()
	dir = t.TempDir()
	out = filepath.Join(dir, "output")
	for p, s := range files {
		full := filepath.Join(out, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, out
}

func fluxKustomization(name, path string, spec ...string) string {
	s := fmt.Sprintf("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: %s\n  namespace: flux-system\n"+
		"spec:\n  interval: 10m\n  path: %s\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n", name, path)
	for _, l := range spec {
		s += "  " + l + "\n"
	}
	return s
}

func configMap(name string, data ...string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  namespace: flux-system\ndata:\n  " + strings.Join(data, "\n  ") + "\n"
}

// A Kustomization declared outside clusters/<cluster>/, in another one's build, is applied by Flux: build and diff
// see it.
func TestBuildAndDiffSeeNestedKustomizations(t *testing.T) {
	dir, out := fluxTree(t, map[string]string{
		"clusters/kronform/apps.yaml": fluxKustomization("parent", "./apps/nested"),
		"apps/nested/child.yaml":      fluxKustomization("child", "./apps/onlychild"),
		"apps/onlychild/cm.yaml":      configMap("only", "color: blue"),
	})
	gitRepo(t, dir)
	os.WriteFile(filepath.Join(out, "apps/onlychild/cm.yaml"), []byte(configMap("only", "color: green")), 0o644)
	code, stdout, stderr := run(t, "diff", "--ref", "HEAD", "--out", out)
	if code != 1 || !strings.Contains(stdout, "-  color: blue\n+  color: green\n") || !strings.HasSuffix(stdout, "0 added, 1 changed, 0 removed (HEAD -> working tree)\n") {
		t.Errorf("diff: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = run(t, "build", "kronform/child", "--out", out)
	if code != 0 || !strings.Contains(stdout, "color: green") {
		t.Errorf("build kronform/child: exit %d\n%s%s", code, stdout, stderr)
	}
	code, _, stderr = run(t, "build", "kronform/nope", "--out", out)
	if code != 2 || !strings.Contains(stderr, "no Flux Kustomization kronform/nope in the tree; there are: kronform/child, kronform/parent") {
		t.Errorf("build kronform/nope: exit %d\n%s", code, stderr)
	}
	// An empty argument (build "$CLUSTER" with the variable unset) or one with a space is shown as given, quoted.
	for arg, want := range map[string]string{"": `no Flux Kustomization "" in the tree`, " kronform": `no Flux Kustomization " kronform" in the tree`,
		"kronform/ child": `no Flux Kustomization "kronform/ child" in the tree`} {
		if code, _, stderr = run(t, "build", arg, "--out", out); code != 2 || !strings.Contains(stderr, want) {
			t.Errorf("build %q: exit %d\n%s", arg, code, stderr)
		}
	}
}

// substituteFrom takes a source after its own substitution; and another Kustomization's failure is not its own.
func TestBuildSubstitutesFromSubstitutedSourcesDespiteOtherFailures(t *testing.T) {
	_, out := fluxTree(t, map[string]string{
		"clusters/kronform/vars.yaml":   fluxKustomization("vars", "./vars", "postBuild:", "  substitute:", "    base_domain: kronform.example"),
		"clusters/kronform/apps.yaml":   fluxKustomization("apps-subst", "./apps", "postBuild:", "  substituteFrom:", "  - kind: ConfigMap", "    name: cluster-vars"),
		"clusters/kronform/charts.yaml": fluxKustomization("charts", "./charts"),
		"vars/cm.yaml":                  configMap("cluster-vars", "domain: ${base_domain}"),
		"apps/cm.yaml":                  configMap("app", "host: app.${domain}"),
		"charts/kustomization.yaml":     "helmCharts:\n- name: podinfo\n  repo: https://stefanprodan.github.io/podinfo\n  version: 6.5.4\n",
	})
	code, stdout, stderr := run(t, "build", "kronform/apps-subst", "--out", out)
	if code != 0 || !strings.Contains(stdout, "host: app.kronform.example") {
		t.Errorf("build kronform/apps-subst: exit %d\n%s%s", code, stdout, stderr)
	}
	code, _, stderr = run(t, "build", "kronform", "--out", out)
	if code != 1 || !strings.Contains(stderr, "kronform/charts: ") || strings.Contains(stderr, "apps-subst") {
		t.Errorf("build kronform: exit %d\n%s", code, stderr)
	}
}

// Flux applies nothing from a suspended Kustomization or from one with another source: diff and build leave them
// out with a note, and build builds one that is named.
func TestSuspendedAndForeignKustomizationsAreSkippedWithANote(t *testing.T) {
	dir, out := fluxTree(t, map[string]string{
		"clusters/kronform/apps.yaml":   fluxKustomization("apps", "./apps"),
		"clusters/kronform/paused.yaml": fluxKustomization("paused", "./paused", "suspend: true"),
		"clusters/kronform/oci.yaml":    strings.Replace(fluxKustomization("oci", "./oci"), "kind: GitRepository", "kind: OCIRepository", 1),
		"apps/cm.yaml":                  configMap("app", "a: b"),
		"paused/cm.yaml":                configMap("paused", "a: b"),
		"oci/cm.yaml":                   configMap("oci", "a: b"),
	})
	gitRepo(t, dir)
	for _, f := range []string{"paused/cm.yaml", "oci/cm.yaml"} {
		os.WriteFile(filepath.Join(out, f), []byte(configMap("changed", "a: c")), 0o644)
	}
	code, stdout, stderr := run(t, "diff", "--ref", "HEAD", "--out", out)
	for _, want := range []string{
		"note: " + out + " at HEAD: kronform/oci: not built from this tree: its source is OCIRepository flux-system/flux-system",
		"note: " + out + ": kronform/paused: not built from this tree: it is suspended (spec.suspend: true)",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("diff's stderr lacks %q:\n%s", want, stderr)
		}
	}
	if code != 0 || stdout != "0 added, 0 changed, 0 removed (HEAD -> working tree)\n" {
		t.Errorf("diff: exit %d\n%s", code, stdout)
	}
	code, stdout, stderr = run(t, "build", "--out", out)
	if code != 0 || strings.Contains(stdout, "changed") || !strings.Contains(stderr, "kronform/paused: not built from this tree") {
		t.Errorf("build: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = run(t, "build", "kronform/paused", "--out", out)
	if code != 0 || !strings.Contains(stdout, "name: changed") || !strings.Contains(stderr, "note: kronform/paused: built because it was named, although Flux does not apply it from this tree: it is suspended (spec.suspend: true)") {
		t.Errorf("build kronform/paused: exit %d\n%s%s", code, stdout, stderr)
	}
}

// A Kustomization suspended on one side of a diff is built on both, as if resumed. Suspending one deletes nothing it
// applied, so it is no removal of all it holds; but leaving it out of both sides hid what a pull request changes in
// it: flux bootstrap's Kustomization applies the revision that suspends it (it is not suspended yet when it
// reconciles it), so a change committed with the suspend is live, and a Kustomization resumed applies what it holds
// then. Each case below showed nothing of the change, and a suspend with a change beside it passed as no difference.
func TestDiffShowsWhatAKustomizationSuspendedOnOneSideHolds(t *testing.T) {
	dir, out := fluxTree(t, map[string]string{
		"clusters/kronform/flux-system/gotk-sync.yaml": fluxKustomization("flux-system", "./clusters/kronform"),
		"clusters/kronform/apps.yaml":                  fluxKustomization("apps", "./apps"),
		"clusters/kronform/policy.yaml":                configMap("policy", "allow: none"),
		"apps/nested.yaml":                             fluxKustomization("nested", "./nested"),
		"apps/cm.yaml":                                 configMap("app", "a: b"),
		"nested/cm.yaml":                               configMap("deep", "d: e"),
	})
	r := gitRepo(t, dir)
	write := func(file, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(out, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	diff := func(what string, changed int, want ...string) {
		t.Helper()
		code, stdout, stderr := run(t, "diff", "--ref", "HEAD", "--out", out)
		if code != 1 || strings.Contains(stdout, "(removed)") || strings.Contains(stdout, "(added)") {
			t.Errorf("%s: exit %d\n%s%s", what, code, stdout, stderr)
		}
		for _, w := range want {
			if !strings.Contains(stdout+stderr, w) {
				t.Errorf("%s: the diff does not say %q:\n%s%s", what, w, stdout, stderr)
			}
		}
		code, stdout, stderr = run(t, "diff", "--ref", "HEAD", "--out", out, "--output", "json")
		if code != 1 || strings.Contains(stdout, `"removed": 1`) || strings.Contains(stdout, `"added": 1`) || !strings.Contains(stdout, `"changed": `+fmt.Sprint(changed)) {
			t.Errorf("%s, as JSON: exit %d\n%s%s", what, code, stdout, stderr)
		}
	}
	gotk := "clusters/kronform/flux-system/gotk-sync.yaml"

	// flux bootstrap's Kustomization suspended, with a change to what it applies beside it.
	write(gotk, fluxKustomization("flux-system", "./clusters/kronform", "suspend: true"))
	write("clusters/kronform/policy.yaml", configMap("policy", "allow: all"))
	diff("flux-system suspended with a change", 2, "~ kronform/Kustomization/flux-system/flux-system (changed)", "+  suspend: true",
		"+  allow: all", "note: "+out+": kronform/flux-system: suspended in the working tree only")
	// With a removal beside it: Flux prunes by the spec it had before it applied the revision, so the suspend in the
	// same commit saves nothing (the prune guard says as much), and the diff must list what goes.
	if err := os.Remove(filepath.Join(out, "clusters/kronform/apps.yaml")); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := run(t, "diff", "--ref", "HEAD", "--out", out); code != 1 ||
		!strings.Contains(stdout, "- kronform/Kustomization/flux-system/apps (removed)") || !strings.Contains(stdout, "- kronform/ConfigMap/flux-system/app (removed)") {
		t.Errorf("flux-system suspended with a removal beside it: exit %d\n%s%s", code, stdout, stderr)
	}
	write("clusters/kronform/apps.yaml", fluxKustomization("apps", "./apps"))
	write(gotk, fluxKustomization("flux-system", "./clusters/kronform"))
	write("clusters/kronform/policy.yaml", configMap("policy", "allow: none"))

	// apps suspended, with a change to what it applies, and to what the Kustomization it declares applies.
	write("clusters/kronform/apps.yaml", fluxKustomization("apps", "./apps", "suspend: true"))
	write("apps/cm.yaml", configMap("app", "a: changed"))
	write("nested/cm.yaml", configMap("deep", "d: changed"))
	diff("apps suspended with a change", 3, "+  suspend: true", "+  a: changed", "+  d: changed")

	// Resumed, with a change Flux applies once resumed.
	commitAll(t, r, "apps suspended")
	write("clusters/kronform/apps.yaml", fluxKustomization("apps", "./apps"))
	write("apps/cm.yaml", configMap("app", "a: resumed"))
	diff("apps resumed with a change", 2, "-  suspend: true", "+  a: resumed",
		"note: "+out+" at HEAD: kronform/apps: suspended at HEAD only")

	// Suspended, and from another source: Flux does not build it from this tree for either reason (diff ends).
	commitAll(t, r, "apps resumed")
	write("clusters/kronform/apps.yaml", strings.Replace(fluxKustomization("apps", "./apps", "suspend: true"), "name: flux-system\n", "name: elsewhere\n", 1))
	code, stdout, stderr := run(t, "diff", "--ref", "HEAD", "--out", out)
	if code != 1 || !strings.Contains(stdout, "~ kronform/Kustomization/flux-system/apps (changed)") ||
		!strings.Contains(stderr, "note: "+out+": kronform/apps: not built from this tree: its source is GitRepository flux-system/elsewhere") {
		t.Errorf("apps suspended, from another source: exit %d\n%s%s", code, stdout, stderr)
	}
}

// A Kustomization suspended at the ref as it did not build there, resumed and mended in the working tree: built as if
// resumed at the ref it fails, and that must not fail the diff. It is left out of the ref's side, noted, so all it
// holds shows as added, as Flux applies it once resumed.
func TestDiffOfAKustomizationResumedOnceMended(t *testing.T) {
	dir, out := fluxTree(t, map[string]string{
		"clusters/kronform/flux-system/gotk-sync.yaml": fluxKustomization("flux-system", "./clusters/kronform"),
		"clusters/kronform/apps.yaml":                  fluxKustomization("apps", "./apps", "suspend: true"),
		"apps/kustomization.yaml":                      "resources: [cm.yaml, missing.yaml]\n",
		"apps/cm.yaml":                                 configMap("app", "a: b"),
	})
	gitRepo(t, dir)
	os.WriteFile(filepath.Join(out, "clusters/kronform/apps.yaml"), []byte(fluxKustomization("apps", "./apps")), 0o644)
	os.WriteFile(filepath.Join(out, "apps/kustomization.yaml"), []byte("resources: [cm.yaml]\n"), 0o644)
	code, stdout, stderr := run(t, "diff", "--ref", "HEAD", "--out", out)
	if code != 1 || !strings.Contains(stdout, "+ kronform/ConfigMap/flux-system/app (added)") ||
		!strings.HasSuffix(stdout, "1 added, 1 changed, 0 removed (HEAD -> working tree)\n") ||
		!strings.Contains(stderr, "note: "+out+" at HEAD: kronform/apps: suspended at HEAD only, and does not build there as if resumed") {
		t.Errorf("exit %d\n%s%s", code, stdout, stderr)
	}
}

// Both sides of a diff leave out what source-controller leaves out of the artifact: its defaults (.sops.yaml at the
// root, which a Kustomization with path ./ would otherwise fail on), or what .sourceignore files list.
func TestBuildAndDiffApplySourceIgnoreRules(t *testing.T) {
	sops := "creation_rules:\n- path_regex: .*.yaml\n  age: age1xyz\n"
	dir, out := fluxTree(t, map[string]string{
		"clusters/kronform/root.yaml": fluxKustomization("root", "./"),
		".sops.yaml":                  sops,
		"apps/cm.yaml":                configMap("app", "a: b"),
	})
	r := gitRepo(t, dir)
	os.WriteFile(filepath.Join(out, ".sops.yaml"), []byte(sops+"# changed\n"), 0o644)
	if code, stdout, stderr := run(t, "diff", "--ref", "HEAD", "--out", out); code != 0 || stdout != "0 added, 0 changed, 0 removed (HEAD -> working tree)\n" {
		t.Errorf("diff with .sops.yaml at the root: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := run(t, "build", "--out", out); code != 0 || !strings.Contains(stdout, "name: app\n") {
		t.Errorf("build: exit %d\n%s%s", code, stdout, stderr)
	}

	os.WriteFile(filepath.Join(out, ".sourceignore"), []byte(".sops.yaml\nscratch/\n"), 0o644)
	os.MkdirAll(filepath.Join(out, "scratch"), 0o755)
	os.WriteFile(filepath.Join(out, "scratch", "notes.yaml"), []byte(configMap("scratch", "a: b")), 0o644)
	commitAll(t, r, "ignore scratch")
	os.WriteFile(filepath.Join(out, "scratch", "notes.yaml"), []byte("not: [a manifest\n"), 0o644)
	if code, stdout, stderr := run(t, "diff", "--ref", "HEAD", "--out", out); code != 0 || stdout != "0 added, 0 changed, 0 removed (HEAD -> working tree)\n" {
		t.Errorf("diff with scratch/ in .sourceignore: exit %d\n%s%s", code, stdout, stderr)
	}
}

// appsChangedOnce is a tree of one Flux Kustomization, apps, in a repository of two commits: the ConfigMap it applies
// changes in the second ("apps: second"). It returns the tree's folder.
func appsChangedOnce(t *testing.T) string {
	t.Helper()
	dir, out := fluxTree(t, map[string]string{
		"clusters/kronform/apps.yaml": fluxKustomization("apps", "./apps"),
		"apps/cm.yaml":                configMap("app", "a: b"),
	})
	r := gitRepo(t, dir)
	os.WriteFile(filepath.Join(out, "apps/cm.yaml"), []byte(configMap("app", "a: c")), 0o644)
	commitAll(t, r, "apps: second")
	return out
}

// go-git drops a ref's @{...} part, so main@{1} would quietly be the current commit: such refs are refused.
func TestDiffRefusesReflogRefs(t *testing.T) {
	out := appsChangedOnce(t)
	for _, ref := range []string{"HEAD@{1}", "master@{1}", "@{u}"} {
		code, stdout, stderr := run(t, "diff", "--ref", ref, "--out", out)
		if code != 2 || stdout != "" || !strings.Contains(stderr, "git rev-parse '"+ref+"'") {
			t.Errorf("diff --ref %s: exit %d\n%s%s", ref, code, stdout, stderr)
		}
	}
}

// go-git drops a ref's :PATH part and its ^{tree} or ^{blob}, so main:output and main^{tree} would quietly be main,
// where git names a folder or a tree, no commit; and :/TEXT (a message search) resolves to no commit at all. Such refs
// are refused with what to pass instead.
func TestDiffRefusesRefsThatNameNoCommit(t *testing.T) {
	out := appsChangedOnce(t)
	for _, ref := range []string{"HEAD:output", "HEAD~1:", "HEAD:output/apps/cm.yaml", ":/second", "HEAD^{tree}", "HEAD~1^{blob}", ":output", ":0:output/apps/cm.yaml"} {
		code, stdout, stderr := run(t, "diff", "--ref", ref, "--out", out)
		if code != 2 || stdout != "" || !strings.Contains(stderr, "--ref "+ref+": ") || !strings.Contains(stderr, "names no commit") ||
			strings.Contains(stderr, "()") {
			t.Errorf("diff --ref %s: exit %d\n%s%s", ref, code, stdout, stderr)
		}
	}
	// What names a commit still resolves.
	for _, ref := range []string{"HEAD^{commit}", "HEAD^{}", "HEAD^{/apps: second}", "HEAD^{/apps: second}~1", "HEAD~1^0"} {
		if code, stdout, stderr := run(t, "diff", "--ref", ref, "--out", out); code > 1 {
			t.Errorf("diff --ref %s: exit %d\n%s%s", ref, code, stdout, stderr)
		}
	}
}
