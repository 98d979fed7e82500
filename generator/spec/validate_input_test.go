package spec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// wantProblems loads firewallBase plus extra and compares every problem, in order.
func wantProblems(t *testing.T, extra string, want ...string) {
	t.Helper()
	wantProblemsIn(t, extra, nil, want...)
}

// wantProblemsIn is wantProblems with pairs of replace (old, new) applied to firewallBase first.
func wantProblemsIn(t *testing.T, extra string, replace []string, want ...string) {
	t.Helper()
	got := problemsOf(t, extra, replace...)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s\nproblems (-want +got):\n%s", extra, diff)
	}
}

// Durations are written into Flux objects, so they are checked against Flux's own pattern: a Go duration in µs or
// ns would load and then be refused by the API server.
func TestDurationsAreFluxDurations(t *testing.T) {
	wantProblems(t, `    flux: {interval: "500us", retryInterval: "100ns", timeout: "0.5ms"}
  - name: b
    apiServer: {host: api.example.com}
    nodes:
      - {name: n1, addresses: [159.69.60.183], roles: [control-plane]}
    cilium: {version: 1.16.5}
    flux: {interval: "1h-5m", retryInterval: "5 m", timeout: "99999999999h"}
`,
		`fw.yaml:9:22: clusters[0].flux.interval: "500us" is a Go duration that Flux refuses: its durations take the units ms, s, m and h (a duration in ms, s, m and h, such as 10m or 1h30m)`,
		`fw.yaml:9:46: clusters[0].flux.retryInterval: "100ns" is a Go duration that Flux refuses: its durations take the units ms, s, m and h (a duration in ms, s, m and h, such as 10m or 1h30m)`,
		`fw.yaml:9:64: clusters[0].flux.timeout: duration "0.5ms" is shorter than 1ms, the smallest Flux takes (a duration in ms, s, m and h, such as 10m or 1h30m)`,
		`fw.yaml:15:22: clusters[1].flux.interval: "1h-5m" is not a duration (a duration in ms, s, m and h, such as 10m or 1h30m)`,
		`fw.yaml:15:46: clusters[1].flux.retryInterval: "5 m" is not a duration (a duration in ms, s, m and h, such as 10m or 1h30m)`,
		`fw.yaml:15:62: clusters[1].flux.timeout: duration "99999999999h" is too long`,
	)
	if _, err := Load("fw.yaml", []byte(firewallBase+"    flux: {interval: 1.5h, retryInterval: 90s, timeout: 1m30s}\n"), Options{}); err != nil {
		t.Fatal(err)
	}
}

// The repository URL is checked against the HelmRepository CRD's pattern (a lower-case scheme), and may not carry
// credentials, which would be committed in plain text, nor a port out of range.
func TestHelmRepositoryURL(t *testing.T) {
	for repo, want := range map[string]string{
		"HTTPS://helm.cilium.io/":           `"HTTPS://helm.cilium.io/" is not a Helm repository URL: Flux takes the scheme in lower case (write https://)`,
		"https://user:pass@helm.cilium.io/": `the repository URL holds credentials, which would be committed in plain text (a HelmRepository takes credentials from a Secret (spec.secretRef), which kronform-gen does not write)`,
		"https://user@helm.cilium.io/":      `the repository URL holds credentials`,
		"https://helm.cilium.io:99999/":     `"https://helm.cilium.io:99999/": port "99999" is out of range 1-65535`,
		"https://helm.cilium.io:0/":         `"https://helm.cilium.io:0/": port "0" is out of range 1-65535`,
		"https://helm.cilium.io:/":          `"https://helm.cilium.io:/": port "" is out of range 1-65535`,
		"https://helm..cilium.io/":          `"https://helm..cilium.io/": "helm..cilium.io" is neither an IP address nor a DNS name`,
		"https://-helm.cilium.io/":          `"https://-helm.cilium.io/": "-helm.cilium.io" is neither an IP address nor a DNS name`,
		"https://helm.cilium.io../":         `"https://helm.cilium.io../": "helm.cilium.io.." is neither an IP address nor a DNS name`,
		"https://charts.123./":              `"https://charts.123./": "charts.123." is neither an IP address nor a DNS name: a DNS name does not end in an all-numeric label`,
		"https://1.2.3.4./":                 `"https://1.2.3.4./": "1.2.3.4." is neither an IP address nor a DNS name: a DNS name does not end in an all-numeric label`,
		"https://user@helm.cilium.io./":     `the repository URL holds credentials`,
		"https://helm.cilium.io.:0/":        `"https://helm.cilium.io.:0/": port "0" is out of range 1-65535`,
		"ftp://helm.cilium.io/":             `"ftp://helm.cilium.io/" is not a Helm repository URL (an https:// or oci:// URL)`,
		"https:///charts":                   `"https:///charts" is not a Helm repository URL (an https:// or oci:// URL)`,
	} {
		got := strings.Join(problemsOf(t, "", "cilium: {version: 1.16.5}", "cilium: {version: 1.16.5, repository: \""+repo+"\"}"), "\n")
		if !strings.Contains(got, "clusters[0].cilium.repository: "+want) || strings.Contains(got, "pass") {
			t.Errorf("%s:\ngot  %s\nwant %s", repo, got, want)
		}
	}
	// The host is what Go's URL parser and resolver take, as source-controller fetches with them: a fully qualified
	// name (trailing dot) and underscores included.
	for _, repo := range []string{"https://helm.cilium.io/", "oci://ghcr.io/cilium/charts", "http://10.0.0.1:8080/charts", "https://[2001:db8::1]/", "https://Helm.Cilium.io/",
		"https://helm.cilium.io./", "https://charts_int.example.com/", "oci://_registry.example.com./charts", "https://HELM.CILIUM.IO.:8443/"} {
		if _, err := Load("fw.yaml", []byte(strings.Replace(firewallBase, "cilium: {version: 1.16.5}", "cilium: {version: 1.16.5, repository: \""+repo+"\"}", 1)), Options{}); err != nil {
			t.Errorf("%s: %v", repo, err)
		}
	}
}

