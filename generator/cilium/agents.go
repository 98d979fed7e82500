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

// Agents says which Cilium release(s) a HelmRelease's agents run: the image the chart composes from its values
// (cilium.image in the chart's templates/_helpers.tpl, read in the sources of 1.15.6 and 1.20.2). image.override,
// when set, is the whole reference. Otherwise it is image.repository, then :image.tag, then @image.digest when
// image.useDigest is true. An empty tag is left out since cilium/cilium#34891 (1.20.2 does, 1.15.6 renders
// "repo:@...", which no runtime pulls): either way no release is read from it. The values in the source tree have
// digest "" and useDigest: false, but a released chart is built with its own release's digests (cilium/charts
// generate_helm_release.sh writes them into install/kubernetes/Makefile.digests before make RELEASE=yes, and
// Makefile.values sets USE_DIGESTS true once no digest there is empty), and the container runtime pulls a reference
// with both by its digest (containerd's ParseDockerRef drops the tag): a tag pinned alone still runs the chart's own
// image, unless the chart ships no digest. Judging the agents' datapath (what reaches the host policies) or their CLI
// needs this release, not the chart's; the values' vocabulary stays the chart's. The CiliumClusterwideNetworkPolicy
// CRD (which keeps or prunes endPort) is the operator's: its image registers the CRDs it embeds (cilium/cilium
// pkg/k8s/apis/cilium.io/client/register.go, CreateCustomResourceDefinitions; pkg/k8s/apis/crdhelpers
// NeedsUpdateV1Factory replaces only one of an older schema version). It is taken as the chart's release:
// operator.image pins are not read.
type Agents struct {
	Chart string // the chart version or range
	// PinKey is the value that names the agents' image in place of the chart's own ("image.tag"), "" when none does;
	// PinTag the version tag it names as written ("v1.15.1"), "" when it names none kronform-gen can read.
	PinKey, PinTag string
	// Pinned is the release the pin names, nil when it names none that can be read (then Any) or there is no pin.
	Pinned *semver.Version
	// WithChart says the chart's own release may run too: its default digest wins over a tag pinned alone.
	WithChart bool
	// Any says the pin names no release kronform-gen can read (a digest alone, an override without a version tag, a
	// tag such as latest or a custom build's, a value substituted from a Secret): the agents may run any release it
	// models, and are judged as each of them.
	Any bool
	// unread says the values that compose the image are not all read here (UnreadValue).
	unread bool
}

// UnreadValue stands in for a value of the agents' image that a release leaves to something not read here (a
// valuesFrom, a Secret): as image.override it names no version, so AgentsOf takes the agents for any release.
const UnreadValue = "(not read here)"

// AgentsOf says which release(s) the agents of a HelmRelease run, from its chart version (or range) and its values
// (the spec's cilium.values, or a release's as read back): the pinned image's version where the values pin one that
// parses as a Cilium release (1.15.1, v1.15.1, with or without @sha256:...), every release kronform-gen models where
// they pin an image whose version cannot be read, the chart's where they pin none.
func AgentsOf(chart string, values map[string]any) Agents {
	a := Agents{Chart: chart}
	raw, set := values["image"]
	if !set || raw == nil {
		return a
	}
	image, ok := raw.(map[string]any)
	if !ok {
		a.PinKey, a.Any = "image", true
		return a
	}
	// isChart says a release is the chart's own, where the chart names one exactly: nothing to tell apart.
	isChart := func(v *semver.Version) bool {
		exact, err := semver.StrictNewVersion(strings.TrimPrefix(chart, "v"))
		return err == nil && exact.Equal(v)
	}
	// Helm merges a null over the chart's default by deleting the key, and the template takes an empty value as unset.
	if o := image["override"]; o == UnreadValue {
		a.PinKey, a.Any, a.unread = "image", true, true
		return a
	} else if o != nil && o != "" && o != false {
		a.PinKey = "image.override"
		s, _ := o.(string)
		if tag, v := referenceVersion(s); v != nil {
			if isChart(v) {
				return Agents{Chart: chart}
			}
			a.PinTag, a.Pinned = tag, v
		} else {
			a.Any = true
		}
		return a
	}
	tagRaw, tagSet := image["tag"]
	digestRaw := image["digest"]
	useRaw, useSet := image["useDigest"]
	ownDigest := digestRaw != nil && digestRaw != ""
	if !tagSet && !ownDigest && !useSet {
		return a
	}
	// The tag: the chart's own where the values leave it; none where they empty it; else the one they name.
	tag, _ := tagRaw.(string)
	tagEmpty := tagSet && (tagRaw == nil || tagRaw == "")
	var tagVersion *semver.Version
	if tagSet && !tagEmpty {
		tagVersion = CiliumTagVersion(tag)
	}
	// byTag is what runs when no digest is rendered, byDigest when one is; each as (the chart's, pinned, any).
	type runs struct {
		chart, any bool
		pinned     *semver.Version
	}
	byTag := runs{chart: !tagSet}
	switch {
	case tagEmpty:
		byTag.any = true // no tag: the repository's latest
	case tagSet && tagVersion == nil:
		byTag.any = true
	case tagSet:
		byTag.pinned = tagVersion
	}
	var byDigest runs
	switch {
	case ownDigest && tagVersion != nil:
		byDigest.pinned = tagVersion // a tag and a digest both written in the values: the image the tag names
	case ownDigest:
		byDigest.any = true
	default:
		// The chart's own digest; where a chart ships none, the tag decides.
		byDigest = byTag
		byDigest.chart = true
	}
	var out runs
	switch use, isBool := useRaw.(bool); {
	case !useSet || useRaw == nil, isBool && use:
		out = byDigest // the chart's default is true
	case isBool || useRaw == "":
		out = byTag
	default:
		// Not a boolean: what the template makes of it is not modelled, so both.
		out = runs{chart: byTag.chart || byDigest.chart, any: byTag.any || byDigest.any, pinned: byTag.pinned}
		if out.pinned == nil {
			out.pinned = byDigest.pinned
		}
	}
	if !out.any && out.pinned == nil {
		return a // the chart's own image after all
	}
	switch {
	case tagSet && (tagVersion != nil || !ownDigest):
		a.PinKey = "image.tag"
	case ownDigest:
		a.PinKey = "image.digest"
	default:
		a.PinKey = "image.useDigest"
	}
	if out.any {
		a.Any = true
		return a
	}
	if isChart(out.pinned) {
		return Agents{Chart: chart} // the chart's own release: nothing to tell apart
	}
	a.Pinned, a.WithChart, a.PinTag = out.pinned, out.chart, tag
	return a
}

