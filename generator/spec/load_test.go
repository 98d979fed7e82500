package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLoadExample(t *testing.T) {
	m, err := LoadFile("../../cluster-spec.yaml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := m.Clusters[0]
	if c.Flux.Path != "clusters/kronform" || c.Cilium.K8sService.Host != "api.kronform.pius.dev" {
		t.Fatalf("defaults not applied: %+v", c)
	}
	if len(c.HostPolicies[0].Ingress) != 8 {
		t.Fatalf("preset not resolved: %d rules", len(c.HostPolicies[0].Ingress))
	}
	_ = os.Stdout
}

const minimalSpec = `apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: lab
    apiServer: {host: api.example.com}
    nodes:
      - {name: n1, addresses: [192.0.2.1], roles: [control-plane]}
    cilium: {version: 1.16.5}
`

// Empty documents are skipped as kubectl and kustomize skip them: a trailing --- is one spec, a file of --- alone is
// empty; a second document with anything in it, even a broken one, is still refused.
func TestLoadDocuments(t *testing.T) {
	for _, text := range []string{
		minimalSpec + "---\n",
		minimalSpec + "---",
		minimalSpec + "--- # the end\n",
		minimalSpec + "---\n# the end\n",
		minimalSpec + "...\n---\n",
		"---\n" + minimalSpec + "---\n---\n",
	} {
		if _, err := Load("t.yaml", []byte(text), Options{}); err != nil {
			t.Errorf("%q:\n%v", text, err)
		}
	}
	for text, want := range map[string]string{
		"---\n":                                 "t.yaml:1:1: the file is empty",
		"---":                                   "t.yaml:1:1: the file is empty",
		"---\n---\n# x\n":                       "t.yaml:1:1: the file is empty",
		"# only a note\n":                       "t.yaml:1:1: the file is empty",
		"":                                      "t.yaml:1:1: the file is empty",
		"--- ~\n":                               "t.yaml:1:5: the spec must be a mapping; this file holds a single value (not shown) (a spec starts with apiVersion: kronform.dev/v1alpha1, kind: ClusterSpec and clusters:)",
		minimalSpec + "---\nkind: Other\n":      "t.yaml:9:1: a second YAML document is not allowed (keep one spec per file; list several clusters under clusters:)",
		minimalSpec + "---\n---\nkind: Other\n": "t.yaml:10:1: a second YAML document is not allowed (keep one spec per file; list several clusters under clusters:)",
		minimalSpec + "---\n\tkind: Other\n":    "t.yaml:10:1: invalid YAML: found character that cannot start any token (indent with spaces: YAML does not allow tabs there)",
	} {
		_, err := Load("t.yaml", []byte(text), Options{})
		if err == nil || err.Error() != want {
			t.Errorf("%q:\ngot  %v\nwant %s", text, err, want)
		}
	}
}

// A spec with problems still gives, through LoadPartial, the clusters no problem stands in, as loaded whole, so that
// the lints can speak about them in the same run; none when a problem stands outside every cluster, which each takes
// from (the defaults, a preset, the file). Load gives no model at all.
func TestLoadPartialSaysWhichClustersLoadedWhole(t *testing.T) {
	second := `  - name: fw2
    apiServer: {host: api2.example.com, port: 70000}
    nodes:
      - {name: n1, addresses: [159.69.60.183], roles: [control-plane]}
    cilium: {version: 1.16.5}
`
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "presets"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "presets", "broken.yaml"), []byte("nodes: {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, text string
		opts       Options
		sound      []bool
	}{
		{"a problem in the second cluster", firewallBase + second, Options{}, []bool{true, false}},
		{"a problem in the first cluster", strings.Replace(firewallBase, "name: n1", "name: N1", 1) + second, Options{}, []bool{false, false}},
		{"a problem in the defaults", strings.Replace(firewallBase, "clusters:", "defaults: {flux: {interval: 0s}}\nclusters:", 1) +
			strings.Replace(second, "70000", "6443", 1), Options{}, []bool{false, false}},
		{"a problem in a preset", firewallBase + strings.Replace(second, "70000", "6443", 1), Options{Templates: dir}, []bool{false, false}},
		{"no problem", firewallBase + strings.Replace(second, "70000", "6443", 1), Options{}, []bool{true, true}},
	} {
		m, err := LoadPartial("fw.yaml", []byte(c.text), c.opts)
		if m == nil || len(m.Clusters) != 2 {
			t.Fatalf("%s: LoadPartial gave no model of two clusters: %v", c.name, err)
		}
		if got := []bool{m.Sound(0), m.Sound(1)}; !slices.Equal(got, c.sound) || (err == nil) != (c.name == "no problem") {
			t.Errorf("%s: sound %v, want %v; %v", c.name, got, c.sound, err)
		}
		if full, ferr := Load("fw.yaml", []byte(c.text), c.opts); (full == nil) != (err != nil) || fmt.Sprint(ferr) != fmt.Sprint(err) {
			t.Errorf("%s: Load gave %v, %v", c.name, full, ferr)
		}
	}
}
