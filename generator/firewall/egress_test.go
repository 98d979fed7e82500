package firewall

import (
	"strings"
	"testing"
)

// A host policy with egress rules puts the nodes it selects under default deny for their own traffic: Talos then
// resolves no names, keeps no time and pulls no images unless an egress rule lets DNS, NTP and HTTPS out, to the
// world or to the CIDRs of the user's own servers. The lint names each node and what it loses, at the policy.
func TestWorldEgressIsWarned(t *testing.T) {
	doc := `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: out
    apiServer: {host: api.example.com}
    nodes:
      - {name: cp1, addresses: [198.51.100.11], roles: [control-plane]}
      - {name: w1, addresses: ["2a01:4f8:1:2::3"], roles: [worker]}
      - {name: w2, addresses: [198.51.100.22], roles: [worker]}
    cilium:
      version: 1.16.5
      values: {ipv6: {enabled: true}}
    hostPolicies:
      - {name: in, nodes: {}, ingress: [{entities: [all]}]}
      - name: out
        nodes: {role: %ROLE%}
        egress:
          - {entities: [cluster]}
%EGRESS%`
	cases := []struct {
		name, role, egress string
		want               []string // per node warned, what it cannot reach
	}{
		{"cluster only", "worker", "", []string{
			"test.yaml:16:9: clusters[0].hostPolicies[1]: w1 cannot reach the world for DNS (53/udp), NTP (123/udp), HTTPS (443/tcp)",
			"test.yaml:16:9: clusters[0].hostPolicies[1]: w2 cannot reach the world for DNS (53/udp), NTP (123/udp), HTTPS (443/tcp)"}},
		{"HTTPS to the world", "worker", "          - {entities: [world], ports: [443/tcp]}\n", []string{
			"w1 cannot reach the world for DNS (53/udp), NTP (123/udp):",
			"w2 cannot reach the world for DNS (53/udp), NTP (123/udp):"}},
		// The user's own resolvers and time servers, in each family: one way out is enough.
		{"own servers", "worker", "          - {entities: [world], ports: [443/tcp]}\n" +
			"          - {cidrs: [185.12.64.0/24], ports: [53/udp]}\n" +
			"          - {cidrs: [\"2a01:4ff:ff00::/48\"], ports: [53/udp]}\n" +
			"          - {cidrs: [10.0.0.0/8, \"fd00::/8\"], ports: [123/udp]}\n", nil},
		// IPv4 servers only: the IPv6-only node has no way out.
		{"IPv4 servers", "worker", "          - {entities: [world], ports: [443/tcp]}\n" +
			"          - {cidrs: [185.12.64.0/24], ports: [53/udp, 123/udp]}\n", []string{
			"w1 cannot reach the world for DNS (53/udp), NTP (123/udp):"}},
		// A deny wins over every allow: the hint is to narrow it, at the policy that holds it; adding the allow rule
		// the policy already has would change nothing.
		{"a deny wins", "control-plane", "          - {entities: [world]}\n        egressDeny:\n          - {entities: [world], ports: [53/udp]}\n", []string{
			"test.yaml:16:9: clusters[0].hostPolicies[1]: cp1 cannot reach the world for DNS (53/udp): out egressDeny[0] denies it, and a deny wins over every allow; Talos on cp1 resolves names, keeps its clock and pulls images itself (narrow out egressDeny[0] (an except for the CIDRs of your resolvers, time servers and registry mirror) so 53/udp gets out)"}},
		{"a deny wins in another policy", "control-plane", "          - {entities: [world]}\n      - {name: a-deny, nodes: {}, egressDeny: [{entities: [world], ports: [123/udp]}]}\n", []string{
			"test.yaml:21:9: clusters[0].hostPolicies[2]: cp1 cannot reach the world for NTP (123/udp): a-deny egressDeny[0] denies it, and a deny wins over every allow;",
			// a-deny selects the workers for egress too, so default deny takes the rest; and NTP, which no allow rule
			// lets out either, needs both fixes.
			"test.yaml:21:9: clusters[0].hostPolicies[2]: w1 cannot reach the world for DNS (53/udp), NTP (123/udp), HTTPS (443/tcp): a-deny egressDeny[0] denies NTP (123/udp), and a deny wins over every allow; once a policy selects it for egress (a-deny), Cilium denies its own traffic that no egress rule allows; Talos on w1 resolves names, keeps its clock and pulls images itself (narrow a-deny egressDeny[0] (an except for the CIDRs of your resolvers, time servers and registry mirror) so 123/udp gets out; add an egress rule to entities: [world] (or to the CIDRs of your resolvers, time servers and registry mirror) for 53/udp, 123/udp, 443/tcp)",
			"test.yaml:21:9: clusters[0].hostPolicies[2]: w2 cannot reach the world for DNS (53/udp), NTP (123/udp), HTTPS (443/tcp):"}},
		// Only the hole of a deny rule reaches the resolvers: that is a way out.
		{"a resolver in a deny's hole", "worker", "          - {entities: [world]}\n        egressDeny:\n" +
			"          - {cidrs: [{cidr: 0.0.0.0/0, except: [185.12.64.0/24]}, {cidr: \"::/0\", except: [\"2a01:4ff:ff00::/48\"]}], ports: [53/udp]}\n", nil},
		// A deny of private resolvers drops nothing default deny would let out: it is no reason, and narrowing it no fix.
		{"a deny behind default deny", "worker", "        egressDeny:\n          - {cidrs: [10.0.0.0/8], ports: [53/udp]}\n", []string{
			"test.yaml:16:9: clusters[0].hostPolicies[1]: w1 cannot reach the world for DNS (53/udp), NTP (123/udp), HTTPS (443/tcp): once a policy selects it for egress (out), Cilium denies its own traffic that no egress rule allows; Talos on w1 resolves names, keeps its clock and pulls images itself (add an egress rule to entities: [world] (or to the CIDRs of your resolvers, time servers and registry mirror) for 53/udp, 123/udp, 443/tcp)",
			"test.yaml:16:9: clusters[0].hostPolicies[1]: w2 cannot reach the world for DNS (53/udp), NTP (123/udp), HTTPS (443/tcp): once a policy selects it for egress (out), Cilium denies its own traffic that no egress rule allows; Talos"}},
		// Default deny for one service, a deny rule for another: both fixes are named.
		{"both", "worker", "          - {entities: [world], ports: [443/tcp, 53/udp]}\n        egressDeny:\n          - {entities: [world], ports: [53/udp]}\n", []string{
			"w1 cannot reach the world for DNS (53/udp), NTP (123/udp): out egressDeny[0] denies DNS (53/udp), and a deny wins over every allow; once a policy selects it for egress (out), Cilium denies its own traffic that no egress rule allows (NTP (123/udp)); Talos on w1 resolves names, keeps its clock and pulls images itself (narrow out egressDeny[0] (an except for the CIDRs of your resolvers, time servers and registry mirror) so 53/udp gets out; add an egress rule to entities: [world] (or to the CIDRs of your resolvers, time servers and registry mirror) for 123/udp)",
			"w2 cannot reach the world for DNS (53/udp), NTP (123/udp): out egressDeny[0] denies DNS (53/udp)"}},
	}
	for _, c := range cases {
		spec := strings.NewReplacer("%ROLE%", c.role, "%EGRESS%", c.egress).Replace(doc)
		wantWarnings(t, c.name, lintWarnings(t, spec, "cannot reach the world"), c.want)
	}
}

