package cilium

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kronform/kronform-gen/generator/spec"
)

// filteredPrefixes are the label key prefixes Cilium's default label filter drops before it computes identities, so a
// node selector on them matches nothing (pkg/labelsfilter/filter.go).
var filteredPrefixes = []string{"kubernetes.io", "io.kubernetes", "k8s.io", "beta.kubernetes.io"}

// LabelFiltered says whether Cilium's label filter hides a label key from selectors.
func LabelFiltered(key string) bool {
	for _, p := range filteredPrefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// VisibleLabels is a node's label set as Cilium's selectors see it.
func VisibleLabels(all map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range all {
		if !LabelFiltered(k) {
			out[k] = v
		}
	}
	return out
}

// NodeMatcher says whether a host policy's node selector picks a node; it compiles the selector once for many nodes
// (compiling is most of the cost of a match). filtered: the node's labels pass Cilium's label filter first, as Cilium
// matches them; otherwise the matcher says what the selector would pick if every label were visible. A selector that
// does not compile picks no node.
func NodeMatcher(sel *metav1.LabelSelector, filtered bool) func(spec.Node) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return func(spec.Node) bool { return false }
	}
	return func(n spec.Node) bool {
		l := spec.NodeLabels(n)
		if filtered {
			l = VisibleLabels(l)
		}
		return s.Matches(labels.Set(l))
	}
}

// Lint finds host policies that Cilium would accept but that cannot do what they say: selectors on labels the filter
// hides (errors) and selectors that pick no node of the spec (warnings, since nodes may carry labels the spec omits);
// and warns of a chart version newer than any kronform-gen was checked against, and of an agent image pinned in the
// values to another minor release than the chart's, or to none that can be read (see agentPinWarning), and of an
// operator image pinned to a release whose policy CRD prunes endPort (see operatorPinWarning).
// Only the clusters that loaded whole are looked at (see spec.Model.Sound).
func Lint(m *spec.Model) (errs, warnings spec.Problems) {
	for i, c := range m.Clusters {
		if !m.Sound(i) {
			continue
		}
		if v, ok := spec.CiliumBeyondChecked(c.Cilium.Version); ok {
			checked := fmt.Sprintf("%d.%d", spec.NewestCiliumMinor.Major(), spec.NewestCiliumMinor.Minor())
			what := fmt.Sprintf("Cilium %s is", v)
			if v.Original() != c.Cilium.Version {
				what = fmt.Sprintf("%q admits Cilium %s,", c.Cilium.Version, v)
			}
			warnings = append(warnings, m.Problem(fmt.Sprintf("clusters[%d].cilium.version", i),
				fmt.Sprintf("pin a %s release (or ~%s.0), or read the new release's upgrade notes before trusting generate and verify", checked, checked),
				"%s newer than %s, the newest release kronform-gen was checked against: the chart values it writes and what verify models of the host firewall (address families, ICMPv6) are %s's, and may not hold",
				what, checked, checked))
		}
		if w, ok := agentPinWarning(m, i, c); ok {
			warnings = append(warnings, w)
		}
		if w, ok := agentPinBeyondWarning(m, i, c); ok {
			warnings = append(warnings, w)
		}
		if w, ok := operatorPinWarning(m, i, c); ok {
			warnings = append(warnings, w)
		}
		for j, p := range c.HostPolicies {
			path := fmt.Sprintf("clusters[%d].hostPolicies[%d].nodes", i, j)
			for _, k := range slices.Sorted(maps.Keys(p.Nodes.Labels)) {
				if LabelFiltered(k) {
					errs = append(errs, m.Problem(path+".labels."+k,
						"select by role, or by a label of your own set in the Talos machine config",
						"Cilium's label filter drops %q before matching, so this policy would select no node", k))
				}
			}
			if !slices.ContainsFunc(c.Nodes, NodeMatcher(NodeSelector(*p.Nodes), true)) {
				warnings = append(warnings, m.Problem(path, "check the node labels in the spec",
					"host policy %q selects none of the cluster's nodes", p.Name))
			}
		}
	}
	return errs.Sorted(), warnings.Sorted()
}