// referenceVersion is the version tag of an image reference (registry/repository:tag@digest) and the release it
// names; nil when it has no tag, or one that names no release (see CiliumTagVersion).
func referenceVersion(ref string) (string, *semver.Version) {
	ref, _, _ = strings.Cut(ref, "@")
	name := ref[strings.LastIndex(ref, "/")+1:]
	_, tag, ok := strings.Cut(name, ":")
	if !ok {
		return "", nil
	}
	return tag, CiliumTagVersion(tag)
}

// ciliumPreRelease matches the pre-release part of Cilium's own tags (v1.16.0-rc.1, v1.16.0-pre.3): another one
// names a build of someone's, whatever release it started from.
var ciliumPreRelease = regexp.MustCompile(`^(rc|pre|snapshot)\.[0-9]+$`)

// CiliumTagVersion is the Cilium release an image tag names (1.15.1, v1.15.1, either with @sha256:... after it); nil
// for a tag that names none kronform-gen models: latest, a custom build's (a pre-release part not Cilium's, build
// metadata), a release older than spec.MinCiliumVersion.
func CiliumTagVersion(tag string) *semver.Version {
	tag, _, _ = strings.Cut(tag, "@")
	v, err := semver.StrictNewVersion(strings.TrimPrefix(tag, "v"))
	if err != nil || v.Metadata() != "" || (v.Prerelease() != "" && !ciliumPreRelease.MatchString(v.Prerelease())) ||
		semver.New(v.Major(), v.Minor(), 0, "", "").LessThan(spec.MinCiliumVersion) {
		return nil
	}
	return v
}

// Pins says whether the values name the agents' image in place of the chart's own.
func (a Agents) Pins() bool { return a.PinKey != "" }

// Releases are the releases the agents may run, ascending: those the chart version or range admits
// (spec.CiliumAdmitted) where they run the chart's image, the pinned one, or, for a pin that names none that can be
// read, every release kronform-gen models (minors spec.MinCiliumVersion to spec.NewestCiliumMinor, patches 0-60).
// nil when the chart's version does not resolve (the spec loader refuses those): callers take the worst case.
func (a Agents) Releases() []*semver.Version {
	if a.Any {
		return everyRelease
	}
	if a.Pinned == nil {
		return spec.CiliumAdmitted(a.Chart)
	}
	if !a.WithChart {
		return []*semver.Version{a.Pinned}
	}
	chart := spec.CiliumAdmitted(a.Chart)
	if chart == nil {
		return nil
	}
	out := append(slices.Clone(chart), a.Pinned)
	slices.SortFunc(out, func(x, y *semver.Version) int { return x.Compare(y) })
	return slices.CompactFunc(out, func(x, y *semver.Version) bool { return x.Equal(y) })
}

// everyRelease is what Releases gives for agents of any release.
var everyRelease = func() []*semver.Version {
	var out []*semver.Version
	for minor := spec.MinCiliumVersion.Minor(); minor <= spec.NewestCiliumMinor.Minor(); minor++ {
		for patch := uint64(0); patch <= 60; patch++ {
			out = append(out, semver.New(spec.MinCiliumVersion.Major(), minor, patch, "", ""))
		}
	}
	return out
}()

// Key tells apart the Agents whose Releases differ, for callers that remember an answer per release set.
func (a Agents) Key() string {
	switch {
	case a.Any:
		return "*"
	case a.Pinned == nil:
		return a.Chart
	case a.WithChart:
		return a.Pinned.String() + "|" + a.Chart
	}
	return "=" + a.Pinned.String()
}

// String names the release(s) for a message that says "Cilium %s": the chart's version or range where nothing is
// pinned (as the spec writes it), else the pinned release and the value that pins it.
func (a Agents) String() string {
	switch {
	case a.PinKey == "":
		return a.Chart
	case a.unread:
		return fmt.Sprintf("(any release: values not read here may pin the agents' image; chart %s)", a.Chart)
	case a.Any:
		return fmt.Sprintf("(any release: the agents' %s names none that kronform-gen can read; chart %s)", a.PinKey, a.Chart)
	case a.WithChart:
		return fmt.Sprintf("%s or %s (the agents' image.tag %s, which the chart's own image digest overrides unless image.useDigest is false)",
			a.Pinned, a.Chart, a.PinTag)
	}
	return fmt.Sprintf("%s (the agents' %s %s; chart %s)", a.Pinned, a.PinKey, a.PinTag, a.Chart)
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
