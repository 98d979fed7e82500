package cilium

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/kronform/kronform-gen/generator/spec"
)

// The seed's artifacts are copied into testdata so the tests run anywhere; TestSeedCopies proves the copies are the
// seed's own text wherever ../shared/seed is present (it is in this project's CI).
const seedPost = "../../../shared/seed/bare-metal-kubernetes-part-2-cilium-and-firewalls.md"

func TestSeedCopies(t *testing.T) {
	post, err := os.ReadFile(seedPost)
	if os.IsNotExist(err) {
		t.Skip("the seed post is not beside this checkout")
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"testdata/seed-host-fw-control-plane.yaml", "testdata/seed-helm-install.txt"} {
		copyText, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(post, copyText) {
			t.Errorf("%s is not a verbatim excerpt of the seed post", f)
		}
	}
}

func loadExample(t *testing.T) spec.Cluster {
	t.Helper()
	m, err := spec.LoadFile("../../cluster-spec.yaml", spec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return m.Clusters[0]
}

// TestExampleValuesAreTheSeedsHelmInstall: for the seed's chart (1.13.4) the values are exactly what its helm install
// --set flags set, read the way helm reads them, plus policyAuditMode, which the seed switches on before its policies.
func TestExampleValuesAreTheSeedsHelmInstall(t *testing.T) {
	cmdline, err := os.ReadFile("testdata/seed-helm-install.txt")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"KUBERNETES_API_SERVER_ADDRESS": "api.kronform.pius.dev",
		"KUBERNETES_API_SERVER_PORT":    "6443",
		"CLUSTER_DOMAIN":                "local.kronform.pius.dev",
	}
	want := map[string]any{}
	sets := regexp.MustCompile(`--set (\S+)`).FindAllStringSubmatch(string(cmdline), -1)
	if len(sets) != 13 {
		t.Fatalf("found %d --set flags in the seed, want 13", len(sets))
	}
	for _, m := range sets {
		key, raw, _ := strings.Cut(os.Expand(m[1], func(k string) string { return env[k] }), "=")
		setPath(want, strings.Split(key, "."), helmSetValue(strings.Trim(raw, `"`)))
	}
	want["policyAuditMode"] = true

	got, err := HelmValues(loadExample(t))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("values differ from the seed's helm install (-seed +generated):\n%s", diff)
	}
}

// helmSetValue reads a --set value as helm does: {a,b} is a list, true/false a bool, digits an int64.
func helmSetValue(s string) any {
	if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
		var list []any
		for _, item := range strings.Split(strings.Trim(s, "{}"), ",") {
			list = append(list, item)
		}
		return list
	}
	if s == "true" || s == "false" {
		return s == "true"
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return int(n)
	}
	return s
}

func setPath(m map[string]any, path []string, v any) {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

// TestExamplePolicyIsTheSeeds: the example's control-plane policy, compiled, allows exactly what the seed's final
// host-fw-control-plane policy allows: same selector, description, peers, ports, protocols and ICMP types.
func TestExamplePolicyIsTheSeeds(t *testing.T) {
	raw, err := os.ReadFile("testdata/seed-host-fw-control-plane.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var seed ClusterwideNetworkPolicy
	if err := yaml.UnmarshalStrict(raw, &seed); err != nil {
		t.Fatalf("seed policy: %v", err)
	}
	c := loadExample(t)
	var got ClusterwideNetworkPolicy
	for _, p := range c.HostPolicies {
		if p.Name == "host-fw-control-plane" {
			got = CompilePolicy(p, spec.CiliumPortRanges(c.Cilium.Version))
		}
	}
	if got.Name != seed.Name || got.Spec.Description != seed.Spec.Description {
		t.Errorf("name/description: got %q %q, seed %q %q", got.Name, got.Spec.Description, seed.Name, seed.Spec.Description)
	}
	if diff := cmp.Diff(seed.Spec.NodeSelector, got.Spec.NodeSelector); diff != "" {
		t.Errorf("node selector differs (-seed +generated):\n%s", diff)
	}
	if diff := cmp.Diff(allowTuples(seed.Spec.Ingress), allowTuples(got.Spec.Ingress)); diff != "" {
		t.Errorf("ingress allows differ (-seed +generated):\n%s", diff)
	}
	if len(got.Spec.IngressDeny)+len(got.Spec.Egress)+len(got.Spec.EgressDeny) != 0 {
		t.Errorf("generated policy has rules the seed does not: %+v", got.Spec)
	}
}

// allowTuples flattens rules into the sorted set of (peer, port/proto or icmp) pairs they allow, so two rule lists
// that allow the same traffic compare equal however they are grouped.
func allowTuples(rules []IngressRule) []string {
	var out []string
	for _, r := range rules {
		var peers []string
		for _, e := range r.FromEntities {
			peers = append(peers, "entity:"+e)
		}
		for _, ep := range r.FromEndpoints {
			peers = append(peers, fmt.Sprintf("endpoints:%v", ep.MatchLabels))
		}
		for _, c := range r.FromCIDR {
			peers = append(peers, "cidr:"+c)
		}
		for _, c := range r.FromCIDRSet {
			peers = append(peers, fmt.Sprintf("cidrset:%s-%v", c.CIDR, c.Except))
		}
		if len(peers) == 0 {
			peers = []string{"any"}
		}
		var l4 []string
		for _, pr := range r.ToPorts {
			for _, p := range pr.Ports {
				low, _ := strconv.Atoi(p.Port)
				high := max(low, int(p.EndPort))
				for port := low; port <= high; port++ {
					l4 = append(l4, fmt.Sprintf("%d/%s", port, strings.ToUpper(p.Protocol)))
				}
			}
		}
		for _, ir := range r.ICMPs {
			for _, f := range ir.Fields {
				family := f.Family
				if family == "" {
					family = "IPv4"
				}
				l4 = append(l4, fmt.Sprintf("icmp:%s:%d", family, f.Type))
			}
		}
		if len(l4) == 0 {
			l4 = []string{"all"}
		}
		for _, p := range peers {
			for _, l := range l4 {
				out = append(out, p+" -> "+l)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
