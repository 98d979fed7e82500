package spec

import (
	"os"
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