// agentPinWarning warns of values that pin the agents' image (AgentsOf) to a release of another minor than the
// chart's, or to none that can be read. The chart writes cilium-config, and the values it renders, for its own
// release, and agents of another minor read some of them otherwise or not at all: that is beyond what kronform-gen
// models. Its checks judge the agents' own behaviour (what reaches the host policies, the CLI) as the pinned release's,
// or as every release for a pin that names none.
func agentPinWarning(m *spec.Model, i int, c spec.Cluster) (spec.Problem, bool) {
	a := AgentsOf(c.Cilium.Version, c.Cilium.Values)
	path := fmt.Sprintf("clusters[%d].cilium.values.%s", i, a.PinKey)
	switch {
	case a.Any:
		return m.Problem(path, "pin a version tag (image.tag: vX.Y.Z, with image.digest that image's digest), or drop the pin",
			"the agents' %s names no Cilium release that kronform-gen can read: its checks judge the agents as every release from %d.%d to %d.%d (what any of them does with traffic before the host policies counts), while the chart (%s) writes cilium-config for its own",
			a.PinKey, spec.MinCiliumVersion.Major(), spec.MinCiliumVersion.Minor(), spec.NewestCiliumMinor.Major(),
			spec.NewestCiliumMinor.Minor(), c.Cilium.Version), true
	case a.Pinned == nil:
		return spec.Problem{}, false
	}
	minor := func(v *semver.Version) string { return fmt.Sprintf("%d.%d", v.Major(), v.Minor()) }
	chart := spec.CiliumAdmitted(c.Cilium.Version)
	if !slices.ContainsFunc(chart, func(v *semver.Version) bool { return minor(v) != minor(a.Pinned) }) {
		return spec.Problem{}, false
	}
	judged := a.Pinned.String() + "'s"
	if a.WithChart {
		judged = fmt.Sprintf("%s's and the chart's: the chart renders its own image digest after the tag unless image.useDigest is false, and the digest decides which image runs", a.Pinned)
	}
	return m.Problem(path, fmt.Sprintf("pin the chart to the agents' release (cilium.version: %s), or drop the image pin", a.Pinned),
		"the agents' %s %s is Cilium %s, another minor release than the chart's (%s): the chart writes cilium-config for its own, which %s agents may read otherwise, and kronform-gen cannot model that; its checks judge the agents' own behaviour (what reaches the host policies, the CLI) as %s",
		a.PinKey, a.PinTag, a.Pinned, c.Cilium.Version, minor(a.Pinned), judged), true
}

// agentPinBeyondWarning warns of values that pin the agents' image to a release newer than spec.NewestCiliumMinor, as
// the chart's version is warned of: the checks judge the agents' datapath (what reaches the host policies, port
// ranges) as that release's, which kronform-gen models only up to the newest it was checked against. A chart beyond it
// too, of the pin's minor, is warned of at the chart's version, which says as much.
func agentPinBeyondWarning(m *spec.Model, i int, c spec.Cluster) (spec.Problem, bool) {
	a := AgentsOf(c.Cilium.Version, c.Cilium.Values)
	minor := func(v *semver.Version) *semver.Version { return semver.New(v.Major(), v.Minor(), 0, "", "") }
	if a.Pinned == nil || !minor(a.Pinned).GreaterThan(spec.NewestCiliumMinor) {
		return spec.Problem{}, false
	}
	if v, ok := spec.CiliumBeyondChecked(c.Cilium.Version); ok && minor(v).Equal(minor(a.Pinned)) {
		return spec.Problem{}, false
	}
	checked := fmt.Sprintf("%d.%d", spec.NewestCiliumMinor.Major(), spec.NewestCiliumMinor.Minor())
	return m.Problem(fmt.Sprintf("clusters[%d].cilium.values.%s", i, a.PinKey),
		fmt.Sprintf("pin the agents to a %s release (or drop the pin), or read the new release's upgrade notes before trusting generate and verify", checked),
		"the agents' %s %s is Cilium %s, newer than %s, the newest release kronform-gen was checked against: what verify models of the agents' host firewall (address families, ICMPv6, port ranges) is %s's, and may not hold",
		a.PinKey, a.PinTag, a.Pinned, checked, checked), true
}

