package spec

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// wantProblems loads firewallBase plus extra and compares every problem, in order.
func wantProblems(t *testing.T, extra string, want ...string) {
	t.Helper()
	got := problemsOf(t, extra)
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
		"https://helm_cilium.io/":           `"https://helm_cilium.io/": "helm_cilium.io" is neither an IP address nor a DNS name`,
		"ftp://helm.cilium.io/":             `"ftp://helm.cilium.io/" is not a Helm repository URL (an https:// or oci:// URL)`,
		"https:///charts":                   `"https:///charts" is not a Helm repository URL (an https:// or oci:// URL)`,
	} {
		got := strings.Join(problemsOf(t, "", "cilium: {version: 1.16.5}", "cilium: {version: 1.16.5, repository: \""+repo+"\"}"), "\n")
		if !strings.Contains(got, "clusters[0].cilium.repository: "+want) || strings.Contains(got, "pass") {
			t.Errorf("%s:\ngot  %s\nwant %s", repo, got, want)
		}
	}
	for _, repo := range []string{"https://helm.cilium.io/", "oci://ghcr.io/cilium/charts", "http://10.0.0.1:8080/charts", "https://[2001:db8::1]/", "https://Helm.Cilium.io/"} {
		if _, err := Load("fw.yaml", []byte(strings.Replace(firewallBase, "cilium: {version: 1.16.5}", "cilium: {version: 1.16.5, repository: \""+repo+"\"}", 1)), Options{}); err != nil {
			t.Errorf("%s: %v", repo, err)
		}
	}
}
