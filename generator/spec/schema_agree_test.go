package spec

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/util/validation"
)

// agreeBase is a spec both the loader and the schema accept; each case below changes one thing in it.
const agreeBase = `apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
defaults:
  ageRecipients: [` + recipient + `]
  flux: {interval: 10m}
clusters:
  - name: lab
    apiServer: {host: api.lab.example.com, port: 6443}
    nodes:
      - {name: cp1, addresses: [192.0.2.10], roles: [control-plane], labels: {zone: a}}
    flux: {timeout: 5m}
    cilium: {version: 1.16.5, hubble: {relay: true}, values: {operator: {replicas: 1}}}
    hostPolicies:
      - name: cp
        nodes: {role: control-plane}
        ingress:
          - {entities: [world], ports: [6443/tcp]}
          - {cidrs: [192.0.2.0/24], icmp: [{family: IPv4, type: 8}]}
    secrets:
      - {name: s, namespace: default, data: {k: {env: K}}}
    hetzner: {adminSources: [192.0.2.9]}
    assertions:
      - {from: admin, to: role:control-plane, port: 6443/tcp, expect: allowed}
`

// schemaValidator compiles the schema JSONSchema generates.
func schemaValidator(t *testing.T) *jsonschema.Schema {
	t.Helper()
	raw, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(SchemaID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// schemaVerdict validates a spec's YAML against the schema as an editor would: the YAML read as JSON, as YAML 1.2
// reads it (see editorValue).
func schemaVerdict(t *testing.T, s *jsonschema.Schema, text string) error {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(editorValue(t, &doc))
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return s.Validate(inst)
}

// The plain scalars of YAML 1.2's core schema (YAML 1.2.2, 10.3.2), which editors read a spec with
// (yaml-language-server's default): yaml.v3 reads YAML 1.1's 6_443, 0b1010 and 0X1A as numbers too, and 2001-12-14
// as a timestamp, all strings to an editor.
var (
	editorNull  = regexp.MustCompile(`^(null|Null|NULL|~|)$`)
	editorBool  = regexp.MustCompile(`^(true|True|TRUE|false|False|FALSE)$`)
	editorInt10 = regexp.MustCompile(`^[-+]?[0-9]+$`)
	editorInt8  = regexp.MustCompile(`^0o[0-7]+$`)
	editorInt16 = regexp.MustCompile(`^0x[0-9a-fA-F]+$`)
	editorFloat = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)
)

// editorValue is a YAML node as an editor reads it into JSON: a plain scalar by YAML 1.2's core schema, a quoted or
// tagged one as its style or tag says (yaml.v3's decoding), aliases followed.
func editorValue(t *testing.T, n *yaml.Node) any {
	t.Helper()
	switch n.Kind {
	case yaml.DocumentNode:
		return editorValue(t, n.Content[0])
	case yaml.AliasNode:
		return editorValue(t, n.Alias)
	case yaml.SequenceNode:
		out := []any{}
		for _, c := range n.Content {
			out = append(out, editorValue(t, c))
		}
		return out
	case yaml.MappingNode:
		out := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Tag == "!!merge" {
				t.Fatal("editors differ on merge keys: no case uses them")
			}
			out[n.Content[i].Value] = editorValue(t, n.Content[i+1])
		}
		return out
	}
	const notPlain = yaml.TaggedStyle | yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle | yaml.LiteralStyle | yaml.FoldedStyle
	if n.Style&notPlain != 0 {
		var x any
		if err := n.Decode(&x); err != nil {
			t.Fatal(err)
		}
		return x
	}
	v := n.Value
	parse := func(s string, base int) any {
		i, err := strconv.ParseInt(s, base, 64)
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	switch {
	case editorNull.MatchString(v):
		return nil
	case editorBool.MatchString(v):
		return strings.ToLower(v) == "true"
	case editorInt10.MatchString(v):
		return parse(v, 10)
	case editorInt8.MatchString(v):
		return parse(v[2:], 8)
	case editorInt16.MatchString(v):
		return parse(v[2:], 16)
	case editorFloat.MatchString(v):
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	return v
}

// TestSchemaAgreesWithLoader runs specs through the loader and the JSON schema editors read, and requires the same
// verdict from both: an editor must not flag a spec generate takes, nor pass one it refuses. Each case changes one
// thing in agreeBase. Where only the loader can tell (arithmetic inside a string, one field against another), the
// case says why, and the schema must then take what the loader refuses, never the other way round.
func TestSchemaAgreesWithLoader(t *testing.T) {
	s := schemaValidator(t)
	const ok, bad = true, false
	cases := []struct {
		old, new string
		valid    bool
		lenient  string // why only the loader refuses it
	}{
		{"", "", ok, ""},
		// null is left out, where leaving out is allowed; a required field written null is missing.
		{"hubble: {relay: true}", "hubble: null", ok, ""},
		{"hubble: {relay: true}", "hubble: {relay: null}", ok, ""},
		{"values: {operator: {replicas: 1}}", "values: null", ok, ""},
		{"values: {operator: {replicas: 1}}", "values: {operator: null}", ok, ""},
		{"cilium: {version: 1.16.5,", "cilium: {version: 1.16.5, k8sService: null, kubeProxyReplacement: null, repository: null, encryption: null, auditMode: null, ipam: null,", ok, ""},
		{"cilium: {version: 1.16.5,", "cilium: {version: 1.16.5, k8sService: {host: null},", ok, ""},
		{"cilium: {version: 1.16.5,", "cilium: {version: null,", bad, ""},
		{"cilium: {version: 1.16.5, hubble: {relay: true}, values: {operator: {replicas: 1}}}", "cilium: null", bad, ""},
		{"timeout: 5m", "timeout: null", ok, ""},
		{"    flux: {timeout: 5m}", "    flux: null", ok, ""},
		{"  flux: {interval: 10m}", "  flux: null", ok, ""},
		{"  flux: {interval: 10m}", "  flux: {interval: 10m, namespace: null}", ok, ""},
		{"defaults:\n  ageRecipients: [" + recipient + "]\n  flux: {interval: 10m}\n", "defaults: null\n", bad, "the cluster has secrets and no recipients"},
		{"    nodes:\n", "    domain: null\n    ageRecipients: null\n    nodes:\n", ok, ""},
		{"port: 6443}", "port: null}", ok, ""},
		{"host: api.lab.example.com,", "host: null,", bad, ""},
		{"- name: lab", "- name: null", bad, ""},
		{"clusters:\n  - name: lab", "clusters:\n  - null\n  - name: lab", bad, ""},
		{"apiVersion: kronform.dev/v1alpha1", "apiVersion: null", bad, ""},
		{"kind: ClusterSpec\n", "kind: ClusterSpec\nrepositoryPath: output\n", ok, ""},
		{"kind: ClusterSpec\n", "kind: ClusterSpec\nrepositoryPath: fleet/output\n", ok, ""},
		{"kind: ClusterSpec\n", "kind: ClusterSpec\nrepositoryPath: null\n", ok, ""},
		{"kind: ClusterSpec\n", "kind: ClusterSpec\nrepositoryPath: ''\n", bad, ""},
		{"kind: ClusterSpec\n", "kind: ClusterSpec\nrepositoryPath: ../output\n", bad, "a path's form is the loader's to judge"},
		{"kind: ClusterSpec\n", "kind: ClusterSpec\nrepositoryPath: \"out\\u200Bput\"\n", bad, ""},
		{"addresses: [192.0.2.10]", "addresses: null", ok, ""},
		{"labels: {zone: a}", "labels: null", ok, ""},
		{"labels: {zone: a}", "labels: {zone: null}", ok, ""},
		{"roles: [control-plane]", "roles: null", bad, ""},
		{"    secrets:\n      - {name: s, namespace: default, data: {k: {env: K}}}", "    secrets: null", ok, ""},
		{"    secrets:\n      - {name: s, namespace: default, data: {k: {env: K}}}", "    secrets: [null]", bad, ""},
		{"{name: s, namespace: default,", "{name: s, namespace: default, type: null,", ok, ""},
		{"    assertions:\n      - {from: admin, to: role:control-plane, port: 6443/tcp, expect: allowed}", "    assertions: null", ok, ""},
		{"expect: allowed}", "expect: null}", bad, ""},
		{"    hetzner: {adminSources: [192.0.2.9]}", "    hetzner: {adminSources: [192.0.2.9], discard: null, rules: null, template: null, filterIPv6: null}", ok, ""},
		{"    hetzner: {adminSources: [192.0.2.9]}", "    hetzner: {adminSources: [192.0.2.9], rules: [{name: a, action: accept, srcPort: null, ipVersion: null}]}", ok, ""},
		{"    hetzner: {adminSources: [192.0.2.9]}", "    hetzner: {adminSources: null}", bad, ""},
		{"    hetzner: {adminSources: [192.0.2.9]}", "    hetzner: null", bad, "assertions name admin, which is hetzner.adminSources"},
		{"- name: cp\n", "- name: cp\n        description: null\n        preset: null\n", ok, ""},
		{"nodes: {role: control-plane}", "nodes: {role: null, labels: null}", ok, ""},
		{"nodes: {role: control-plane}", "nodes: null", bad, "a policy's nodes may come from its preset"},
		{"        ingress:\n", "        egress: null\n        ingressDeny: []\n        ingress:\n", ok, ""},
		{"{entities: [world], ports: [6443/tcp]}", "{entities: null, ports: [6443/tcp]}", ok, ""},
		{"{entities: [world], ports: [6443/tcp]}", "{endpoints: [{app: null}], ports: [6443/tcp]}", ok, ""},
		{"cidrs: [192.0.2.0/24]", "cidrs: [{cidr: 192.0.2.0/24, except: null}]", ok, ""},
		{"cidrs: [192.0.2.0/24]", "cidrs: [null]", bad, ""},
		{"cidrs: [192.0.2.0/24]", "cidrs: [{cidr: null}]", bad, ""},
		{"cidrs: [192.0.2.0/24]", "cidrs: [{except: [192.0.2.0/25]}]", bad, ""},
		{"icmp: [{family: IPv4, type: 8}]", "icmp: [{family: null, type: 8}]", ok, ""},
		{"icmp: [{family: IPv4, type: 8}]", "icmp: [{family: IPv4, type: EchoRequest}]", ok, ""},
		{"icmp: [{family: IPv4, type: 8}]", "icmp: [{family: IPv6, type: NeighborSolicitation}]", ok, ""},
		{"icmp: [{family: IPv4, type: 8}]", "icmp: [{family: IPv4, type: Ping}]", bad, ""},
		{"icmp: [{family: IPv4, type: 8}]", "icmp: [{family: IPv4, type: 256}]", bad, ""},
		{"icmp: [{family: IPv4, type: 8}]", "icmp: [{family: IPv4, type: {name: EchoRequest}}]", bad, ""},
		{"icmp: [{family: IPv4, type: 8}]", "icmp: [{family: IPv4, type: NeighborSolicitation}]", bad, "a name is checked against the rule's family"},
		{"icmp: [{family: IPv4, type: 8}]", "icmp: null, ports: [53/udp]", ok, ""},
		// An ICMP entry needs its type.
		{"icmp: [{family: IPv4, type: 8}]", "icmp: [{family: IPv4}]", bad, ""},
		{"icmp: [{family: IPv4, type: 8}]", "icmp: [{type: null}]", bad, ""},
		{"icmp: [{family: IPv4, type: 8}]", "icmp: [null]", bad, ""},
		{"icmp: [{family: IPv4, type: 8}]", "icmp: [{type: 300}]", bad, ""},
		{"icmp: [{family: IPv4, type: 8}]", "icmp: [{type: EchoRequest}]", ok, ""},
		// The path is per cluster.
		{"  flux: {interval: 10m}", "  flux: {interval: 10m, path: clusters/x}", bad, ""},
		{"    flux: {timeout: 5m}", "    flux: {timeout: 5m, path: clusters/x}", ok, ""},
		{"    flux: {timeout: 5m}", "    flux: {timeout: 5m, path: clusters/zürich-東京}", ok, ""},
		{"    flux: {timeout: 5m}", "    flux: {timeout: 5m, path: \"clusters/la\\u200bb\"}", bad, ""},
		{"    flux: {timeout: 5m}", "    flux: {timeout: 5m, path: \"clusters/l\\x01ab\"}", bad, ""},
		{"    flux: {timeout: 5m}", "    flux: {timeout: 5m, path: \"clusters/l\\x7fab\"}", bad, ""},
		{"    flux: {timeout: 5m}", "    flux: {timeout: 5m, path: \"clusters/l\\U000E0001ab\"}", bad, "ECMA-262 without the u flag reads a character beyond the BMP as two"},
		// A secret has keys, each from exactly one source.
		{"data: {k: {env: K}}", "data: {}", bad, ""},
		{"data: {k: {env: K}}", "data: null", bad, ""},
		{"data: {k: {env: K}}", "data: {k: {}}", bad, ""},
		{"data: {k: {env: K}}", "data: {k: null}", bad, ""},
		{"data: {k: {env: K}}", "data: {k: {env: null}}", bad, ""},
		{"data: {k: {env: K}}", "data: {k: {env: K, file: f}}", bad, ""},
		{"data: {k: {env: K}}", "data: {k: {env: K, file: null}}", ok, ""},
		{"data: {k: {env: K}}", "data: {k: {file: f}}", ok, ""},
		// Durations.
		{"timeout: 5m", "timeout: 1h30m", ok, ""},
		{"timeout: 5m", "timeout: 1ms", ok, ""},
		{"timeout: 5m", "timeout: 0.5s", ok, ""},
		{"timeout: 5m", "timeout: 0s", bad, ""},
		{"timeout: 5m", "timeout: 0m0s", bad, ""},
		{"timeout: 5m", "timeout: 0.0h", bad, ""},
		{"timeout: 5m", "timeout: 0.5ms", bad, ""},
		{"timeout: 5m", "timeout: 500us", bad, ""},
		{"timeout: 5m", "timeout: 0.0001s", bad, "below 1ms, which takes arithmetic"},
		{"timeout: 5m", "timeout: 2562048h", bad, "past what a Go duration holds, which takes arithmetic"},
		{"  flux: {interval: 10m}", "  flux: {interval: 0s}", bad, ""},
		// Ports.
		{"ports: [6443/tcp]", "ports: [\"53\"]", bad, ""},
		{"ports: [6443/tcp]", "ports: [53/TCP, 1000-2000/udp, 9/sctp, 7/any]", ok, ""},
		{"ports: [6443/tcp]", "ports: [53/icmp]", bad, ""},
		{"ports: [6443/tcp]", "ports: [null]", bad, ""},
		{"ports: [6443/tcp]", "ports: [70000/tcp]", bad, "a port number out of range takes arithmetic"},
		{"ports: [6443/tcp]", "ports: [2000-1000/tcp]", bad, "a range that ends below its start takes arithmetic"},
		// Rules, peers, selectors.
		{"{entities: [world], ports: [6443/tcp]}", "{}", bad, ""},
		{"{entities: [world], ports: [6443/tcp]}", "{entities: []}", bad, ""},
		{"{entities: [world], ports: [6443/tcp]}", "{entities: [], ports: []}", bad, ""},
		{"{entities: [world], ports: [6443/tcp]}", "{entities: null}", bad, ""},
		{"{entities: [world], ports: [6443/tcp]}", "{entities: [], ports: [6443/tcp]}", bad, ""},
		{"{entities: [world], ports: [6443/tcp]}", "{cidrs: [], ports: [6443/tcp]}", bad, ""},
		{"{entities: [world], ports: [6443/tcp]}", "{endpoints: [], ports: [6443/tcp]}", bad, ""},
		{"{entities: [world], ports: [6443/tcp]}", "{entities: [bogus]}", bad, ""},
		{"{entities: [world], ports: [6443/tcp]}", "{entities: [kube-apiserver, remote-node]}", ok, ""},
		{"{entities: [world], ports: [6443/tcp]}", "{endpoints: [{}]}", bad, ""},
		{"{entities: [world], ports: [6443/tcp]}", "{endpoints: [null]}", bad, ""},
		{"cilium: {version: 1.16.5,", "cilium: {version: 1.16.5, ipam: bogus,", bad, ""},
		{"cilium: {version: 1.16.5,", "cilium: {version: 1.16.5, ipam: cluster-pool,", ok, ""},
		// Empty values where leaving out means a default.
		{"cilium: {version: 1.16.5,", "cilium: {version: 1.16.5, namespace: \"\",", bad, ""},
		{"    nodes:\n", "    ageRecipients: []\n    nodes:\n", bad, ""},
		{"port: 6443}", "port: 0}", bad, ""},
		{"roles: [control-plane]", "roles: []", bad, ""},
		{"    hetzner: {adminSources: [192.0.2.9]}", "    hetzner: {adminSources: []}", bad, ""},
		{"    hetzner: {adminSources: [192.0.2.9]}", "    hetzner: {adminSources: [127.0.0.1]}", bad, "which addresses no machine has takes parsing the address"},
		{"    hetzner: {adminSources: [192.0.2.9]}", "    hetzner: {adminSources: [0.0.0.0/0, '::/0']}", ok, ""},
		{"nodes: {role: control-plane}", "nodes: {role: \"\"}", bad, ""},
		{"icmp: [{family: IPv4, type: 8}]", "icmp: [{family: \"\", type: 8}]", bad, ""},
		{"    hetzner: {adminSources: [192.0.2.9]}", "    hetzner: {adminSources: [192.0.2.9], rules: [{name: a, action: accept, ipVersion: \"\"}]}", bad, ""},
		{"    hetzner: {adminSources: [192.0.2.9]}", "    hetzner: {adminSources: [192.0.2.9], rules: [{name: a, action: accept, ipVersion: ipv4, protocol: \"\"}]}", bad, ""},
		{"    hetzner: {adminSources: [192.0.2.9]}", "    hetzner: {adminSources: [192.0.2.9], rules: [{name: a, action: accept, ipVersion: ipv4, srcIP: \"\"}]}", bad, ""},
		{"    hetzner: {adminSources: [192.0.2.9]}", "    hetzner: {adminSources: [192.0.2.9], rules: [{name: a, action: accept, ipVersion: ipv4, dstIP: \"\"}]}", bad, ""},
		{"    hetzner: {adminSources: [192.0.2.9]}", "    hetzner: {adminSources: [192.0.2.9], rules: [{name: a, action: accept, ipVersion: ipv4, srcIP: 192.0.2.0/24, dstIP: 192.0.2.10}]}", ok, ""},
		// YAML's true in any of its spellings is true to both.
		{"hubble: {relay: true}", "hubble: {relay: True, ui: TRUE}", ok, ""},
		// A whole number in any of YAML 1.2's spellings is one to both (JSON keeps no spelling, and 6443.0 is an
		// integer to JSON Schema); YAML 1.1's spellings, which yaml.v3 reads as numbers too, are strings to an editor.
		{"port: 6443}", "port: 0x192B}", ok, ""},
		{"port: 6443}", "port: 0o14453}", ok, ""},
		{"port: 6443}", "port: 06443}", ok, ""},
		{"port: 6443}", "port: +6443}", ok, ""},
		{"port: 6443}", "port: 6443.0}", ok, ""},
		{"port: 6443}", "port: 6.443e3}", ok, ""},
		{"port: 6443}", "port: !!float 6443}", ok, ""},
		{"port: 6443}", "port: !!int '6443'}", ok, ""},
		{"port: 6443}", "port: 6443.5}", bad, ""},
		{"port: 6443}", "port: 6_443}", bad, ""},
		{"port: 6443}", "port: 0X192B}", bad, ""},
		{"port: 6443}", "port: 0b1100100101011}", bad, ""},
		{"port: 6443}", "port: -0x1}", bad, ""},
		{"port: 6443}", "port: 0x_192B}", bad, ""},
		{"port: 6443}", "port: '6443'}", bad, ""},
		{"port: 6443}", "port: .inf}", bad, ""},
		{"port: 6443}", "port: 1e20}", bad, ""},
		{"icmp: [{family: IPv4, type: 8}]", "icmp: [{family: IPv4, type: 0x8}]", ok, ""},
		{"icmp: [{family: IPv4, type: 8}]", "icmp: [{family: IPv4, type: 8.0}]", ok, ""},
		{"icmp: [{family: IPv4, type: 8}]", "icmp: [{family: IPv4, type: 0b1000}]", bad, ""},
		{"icmp: [{family: IPv4, type: 8}]", "icmp: [{family: IPv4, type: 8.5}]", bad, ""},
		// What yaml.v3 reads as a number or a timestamp and YAML 1.2 as a string is a string to both.
		{"- name: lab", "- name: 2001-12-14", ok, ""},
		{"{name: cp1,", "{name: 0b1010,", ok, ""},
		{"{name: cp1,", "{name: 1_0,", bad, ""},
		{"{name: s, namespace: default,", "{name: 0x1a, namespace: default,", bad, ""},
		{"hetzner: {adminSources: [192.0.2.9]}", "hetzner: {adminSources: [192.0.2.9], template: 6_443}", ok, ""},
		// Names, by the rules of Kubernetes and of Robot.
		{"- name: lab", "- name: Lab", bad, ""},
		{"- name: lab", "- name: lab_1", bad, ""},
		{"- name: lab", "- name: lab.x", bad, ""},
		{"- name: lab", "- name: -lab", bad, ""},
		{"- name: lab", "- name: " + strings.Repeat("a", 63), ok, ""},
		{"- name: lab", "- name: " + strings.Repeat("a", 64), bad, ""},
		{"    nodes:\n", "    domain: lab.example\n    nodes:\n", ok, ""},
		{"    nodes:\n", "    domain: Lab.example\n    nodes:\n", bad, ""},
		{"    nodes:\n", "    domain: ''\n    nodes:\n", bad, ""},
		{"{name: cp1,", "{name: cp1.lab.example,", ok, ""},
		{"{name: cp1,", "{name: cp1..lab,", bad, ""},
		{"{name: cp1,", "{name: CP1,", bad, ""},
		{"{name: cp1,", "{name: " + strings.Repeat("a.", 127) + "a,", bad, ""},
		{"labels: {zone: a}", "labels: {Zone_1.x: A-b_c.D, example.com/zone: '', k: ''}", ok, ""},
		{"labels: {zone: a}", "labels: {Example.com/zone: a}", bad, ""},
		{"labels: {zone: a}", "labels: {/zone: a}", bad, ""},
		{"labels: {zone: a}", "labels: {a/b/c: a}", bad, ""},
		{"labels: {zone: a}", "labels: {_zone: a}", bad, ""},
		{"labels: {zone: a}", "labels: {" + strings.Repeat("z", 63) + ": a}", ok, ""},
		{"labels: {zone: a}", "labels: {" + strings.Repeat("z", 64) + ": a}", bad, ""},
		{"labels: {zone: a}", "labels: {" + strings.Repeat("a.", 126) + "a/zone: a}", ok, ""},
		{"labels: {zone: a}", "labels: {" + strings.Repeat("a.", 127) + "a/zone: a}", bad, ""},
		{"labels: {zone: a}", "labels: {zone: a b}", bad, ""},
		{"labels: {zone: a}", "labels: {zone: -a}", bad, ""},
		{"labels: {zone: a}", "labels: {zone: " + strings.Repeat("a", 64) + "}", bad, ""},
		{"nodes: {role: control-plane}", "nodes: {labels: {zone: a_}}", bad, ""},
		{"nodes: {role: control-plane}", "nodes: {labels: {zone: a}}", ok, ""},
		{"{entities: [world], ports: [6443/tcp]}", "{endpoints: [{app: web}]}", ok, ""},
		{"{entities: [world], ports: [6443/tcp]}", "{endpoints: [{app: web!}]}", bad, ""},
		{"{entities: [world], ports: [6443/tcp]}", "{endpoints: [{a pp: web}]}", bad, ""},
		{"- name: cp\n", "- name: cp.x\n", ok, ""},
		{"- name: cp\n", "- name: kustomization\n", bad, ""},
		{"- name: cp\n", "- name: CP\n", bad, ""},
		{"{name: s, namespace: default,", "{name: s.x, namespace: default,", ok, ""},
		{"{name: s, namespace: default,", "{name: S, namespace: default,", bad, ""},
		{"{name: s, namespace: default,", "{name: s, namespace: Default,", bad, ""},
		{"{name: s, namespace: default,", "{name: s, namespace: a.b,", bad, ""},
		{"{name: s, namespace: default,", "{name: " + strings.Repeat("s", 250) + ", namespace: default,", ok, ""},
		{"{name: s, namespace: default,", "{name: " + strings.Repeat("s", 251) + ", namespace: default,", bad, ""},
		{"data: {k: {env: K}}", "data: {.k_-1: {env: K}}", ok, ""},
		{"data: {k: {env: K}}", "data: {..k: {env: K}}", bad, ""},
		{"data: {k: {env: K}}", "data: {'.': {env: K}}", bad, ""},
		{"data: {k: {env: K}}", "data: {'a b': {env: K}}", bad, ""},
		{"data: {k: {env: K}}", "data: {k: {env: _K1}}", ok, ""},
		{"data: {k: {env: K}}", "data: {k: {env: 1K}}", bad, ""},
		{"data: {k: {env: K}}", "data: {k: {env: K-1}}", bad, ""},
		{"data: {k: {env: K}}", "data: {k: {env: K, file: ''}}", ok, ""},
		{"data: {k: {env: K}}", "data: {k: {env: '', file: f}}", ok, ""},
		{"data: {k: {env: K}}", "data: {k: {file: ''}}", bad, ""},
		{"data: {k: {env: K}}", "data: {k: {file: /etc/f}}", bad, ""},
		{"data: {k: {env: K}}", "data: {k: {file: ~/f}}", bad, ""},
		{"{name: s, namespace: default,", "{name: s, namespace: default, type: example.com/mine,", ok, ""},
		{"{name: s, namespace: default,", "{name: s, namespace: default, type: bootstrap.kubernetes.io/mine,", ok, ""},
		{"{name: s, namespace: default, data: {k: {env: K}}}", "{name: s, namespace: default, type: kubernetes.io/basic-auth, data: {username: {env: U}}}", ok, ""},
		{"{name: s, namespace: default,", "{name: s, namespace: default, type: kubernetes.io/tls,", bad, "the keys a type needs are another field's"},
		{"{name: s, namespace: default,", "{name: s, namespace: default, type: kubernetes.io/mine,", bad, ""},
		{"{name: s, namespace: default,", "{name: s, namespace: default, type: kubernetes.io/service-account-token,", bad, ""},
		{"{name: s, namespace: default,", "{name: s, namespace: default, type: mine,", bad, ""},
		{"{name: s, namespace: default,", "{name: s, namespace: default, type: Example.com/mine,", bad, ""},
		{"type: 8}", "type: ''}", bad, ""},
		// Forms: Robot's ports and TCP flags, age recipients.
		{"    hetzner: {adminSources: [192.0.2.9]}", "    hetzner: {adminSources: [192.0.2.9], discard: ['6443', 50000-50001, 53/UDP, 22/tcp]}", ok, ""},
		{"    hetzner: {adminSources: [192.0.2.9]}", "    hetzner: {adminSources: [192.0.2.9], discard: [6443/icmp]}", bad, ""},
		{"    hetzner: {adminSources: [192.0.2.9]}", "    hetzner: {adminSources: [192.0.2.9], discard: [x]}", bad, ""},
		{"    hetzner: {adminSources: [192.0.2.9]}", "    hetzner: {adminSources: [192.0.2.9], discard: ['70000']}", bad, "a port number out of range takes arithmetic"},
		{"    hetzner: {adminSources: [192.0.2.9]}", "    hetzner: {adminSources: [192.0.2.9], rules: [{name: a, action: accept, ipVersion: ipv4, protocol: tcp, srcPort: '80', dstPort: 1000-2000, tcpFlags: syn|ack}]}", ok, ""},
		{"    hetzner: {adminSources: [192.0.2.9]}", "    hetzner: {adminSources: [192.0.2.9], rules: [{name: a, action: accept, ipVersion: ipv4, protocol: tcp, tcpFlags: syn&ack&fin}]}", ok, ""},
		{"    hetzner: {adminSources: [192.0.2.9]}", "    hetzner: {adminSources: [192.0.2.9], rules: [{name: a, action: accept, ipVersion: ipv4, protocol: tcp, srcPort: ''}]}", bad, ""},
		{"    hetzner: {adminSources: [192.0.2.9]}", "    hetzner: {adminSources: [192.0.2.9], rules: [{name: a, action: accept, ipVersion: ipv4, protocol: tcp, dstPort: ''}]}", bad, ""},
		{"    hetzner: {adminSources: [192.0.2.9]}", "    hetzner: {adminSources: [192.0.2.9], rules: [{name: a, action: accept, ipVersion: ipv4, protocol: tcp, tcpFlags: ''}]}", bad, ""},
		{"    hetzner: {adminSources: [192.0.2.9]}", "    hetzner: {adminSources: [192.0.2.9], rules: [{name: a, action: accept, ipVersion: ipv4, protocol: tcp, srcPort: x}]}", bad, ""},
		{"    hetzner: {adminSources: [192.0.2.9]}", "    hetzner: {adminSources: [192.0.2.9], rules: [{name: a, action: accept, ipVersion: ipv4, protocol: tcp, tcpFlags: syn|ack&fin}]}", bad, ""},
		{"    hetzner: {adminSources: [192.0.2.9]}", "    hetzner: {adminSources: [192.0.2.9], rules: [{name: a, action: accept, ipVersion: ipv4, protocol: tcp, tcpFlags: SYN}]}", bad, ""},
		{"ageRecipients: [", "ageRecipients: [bogus, ", bad, ""},
		{"ageRecipients: [", "ageRecipients: [" + strings.ToUpper(recipient) + ", ", bad, ""},
		{"ageRecipients: [", "ageRecipients: [" + strings.TrimSuffix(recipient, recipient[len(recipient)-1:]) + "q, ", bad, "a checksum takes arithmetic"},
		{"    nodes:\n", "    ageRecipients: [" + recipient + "x]\n    nodes:\n", bad, ""},
		{"  flux: {interval: 10m}", "  flux: {interval: 10m, namespace: flux, gitRepository: flux.repo}", ok, ""},
		{"  flux: {interval: 10m}", "  flux: {interval: 10m, namespace: flux.x}", bad, ""},
		{"  flux: {interval: 10m}", "  flux: {interval: 10m, gitRepository: Flux}", bad, ""},
		{"    flux: {timeout: 5m}", "    flux: {timeout: 5m, namespace: Flux}", bad, ""},
		{"cilium: {version: 1.16.5,", "cilium: {version: 1.16.5, namespace: cilium_1,", bad, ""},
		{"hetzner: {adminSources: [192.0.2.9]}", "hetzner: {adminSources: [192.0.2.9], template: 'lab 1.x-+_@'}", ok, ""},
		{"hetzner: {adminSources: [192.0.2.9]}", "hetzner: {adminSources: [192.0.2.9], template: lab/1}", bad, ""},
		{"hetzner: {adminSources: [192.0.2.9]}", "hetzner: {adminSources: [192.0.2.9], rules: [{name: a/b, action: accept}]}", bad, ""},
	}
	for _, c := range cases {
		text := agreeBase
		if c.old != "" {
			if !strings.Contains(text, c.old) {
				t.Fatalf("%q is not in the base spec", c.old)
			}
			text = strings.Replace(text, c.old, c.new, 1)
		}
		_, loadErr := Load("spec.yaml", []byte(text), Options{})
		schemaErr := schemaVerdict(t, s, text)
		wantSchema := c.valid || c.lenient != ""
		if (loadErr == nil) != c.valid || (schemaErr == nil) != wantSchema {
			t.Errorf("%s: want loader valid=%v, schema valid=%v\nloader: %v\nschema: %v", c.new, c.valid, wantSchema, loadErr, schemaErr)
		}
	}
}

// The example spec and every golden case's spec load, and so the schema takes them too.
func TestSchemaTakesTheExamples(t *testing.T) {
	s := schemaValidator(t)
	files, _ := filepath.Glob("../render/testdata/golden/*/cluster-spec.yaml")
	files = append(files, "../../cluster-spec.yaml")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		templates := filepath.Join(filepath.Dir(f), "templates")
		if _, err := os.Stat(templates); err != nil {
			templates = ""
		}
		if _, err := Load(f, data, Options{Templates: templates}); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if err := schemaVerdict(t, s, string(data)); err != nil {
			t.Errorf("%s: the schema refuses what the loader takes: %v", f, err)
		}
	}
}

// The schema's name patterns (with their lengths) take exactly what the loader's rules take: Kubernetes' validation
// functions and the loader's own expressions, over every string of a few characters from an alphabet of the kinds
// that matter, and strings around each length limit.
func TestNamePatternsAreTheLoadersRules(t *testing.T) {
	ok := func(errs []string) bool { return len(errs) == 0 }
	keyRE, prefixRE := regexp.MustCompile(labelKeyPattern), regexp.MustCompile(labelKeyPrefixPattern)
	labelKey := func(s string) bool { return keyRE.MatchString(s) && prefixRE.MatchString(s) }
	rules := []struct {
		name    string
		pattern string
		max     int
		loader  func(string) bool
	}{
		{"DNS label", dnsLabelPattern, 63, func(s string) bool { return ok(validation.IsDNS1123Label(s)) }},
		{"DNS subdomain", dnsSubdomainPattern, 253, func(s string) bool { return ok(validation.IsDNS1123Subdomain(s)) }},
		{"label value", labelValuePattern, 63, func(s string) bool { return ok(validation.IsValidLabelValue(s)) }},
		{"Secret key", secretKeyPattern, 253, func(s string) bool { return ok(validation.IsConfigMapKey(s)) }},
	}
	alphabet := []string{"a", "Z", "0", "-", ".", "_", "/", " "}
	var corpus []string
	var grow func(prefix string, n int)
	grow = func(prefix string, n int) {
		corpus = append(corpus, prefix)
		if n > 0 {
			for _, c := range alphabet {
				grow(prefix+c, n-1)
			}
		}
	}
	grow("", 5)
	for _, n := range []int{62, 63, 64, 249, 250, 251, 252, 253, 254, 255, 317, 318} {
		corpus = append(corpus, strings.Repeat("a", n), strings.Repeat("a", n-2)+".a", strings.Repeat("a.", n/2)+"a"[:n%2],
			strings.Repeat("a", n)+"/a", "a/"+strings.Repeat("a", n), strings.Repeat("a.", n/2)+"/"+strings.Repeat("b", 63))
	}
	for _, r := range rules {
		re := regexp.MustCompile(r.pattern)
		for _, s := range corpus {
			if schema := re.MatchString(s) && len(s) <= r.max; schema != r.loader(s) {
				t.Errorf("%s %q: the schema takes it: %v, the loader: %v", r.name, s, schema, r.loader(s))
			}
		}
	}
	for _, s := range corpus {
		if labelKey(s) != ok(validation.IsQualifiedName(s)) {
			t.Errorf("label key %q: the schema takes it: %v, the loader: %v", s, labelKey(s), !labelKey(s))
		}
	}
}
