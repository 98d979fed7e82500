package spec

import (
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
