package spec

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const firewallBase = `apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: fw
    apiServer: {host: api.example.com}
    nodes:
      - {name: n1, addresses: [159.69.60.182], roles: [control-plane]}
    cilium: {version: 1.16.5}
`

// problemsOf loads firewallBase plus yaml, with each pair of replace (old, new) applied to firewallBase first.
func problemsOf(t *testing.T, yaml string, replace ...string) []string {
	t.Helper()
	_, err := Load("fw.yaml", []byte(strings.NewReplacer(replace...).Replace(firewallBase)+yaml), Options{})
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want problems, got %v", err)
	}
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

func TestHetznerValidation(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"admin sources and discards", `    hetzner:
      template: "kronform/prod"
      adminSources: [89.23.224.44/24, nowhere]
      discard: ["500001", 6443/icmp]
`, []string{
			`fw.yaml:10:17: clusters[0].hetzner.template: "kronform/prod" is not a Robot template name (letters, digits, space and . - + _ @)`,
			`fw.yaml:11:22: clusters[0].hetzner.adminSources[0]: 89.23.224.44/24 has host bits set; write 89.23.224.0/24`,
			`fw.yaml:11:39: clusters[0].hetzner.adminSources[1]: "nowhere" is neither an address nor a CIDR`,
			`fw.yaml:12:17: clusters[0].hetzner.discard[0]: "500001": port 500001 is out of range 1-65535 (write N or N-M)`,
			`fw.yaml:12:27: clusters[0].hetzner.discard[1]: "6443/icmp": the protocol of a discarded port is tcp or udp`,
		}},
		{"ports in the range policy ports have", `    hetzner:
      adminSources: [89.23.224.44/32]
      discard: ["50000-500001", "0-1023/tcp", "x"]
`, []string{
			`fw.yaml:11:17: clusters[0].hetzner.discard[0]: "50000-500001": port 500001 is out of range 1-65535 (write N or N-M)`,
			`fw.yaml:11:33: clusters[0].hetzner.discard[1]: "0-1023/tcp": port 0 is out of range 1-65535 (write N or N-M)`,
			`fw.yaml:11:47: clusters[0].hetzner.discard[2]: "x": "x" is not a port number (write N or N-M)`,
		}},
		{"no admin source", `    hetzner: {template: x}
`, []string{
			`fw.yaml:9:14: clusters[0].hetzner.adminSources: the escape hatch needs at least one admin source (list the addresses you connect from, e.g. [203.0.113.7/32])`,
		}},
		{"custom rules", `    hetzner:
      adminSources: [89.23.224.44]
      discard: ["6443"]
      rules:
        - {name: "admin/home", srcIP: 89.23.224.44, action: accept}
        - {name: v6, ipVersion: ipv6, srcIP: 10.0.0.0/8, dstPort: 80-70, protocol: icmp, action: allow}
        - {name: flags, ipVersion: ipv4, protocol: udp, tcpFlags: "syn|ack&fin", action: discard}
`, []string{
			`fw.yaml:11:16: clusters[0].hetzner.discard: rules replaces the generated template, so discard would be ignored (drop discard, or drop rules to get the generated template)`,
			`fw.yaml:13:18: clusters[0].hetzner.rules[0].name: "admin/home" is not a Robot rule name (letters, digits, space and . - + _ @)`,
			`fw.yaml:13:39: clusters[0].hetzner.rules[0].srcIP: Robot accepts srcIP only in a rule with an ip_version (set ipVersion: ipv4 or ipv6)`,
			`fw.yaml:14:46: clusters[0].hetzner.rules[1].srcIP: 10.0.0.0/8 is not an ipv6 address`,
			`fw.yaml:14:67: clusters[0].hetzner.rules[1].dstPort: "80-70": range 80-70 ends below its start`,
			`fw.yaml:14:67: clusters[0].hetzner.rules[1].dstPort: protocol icmp has no ports (drop the port, or use tcp or udp)`,
			`fw.yaml:14:98: clusters[0].hetzner.rules[1].action: unknown action "allow" (accept or discard)`,
			`fw.yaml:15:67: clusters[0].hetzner.rules[2].tcpFlags: "syn|ack&fin" mixes | and &`,
			`fw.yaml:15:67: clusters[0].hetzner.rules[2].tcpFlags: TCP flags need protocol tcp (set protocol: tcp (and an ipVersion))`,
		}},
		{"assertions", `    hetzner: {adminSources: [89.23.224.44]}
    assertions:
      - {from: cluster, to: n2, port: "6443", expect: blocked}
      - {from: "159.69.60.182", to: worker, port: icmp:300, expect: denied}
      - {from: "pod:", to: "node:n1", port: 80-81/tcp, expect: allowed}
`, []string{
			`fw.yaml:11:16: clusters[0].assertions[0].from: "cluster": entity cluster is a group of senders, not one; name a member such as remote-node or kube-apiserver`,
			`fw.yaml:11:29: clusters[0].assertions[0].to: "n2" is neither a node nor a role of the cluster`,
			`fw.yaml:11:39: clusters[0].assertions[0].port: "6443" has no protocol; write 6443/tcp or 6443/udp`,
			`fw.yaml:11:55: clusters[0].assertions[0].expect: unknown verdict "blocked" (allowed or denied)`,
			`fw.yaml:12:37: clusters[0].assertions[1].to: no node has the role worker`,
			`fw.yaml:12:51: clusters[0].assertions[1].port: "icmp:300": write icmp or icmp:TYPE with TYPE 0-255 or an IPv4 ICMP type name as Cilium spells it (EchoRequest)`,
			`fw.yaml:13:16: clusters[0].assertions[2].from: "pod:": name at least one label: pod:KEY=VALUE`,
			`fw.yaml:13:45: clusters[0].assertions[2].port: "80-81/tcp": a flow goes to one port, not a range`,
		}},
		{"template names collide", `    hetzner: {adminSources: [89.23.224.44]}
  - name: b
    apiServer: {host: api.example.com}
    nodes: [{name: n1, addresses: [159.69.60.183], roles: [control-plane]}]
    cilium: {version: 1.16.5}
    hetzner: {template: fw-escape-hatch, adminSources: [89.23.224.44]}
  - name: c
    apiServer: {host: api.example.com}
    nodes: [{name: n1, addresses: [159.69.60.184], roles: [control-plane]}]
    cilium: {version: 1.16.5}
    hetzner: {template: fw-escape-hatch, adminSources: [89.23.224.45]}
`, []string{
			`fw.yaml:14:25: clusters[1].hetzner.template: Robot template "fw-escape-hatch" is also clusters[0]'s: uploading one cluster's would replace the other's rules, or leave the servers on the wrong one (give each cluster a template name of its own)`,
			`fw.yaml:19:25: clusters[2].hetzner.template: Robot template "fw-escape-hatch" is also clusters[0]'s: uploading one cluster's would replace the other's rules, or leave the servers on the wrong one (give each cluster a template name of its own)`,
		}},
		{"admin without hetzner", `    assertions:
      - {from: admin, to: n1, port: 6443/tcp, expect: allowed}
`, []string{
			`fw.yaml:10:16: clusters[0].assertions[0].from: admin means hetzner.adminSources, and the cluster has none`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, problemsOf(t, tc.yaml)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFlowGrammar(t *testing.T) {
	m, err := Load("fw.yaml", []byte(firewallBase+`    hetzner: {adminSources: [89.23.224.44]}
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := m.Clusters[0]
	if c.Hetzner.Template != "fw-escape-hatch" || strings.Join(c.Hetzner.Discard, " ") != "6443 50000-50001" {
		t.Fatalf("hetzner defaults: %+v", c.Hetzner)
	}
	for _, tc := range []struct{ in, kind, detail string }{
		{"admin", SourceAdmin, ""},
		{"world", SourceWorld, ""},
		{"entity:world", SourceWorld, ""},
		{"10.0.0.0/8", SourceAddress, "10.0.0.0/8"},
		{"2001:db8::7", SourceAddress, "2001:db8::7/128"},
		{"159.69.60.182", SourceNode, "n1 159.69.60.182/32"}, // a node's address is the node, never world, sending from it
		{"kube-apiserver", SourceEntity, "kube-apiserver"},
		{"entity:remote-node", SourceEntity, "remote-node"},
		{"n1", SourceNode, "n1"},
		{"role:control-plane", SourceNode, "n1"},
		{"pod:k8s-app=hubble-relay,tier=x", SourcePod, "k8s-app=hubble-relay tier=x"},
	} {
		src, err := ParseFlowSource(c, tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		detail := src.Entity + strings.Join(src.Nodes, " ")
		if src.Prefix.IsValid() {
			detail = strings.TrimPrefix(detail+" "+src.Prefix.String(), " ")
		}
		if src.Labels != nil {
			detail = "k8s-app=" + src.Labels["k8s-app"] + " tier=" + src.Labels["tier"]
		}
		if src.Kind != tc.kind || detail != tc.detail {
			t.Errorf("%s: got %s %q, want %s %q", tc.in, src.Kind, detail, tc.kind, tc.detail)
		}
	}
	for in, want := range map[string]FlowPort{
		"6443/tcp":   {Protocol: "tcp", Port: 6443},
		"8472/UDP":   {Protocol: "udp", Port: 8472},
		"icmp":       {Protocol: "icmp", Family: "IPv4", ICMPType: 8},
		"icmpv6":     {Protocol: "icmp", Family: "IPv6", ICMPType: 128},
		"icmp:0":     {Protocol: "icmp", Family: "IPv4", ICMPType: 0},
		"icmpv6:135": {Protocol: "icmp", Family: "IPv6", ICMPType: 135},
		// Cilium's names, as a rule's icmp entries take them, in the family the prefix says.
		"icmp:EchoReply":              {Protocol: "icmp", Family: "IPv4", ICMPType: 0},
		"ICMP:TimeExceeded":           {Protocol: "icmp", Family: "IPv4", ICMPType: 11},
		"icmpv6:NeighborSolicitation": {Protocol: "icmp", Family: "IPv6", ICMPType: 135},
		"icmpv6:EchoRequest":          {Protocol: "icmp", Family: "IPv6", ICMPType: 128},
	} {
		got, err := ParseFlowPort(in)
		if err != nil || got != want {
			t.Errorf("%s: got %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"icmp:PacketTooBig": `"icmp:PacketTooBig": PacketTooBig is not an IPv4 ICMP type name (it is an IPv6 one: write icmpv6:PacketTooBig)`,
		"icmpv6:Echo":       `"icmpv6:Echo": Echo is not an IPv6 ICMP type name (it is an IPv4 one: write icmp:Echo)`,
		"icmp:echorequest":  `"icmp:echorequest": write icmp or icmp:TYPE with TYPE 0-255 or an IPv4 ICMP type name as Cilium spells it (EchoRequest)`,
		"icmpv6:300":        `"icmpv6:300": write icmpv6 or icmpv6:TYPE with TYPE 0-255 or an IPv6 ICMP type name as Cilium spells it (EchoRequest)`,
	} {
		if _, err := ParseFlowPort(in); err == nil || err.Error() != want {
			t.Errorf("%s: got %v, want %s", in, err, want)
		}
	}
}

// An ICMP entry without a type is refused, in the spec and in a preset: decoded as 0 it would allow echo replies
// only (Cilium requires the type too, and has no wildcard), while its writer meant ping or every ICMP type.
func TestICMPTypeIsRequired(t *testing.T) {
	hint := "write type: 8 (or EchoRequest) for ping, or family: IPv6 with type: 128; Cilium has no wildcard type: list each to allow"
	wantProblems(t, `    hostPolicies:
      - name: p
        nodes: {}
        ingress:
          - icmp: [{family: IPv4}, {family: IPv6, type: null}, null, {type: 0}]
`,
		`fw.yaml:13:20: clusters[0].hostPolicies[0].ingress[0].icmp[0].type: an ICMP type is required (`+hint+`)`,
		`fw.yaml:13:57: clusters[0].hostPolicies[0].ingress[0].icmp[1].type: an ICMP type is required (`+hint+`)`,
		`fw.yaml:13:64: clusters[0].hostPolicies[0].ingress[0].icmp[2].type: an ICMP type is required (`+hint+`)`,
	)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "presets"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "presets", "mine.yaml"), []byte("nodes: {}\ningress:\n  - icmp: [{family: IPv6}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load("fw.yaml", []byte(firewallBase+"    hostPolicies:\n      - {name: p, preset: mine}\n"), Options{Templates: dir})
	want := filepath.Join(dir, "presets", "mine.yaml") + `:3:12: ingress[0].icmp[0].type: an ICMP type is required (` + hint + `)`
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}

// An ICMP type written as an empty string is no type: it is refused, as the schema refuses it, rather than left as
// type 0 (echo replies), which its writer did not name.
func TestEmptyICMPTypeIsRefused(t *testing.T) {
	wantProblems(t, `    hostPolicies:
      - name: p
        nodes: {}
        ingress:
          - icmp: [{type: ''}, {family: IPv6, type: ""}]
`,
		`fw.yaml:13:27: clusters[0].hostPolicies[0].ingress[0].icmp[0].type: expected an ICMP type: a number 0-255, or a name such as EchoRequest, got the string ""`,
		`fw.yaml:13:53: clusters[0].hostPolicies[0].ingress[0].icmp[1].type: expected an ICMP type: a number 0-255, or a name such as EchoRequest, got the string ""`,
	)
}

// A Robot rule field written as the empty string is refused, as every empty value where leaving the field out means
// something: left out, srcIP and dstIP match every address, the ports every port and tcpFlags any flags, so an admin
// rule whose source came out empty would accept the whole internet.
func TestEmptyHetznerRuleFieldsAreRefused(t *testing.T) {
	wantProblems(t, `    hetzner:
      adminSources: [89.23.224.44]
      rules:
        - {name: admin, ipVersion: ipv4, srcIP: '', dstIP: "", action: accept}
        - {name: api, ipVersion: ipv4, protocol: tcp, srcPort: '', dstPort: '', tcpFlags: '', action: discard}
`,
		`fw.yaml:12:49: clusters[0].hetzner.rules[0].srcIP: an empty value is not allowed (leave it out for every source address)`,
		`fw.yaml:12:60: clusters[0].hetzner.rules[0].dstIP: an empty value is not allowed (leave it out for every destination address)`,
		`fw.yaml:13:64: clusters[0].hetzner.rules[1].srcPort: an empty value is not allowed (leave it out for every source port)`,
		`fw.yaml:13:77: clusters[0].hetzner.rules[1].dstPort: an empty value is not allowed (leave it out for every destination port)`,
		`fw.yaml:13:91: clusters[0].hetzner.rules[1].tcpFlags: an empty value is not allowed (leave it out for any flags)`,
	)
}

// An ICMP type may be Cilium's name for it, in the rule's family: the model holds its number, which is what the
// policies are written with (a chart before 1.16 takes no names), and a name and its number are one type.
func TestICMPTypeNames(t *testing.T) {
	m, err := Load("fw.yaml", []byte(firewallBase+`    hostPolicies:
      - name: p
        nodes: {}
        ingress:
          - icmp: [{type: EchoRequest}, {family: IPv6, type: EchoRequest}, {type: DestinationUnreachable}, {family: IPv6, type: PacketTooBig}, {type: 11}]
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ty := range m.Clusters[0].HostPolicies[0].Ingress[0].ICMP {
		got = append(got, ty.Family+" "+strconv.Itoa(ty.Type.Number))
	}
	if want := []string{" 8", "IPv6 128", " 3", "IPv6 2", " 11"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("types %q, want %q", got, want)
	}

	wantProblems(t, `    hostPolicies:
      - name: p
        nodes: {}
        ingress:
          - icmp: [{type: EchoRequest}, {type: 8}, {family: IPv6, type: Echo}, {type: PacketTooBig}, {type: Ping}, {type: {name: x}}, {type: true}, {type: 8.5}]
`,
		`fw.yaml:13:41: clusters[0].hostPolicies[0].ingress[0].icmp[1]: IPv4 type 8 is listed twice (first as icmp[0]) (remove the repeat)`,
		`fw.yaml:13:73: clusters[0].hostPolicies[0].ingress[0].icmp[2].type: "Echo" is not an IPv6 ICMP type name (it is an IPv4 name: write family: IPv4, or one of DestinationUnreachable, DuplicateAddressConfirmationCodeSuffix, DuplicateAddressRequestCodeSuffix, EchoReply, EchoRequest, ExtendedEchoReply, ExtendedEchoRequest, HomeAgentAddressDiscoveryReply, HomeAgentAddressDiscoveryRequest, ICMPNodeInformationQuery, ICMPNodeInformationResponse, InverseNeighborDiscoveryAdvertisement, InverseNeighborDiscoverySolicitation, MobilePrefixAdvertisement, MobilePrefixSolicitation, MulticastListenerDone, MulticastListenerQuery, MulticastListenerReport, NeighborAdvertisement, NeighborSolicitation, PacketTooBig, ParameterProblem, RedirectMessage, RouterAdvertisement, RouterRenumbering, RouterSolicitation, TimeExceeded, or the type's number)`,
		`fw.yaml:13:87: clusters[0].hostPolicies[0].ingress[0].icmp[3].type: "PacketTooBig" is not an IPv4 ICMP type name (it is an IPv6 name: write family: IPv6, or one of DestinationUnreachable, Echo, EchoReply, EchoRequest, ExtendedEchoReply, ExtendedEchoRequest, ParameterProblem, Photuris, Redirect, RouterAdvertisement, RouterSelection, TimeExceeded, Timestamp, TimestampReply, or the type's number)`,
		`fw.yaml:13:109: clusters[0].hostPolicies[0].ingress[0].icmp[4].type: "Ping" is not an IPv4 ICMP type name (one of DestinationUnreachable, Echo, EchoReply, EchoRequest, ExtendedEchoReply, ExtendedEchoRequest, ParameterProblem, Photuris, Redirect, RouterAdvertisement, RouterSelection, TimeExceeded, Timestamp, TimestampReply, or the type's number)`,
		`fw.yaml:13:123: clusters[0].hostPolicies[0].ingress[0].icmp[5].type: expected an ICMP type: a number 0-255, or a name such as EchoRequest, got a mapping`,
		`fw.yaml:13:142: clusters[0].hostPolicies[0].ingress[0].icmp[6].type: expected an ICMP type: a number 0-255, or a name such as EchoRequest, got true`,
		`fw.yaml:13:156: clusters[0].hostPolicies[0].ingress[0].icmp[7].type: expected an ICMP type: a number 0-255, or a name such as EchoRequest, got the number 8.5`,
	)
}

// Cilium's IPv6 table names the extended echo types too (RFC 8335: 160 and 161, pkg/policy/api/icmp.go), as its IPv4
// table does (42 and 43): in an IPv6 rule they are those numbers, not "an IPv4 name".
func TestICMPExtendedEchoIsBothFamilies(t *testing.T) {
	m, err := Load("fw.yaml", []byte(firewallBase+`    hostPolicies:
      - name: p
        nodes: {}
        ingress:
          - icmp: [{type: ExtendedEchoRequest}, {type: ExtendedEchoReply}, {family: IPv6, type: ExtendedEchoRequest}, {family: IPv6, type: ExtendedEchoReply}]
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ty := range m.Clusters[0].HostPolicies[0].Ingress[0].ICMP {
		got = append(got, ty.Family+" "+strconv.Itoa(ty.Type.Number))
	}
	if want := []string{" 42", " 43", "IPv6 160", "IPv6 161"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("types %q, want %q", got, want)
	}
}

// An empty peer list written out is refused: Cilium before 1.16 reads an empty fromEntities, fromEndpoints or
// fromCIDR as no peer field (any peer), and from 1.16 as no peer at all, while the compiler, which leaves the empty
// list out, made it any peer on the rule's ports, the whole internet included.
func TestEmptyPeerListIsRefused(t *testing.T) {
	got := problemsOf(t, `    hostPolicies:
      - name: p
        nodes: {}
        ingress:
          - {entities: [], ports: [6443/tcp]}
          - {endpoints: [], ports: [4244/tcp]}
          - {cidrs: [], ports: [50000/tcp]}
`)
	want := []string{
		`fw.yaml:13:24: clusters[0].hostPolicies[0].ingress[0].entities: an empty value is not allowed (Cilium reads an empty peer list as every peer before 1.16 and as none from 1.16: name the peers, or leave the field out for any peer)`,
		`fw.yaml:14:25: clusters[0].hostPolicies[0].ingress[1].endpoints: an empty value is not allowed (Cilium reads an empty peer list as every peer before 1.16 and as none from 1.16: name the peers, or leave the field out for any peer)`,
		`fw.yaml:15:21: clusters[0].hostPolicies[0].ingress[2].cidrs: an empty value is not allowed (Cilium reads an empty peer list as every peer before 1.16 and as none from 1.16: name the peers, or leave the field out for any peer)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
