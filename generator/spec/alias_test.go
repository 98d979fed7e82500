package spec

import (
	"strings"
	"testing"
)

// TestAliasesAreBounded: an alias bomb is refused with a problem, not a hang; an alias that contains itself meets a
// type that cannot hold it.
func TestAliasesAreBounded(t *testing.T) {
	_, err := Load("a.yaml", []byte(bomb()), Options{})
	if err == nil || !strings.Contains(err.Error(), "the spec expands to more than 100000 values through aliases") {
		t.Errorf("bomb: got %.500v", err)
	}
	_, err = Load("a.yaml", []byte("apiVersion: kronform.dev/v1alpha1\nkind: ClusterSpec\nclusters: &x [*x]\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), "a.yaml:3:11: clusters[0]: expected a mapping, got a list") {
		t.Errorf("self: got %v", err)
	}
	// Ordinary reuse works.
	reuse := "apiVersion: kronform.dev/v1alpha1\nkind: ClusterSpec\nclusters:\n  - name: a\n    apiServer: {host: a.example}\n" +
		"    nodes: [{name: n1, roles: &cp [control-plane]}, {name: n2, roles: *cp}]\n    cilium: {version: 1.16.0}\n"
	m, err := Load("a.yaml", []byte(reuse), Options{})
	if err != nil || m.Clusters[0].Nodes[1].Roles[0] != "control-plane" {
		t.Errorf("reuse: %v", err)
	}
}

// bomb nests lists of aliases four levels deep through fields that decode (clusters, policies, rules, ports), so a
// few kilobytes of YAML would expand to 10^8 values.
func bomb() string {
	many := func(alias string) string {
		return "[" + strings.TrimSuffix(strings.Repeat("*"+alias+", ", 100), ", ") + "]"
	}
	return "apiVersion: kronform.dev/v1alpha1\nkind: ClusterSpec\n" +
		"anchors:\n  - &s 80/tcp\n  - &r {ports: " + many("s") + "}\n  - &p {name: p, ingress: " + many("r") + "}\n" +
		"  - &c {name: c, hostPolicies: " + many("p") + "}\n" +
		"clusters: " + many("c") + "\n"
}
