package cilium

import (
	"strings"
	"testing"
)

// The agents run the image the chart composes from image.*: the pinned tag's release where it names one, every
// release where the pin names none that can be read, the chart's where nothing pins it. A tag pinned alone runs under
// the chart's own digest (useDigest defaults to true), so both it and the chart count.
func TestAgentsOf(t *testing.T) {
	img := func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return map[string]any{"image": m}
	}
	const digest = "sha256:351d6685dc6f6ffbcd5451043167cfa8842c6decf80d8c8e426a417c73fb56d4"
	for _, c := range []struct {
		name   string
		values map[string]any
		want   string // Agents.String()
		key    string // Agents.Key()
	}{
		{"no values", nil, "1.16.5", "1.16.5"},
		{"other image values", img("repository", "mirror.example/cilium", "pullPolicy", "Always"), "1.16.5", "1.16.5"},
		{"the operator's tag", map[string]any{"operator": img("tag", "v1.15.1")}, "1.16.5", "1.16.5"},
		{"tag alone: the chart's digest wins", img("tag", "v1.15.1"),
			"1.15.1 or 1.16.5 (the agents' image.tag v1.15.1, which the chart's own image digest overrides unless image.useDigest is false)", "1.15.1|1.16.5"},
		{"tag without v", img("tag", "1.15.1", "useDigest", false), "1.15.1 (the agents' image.tag 1.15.1; chart 1.16.5)", "=1.15.1"},
		{"tag and useDigest false", img("tag", "v1.15.1", "useDigest", false), "1.15.1 (the agents' image.tag v1.15.1; chart 1.16.5)", "=1.15.1"},
		{"tag and its digest", img("tag", "v1.15.1", "digest", digest), "1.15.1 (the agents' image.tag v1.15.1; chart 1.16.5)", "=1.15.1"},
		{"tag with a digest in it", img("tag", "v1.15.1@"+digest, "useDigest", false), "1.15.1 (the agents' image.tag v1.15.1@" + digest + "; chart 1.16.5)", "=1.15.1"},
		{"override with tag and digest", img("override", "quay.io/cilium/cilium:v1.15.1@"+digest), "1.15.1 (the agents' image.override v1.15.1; chart 1.16.5)", "=1.15.1"},
		{"override on a registry with a port", img("override", "registry.example:5000/cilium/cilium:v1.15.1"), "1.15.1 (the agents' image.override v1.15.1; chart 1.16.5)", "=1.15.1"},
		{"override wins over tag", img("override", "quay.io/cilium/cilium:v1.14.3", "tag", "v1.15.1"), "1.14.3 (the agents' image.override v1.14.3; chart 1.16.5)", "=1.14.3"},
		{"a pre-release of Cilium's", img("tag", "v1.16.0-rc.1", "useDigest", false), "1.16.0-rc.1 (the agents' image.tag v1.16.0-rc.1; chart 1.16.5)", "=1.16.0-rc.1"},
		{"the chart's own tag", img("tag", "v1.16.5", "useDigest", false), "1.16.5", "1.16.5"},
		{"the chart's own image by override", img("override", "quay.io/cilium/cilium:v1.16.5@"+digest), "1.16.5", "1.16.5"},
		{"useDigest false alone: the chart's tag", img("useDigest", false), "1.16.5", "1.16.5"},
		{"useDigest true alone", img("useDigest", true), "1.16.5", "1.16.5"},
		{"null tag with the chart's digest", img("tag", nil), anyOf("image.tag"), "*"},
		{"digest alone", img("digest", digest), anyOf("image.digest"), "*"},
		{"override by digest", img("override", "quay.io/cilium/cilium@"+digest), anyOf("image.override"), "*"},
		{"override without a tag", img("override", "quay.io/cilium/cilium"), anyOf("image.override"), "*"},
		{"latest", img("tag", "latest", "useDigest", false), anyOf("image.tag"), "*"},
		{"a custom build", img("tag", "v1.15.1-acme.2", "useDigest", false), anyOf("image.tag"), "*"},
		{"build metadata", img("tag", "v1.15.1+acme", "useDigest", false), anyOf("image.tag"), "*"},
		{"older than modelled", img("tag", "v1.12.9", "useDigest", false), anyOf("image.tag"), "*"},
		{"a digest with an unreadable tag", img("tag", "latest", "digest", digest), anyOf("image.digest"), "*"},
		{"substituted from a Secret", img("tag", "${CILIUM_TAG}", "useDigest", false), anyOf("image.tag"), "*"},
		{"not read here", img("override", UnreadValue, "tag", "v1.15.1"), "(any release: values not read here may pin the agents' image; chart 1.16.5)", "*"},
		{"image not a mapping", map[string]any{"image": "quay.io/cilium/cilium:v1.15.1"}, anyOf("image"), "*"},
		{"useDigest not a boolean", img("tag", "v1.15.1", "useDigest", "no"),
			"1.15.1 or 1.16.5 (the agents' image.tag v1.15.1, which the chart's own image digest overrides unless image.useDigest is false)", "1.15.1|1.16.5"},
	} {
		a := AgentsOf("1.16.5", c.values)
		if got := a.String(); got != c.want {
			t.Errorf("%s: String() = %q, want %q", c.name, got, c.want)
		}
		if got := a.Key(); got != c.key {
			t.Errorf("%s: Key() = %q, want %q", c.name, got, c.key)
		}
	}
}

