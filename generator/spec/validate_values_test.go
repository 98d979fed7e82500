package spec

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRawValuesSayOnlyWhatIsModelled: raw values merge last, so a chart value a spec field writes is refused with
// the field to use, one that changes policy in a way the lock-out check does not model is refused unless it says the
// default, and the overlay keys must be ones this chart version reads.
func TestRawValuesSayOnlyWhatIsModelled(t *testing.T) {
	for _, tc := range []struct {
		name, version, values string
		want                  []string
	}{
		{"owned by spec fields", "1.16.5", `{policyAuditMode: false, hostFirewall: {enabled: false}, ipam: cluster-pool, hubble: {relay: {replicas: 2}, ui: null}, operator: {replicas: 1}}`, []string{
			`fw.yaml:10:33: clusters[0].cilium.values.policyAuditMode: sets policyAuditMode, which cilium.auditMode writes; the lock-out check and the audit-mode guard read cilium.auditMode, so values may not say otherwise (set cilium.auditMode instead)`,
			`fw.yaml:10:54: clusters[0].cilium.values.hostFirewall: sets hostFirewall, which cilium.hostFirewall writes; the lock-out check and the audit-mode guard read cilium.hostFirewall, so values may not say otherwise (set cilium.hostFirewall instead)`,
			`fw.yaml:10:78: clusters[0].cilium.values.ipam: replaces ipam.mode (values merge last), which cilium.ipam writes; the lock-out check and the audit-mode guard read cilium.ipam, so values may not say otherwise (set cilium.ipam instead)`,
			`fw.yaml:10:100: clusters[0].cilium.values.hubble.ui: replaces hubble.ui.enabled (values merge last), which cilium.hubble.ui writes; the lock-out check and the audit-mode guard read cilium.hubble.ui, so values may not say otherwise (set cilium.hubble.ui instead)`,
		}},
		{"not modelled", "1.16.5", `{policyEnforcementMode: always, policyCIDRMatchMode: [nodes], loadBalancer: {dsrDispatch: geneve}}`, []string{
			`fw.yaml:10:39: clusters[0].cilium.values.policyEnforcementMode: policyEnforcementMode always changes which endpoints Cilium enforces policy on; kronform-gen's lock-out check does not model it, so it cannot promise this spec keeps you in (remove it; host policies enforce on the nodes they select)`,
			`fw.yaml:10:68: clusters[0].cilium.values.policyCIDRMatchMode: policyCIDRMatchMode [nodes] lets CIDR peers match nodes, which by default they never do; kronform-gen's lock-out check does not model it, so it cannot promise this spec keeps you in (remove it; for node traffic use entities: [remote-node], [host] or [cluster])`,
			`fw.yaml:10:91: clusters[0].cilium.values.loadBalancer.dsrDispatch: loadBalancer.dsrDispatch geneve sends load-balanced traffic between nodes in a Geneve tunnel; kronform-gen's lock-out check does not model it, so it cannot promise this spec keeps you in (remove it, or use the default opt)`,
		}},
		// The tunnel's source ports cross the Robot firewall, which the checks judge for the kernel's own picks.
		{"tunnel source ports", "1.16.5", `{tunnelSourcePortRange: 1000-2000}`, []string{
			`fw.yaml:10:39: clusters[0].cilium.values.tunnelSourcePortRange: tunnelSourcePortRange 1000-2000 changes the source ports of the tunnel's packets, which the Robot firewall filters by; kronform-gen's lock-out check does not model it, so it cannot promise this spec keeps you in (remove it; the kernel then picks them, which the check models: VXLAN 32768-60998, Geneve 1-65534)`,
		}},
		{"defaults said out loud", "1.16.5", `{policyEnforcementMode: default, policyCIDRMatchMode: [], routingMode: tunnel, tunnelProtocol: geneve, tunnelPort: 6082, tunnelSourcePortRange: 0-0}`, nil},
		{"overlay keys of 1.14 and later", "~1.15.0", `{tunnel: disabled, routingMode: direct, tunnelProtocol: 6081, tunnelPort: 70000}`, []string{
			`fw.yaml:10:24: clusters[0].cilium.values.tunnel: 1.14 replaced tunnel with routingMode and tunnelProtocol (1.15 removed it); for Cilium ~1.15.0 kronform-gen reads those (write routingMode: native for no tunnel, or tunnelProtocol: vxlan or geneve)`,
			`fw.yaml:10:47: clusters[0].cilium.values.routingMode: routingMode direct is not a value the Cilium chart knows (one of "", "tunnel", "native")`,
			`fw.yaml:10:71: clusters[0].cilium.values.tunnelProtocol: tunnelProtocol 6081 is not a value the Cilium chart knows (one of "", "vxlan", "geneve")`,
			`fw.yaml:10:89: clusters[0].cilium.values.tunnelPort: tunnelPort 70000 is not a port number (a UDP port, or 0 for the protocol's own: 8472 VXLAN, 6081 Geneve)`,
		}},
		{"overlay keys before 1.14", "1.13.4", `{routingMode: native, tunnel: disabled}`, []string{
			`fw.yaml:10:29: clusters[0].cilium.values.routingMode: Cilium 1.13.4 has no routingMode value; it came with 1.14 (write tunnel: disabled for native routing, or tunnel: vxlan or geneve)`,
		}},
		// Which overlay keys a chart reads is not known without its version: only the version's problem is said.
		{"overlay keys of a version that did not decode", "[1.13.4]", `{tunnel: vxlan}`, []string{
			`fw.yaml:9:16: clusters[0].cilium.version: expected a string, got a list`,
		}},
		{"overlay keys of no version", "bogus", `{tunnel: vxlan}`, []string{
			`fw.yaml:9:16: clusters[0].cilium.version: "bogus" is neither a version nor a semver range: improper constraint: "bogus"`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := strings.Replace(firewallBase, "cilium: {version: 1.16.5}", "cilium:\n      version: "+tc.version+"\n      values: "+tc.values, 1)
			_, err := Load("fw.yaml", []byte(base), Options{})
			var got []string
			if ps, ok := err.(Problems); ok {
				for _, p := range ps {
					got = append(got, p.String())
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// A chart version with spaces around it resolves (semver trims them), but the HelmRelease would carry them as
// written: said, with the version to write.
func TestCiliumVersionWithSpacesAround(t *testing.T) {
	for _, version := range []string{`" 1.16.5"`, `"1.16.5 "`, `"~1.16.0\t"`} {
		base := strings.Replace(firewallBase, "cilium: {version: 1.16.5}", "cilium: {version: "+version+"}", 1)
		_, err := Load("fw.yaml", []byte(base), Options{})
		want := `clusters[0].cilium.version: ` + version + ` has spaces around it, which the HelmRelease would carry (write "`
		if err == nil || !strings.Contains(err.Error(), "fw.yaml:8:23: "+want) {
			t.Errorf("version %s: %v\nwant %q", version, err, want)
		}
	}
}