// Whether a field was written is read from the file, not from its zero value: an explicit port 0 is refused like any
// port out of range, and an explicit empty value is refused instead of quietly becoming the default. null is left out.
func TestWrittenZeroValuesAreNotDefaults(t *testing.T) {
	wantProblems(t, `    domain: ""
    ageRecipients: []
    flux: {namespace: "", gitRepository: "", interval: "", retryInterval: "", timeout: "", path: ""}
    secrets:
      - {name: s, namespace: default, type: "", data: {k: {env: K}}}
    hetzner: {template: "", adminSources: [192.0.2.9], discard: []}
defaults:
  ageRecipients: [age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p]
  flux: {interval: "", path: clusters/all}
`,
		`fw.yaml:9:13: clusters[0].domain: an empty value is not allowed (leave it out for the default)`,
		`fw.yaml:10:20: clusters[0].ageRecipients: an empty value is not allowed (leave it out to use defaults.ageRecipients)`,
		`fw.yaml:11:23: clusters[0].flux.namespace: an empty value is not allowed (leave it out for the default)`,
		`fw.yaml:11:42: clusters[0].flux.gitRepository: an empty value is not allowed (leave it out for the default)`,
		`fw.yaml:11:56: clusters[0].flux.interval: an empty value is not allowed (leave it out for the default)`,
		`fw.yaml:11:75: clusters[0].flux.retryInterval: an empty value is not allowed (leave it out for the default)`,
		`fw.yaml:11:88: clusters[0].flux.timeout: an empty value is not allowed (leave it out for the default)`,
		`fw.yaml:11:98: clusters[0].flux.path: an empty value is not allowed (leave it out for clusters/<name>)`,
		`fw.yaml:13:45: clusters[0].secrets[0].type: an empty value is not allowed (leave it out for the default)`,
		`fw.yaml:14:25: clusters[0].hetzner.template: an empty value is not allowed (leave it out for the default)`,
		`fw.yaml:14:65: clusters[0].hetzner.discard: an empty value is not allowed (leave it out for the default 6443, 50000-50001)`,
		`fw.yaml:17:20: defaults.flux.interval: an empty value is not allowed (leave it out for the default)`,
		`fw.yaml:17:30: defaults.flux.path: a fleet-wide path would put every cluster in one folder, so it is not inherited (set flux.path on each cluster, or leave it out for clusters/<name>)`,
	)
	for _, c := range []struct {
		old, new, want string
		count          int
	}{
		{"{host: api.example.com}", "{host: api.example.com, port: 0}", `fw.yaml:5:46: clusters[0].apiServer.port: port 0 is out of range 1-65535`, 1},
		{"cilium: {version: 1.16.5}", "cilium: {version: 1.16.5, k8sService: {port: 0}}", `fw.yaml:8:50: clusters[0].cilium.k8sService.port: port 0 is out of range 1-65535`, 1},
		{"cilium: {version: 1.16.5}", "cilium: {version: 1.16.5, k8sService: {host: \"\"}}", `fw.yaml:8:50: clusters[0].cilium.k8sService.host: an empty value is not allowed (leave it out for the default)`, 1},
		{"cilium: {version: 1.16.5}", "cilium: {version: 1.16.5, repository: '', namespace: '', ipam: '', encryption: ''}", `fw.yaml:8:43: clusters[0].cilium.repository: an empty value is not allowed (leave it out for the default)`, 4},
	} {
		got := problemsOf(t, "", c.old, c.new)
		if len(got) != c.count || got[0] != c.want {
			t.Errorf("%s:\ngot  %q\nwant %s", c.new, got, c.want)
		}
	}
	// null is left out: the defaults apply.
	m, err := Load("fw.yaml", []byte(strings.NewReplacer("{host: api.example.com}", "{host: api.example.com, port: null}",
		"cilium: {version: 1.16.5}", "cilium: {version: 1.16.5, k8sService: {port: ~}}").Replace(firewallBase)+"    domain: null\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c := m.Clusters[0]; c.APIServer.Port != DefaultAPIPort || c.Cilium.K8sService.Port != DefaultAPIPort || c.Domain != DefaultDomain {
		t.Errorf("null is not left out: %+v", c)
	}
}

// Addresses are checked for what a firewall rule and a connection need: no zone, no IPv4-mapped form (a duplicate of
// an IPv4 address in disguise, and never matched by an IPv4 rule), and for nodes an address a machine can have.
// Host names that look like IPv4 addresses but are not valid ones are not DNS names.
func TestAddresses(t *testing.T) {
	wantProblems(t, `    hetzner: {adminSources: ["::ffff:1.2.3.4", "fe80::1%eth0", "::ffff:1.2.3.0/120"]}
  - name: b
    apiServer: {host: "fe80::1%eth0"}
    nodes:
      - name: n1
        roles: [control-plane]
        addresses: ["::ffff:159.69.60.182", "fe80::1%eth0", 0.0.0.0, "::", 255.255.255.255, 224.0.0.1, 127.0.0.1, "::1", "ff02::1"]
    cilium: {version: 1.16.5, k8sService: {host: 1.2.3.04}}
  - name: c
    apiServer: {host: 256.1.1.1}
    nodes:
      - {name: n1, addresses: [159.69.60.184], roles: [control-plane]}
      - {name: n2, addresses: [159.69.60.184], roles: [worker]}
    cilium: {version: 1.16.5, k8sService: {host: "api.123"}}
`,
		`fw.yaml:9:30: clusters[0].hetzner.adminSources[0]: ::ffff:1.2.3.4 is an IPv4-mapped IPv6 address, which no packet carries; write the IPv4 address 1.2.3.4`,
		`fw.yaml:9:48: clusters[0].hetzner.adminSources[1]: fe80::1%eth0 has a zone (%eth0), which names an interface of one machine; write fe80::1`,
		`fw.yaml:9:64: clusters[0].hetzner.adminSources[2]: ::ffff:1.2.3.0/120 is an IPv4-mapped IPv6 CIDR, which no packet carries; write the IPv4 CIDR 1.2.3.0/24`,
		`fw.yaml:11:23: clusters[1].apiServer.host: fe80::1%eth0 has a zone (%eth0), which names an interface of one machine (write fe80::1)`,
		`fw.yaml:15:21: clusters[1].nodes[0].addresses[0]: ::ffff:159.69.60.182 is an IPv4-mapped IPv6 address, which no packet carries (write the IPv4 address 159.69.60.182)`,
		`fw.yaml:15:45: clusters[1].nodes[0].addresses[1]: fe80::1%eth0 has a zone (%eth0), which names an interface of one machine (write fe80::1)`,
		`fw.yaml:15:61: clusters[1].nodes[0].addresses[2]: 0.0.0.0 is the unspecified address, which no node has (list the public addresses the node is reached at)`,
		`fw.yaml:15:70: clusters[1].nodes[0].addresses[3]: :: is the unspecified address, which no node has (list the public addresses the node is reached at)`,
		`fw.yaml:15:76: clusters[1].nodes[0].addresses[4]: 255.255.255.255 is the broadcast address, which no node has (list the public addresses the node is reached at)`,
		`fw.yaml:15:93: clusters[1].nodes[0].addresses[5]: 224.0.0.1 is a multicast address, which no node has (list the public addresses the node is reached at)`,
		`fw.yaml:15:104: clusters[1].nodes[0].addresses[6]: 127.0.0.1 is a loopback address, which no node has (list the public addresses the node is reached at)`,
		`fw.yaml:15:115: clusters[1].nodes[0].addresses[7]: ::1 is a loopback address, which no node has (list the public addresses the node is reached at)`,
		`fw.yaml:15:122: clusters[1].nodes[0].addresses[8]: ff02::1 is a multicast address, which no node has (list the public addresses the node is reached at)`,
		`fw.yaml:16:50: clusters[1].cilium.k8sService.host: "1.2.3.04" is not an IPv4 address: IPv4 field has octet with leading zero`,
		`fw.yaml:18:23: clusters[2].apiServer.host: "256.1.1.1" is not an IPv4 address: IPv4 field has value >255`,
		`fw.yaml:21:32: clusters[2].nodes[1].addresses[0]: address 159.69.60.184 is already used by clusters[2].nodes[0].addresses[0]`,
		`fw.yaml:22:50: clusters[2].cilium.k8sService.host: "api.123" is neither an IP address nor a DNS name: a DNS name does not end in an all-numeric label`,
	)
	// DNS is case-insensitive, and so are the clients of the API server (Cilium's agent, kube-apiserver's SNI): a host
	// name in capitals is taken, and written as given.
	m, err := Load("fw.yaml", []byte(strings.Replace(firewallBase, "api.example.com", "API.Example.COM", 1)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Clusters[0].Cilium.K8sService.Host; got != "API.Example.COM" {
		t.Errorf("k8sService.host: %q", got)
	}
	if _, err := Load("fw.yaml", []byte(strings.Replace(firewallBase, "cilium: {version: 1.16.5}", "cilium: {version: 1.16.5, k8sService: {host: API.Example.COM}}", 1)), Options{}); err != nil {
		t.Error(err)
	}
	// The mapped form of a node's IPv4 address is not a second address of it.
	got := problemsOf(t, "", "addresses: [159.69.60.182]", `addresses: [159.69.60.182, "::ffff:159.69.60.182"]`)
	if len(got) != 1 || !strings.Contains(got[0], "nodes[0].addresses[1]: ::ffff:159.69.60.182 is an IPv4-mapped IPv6 address") {
		t.Errorf("got %q", got)
	}
}

// except CIDRs are checked as cidr is, host bits included; a zone in a CIDR, or an address where a CIDR belongs, gets
// a hint that makes sense.
func TestCIDRPeers(t *testing.T) {
	wantProblems(t, `    hostPolicies:
      - name: p
        nodes: {}
        ingress:
          - cidrs: [{cidr: 10.1.0.0/16, except: ["10.1.0.1/24", "::ffff:10.1.0.0/112"]}, "fe80::%eth0/64", "192.0.2.1", "fe80::1%eth0", "::ffff:192.0.2.1"]
`,
		`fw.yaml:13:50: clusters[0].hostPolicies[0].ingress[0].cidrs[0].except[0]: 10.1.0.1/24 has host bits set (write 10.1.0.0/24)`,
		`fw.yaml:13:65: clusters[0].hostPolicies[0].ingress[0].cidrs[0].except[1]: ::ffff:10.1.0.0/112 is an IPv4-mapped IPv6 CIDR, which no packet carries; write the IPv4 CIDR 10.1.0.0/16`,
		`fw.yaml:13:90: clusters[0].hostPolicies[0].ingress[0].cidrs[1].cidr: "fe80::%eth0/64" is not a CIDR: a CIDR has no zone`,
		`fw.yaml:13:108: clusters[0].hostPolicies[0].ingress[0].cidrs[2].cidr: "192.0.2.1" is not a CIDR; write 192.0.2.1/32 for one address`,
		`fw.yaml:13:121: clusters[0].hostPolicies[0].ingress[0].cidrs[3].cidr: "fe80::1%eth0" is not a CIDR`,
		// The one address of an IPv4-mapped address is the IPv4 address's: its /128 would be refused in turn.
		`fw.yaml:13:137: clusters[0].hostPolicies[0].ingress[0].cidrs[4].cidr: "::ffff:192.0.2.1" is not a CIDR; write 192.0.2.1/32 for one address`,
	)
}

// A repeat inside a rule, or among the Hetzner admin sources and discards, is refused where it stands: it would be
// emitted as is (two identical Robot rules spend 2 of Robot's 10). Protocols are case-insensitive in discard as in
// policy ports.
func TestRepeatsAreRefused(t *testing.T) {
	wantProblems(t, `    hostPolicies:
      - name: p
        nodes: {}
        ingress:
          - entities: [world, world]
            ports: [80/tcp, 80/tcp, 80/TCP, 81/tcp, 81-82/tcp]
          - endpoints: [{a: b, c: d}, {c: d, a: b}]
            icmp: [{type: 8}, {family: IPv4, type: 8}]
          - cidrs: [10.0.0.0/8, 10.0.0.0/8, {cidr: 10.0.0.0/8, except: [10.1.0.0/16, 10.1.0.0/16]}, 10.0.0.1/8, {cidr: 10.0.0.0/8, except: [192.0.2.0/24]}]
    hetzner:
      adminSources: [1.2.3.4, 1.2.3.4/32]
      discard: ["6443/TCP", "6443/tcp", "6443-6443/tcp"]
`,
		`fw.yaml:13:31: clusters[0].hostPolicies[0].ingress[0].entities[1]: "world" is listed twice (first as entities[0]) (remove the repeat)`,
		`fw.yaml:14:29: clusters[0].hostPolicies[0].ingress[0].ports[1]: "80/tcp" is listed twice (first as ports[0]) (remove the repeat)`,
		`fw.yaml:14:37: clusters[0].hostPolicies[0].ingress[0].ports[2]: "80/TCP" is listed twice (first as ports[0]) (remove the repeat)`,
		`fw.yaml:15:39: clusters[0].hostPolicies[0].ingress[1].endpoints[1]: the selector {"a":"b","c":"d"} is listed twice (first as endpoints[0]) (remove the repeat)`,
		`fw.yaml:16:31: clusters[0].hostPolicies[0].ingress[1].icmp[1]: IPv4 type 8 is listed twice (first as icmp[0]) (remove the repeat)`,
		`fw.yaml:17:33: clusters[0].hostPolicies[0].ingress[2].cidrs[1]: "10.0.0.0/8" is listed twice (first as cidrs[0]) (remove the repeat)`,
		`fw.yaml:17:86: clusters[0].hostPolicies[0].ingress[2].cidrs[2].except[1]: "10.1.0.0/16" is listed twice (first as except[0]) (remove the repeat)`,
		`fw.yaml:17:101: clusters[0].hostPolicies[0].ingress[2].cidrs[3].cidr: 10.0.0.1/8 has host bits set (write 10.0.0.0/8)`,
		`fw.yaml:17:141: clusters[0].hostPolicies[0].ingress[2].cidrs[4].except[0]: 192.0.2.0/24 is not inside 10.0.0.0/8`,
		`fw.yaml:19:31: clusters[0].hetzner.adminSources[1]: "1.2.3.4/32" is listed twice (first as adminSources[0]) (remove the repeat)`,
		`fw.yaml:20:29: clusters[0].hetzner.discard[1]: "6443/tcp" is listed twice (first as discard[0]) (remove the repeat)`,
		`fw.yaml:20:41: clusters[0].hetzner.discard[2]: "6443-6443/tcp" is listed twice (first as discard[0]) (remove the repeat)`,
	)
}

// A key that is not a string does not hide the problems of the entries next to it, and a bad key is reported at the
// key, not at its value.
func TestOneDecodeErrorHidesNothingNextToIt(t *testing.T) {
	wantProblemsIn(t, `    secrets:
      - name: s
        namespace: default
        data:
          "bad key": {env: A}
          ? [k]
          : {env: B}
          ok: {env: C, file: c}
    ageRecipients: [age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p]
`, []string{"    cilium: {version: 1.16.5}\n", `      - name: n2
        roles: [worker]
        labels:
          "bad key": x
          x: "bad value!"
          "": e
          ? [k]
          : v
    cilium:
      version: 1.16.5
      values:
        ? [k]
        : v
        policyAuditMode: false
`},
		`fw.yaml:11:11: clusters[0].nodes[1].labels.bad key: "bad key" is not a valid label key: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
		`fw.yaml:12:14: clusters[0].nodes[1].labels.x: "bad value!" is not a valid label value: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
		`fw.yaml:13:11: clusters[0].nodes[1].labels.: "" is not a valid label key: name part must be non-empty`,
		`fw.yaml:14:13: clusters[0].nodes[1].labels: expected a string key, got a list`,
		`fw.yaml:19:11: clusters[0].cilium.values: expected a string key, got a list`,
		`fw.yaml:21:26: clusters[0].cilium.values.policyAuditMode: sets policyAuditMode, which cilium.auditMode writes; the lock-out check and the audit-mode guard read cilium.auditMode, so values may not say otherwise (set cilium.auditMode instead)`,
		`fw.yaml:26:11: clusters[0].secrets[0].data.bad key: "bad key" is not a valid Secret key: a valid config key must consist of alphanumeric characters, '-', '_' or '.' (letters, digits, '-', '_' and '.')`,
		`fw.yaml:27:13: clusters[0].secrets[0].data: expected a string key, got a list`,
		`fw.yaml:29:15: clusters[0].secrets[0].data.ok: give env or file, not both`,
	)
}

// A key that is not a string, in a mapping of the spec's own fields as in a free-form one, is said to be one, at the
// key and with the mapping's path: it is no field named "", and the fields next to it are still decoded.
func TestAKeyThatIsNoStringIsNoUnknownField(t *testing.T) {
	wantProblemsIn(t, "", []string{"apiServer: {host: api.example.com}", "apiServer: {host: api.example.com, [port]: 6443, port: 0}",
		"cilium: {version: 1.16.5}", "cilium:\n      version: 1.16.5\n      hubble:\n        ? {relay: true}\n        : true"},
		`fw.yaml:5:40: clusters[0].apiServer: expected a string key, got a list`,
		`fw.yaml:5:60: clusters[0].apiServer.port: port 0 is out of range 1-65535`,
		`fw.yaml:11:11: clusters[0].cilium.hubble: expected a string key, got a mapping`,
	)
}

// An ICMP family that did not decode is not IPv4: the entry is neither a repeat of an IPv4 one nor an IPv4 type name
// that is not one. Only the decoding problem is said.
func TestAnICMPFamilyThatDidNotDecodeIsNoFamily(t *testing.T) {
	wantProblems(t, `    hostPolicies:
      - name: p
        nodes: {}
        ingress:
          - icmp: [{type: 8}, {family: [IPv6], type: 8}, {family: {IPv6: true}, type: NeighborSolicitation}]
      - name: q
        preset: talos-control-plane
        ingress:
          - icmp: [{type: 0}, {family: [IPv6], type: 0}]
`,
		`fw.yaml:13:40: clusters[0].hostPolicies[0].ingress[0].icmp[1].family: expected a string, got a list`,
		`fw.yaml:13:67: clusters[0].hostPolicies[0].ingress[0].icmp[2].family: expected a string, got a mapping`,
		// In a policy that extends a preset, its own rules are the ones after the preset's.
		`fw.yaml:17:40: clusters[0].hostPolicies[1].ingress[0].icmp[1].family: expected a string, got a list`,
	)
}

// A field that did not decode is left zero, and what other checks would make of that zero (a source missing, a rule
// empty, a Robot rule without its ip_version or protocol, a policy without its preset's nodes and rules, an admin the
// cluster does not have) is noise: only the decoding problem is said.
func TestAFieldThatDidNotDecodeIsNotMissing(t *testing.T) {
	wantProblemsIn(t, `    hostPolicies:
      - name: p
        preset: [talos-control-plane]
      - name: q
        nodes: {}
        egress:
          - entities: world
    secrets:
      - {name: s, namespace: default, data: {a: {env: [A]}, b: {file: {f: g}}}}
    ageRecipients: [age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p]
    hetzner:
      adminSources: 192.0.2.9
      rules:
        - {name: a, ipVersion: [ipv4], srcIP: 192.0.2.9, action: accept}
        - {name: b, ipVersion: ipv4, protocol: 6, tcpFlags: syn, action: accept}
    assertions:
      - {from: admin, to: n1, port: 6443/tcp, expect: allowed}
`, nil,
		`fw.yaml:11:17: clusters[0].hostPolicies[0].preset: expected a string, got a list`,
		`fw.yaml:15:23: clusters[0].hostPolicies[1].egress[0].entities: expected a list, got the string "world"`,
		`fw.yaml:17:55: clusters[0].secrets[0].data.a.env: expected a string, got a list`,
		`fw.yaml:17:71: clusters[0].secrets[0].data.b.file: expected a string, got a mapping`,
		`fw.yaml:20:21: clusters[0].hetzner.adminSources: expected a list, got the string "192.0.2.9"`,
		`fw.yaml:22:32: clusters[0].hetzner.rules[0].ipVersion: expected a string, got a list`,
		`fw.yaml:23:48: clusters[0].hetzner.rules[1].protocol: expected a string, got the number 6 (quote it: "6")`,
	)
}

// Messages say what is wrong and a hint that works: quoting keeps a tag, so the hint drops it; a missing apiVersion
// is missing, not unsupported; roles that do not decode give one problem, not others about the roles no node has.
func TestMessagesSayWhatIsWrong(t *testing.T) {
	wantProblemsIn(t, "", []string{"name: fw", "name: !!foo a", "{name: n1,", "{name: !!int 5,"},
		`fw.yaml:4:11: clusters[0].name: expected a string, got "a" tagged !!foo (drop the tag !!foo)`,
		`fw.yaml:7:16: clusters[0].nodes[0].name: expected a string, got the number 5 (drop the tag !!int and quote it: "5")`,
	)
	_, err := Load("fw.yaml", []byte(strings.Replace(firewallBase, "apiVersion: kronform.dev/v1alpha1\n", "", 1)), Options{})
	if want := `fw.yaml:1:1: apiVersion: apiVersion is missing (write apiVersion: kronform.dev/v1alpha1)`; err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	wantProblemsIn(t, `    hostPolicies:
      - {name: p, preset: talos-control-plane}
    hetzner: {adminSources: [192.0.2.9]}
    assertions:
      - {from: admin, to: control-plane, port: 6443/tcp, expect: allowed}
      - {from: role:control-plane, to: node:n1, port: 6443/tcp, expect: allowed}
`, []string{"roles: [control-plane]", "roles: control-plane"},
		`fw.yaml:7:55: clusters[0].nodes[0].roles: expected a list, got the string "control-plane"`,
	)
}

// Raw Helm values that the HelmRelease (JSON) would not carry as written are refused where they stand, instead of
// being changed: a whole number past 64 bits, NaN and infinities, binary data that is not text, a timestamp, a key
// that would be renamed.
func TestValuesAreNotChangedSilently(t *testing.T) {
	wantProblemsIn(t, "", []string{"cilium: {version: 1.16.5}", `cilium:
      version: 1.16.5
      values:
        big: 123456789012345678901234567890
        negative: -9223372036854775809
        max: 18446744073709551615
        nan: .nan
        inf: [-.inf]
        bytes: !!binary /w==
        text: !!binary aGVsbG8=
        date: 2001-12-14
        stamp: 2001-12-14T21:59:43Z
        keys: {0x1F: a, null: b, 1: c, true: d, 1.5: e}
        float: 1.5e3`},
		`fw.yaml:11:14: clusters[0].cilium.values.big: 123456789012345678901234567890 is too large for a whole number and would be written as 1.2345678901234568e+29 (quote it to keep the text: "123456789012345678901234567890")`,
		`fw.yaml:12:19: clusters[0].cilium.values.negative: -9223372036854775809 is too large for a whole number and would be written as -9.223372036854776e+18 (quote it to keep the text: "-9223372036854775809")`,
		`fw.yaml:14:14: clusters[0].cilium.values.nan: .nan has no JSON form, and HelmRelease values are JSON (quote it to keep the text: ".nan")`,
		`fw.yaml:15:15: clusters[0].cilium.values.inf[0]: -.inf has no JSON form, and HelmRelease values are JSON (quote it to keep the text: "-.inf")`,
		`fw.yaml:16:16: clusters[0].cilium.values.bytes: binary data that is not UTF-8 text has no JSON form, and HelmRelease values are JSON (write the base64 text as a string without !!binary, and decode it in the chart (b64dec))`,
		`fw.yaml:18:15: clusters[0].cilium.values.date: 2001-12-14 is read as a timestamp and would be written as "2001-12-14T00:00:00Z" (quote it to keep the text: "2001-12-14")`,
		`fw.yaml:20:16: clusters[0].cilium.values.keys.0x1F: the key 0x1F would be written as "31" (quote it: "0x1F")`,
		`fw.yaml:20:25: clusters[0].cilium.values.keys.null: the key null would be written as "<nil>" (quote it: "null")`,
	)
	// NaN and infinities are refused in any free-form value that becomes JSON, not only at the top.
	wantProblemsIn(t, "", []string{"cilium: {version: 1.16.5}", "cilium: {version: 1.16.5, values: {x: .nan}}"},
		`fw.yaml:8:43: clusters[0].cilium.values.x: .nan has no JSON form, and HelmRelease values are JSON (quote it to keep the text: ".nan")`,
	)
}

// A label that does not decode says nothing about roles: the cluster without a control plane is still reported.
func TestBadLabelKeepsRoleProblems(t *testing.T) {
	wantProblemsIn(t, "", []string{"roles: [control-plane]}", "roles: [worker], labels: {zone: 1}}"},
		`fw.yaml:7:7: clusters[0].nodes: the cluster has no control-plane node (give at least one node the role control-plane)`,
		`fw.yaml:7:80: clusters[0].nodes[0].labels.zone: expected a string, got the number 1 (quote it: "1")`,
	)
}

// A policy's own rules keep their own index and position when it also uses a preset, whose rules come first in the
// resolved policy; a problem with a preset's rule is reported in the preset's file, at the preset's line.
func TestPresetRulesKeepTheirPlaces(t *testing.T) {
	wantProblems(t, `    hostPolicies:
      - name: p
        preset: talos-control-plane
        ingress:
          - ports: [99999/tcp]
          - ports: [80/tcp]
          - entities: [bogus]
        egress:
          - ports: [0/tcp]
`,
		`fw.yaml:13:21: clusters[0].hostPolicies[0].ingress[0].ports[0]: "99999/tcp": port 99999 is out of range 1-65535`,
		`fw.yaml:15:24: clusters[0].hostPolicies[0].ingress[2].entities[0]: unknown Cilium entity "bogus" (one of all, world, cluster, host, init, ingress, unmanaged, remote-node, health, none, kube-apiserver)`,
		`fw.yaml:17:21: clusters[0].hostPolicies[0].egress[0].ports[0]: "0/tcp": port 0 is out of range 1-65535`,
	)

	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "presets"), 0o755); err != nil {
		t.Fatal(err)
	}
	preset := "nodes: {role: worker, labels: {\"bad key\": x}}\ningress:\n  - entities: [bogus]\n    ports: [70000/tcp]\n"
	if err := os.WriteFile(filepath.Join(dir, "presets", "mine.yaml"), []byte(preset), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load("fw.yaml", []byte(firewallBase+`    hostPolicies:
      - name: p
        preset: mine
        ingress:
          - ports: [99999/tcp]
`), Options{Templates: dir})
	shown := filepath.Join(dir, "presets", "mine.yaml")
	want := []string{
		shown + `:1:32: nodes.labels.bad key: "bad key" is not a valid label key: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
		shown + `:3:16: ingress[0].entities[0]: unknown Cilium entity "bogus" (one of all, world, cluster, host, init, ingress, unmanaged, remote-node, health, none, kube-apiserver)`,
		shown + `:4:13: ingress[0].ports[0]: "70000/tcp": port 70000 is out of range 1-65535`,
		`fw.yaml:11:17: clusters[0].hostPolicies[0].preset: preset "mine" selects the role "worker", which no node of the cluster has (add a node with this role, or select nodes: on the policy)`,
		`fw.yaml:13:21: clusters[0].hostPolicies[0].ingress[0].ports[0]: "99999/tcp": port 99999 is out of range 1-65535`,
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}

// A name that becomes a file name is refused at load when the file could not be written: a host policy named
// kustomization would be its folder's kustomization.yaml, and a 251-character name (a valid DNS subdomain) makes
// NAME.yaml longer than the 255 bytes a file name may have.
func TestNamesThatBecomeFiles(t *testing.T) {
	long := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 59) // 251
	longest := long[:250]
	wantProblems(t, `    hostPolicies:
      - {name: kustomization, nodes: {}, ingress: [{entities: [world]}]}
      - {name: `+long+`, nodes: {}, ingress: [{entities: [world]}]}
      - {name: `+longest+`, nodes: {}, ingress: [{entities: [world]}]}
    secrets:
      - {name: `+long+`xx, namespace: default, data: {k: {env: K}}}
    ageRecipients: [age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p]
`,
		`fw.yaml:10:16: clusters[0].hostPolicies[0].name: a host policy named kustomization would be written as kustomization.yaml, the file that lists its folder (choose another name)`,
		`fw.yaml:11:16: clusters[0].hostPolicies[1].name: the name has 251 characters, and its file NAME.yaml would be longer than the 255 bytes a file name may have (at most 250 characters)`,
		`fw.yaml:14:16: clusters[0].secrets[0].name: the name has 253 characters, and its file NAME.yaml would be longer than the 255 bytes a file name may have (at most 250 characters)`,
	)
}

// YAML writes a boolean as true, True or TRUE, and the schema takes each as true: the loader reads them so too (True
// was read as false, so auditMode: True turned audit mode off). A tag makes no boolean of what YAML does not read as one.
func TestBooleansAreReadAsYAMLWritesThem(t *testing.T) {
	m, err := Load("fw.yaml", []byte(strings.Replace(firewallBase, "cilium: {version: 1.16.5}",
		"cilium: {version: 1.16.5, auditMode: True, hostFirewall: TRUE, kubeProxyReplacement: False, hubble: {relay: true, ui: FALSE}}", 1)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := m.Clusters[0].Cilium
	if !c.AuditMode || !*c.HostFirewall || *c.KubeProxyReplacement || !c.Hubble.Relay || c.Hubble.UI {
		t.Errorf("read as %+v, hostFirewall %v, kubeProxyReplacement %v", c, *c.HostFirewall, *c.KubeProxyReplacement)
	}
	got := problemsOf(t, "", "cilium: {version: 1.16.5}", "cilium: {version: 1.16.5, auditMode: !!bool yes}")
	want := []string{`fw.yaml:8:42: clusters[0].cilium.auditMode: expected true or false, got yes (write true or false)`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
}

// Numbers are read as YAML 1.2 writes them, which is how editors read the spec against the schema: a whole number in
// any of its spellings is that number (0x192B and 6443.0 are port 6443), and what only YAML 1.1 (and yaml.v3) reads
// as a number is a string, refused where a number belongs, with the number to write; taken where a string belongs.
func TestNumbersAreReadAsYAML12WritesThem(t *testing.T) {
	for _, port := range []string{"6443", "0x192B", "0o14453", "06443", "6443.0", "6.443e3", "!!float 6443"} {
		m, err := Load("fw.yaml", []byte(strings.Replace(firewallBase, "{host: api.example.com}", "{host: api.example.com, port: "+port+"}", 1)), Options{})
		if err != nil || m.Clusters[0].APIServer.Port != 6443 {
			t.Errorf("port: %s: %v, %v", port, m, err)
		}
	}
	got := problemsOf(t, "", "{host: api.example.com}", "{host: api.example.com, port: 6_443}", "name: n1", "name: 2001-12-14")
	want := []string{`fw.yaml:5:46: clusters[0].apiServer.port: expected a whole number, got the string "6_443" ` +
		`(write 6443: 6_443 is a number only to YAML 1.1, and editors read YAML 1.2)`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
}

// The number to write is the number YAML 1.1 reads, and only a whole one: 6_443.5 is no port, and writing 6443 for it
// would change the spec's meaning. yaml.v3 decodes 6_443.5 into an int as 6443, cutting off the fraction.
func TestNumberHintIsNeverAFractionCutOff(t *testing.T) {
	for port, want := range map[string]string{
		"6_443.5":  `fw.yaml:5:46: clusters[0].apiServer.port: expected a whole number, got the string "6_443.5"`,
		"6_443.0":  `fw.yaml:5:46: clusters[0].apiServer.port: expected a whole number, got the string "6_443.0" (write 6443: 6_443.0 is a number only to YAML 1.1, and editors read YAML 1.2)`,
		"1_0e-1":   `fw.yaml:5:46: clusters[0].apiServer.port: expected a whole number, got the string "1_0e-1" (write 1: 1_0e-1 is a number only to YAML 1.1, and editors read YAML 1.2)`,
		"0b1010.1": `fw.yaml:5:46: clusters[0].apiServer.port: expected a whole number, got the string "0b1010.1"`,
	} {
		got := problemsOf(t, "", "{host: api.example.com}", "{host: api.example.com, port: "+port+"}")
		if diff := cmp.Diff([]string{want}, got); diff != "" {
			t.Errorf("port: %s: %s", port, diff)
		}
	}
}

// A number past what yaml.v3 holds (a hexadecimal or octal one past 64 bits, a float past float64's range) is a
// string to yaml.v3, and a number to YAML 1.2 as to an editor, whose schema refuses it where a string belongs: so
// does the loader, and where a number belongs it says it got a number.
func TestNumbersPastYAMLv3sRangeAreNumbers(t *testing.T) {
	got := problemsOf(t, "", "{name: n1,", "{name: 1e400,", "{host: api.example.com}", "{host: api.example.com, port: 0x10000000000000000}",
		"cilium: {version: 1.16.5}", "cilium: {version: 1.16.5, namespace: 0o7777777777777777777777777}")
	want := []string{
		`fw.yaml:5:46: clusters[0].apiServer.port: expected a whole number, got the number 0x10000000000000000`,
		`fw.yaml:7:16: clusters[0].nodes[0].name: expected a string, got the number 1e400 (quote it: "1e400")`,
		`fw.yaml:8:42: clusters[0].cilium.namespace: expected a string, got the number 0o7777777777777777777777777 (quote it: "0o7777777777777777777777777")`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
	// What only looks like one stays a string.
	for _, name := range []string{"1e4x", "0x1g", "1.16.5", "12345678901234567890a", "e1"} {
		if _, err := Load("fw.yaml", []byte(strings.Replace(firewallBase, "{name: n1,", "{name: "+name+",", 1)), Options{}); err != nil {
			t.Errorf("name: %s: %v", name, err)
		}
	}
}

// A bad value in defaults is reported once, where defaults writes it: not again at every cluster that inherits it,
// at the cluster's first line with a path the file does not hold. A cluster's own value is its own problem.
func TestBadDefaultsAreReportedOnceWhereTheyStand(t *testing.T) {
	second := strings.Replace(strings.SplitN(firewallBase, "clusters:\n", 2)[1], "name: fw", "name: fw2", 1)
	second = strings.Replace(second, "159.69.60.182", "159.69.60.183", 1)
	got := problemsOf(t, second+`    flux: {timeout: 1x}
defaults:
  flux: {interval: 0s, namespace: Bad_NS}
  ageRecipients: [age1bogus]
`)
	want := []string{
		`fw.yaml:14:21: clusters[1].flux.timeout: "1x" is not a duration (a duration in ms, s, m and h, such as 10m or 1h30m)`,
		`fw.yaml:16:20: defaults.flux.interval: duration "0s" must be positive`,
		`fw.yaml:16:35: defaults.flux.namespace: "Bad_NS" is not a valid name: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (lower-case letters, digits and '-', at most 63)`,
		`fw.yaml:17:19: defaults.ageRecipients[0]: "age1bogus" is not an age recipient (an age X25519 public key, as printed by age-keygen -y)`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
}

// A preset that does not decode does not hide the spec's problems, nor the rest of its own: everything is reported
// in one run, each in its file, what did not decode once. A preset file that cannot be read at all is reported alone:
// its policies are not checked further.
func TestPresetProblemsAreReportedWithTheSpecs(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "presets"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"mine.yaml":   "name: mine\nnodes: {}\ningress:\n  - entities: [wrld]\n    ports: [6443]\n",
		"broken.yaml": "nodes: {\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, "presets", name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Load("fw.yaml", []byte(strings.Replace(firewallBase, "name: fw", "name: Fw", 1)+`    hostPolicies:
      - {name: p, preset: mine}
      - {name: q, preset: broken}
`), Options{Templates: dir})
	mine, broken := filepath.Join(dir, "presets", "mine.yaml"), filepath.Join(dir, "presets", "broken.yaml")
	want := []string{ // sorted by file, the temporary folder's first
		broken + `:1:8: invalid YAML: did not find expected node content`,
		mine + `:1:7: name: a preset has no name or preset field: its file name names it`,
		mine + `:4:16: ingress[0].entities[0]: unknown Cilium entity "wrld" (one of all, world, cluster, host, init, ingress, unmanaged, remote-node, health, none, kube-apiserver)`,
		mine + `:5:13: ingress[0].ports[0]: expected a string, got the number 6443 (quote it: "6443")`,
		`fw.yaml:4:11: clusters[0].name: "Fw" is not a valid name: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (lower-case letters, digits and '-', at most 63)`,
	}
	var got []string
	var ps Problems
	if errors.As(err, &ps) {
		for _, p := range ps {
			got = append(got, p.String())
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%v\n%s", err, diff)
	}
}

// Talos runs kube-apiserver on the control planes only: an API server named by the address of a worker (a node
// renumbered, a control plane's old address given to a new worker) is one no client, Cilium's agents included, can
// reach, and every check would still pass. A control plane's address, or one no node has (a VIP, a load balancer),
// is taken, and the address is compared as an address, however it is written.
func TestAPIServerOnAWorkersAddress(t *testing.T) {
	worker := []string{"roles: [control-plane]}\n", "roles: [control-plane]}\n      - {name: w1, addresses: [159.69.60.183, \"2a01:4f8::1\"], roles: [worker]}\n"}
	wantProblemsIn(t, "", append([]string{"host: api.example.com", "host: 159.69.60.183"}, worker...),
		`fw.yaml:5:23: clusters[0].apiServer.host: 159.69.60.183 is the address of w1, which is not a control plane: Talos runs the API server on control planes only (name a control plane's address, or an address that reaches them all: a VIP, a load balancer, a DNS name)`,
	)
	wantProblemsIn(t, "", append([]string{"cilium: {version: 1.16.5}", "cilium: {version: 1.16.5, k8sService: {host: \"2a01:04f8::0001\"}}"}, worker...),
		`fw.yaml:9:50: clusters[0].cilium.k8sService.host: 2a01:04f8::0001 is the address of w1, which is not a control plane: Talos runs the API server on control planes only (name a control plane's address, or an address that reaches them all: a VIP, a load balancer, a DNS name)`,
	)
	for _, host := range []string{"159.69.60.182", "192.0.2.10", "api.example.com"} {
		if got := problemsOrNone(t, strings.NewReplacer(append([]string{"host: api.example.com", "host: " + host}, worker...)...).Replace(firewallBase)); len(got) > 0 {
			t.Errorf("apiServer.host %s: %v", host, got)
		}
	}
}

// An API server address written in a form the host check refuses, with a hint to write it plainly, is the node's
// address all the same: both problems come in one run, not the worker's only after the hint is followed.
func TestAPIServerOnAWorkersAddressWrittenOtherwise(t *testing.T) {
	worker := []string{"roles: [control-plane]}\n", "roles: [control-plane]}\n      - {name: w1, addresses: [159.69.60.183], roles: [worker]}\n"}
	wantProblemsIn(t, "", append([]string{"host: api.example.com", `host: "::ffff:159.69.60.183"`}, worker...),
		`fw.yaml:5:23: clusters[0].apiServer.host: ::ffff:159.69.60.183 is an IPv4-mapped IPv6 address, which no packet carries (write the IPv4 address 159.69.60.183)`,
		`fw.yaml:5:23: clusters[0].apiServer.host: ::ffff:159.69.60.183 is the address of w1, which is not a control plane: Talos runs the API server on control planes only (name a control plane's address, or an address that reaches them all: a VIP, a load balancer, a DNS name)`,
	)
}

// problemsOrNone loads a spec and returns its problems, none when it loads.
func problemsOrNone(t *testing.T, yaml string) []string {
	t.Helper()
	_, err := Load("fw.yaml", []byte(yaml), Options{})
	if err == nil {
		return nil
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want problems or none, got %v", err)
	}
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

// An admin source is where the admin connects from, as a node address is where a node is reached at: one address no
// machine has as its own (a single address, or its /32 or /128) is refused alike. A CIDR, the whole internet's
// included, is the admin's to choose.
func TestAdminSourcesAreAddressesAMachineHas(t *testing.T) {
	wantProblems(t, `    hetzner:
      adminSources: [0.0.0.0, 127.0.0.1, 224.0.0.1, 255.255.255.255, "::", "::1", ff02::1, 127.0.0.2/32, 0.0.0.0/0, "::/0", 10.0.0.0/8]
`,
		`fw.yaml:10:22: clusters[0].hetzner.adminSources[0]: 0.0.0.0 is the unspecified address, which no admin connects from (list the public addresses you connect from, e.g. [203.0.113.7/32])`,
		`fw.yaml:10:31: clusters[0].hetzner.adminSources[1]: 127.0.0.1 is a loopback address, which no admin connects from (list the public addresses you connect from, e.g. [203.0.113.7/32])`,
		`fw.yaml:10:42: clusters[0].hetzner.adminSources[2]: 224.0.0.1 is a multicast address, which no admin connects from (list the public addresses you connect from, e.g. [203.0.113.7/32])`,
		`fw.yaml:10:53: clusters[0].hetzner.adminSources[3]: 255.255.255.255 is the broadcast address, which no admin connects from (list the public addresses you connect from, e.g. [203.0.113.7/32])`,
		`fw.yaml:10:70: clusters[0].hetzner.adminSources[4]: :: is the unspecified address, which no admin connects from (list the public addresses you connect from, e.g. [203.0.113.7/32])`,
		`fw.yaml:10:76: clusters[0].hetzner.adminSources[5]: ::1 is a loopback address, which no admin connects from (list the public addresses you connect from, e.g. [203.0.113.7/32])`,
		`fw.yaml:10:83: clusters[0].hetzner.adminSources[6]: ff02::1 is a multicast address, which no admin connects from (list the public addresses you connect from, e.g. [203.0.113.7/32])`,
		`fw.yaml:10:92: clusters[0].hetzner.adminSources[7]: 127.0.0.2/32 is a loopback address, which no admin connects from (list the public addresses you connect from, e.g. [203.0.113.7/32])`,
	)
}

// A CIDR peer written as a mapping without its cidr (left out or null) is told the field is required, at the entry;
// one written empty is no CIDR, and one that did not decode is said once, where it stands.
func TestACIDRPeerNeedsItsCIDR(t *testing.T) {
	wantProblems(t, `    hostPolicies:
      - name: p
        nodes: {}
        ingress:
          - cidrs: [{except: [10.1.0.0/16]}, {cidr: null}, {cidr: ""}, {cidr: [10.0.0.0/8]}]
`,
		`fw.yaml:13:21: clusters[0].hostPolicies[0].ingress[0].cidrs[0].cidr: a CIDR is required (write cidr: 10.0.0.0/8, the CIDR its except entries are cut from; or the CIDR alone in place of the mapping)`,
		`fw.yaml:13:53: clusters[0].hostPolicies[0].ingress[0].cidrs[1].cidr: a CIDR is required (write cidr: 10.0.0.0/8, the CIDR its except entries are cut from; or the CIDR alone in place of the mapping)`,
		`fw.yaml:13:67: clusters[0].hostPolicies[0].ingress[0].cidrs[2].cidr: "" is not a CIDR`,
		`fw.yaml:13:79: clusters[0].hostPolicies[0].ingress[0].cidrs[3].cidr: expected a string, got a list`,
	)
}

// A preset that did not decode or is unknown leaves the policy's nodes and rules unknown, not its own: what the policy
// writes (a role, a port, a CIDR) is checked still, and only the nodes and rules it leaves to the preset are not
// said to be missing.
func TestAPresetThatIsNotKnownHidesNothingThePolicyWrites(t *testing.T) {
	for _, preset := range []string{"[talos-control-plane]", "nosuch"} {
		got := problemsOf(t, `    hostPolicies:
      - name: p
        preset: `+preset+`
        nodes: {role: bogus}
        ingress:
          - {ports: ["22"], cidrs: [10.0.0.1/8]}
      - name: q
        preset: `+preset+`
`)
		want := []string{
			`clusters[0].hostPolicies[0].nodes.role: unknown role "bogus" (control-plane or worker)`,
			`clusters[0].hostPolicies[0].ingress[0].ports[0]: "22" has no protocol; write 22/tcp or 22/udp`,
			`clusters[0].hostPolicies[0].ingress[0].cidrs[0].cidr: 10.0.0.1/8 has host bits set (write 10.0.0.0/8)`,
		}
		joined := strings.Join(got, "\n")
		for _, w := range want {
			if !strings.Contains(joined, w) {
				t.Errorf("preset %s: no %q in\n%s", preset, w, joined)
			}
		}
		if len(got) != len(want)+2 {
			t.Errorf("preset %s: want the two preset problems and %d more, got\n%s", preset, len(want), joined)
		}
	}
}

// A Robot rule without its action is told it needs one, as it is told it needs a name: not that "" is an action
// nobody knows.
func TestARobotRuleNeedsItsAction(t *testing.T) {
	wantProblems(t, `    hetzner:
      adminSources: [192.0.2.1]
      rules:
        - {name: a}
        - {name: b, action: null}
        - {name: c, action: ""}
`,
		`fw.yaml:12:11: clusters[0].hetzner.rules[0].action: a rule needs an action (accept or discard)`,
		`fw.yaml:13:29: clusters[0].hetzner.rules[1].action: a rule needs an action (accept or discard)`,
		`fw.yaml:14:29: clusters[0].hetzner.rules[2].action: unknown action "" (accept or discard)`,
	)
}

// An assertion that leaves a field out is told it needs it, not that "" is no source, target, port or verdict; one
// written empty is still judged as written.
func TestAnAssertionNeedsItsFields(t *testing.T) {
	wantProblems(t, `    assertions:
      - {}
      - {from: "", to: n1, port: 6443/tcp, expect: allowed}
`,
		`fw.yaml:10:9: clusters[0].assertions[0].expect: an assertion needs a verdict (allowed or denied)`,
		`fw.yaml:10:9: clusters[0].assertions[0].from: an assertion needs a source (admin, world, an address or CIDR, an entity, a node or role name, or pod:KEY=VALUE)`,
		`fw.yaml:10:9: clusters[0].assertions[0].port: an assertion needs a port (PORT/PROTO such as 6443/tcp, or icmp:TYPE such as icmp:EchoRequest)`,
		`fw.yaml:10:9: clusters[0].assertions[0].to: an assertion needs a target (a node or role: NAME, node:NAME or role:NAME)`,
		`fw.yaml:11:16: clusters[0].assertions[1].from: "" is not a source: write admin, world, an address or CIDR, an entity, a node or role name, or pod:KEY=VALUE`,
	)
}
