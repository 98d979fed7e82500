package preview_test

import (
	"strings"
	"testing"

	"github.com/kronform/kronform-gen/generator/preview"
)

// source-controller leaves some files out of a GitRepository's artifact: without a .sourceignore its defaults
// (**/.sops.yaml among them, which generate writes at the root); with one, the VCS files and that file's patterns,
// scoped to its folder, in place of the defaults.
func TestBuildLeavesOutWhatSourceControllerIgnores(t *testing.T) {
	files := map[string]string{
		"clusters/kronform/root.yaml": fluxKustomization("root", "./"),
		".sops.yaml":                  "creation_rules:\n- path_regex: .*.yaml\n  encrypted_regex: ^(data|stringData)$\n  age: age1xyz\n",
		".github/workflows/ci.yaml":   "on: push\njobs: {}\n",
		"apps/cm.yaml":                configMap("app"),
		"apps/skip.yaml":              configMap("skipped-in-apps"),
		"other/skip.yaml":             configMap("kept-in-other"),
		"other/drop.yaml":             configMap("dropped-from-root"),
	}
	res, err := buildTree(t, files, preview.Options{})
	if err != nil {
		t.Fatal(err)
	}
	y := buildOf(t, res, "kronform/root")
	for _, want := range []string{"name: app\n", "name: skipped-in-apps\n", "name: dropped-from-root\n"} {
		if !strings.Contains(y, want) {
			t.Errorf("build lacks %q:\n%s", want, y)
		}
	}

	files["apps/.sourceignore"] = "# scoped to apps/\nskip.yaml\n"
	files[".sourceignore"] = "/other/drop.yaml\n.sops.yaml\n.github/\n"
	res, err = buildTree(t, files, preview.Options{})
	if err != nil {
		t.Fatal(err)
	}
	y = buildOf(t, res, "kronform/root")
	if !strings.Contains(y, "name: kept-in-other\n") || strings.Contains(y, "skipped-in-apps") || strings.Contains(y, "dropped-from-root") {
		t.Errorf("with .sourceignore files:\n%s", y)
	}

	// A .sourceignore replaces the defaults: .sops.yaml is in the artifact again, and fails the build as in Flux.
	files[".sourceignore"] = "/other/drop.yaml\n.github/\n"
	_, err = buildTree(t, files, preview.Options{})
	if err == nil || !strings.Contains(err.Error(), ".sops.yaml") {
		t.Errorf("a .sourceignore without .sops.yaml: %v", err)
	}
}
