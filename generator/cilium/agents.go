package cilium

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/Masterminds/semver/v3"

	"github.com/kronform/kronform-gen/generator/spec"
)

// The agents read cilium-config, which the chart writes from the values, only when they start. Which values they
// read, and the cluster as a HelmRelease's values configure them, are what judging a change between Flux's two
// steps needs.

// notAgentValues are the value subtrees the chart renders only into workloads other than the agents: the operator,
// Hubble Relay and UI, the clustermesh API server, the certificate jobs, and the cluster domain the relay and the
// old etcd operator read. Checked in the chart templates of 1.13.4, 1.14.0, 1.15.6, 1.15.19, 1.16.0 and 1.20.2:
// none reaches templates/cilium-agent/ or templates/cilium-configmap.yaml, but operator.* (options only the
// operator reads: identity-gc-interval, operator-prometheus-serve-addr, ...) and
// clustermesh.apiserver.kvstoremesh.enabled (which the agent DaemonSet reads, see agentValueExceptions).
var notAgentValues = []string{
	"certgen",
	"clustermesh.apiserver",
	"etcd.clusterDomain",
	"hubble.peerService.clusterDomain",
	"hubble.relay",
	"hubble.ui",
	"operator",
}

// agentValueExceptions are keys under notAgentValues that the agents do read.
var agentValueExceptions = []string{"clustermesh.apiserver.kvstoremesh"}

// ReachesAgents says whether a change of the value at a dotted key (or of the subtree under it) can change what the
// agents run: false only for keys inside notAgentValues. A key above one of them (hubble) holds agent values too.
func ReachesAgents(key string) bool {
	under := func(prefixes []string) bool {
		return slices.ContainsFunc(prefixes, func(p string) bool { return key == p || strings.HasPrefix(key, p+".") })
	}
	above := func(prefixes []string) bool {
		return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(p, key+".") })
	}
	return !under(notAgentValues) || under(agentValueExceptions) || above(agentValueExceptions)
}

// RollsOutAgents says whether values make the chart restart the agents whenever cilium-config changes
// (rollOutCiliumPods: the config's checksum as an annotation of the agents' pods).
func RollsOutAgents(values map[string]any) bool { return values["rollOutCiliumPods"] == true }

// NewChart says whether a HelmRelease whose chart version changes from old to new certainly installs another chart
// than the one running, which restarts the agents (a new image). A version is looked up as source-controller does:
// the exact string first, then as a semver constraint, so v1.16.0 is 1.16.0, and a range may name the release running
// now (1.16.5 -> ~1.16.0 while 1.16.5 is the newest): only versions no release can satisfy both of are certainly
// another chart. An exact version names that release alone, which the other side's constraint admits or not (a
// pre-release only where that constraint names one, as Masterminds/semver checks it). Two ranges are compared on the
// releases Cilium makes; where either names a pre-release they may meet on one, and are not known to differ. Strings
// that parse as neither are not known to differ.
func NewChart(old, new string) bool {
	if old == new {
		return false
	}
	ov, oErr := semver.StrictNewVersion(strings.TrimPrefix(old, "v"))
	nv, nErr := semver.StrictNewVersion(strings.TrimPrefix(new, "v"))
	if oErr == nil && nErr == nil {
		return !ov.Equal(nv)
	}
	oc, oErr := semver.NewConstraint(old)
	nc, nErr := semver.NewConstraint(new)
	switch {
	case oErr != nil || nErr != nil:
		return false
	case ov != nil:
		return !nc.Check(ov)
	case nv != nil:
		return !oc.Check(nv)
	case strings.Contains(hyphenRange.ReplaceAllString(old+" "+new, " "), "-"):
		return false
	}
	for minor := uint64(0); minor <= 60; minor++ {
		for patch := uint64(0); patch <= 60; patch++ {
			if v := semver.New(1, minor, patch, "", ""); oc.Check(v) && nc.Check(v) {
				return false
			}
		}
	}
	return true
}

// hyphenRange is the separator of a range written 1.16.0 - 1.16.9 (whitespace on both sides, as Masterminds/semver
// requires): the one hyphen that names no pre-release.
var hyphenRange = regexp.MustCompile(`\s+-\s+`)

// PinsAgentImage says whether values name the agents' image themselves (image.override, image.tag or image.digest)
// rather than leave it to the chart, whose default is its own release's image: a new chart version then need not
// change the agents' pods, and so need not restart them.
func PinsAgentImage(values map[string]any) bool {
	image, _ := values["image"].(map[string]any)
	for _, k := range []string{"override", "tag", "digest"} {
		if v, set := image[k]; set && v != nil && v != "" {
			return true
		}
	}
	return false
}

// ValueAt is the value at a dotted key of Helm values (hostFirewall.enabled), and whether it is set.
func ValueAt(values map[string]any, key string) (any, bool) {
	var v any = values
	for _, k := range strings.Split(key, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// SettingsKeys are the dotted keys of a release's values that judging the agents' settings reads, for its chart
// version: those AsReleased reads back (audit mode, host firewall, encryption, Hubble Relay) and those the firewall
// simulator reads through OverlayOf (tunnel before 1.14; routingMode and tunnelProtocol from 1.14; tunnelPort) and
// FamiliesOf (ipv4.enabled, ipv6.enabled). No other value changes what a check of a state finds: devices, ports
// other than the tunnel's and the like are not modelled. Sorted.
func SettingsKeys(chart string) []string {
	keys := []string{"encryption.enabled", "encryption.type", "hostFirewall.enabled", "hubble.relay.enabled", "ipv4.enabled",
		"ipv6.enabled", "policyAuditMode", "tunnelPort"}
	if spec.CiliumTunnelKeys(chart) {
		keys = append(keys, "routingMode", "tunnelProtocol")
	} else {
		keys = append(keys, "tunnel")
	}
	slices.Sort(keys)
	return keys
}

// AsReleased is cluster c with the Cilium settings a HelmRelease kronform-gen wrote carries, read back from its chart
// version and values, in place of the spec's: what the agents run until they restart. The values stand whole (they
// merge last in HelmValues, so they win over every setting the spec's fields write); the fields the firewall
// simulator reads (audit mode, host firewall, encryption, Hubble Relay) are read back from them. Numbers must be
// whole numbers as int, as the spec loader gives them.
func AsReleased(c spec.Cluster, chart string, values map[string]any) spec.Cluster {
	get := func(key string) any {
		v, _ := ValueAt(values, key)
		return v
	}
	cl := c.Cilium
	cl.Version = chart
	cl.Values = values
	cl.AuditMode = agentFlag(get("policyAuditMode"))
	hostFirewall := agentFlag(get("hostFirewall.enabled"))
	cl.HostFirewall = &hostFirewall
	cl.Encryption = spec.DefaultEncryption
	if t, ok := get("encryption.type").(string); ok && agentFlag(get("encryption.enabled")) {
		cl.Encryption = t
	}
	// The chart deploys Hubble Relay where its {{ if }} takes the value as true.
	cl.Hubble.Relay, _ = template.IsTrue(get("hubble.relay.enabled"))
	c.Cilium = cl
	return c
}

// agentFlag is a boolean value as the agents get it: the chart writes policyAuditMode, hostFirewall.enabled and
// encryption.enabled into cilium-config with quote, and the agent parses that string as strconv.ParseBool does
// (anything else is off). A release of the user's may say "true" or 1 where kronform-gen writes true.
func agentFlag(v any) bool {
	if v == nil {
		return false
	}
	on, err := strconv.ParseBool(fmt.Sprint(v))
	return err == nil && on
}