func anyOf(key string) string {
	return "(any release: the agents' " + key + " names none that kronform-gen can read; chart 1.16.5)"
}

// Releases: the pinned one, the pinned one and the chart's, every modelled one, or the chart's range.
func TestAgentsReleases(t *testing.T) {
	names := func(a Agents) string {
		rs := a.Releases()
		if len(rs) > 4 {
			return rs[0].String() + " .. " + rs[len(rs)-1].String() + " (" + string(rune('0'+len(rs)/100)) + "xx)"
		}
		var s []string
		for _, r := range rs {
			s = append(s, r.String())
		}
		return strings.Join(s, " ")
	}
	tag := map[string]any{"image": map[string]any{"tag": "v1.15.1"}}
	for _, c := range []struct {
		a    Agents
		want string
	}{
		{AgentsOf("1.16.5", nil), "1.16.5"},
		{AgentsOf("1.16.5", tag), "1.15.1 1.16.5"},
		{AgentsOf("1.13.4", tag), "1.13.4 1.15.1"},
		{AgentsOf("1.16.5", map[string]any{"image": map[string]any{"tag": "v1.15.1", "useDigest": false}}), "1.15.1"},
		{AgentsOf("1.16.5", map[string]any{"image": map[string]any{"digest": "sha256:00"}}), "1.13.0 .. 1.20.60 (4xx)"},
	} {
		if got := names(c.a); got != c.want {
			t.Errorf("%v: Releases() = %s, want %s", c.a, got, c.want)
		}
	}
}

// A pin to another minor release than the chart's, or to none that can be read, is warned of at the value; one of
// the chart's minor release is not.
func TestAgentPinWarning(t *testing.T) {
	doc := `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: c
    apiServer: {host: api.example.com}
    nodes:
      - {name: cp1, addresses: [198.51.100.11], roles: [control-plane]}
    cilium:
      version: "1.16.5"
      values:
        image: %IMAGE%
`
	for image, want := range map[string]string{
		"{tag: v1.15.1}": "test.yaml:12:16: clusters[0].cilium.values.image.tag: the agents' image.tag v1.15.1 is Cilium 1.15.1, another minor release than the chart's (1.16.5): " +
			"the chart writes cilium-config for its own, which 1.15 agents may read otherwise, and kronform-gen cannot model that; its checks judge the agents' own behaviour " +
			"(what reaches the host policies, the CLI) as 1.15.1's and the chart's: the chart renders its own image digest after the tag unless image.useDigest is false, " +
			"and the digest decides which image runs (pin the chart to the agents' release (cilium.version: 1.15.1), or drop the image pin)",
		"{tag: v1.15.1, useDigest: false}": "clusters[0].cilium.values.image.tag: the agents' image.tag v1.15.1 is Cilium 1.15.1, another minor release than the chart's (1.16.5): " +
			"the chart writes cilium-config for its own, which 1.15 agents may read otherwise, and kronform-gen cannot model that; its checks judge the agents' own behaviour " +
			"(what reaches the host policies, the CLI) as 1.15.1's (pin",
		"{override: 'quay.io/cilium/cilium:v1.17.2'}": "test.yaml:12:16: clusters[0].cilium.values.image.override: the agents' image.override v1.17.2 is Cilium 1.17.2,",
		"{digest: 'sha256:0123'}": "test.yaml:12:16: clusters[0].cilium.values.image.digest: the agents' image.digest names no Cilium release that kronform-gen can read: " +
			"its checks judge the agents as every release from 1.13 to 1.20 (what any of them does with traffic before the host policies counts), while the chart (1.16.5) " +
			"writes cilium-config for its own (pin a version tag (image.tag: vX.Y.Z, with image.digest that image's digest), or drop the pin)",
		"{tag: v1.16.0}":         "",
		"{tag: v1.16.5}":         "",
		"{repository: mirror/c}": "",
	} {
		wantWarning(t, image, lintWarnings(t, strings.Replace(doc, "%IMAGE%", image, 1), "the agents' image"), want)
	}
}