// lintWarnings are the warnings Lint gives for spec that hold about.
func lintWarnings(t *testing.T, spec, about string) []string {
	t.Helper()
	_, warnings := Lint(load(t, spec))
	var got []string
	for _, w := range warnings {
		if strings.Contains(w.String(), about) {
			got = append(got, w.String())
		}
	}
	return got
}

// wantWarnings reports, for case name, unless got holds one warning per want, in order, each holding its want.
func wantWarnings(t *testing.T, name string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d warnings, want %d:\n%s", name, len(got), len(want), strings.Join(got, "\n"))
		return
	}
	for i, w := range want {
		if !strings.Contains(got[i], w) {
			t.Errorf("%s: warning %d =\n%q\nwant it to hold\n%q", name, i, got[i], w)
		}
	}
}

// Under egress policies a node's kubelet, and Cilium's agent in its host network, must still reach the Kubernetes
// API: the endpoint the spec names (apiServer), or through Talos' KubePrism (localhost:7445) any control plane's
// 6443 directly, a control plane its own. Cilium without KubePrism dials its k8sService itself, and nothing else.
// The lint names each node that loses the API, and the rule to add in the spec's words.
func TestAPIEgressIsWarned(t *testing.T) {
	doc := `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: api
    apiServer: {host: %HOST%}
    nodes:
      - {name: cp1, addresses: [198.51.100.11], roles: [control-plane]}
      - {name: w1, addresses: [198.51.100.21, "2001:db8:7::21"], roles: [worker]}
    cilium: {version: 1.16.5%CILIUM%}
    hostPolicies:
      - name: out
        nodes: {role: %ROLE%}
        egress:
          - {entities: [world], ports: [53/udp, 123/udp, 443/tcp]}
%EGRESS%`
	prism := ", k8sService: {kubePrism: true}"
	cases := []struct {
		name, host, role, cilium, egress string
		want                             []string
	}{
		// A name may be a load balancer in the world or the control planes: neither is let out.
		{"name, nothing out", "api.example.com", "worker", prism, "", []string{
			"test.yaml:12:9: clusters[0].hostPolicies[0]: w1 cannot reach the Kubernetes API: once out selects it for egress, Cilium drops its connections to api.example.com:6443 and through KubePrism to the control planes' 6443/tcp (cp1 198.51.100.11); the kubelet loses the API server and the node goes NotReady, and Cilium's agent, which reaches the API through KubePrism, loses it too (add an egress rule {entities: [world], ports: [6443/tcp]} (or the load balancer's cidrs) if api.example.com is a load balancer, or {entities: [remote-node], ports: [6443/tcp]} if it names the control planes)"}},
		{"name, control planes", "api.example.com", "worker", prism, "          - {entities: [remote-node], ports: [6443/tcp]}\n", nil},
		{"name, world", "api.example.com", "worker", prism, "          - {entities: [world], ports: [6443/tcp]}\n", nil},
		// A load balancer's address: KubePrism gets around it to the control planes, Cilium's agent without it cannot.
		{"balancer, KubePrism", "203.0.113.10", "worker", prism, "          - {entities: [remote-node], ports: [6443/tcp]}\n", nil},
		{"balancer, agent", "203.0.113.10", "worker", "", "          - {entities: [remote-node], ports: [6443/tcp]}\n", []string{
			"test.yaml:12:9: clusters[0].hostPolicies[0]: Cilium's agent on w1 cannot reach the Kubernetes API at 203.0.113.10:6443 (cilium.k8sService): once out selects it for egress, Cilium drops the agent's connections to 203.0.113.10:6443; the agent loses the API and with it the policies (add an egress rule {cidrs: [203.0.113.10/32], ports: [6443/tcp]})"}},
		{"balancer, let out", "203.0.113.10", "worker", "", "          - {cidrs: [203.0.113.10/32], ports: [6443/tcp]}\n", nil},
		{"balancer, another port", "203.0.113.10:8443", "worker", "", "", []string{
			"w1 cannot reach the Kubernetes API: once out selects it for egress, Cilium drops its connections to 203.0.113.10:8443 and through KubePrism to the control planes' 6443/tcp (cp1 198.51.100.11); the kubelet loses the API server and the node goes NotReady, and Cilium's agent, which dials 203.0.113.10:8443 itself, loses it too (add an egress rule {cidrs: [203.0.113.10/32], ports: [8443/tcp]}; or add an egress rule {entities: [remote-node], ports: [6443/tcp]} for KubePrism)"}},
		// A proxy of the user's own on the node: loopback crosses no host firewall.
		{"a local proxy", "203.0.113.10", "worker", ", k8sService: {host: localhost, port: 6444}", "          - {entities: [remote-node], ports: [6443/tcp]}\n", nil},
		// A control plane's own API server is local to it: KubePrism reaches it on localhost.
		{"control plane, KubePrism", "203.0.113.10", "control-plane", prism, "", nil},
		{"control plane, agent", "203.0.113.10", "control-plane", "", "", []string{
			"Cilium's agent on cp1 cannot reach the Kubernetes API at 203.0.113.10:6443 (cilium.k8sService)"}},
		{"a control plane's address", "198.51.100.11", "worker", "", "", []string{
			"w1 cannot reach the Kubernetes API: once out selects it for egress, Cilium drops its connections to 198.51.100.11:6443 (cp1) and through KubePrism to the control planes' 6443/tcp (cp1 198.51.100.11); the kubelet loses the API server and the node goes NotReady, and Cilium's agent, which dials 198.51.100.11:6443 itself, loses it too (add an egress rule {entities: [remote-node], ports: [6443/tcp]})"}},
		// A deny wins over every allow: it is the one to narrow.
		{"a deny", "198.51.100.11", "worker", prism, "          - {entities: [all]}\n        egressDeny:\n          - {entities: [remote-node], ports: [6443/tcp]}\n", []string{
			"w1 cannot reach the Kubernetes API: out egressDeny[0] drops its connections to 198.51.100.11:6443 (cp1) and through KubePrism to the control planes' 6443/tcp (cp1 198.51.100.11), and a deny wins over every allow; the kubelet loses the API server and the node goes NotReady, and Cilium's agent, which reaches the API through KubePrism, loses it too (narrow out egressDeny[0] so the connections to the API get out)"}},
		// A name: a deny drops it as a load balancer, default deny as the control planes. The allow rule for the world
		// is there already: the fix is the control planes' rule, or the deny narrowed.
		{"a name, its world way denied", "api.example.com", "worker", prism, "          - {entities: [world], ports: [6443/tcp]}\n        egressDeny:\n          - {entities: [world], ports: [6443/tcp]}\n", []string{
			"w1 cannot reach the Kubernetes API: once out selects it for egress, Cilium drops its connections to api.example.com:6443 as the control planes and through KubePrism to the control planes' 6443/tcp (cp1 198.51.100.11); out egressDeny[0] drops those to api.example.com:6443 as a load balancer, and a deny wins over every allow; the kubelet loses the API server and the node goes NotReady, and Cilium's agent, which reaches the API through KubePrism, loses it too (add an egress rule {entities: [remote-node], ports: [6443/tcp]} if it names the control planes; or narrow out egressDeny[0] so the connections to the API get out)"}},
		{"a name, its world way denied, the fix", "api.example.com", "worker", prism, "          - {entities: [world], ports: [6443/tcp]}\n          - {entities: [remote-node], ports: [6443/tcp]}\n        egressDeny:\n          - {entities: [world], ports: [6443/tcp]}\n", nil},
		// Default deny drops one way, a deny rule the other: either fix lets the node out.
		{"both", "203.0.113.10", "worker", prism, "          - {entities: [cluster]}\n        egressDeny:\n          - {entities: [remote-node], ports: [6443/tcp]}\n", []string{
			"test.yaml:12:9: clusters[0].hostPolicies[0]: w1 cannot reach the Kubernetes API: once out selects it for egress, Cilium drops its connections to 203.0.113.10:6443; out egressDeny[0] drops those through KubePrism to the control planes' 6443/tcp (cp1 198.51.100.11), and a deny wins over every allow; the kubelet loses the API server and the node goes NotReady, and Cilium's agent, which reaches the API through KubePrism, loses it too (add an egress rule {cidrs: [203.0.113.10/32], ports: [6443/tcp]}; or narrow out egressDeny[0] so the connections to the API get out)"}},
	}
	for _, c := range cases {
		host, port, _ := strings.Cut(c.host, ":")
		api := host
		if port != "" {
			api = "{host: " + host + ", port: " + port + "}"
		} else {
			api = "{host: " + host + "}"
		}
		spec := strings.NewReplacer("{host: %HOST%}", api, "%ROLE%", c.role, "%CILIUM%", c.cilium, "%EGRESS%", c.egress).Replace(doc)
		wantWarnings(t, c.name, lintWarnings(t, spec, "Kubernetes API"), c.want)
	}
}