// operatorPinWarning warns of values that pin the operator's image to a release before spec.CiliumPortRangesSince,
// or to none that can be read, under a chart that has port ranges while the host policies have some. The operator
// registers the CiliumClusterwideNetworkPolicy CRD its image embeds (cilium/cilium
// pkg/k8s/apis/cilium.io/client/register.go, CreateCustomResourceDefinitions), and the API server prunes endPort
// where that CRD has none; a newer CRD stays (crdhelpers.NeedsUpdateV1Factory). kronform-gen takes the CRD as the
// chart's. The operator's image is composed as the agents' (cilium.operator.image in the chart's
// templates/cilium-operator/_helpers.tpl, 1.15.6 and 1.20.2), with genericDigest for digest on bare metal.
func operatorPinWarning(m *spec.Model, i int, c spec.Cluster) (spec.Problem, bool) {
	var rules [][]spec.PolicyRule
	for _, p := range c.HostPolicies {
		rules = append(rules, p.Ingress, p.IngressDeny, p.Egress, p.EgressDeny)
	}
	ranges := PortRangesOf(rules...)
	operator, _ := c.Cilium.Values["operator"].(map[string]any)
	raw, set := operator["image"]
	if len(ranges) == 0 || !spec.CiliumPortRanges(c.Cilium.Version) || !set || raw == nil {
		return spec.Problem{}, false
	}
	a := Agents{Chart: c.Cilium.Version, PinKey: "image", Any: true}
	if values, ok := raw.(map[string]any); ok {
		// As the agents' image, with genericDigest in digest's place.
		image := maps.Clone(values)
		delete(image, "digest")
		if d, set := values["genericDigest"]; set {
			image["digest"] = d
		}
		a = AgentsOf(c.Cilium.Version, map[string]any{"image": image})
	}
	if a.PinKey == "image.digest" {
		a.PinKey = "image.genericDigest"
	}
	var names string
	switch {
	case a.Any:
		names = "no Cilium release kronform-gen can read"
	case a.Pinned != nil && a.Pinned.LessThan(spec.CiliumPortRangesSince):
		names = "Cilium " + a.Pinned.String()
	default:
		return spec.Problem{}, false
	}
	what := "the operator's " + a.PinKey
	if a.PinTag != "" {
		what += " " + a.PinTag
	}
	return m.Problem(fmt.Sprintf("clusters[%d].cilium.values.operator.%s", i, a.PinKey),
		fmt.Sprintf("pin the operator's image to a release from %s by its version tag, or drop the pin", spec.CiliumPortRangesSince),
		"%s names %s, and the operator registers the CiliumClusterwideNetworkPolicy CRD its image holds: one before %s has no endPort, which the API server then prunes, so the port ranges of the host policies (%s) may shrink to their first ports; kronform-gen does not model the operator's image, and its checks take the CRD as the chart's (%s)",
		what, names, spec.CiliumPortRangesSince, strings.Join(ranges, ", "), c.Cilium.Version), true
}

// PortRangesOf are the port ranges (LOW-HIGH/PROTO, more than one port) the spec's rules name, each once, in order.
func PortRangesOf(ruleLists ...[]spec.PolicyRule) []string {
	var out []string
	for _, rules := range ruleLists {
		for _, r := range rules {
			for _, s := range r.Ports {
				if pr, err := spec.ParsePort(s); err == nil && pr.High != pr.Low && !slices.Contains(out, pr.String()) {
					out = append(out, pr.String())
				}
			}
		}
	}
	return out
}