// The CiliumClusterwideNetworkPolicy CRD is the operator's: an operator image pinned before 1.16 under a 1.16 chart
// registers a CRD without endPort, and the API server prunes each port range of the host policies to its first port,
// which kronform-gen does not model. It is warned of at the pin while the policies have ranges; not for an operator
// of 1.16 or later, nor without ranges.
func TestOperatorPinBeforePortRangesIsWarnedOf(t *testing.T) {
	doc := `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: c
    apiServer: {host: api.example.com}
    nodes:
      - {name: cp1, addresses: [198.51.100.11], roles: [control-plane]}
    cilium:
      version: "1.16.5"
      values:
        operator: {image: %IMAGE%}
    hostPolicies:
      - name: etcd
        nodes: {role: control-plane}
        ingress: [{entities: [remote-node], ports: [%PORTS%]}]
`
	warned := func(image, ports string) []string {
		return lintWarnings(t, strings.NewReplacer("%IMAGE%", image, "%PORTS%", ports).Replace(doc), "operator")
	}
	want := "test.yaml:12:19: clusters[0].cilium.values.operator.image.tag: the operator's image.tag v1.15.6 names Cilium 1.15.6, and the " +
		"operator registers the CiliumClusterwideNetworkPolicy CRD its image holds: one before 1.16.0 has no endPort, which the API server " +
		"then prunes, so the port ranges of the host policies (2379-2380/tcp) may shrink to their first ports; kronform-gen does not model " +
		"the operator's image, and its checks take the CRD as the chart's (1.16.5) (pin the operator's image to a release from 1.16.0 by " +
		"its version tag, or drop the pin)"
	if got := warned("{tag: v1.15.6, useDigest: false}", "2379-2380/tcp"); len(got) != 1 || got[0] != want {
		t.Errorf("operator 1.15.6: warnings %q\nwant %q", got, want)
	}
	for _, image := range []string{"{tag: v1.15.6}", "{genericDigest: 'sha256:0123'}", "{override: 'mirror.example/operator-generic'}"} {
		if got := warned(image, "2379-2380/tcp"); len(got) != 1 || !strings.Contains(got[0], "may shrink to their first ports") {
			t.Errorf("operator %s: warnings %q, want one", image, got)
		}
	}
	for image, ports := range map[string]string{
		"{tag: v1.15.6, useDigest: false}": "2379/tcp, 2380/tcp",
		"{tag: v1.16.2, useDigest: false}": "2379-2380/tcp",
		"{repository: mirror.example/op}":  "2379-2380/tcp",
		"{replicas: 1}":                    "2379-2380/tcp",
	} {
		if got := warned(image, ports); len(got) != 0 {
			t.Errorf("operator %s, ports %s: warned %q", image, ports, got)
		}
	}
}

// A pinned agent image newer than the newest release kronform-gen was checked against is warned of at the value that
// pins it, as a chart version is: the checks judge the agents as that release, which is not modelled. A pin within
// the checked releases, or of the minor of a chart already warned of, is not.
func TestAgentPinNewerThanCheckedIsWarned(t *testing.T) {
	doc := `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: c
    apiServer: {host: api.example.com}
    nodes:
      - {name: cp1, addresses: [198.51.100.11], roles: [control-plane]}
    cilium:
      version: "%V%"
      values:
        image: {tag: %T%, useDigest: false}
`
	for _, c := range []struct{ version, tag, want string }{
		{"1.20.2", "v1.22.0", "test.yaml:12:16: clusters[0].cilium.values.image.tag: the agents' image.tag v1.22.0 is Cilium 1.22.0, " +
			"newer than 1.20, the newest release kronform-gen was checked against: what verify models of the agents' host firewall " +
			"(address families, ICMPv6, port ranges) is 1.20's, and may not hold (pin the agents to a 1.20 release (or drop the pin), " +
			"or read the new release's upgrade notes before trusting generate and verify)"},
		{"1.20.2", "v2.0.1", "clusters[0].cilium.values.image.tag: the agents' image.tag v2.0.1 is Cilium 2.0.1, newer than 1.20,"},
		{"1.20.2", "v1.20.9", ""},
		{"1.20.2", "v1.16.3", ""},
		{"1.21.0", "v1.21.3", ""}, // the chart's warning says it
	} {
		got := lintWarnings(t, strings.NewReplacer("%V%", c.version, "%T%", c.tag).Replace(doc),
			"values.image.tag", "the newest release kronform-gen was checked against")
		wantWarning(t, c.version+" "+c.tag, got, c.want)
	}
}
