package spec

import (
	"strings"
	"testing"
)

// YAML merge keys: a node written once and reused with its differences, as in kubectl and kustomize files. A key
// the mapping writes wins over a merged one, and an earlier merged mapping over a later one.
func TestMergeKeys(t *testing.T) {
	m, err := Load("m.yaml", []byte(`apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: lab
    apiServer: {host: api.lab.example.com}
    nodes:
      - &cp {name: cp1, addresses: [192.0.2.10], roles: [control-plane], labels: &zone {zone: fsn1}}
      - {<<: *cp, name: cp2, addresses: [192.0.2.11]}
      - <<: [{labels: {zone: nbg1, rack: r1}}, *cp]
        name: w1
        addresses: [192.0.2.12]
        roles: [worker]
    cilium: {version: 1.16.5}
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	nodes := m.Clusters[0].Nodes
	if n := nodes[1]; n.Name != "cp2" || n.Addresses[0] != "192.0.2.11" || n.Roles[0] != "control-plane" || n.Labels["zone"] != "fsn1" {
		t.Errorf("cp2: %+v", n)
	}
	if n := nodes[2]; n.Roles[0] != "worker" || len(n.Roles) != 1 || n.Labels["zone"] != "nbg1" || n.Labels["rack"] != "r1" {
		t.Errorf("w1: %+v", n)
	}

	_, err = Load("m.yaml", []byte(`apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: lab
    apiServer: {host: api.lab.example.com}
    nodes:
      - {<<: [x], name: cp1, addresses: [192.0.2.10], roles: [control-plane], roles: [worker]}
    cilium: {version: 1.16.5}
`), Options{})
	got := ""
	if err != nil {
		got = err.Error()
	}
	for _, want := range []string{
		`m.yaml:7:15: clusters[0].nodes[0].<<: a merge key takes a mapping or a list of mappings, got the string "x"`,
		`m.yaml:7:79: clusters[0].nodes[0].roles: duplicate key "roles"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}

	// In free-form values (Helm values, read by yaml.v3) a merge key is said to be wrong as it is everywhere else: at
	// its value (an alias's where its anchor stands), and not as a yaml.v3 error at the mapping that holds it.
	_, err = Load("m.yaml", []byte(`apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: lab
    apiServer: {host: api.lab.example.com}
    nodes:
      - {name: cp1, addresses: [192.0.2.10], roles: [control-plane]}
    cilium:
      version: 1.16.5
      values:
        operator: {replicas: 1, <<: x}
        hubble: {relay: {replicas: &two 2, <<: [{a: 1}, *two]}}
        prometheus: &p {enabled: true, <<: *p}
`), Options{})
	if want := `m.yaml:11:37: clusters[0].cilium.values.operator.<<: a merge key takes a mapping or a list of mappings, got the string "x"
m.yaml:12:36: clusters[0].cilium.values.hubble.relay.<<: a merge key takes a mapping or a list of mappings, got the number 2
m.yaml:13:21: clusters[0].cilium.values.prometheus.<<: a merge key brings in the mapping that holds it`; err == nil || err.Error() != want {
		t.Errorf("free-form values:\ngot  %v\nwant %s", err, want)
	}

	// An anchor is known from the start of its node, so a mapping can merge itself: refused, never expanded forever.
	_, err = Load("m.yaml", []byte("apiVersion: kronform.dev/v1alpha1\nkind: ClusterSpec\nclusters:\n  - &c\n    name: lab\n    <<: *c\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), "m.yaml:4:5: clusters[0].<<: a merge key brings in the mapping that holds it") {
		t.Errorf("self-merge: %v", err)
	}
}
