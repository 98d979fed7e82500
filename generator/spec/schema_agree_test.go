package spec

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
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
      - {from: admin, to: cp1, port: 6443/tcp, expect: allowed}
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

// schemaVerdict validates a spec's YAML against the schema as an editor would: the YAML read as JSON.
func schemaVerdict(t *testing.T, s *jsonschema.Schema, text string) error {
	t.Helper()
	var x any
	if err := yaml.Unmarshal([]byte(text), &x); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return s.Validate(inst)
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
		{"addresses: [192.0.2.10]", "addresses: null", ok, ""},
		{"labels: {zone: a}", "labels: null", ok, ""},
		{"labels: {zone: a}", "labels: {zone: null}", ok, ""},
		{"roles: [control-plane]", "roles: null", bad, ""},
		{"    secrets:\n      - {name: s, namespace: default, data: {k: {env: K}}}", "    secrets: null", ok, ""},
		{"    secrets:\n      - {name: s, namespace: default, data: {k: {env: K}}}", "    secrets: [null]", bad, ""},
		{"{name: s, namespace: default,", "{name: s, namespace: default, type: null,", ok, ""},
		{"    assertions:\n      - {from: admin, to: cp1, port: 6443/tcp, expect: allowed}", "    assertions: null", ok, ""},
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
		{"icmp: [{family: IPv4, type: 8}]", "icmp: [{family: null, type: 8}]", ok, ""},
		{"icmp: [{family: IPv4, type: 8}]", "icmp: null, ports: [53/udp]", ok, ""},
		// An ICMP entry needs its type.
		{"icmp: [{family: IPv4, type: 8}]", "icmp: [{family: IPv4}]", bad, ""},
		{"icmp: [{family: IPv4, type: 8}]", "icmp: [{type: null}]", bad, ""},
		{"icmp: [{family: IPv4, type: 8}]", "icmp: [null]", bad, ""},
		{"icmp: [{family: IPv4, type: 8}]", "icmp: [{type: 300}]", bad, ""},
		{"icmp: [{family: IPv4, type: 8}]", "icmp: [{type: EchoRequest}]", bad, ""},
		// The path is per cluster.
		{"  flux: {interval: 10m}", "  flux: {interval: 10m, path: clusters/x}", bad, ""},
		{"    flux: {timeout: 5m}", "    flux: {timeout: 5m, path: clusters/x}", ok, ""},
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
		{"{entities: [world], ports: [6443/tcp]}", "{entities: [], ports: [6443/tcp]}", ok, ""},
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
		{"nodes: {role: control-plane}", "nodes: {role: \"\"}", bad, ""},
		{"icmp: [{family: IPv4, type: 8}]", "icmp: [{family: \"\", type: 8}]", bad, ""},
		{"    hetzner: {adminSources: [192.0.2.9]}", "    hetzner: {adminSources: [192.0.2.9], rules: [{name: a, action: accept, ipVersion: \"\"}]}", bad, ""},
		{"    hetzner: {adminSources: [192.0.2.9]}", "    hetzner: {adminSources: [192.0.2.9], rules: [{name: a, action: accept, ipVersion: ipv4, protocol: \"\"}]}", bad, ""},
		// YAML's true in any of its spellings is true to both.
		{"hubble: {relay: true}", "hubble: {relay: True, ui: TRUE}", ok, ""},
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