// Cilium labels kube-apiserver only the address a control plane's API server advertises: a cluster endpoint on a
// control plane's second address of that family is a plain remote-node, and an egress rule for kube-apiserver does
// not let the node out to it.
func TestAPIEgressToAnAddressNotAdvertised(t *testing.T) {
	doc := `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: api
    apiServer: {host: %HOST%}
    nodes:
      - {name: cp1, addresses: [198.51.100.11, 198.51.100.12], roles: [control-plane]}
      - {name: w1, addresses: [198.51.100.21], roles: [worker]}
    cilium: {version: 1.16.5}
    hostPolicies:
      - name: out
        nodes: {role: worker}
        egress:
          - {entities: [world], ports: [53/udp, 123/udp, 443/tcp]}
          - {entities: [kube-apiserver], ports: [6443/tcp]}
`
	for host, want := range map[string]string{
		"198.51.100.11": "",
		"198.51.100.12": "test.yaml:12:9: clusters[0].hostPolicies[0]: Cilium's agent on w1 cannot reach the Kubernetes API at 198.51.100.12:6443 (cp1) (cilium.k8sService): once out selects it for egress, Cilium drops the agent's connections to 198.51.100.12:6443 (cp1); the agent loses the API and with it the policies (add an egress rule {entities: [remote-node], ports: [6443/tcp]})",
	} {
		got := lintWarnings(t, strings.Replace(doc, "%HOST%", host, 1), "Kubernetes API")
		if strings.Join(got, "\n") != want {
			t.Errorf("apiServer %s: got\n%s\nwant\n%s", host, strings.Join(got, "\n"), want)
		}
	}
}
