package cilium

import (
	"slices"
	"strings"
	"testing"

	"github.com/kronform/kronform-gen/generator/spec"
)

// A chart newer than any kronform-gen was checked against loads (the values may well hold), with a warning at the
// version that names the first such release the version or range admits. A caret range admits every later minor.
func TestNewerCiliumThanCheckedIsWarned(t *testing.T) {
	doc := `
apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: c
    apiServer: {host: api.example.com}
    nodes:
      - {name: cp1, addresses: [198.51.100.11], roles: [control-plane]}
    cilium: {version: "%V%"}
`
	for version, want := range map[string]string{
		"1.21.0":      `test.yaml:9:23: clusters[0].cilium.version: Cilium 1.21.0 is newer than 1.20,`,
		"1.22.3":      `Cilium 1.22.3 is newer than 1.20,`,
		"^1.16.0":     `"^1.16.0" admits Cilium 1.21.0, newer than 1.20,`,
		">=1.19.0":    `">=1.19.0" admits Cilium 1.21.0`,
		"1.21.0-rc.1": `Cilium 1.21.0-rc.1 is newer than 1.20,`,
		// A later major is newer too, exact or admitted by a range that Flux resolves to its newest release.
		"2.0.0":             `Cilium 2.0.0 is newer than 1.20,`,
		"1.20.x || 2.x":     `"1.20.x || 2.x" admits Cilium 2.0.0, newer than 1.20,`,
		"1.20.x || >=3.2.0": `"1.20.x || >=3.2.0" admits Cilium 3.2.0, newer than 1.20,`,
		// A range whose only later releases lie inside one minor's patches, or are pre-releases.
		"1.20.x || 2.3.4 - 2.3.9":          `"1.20.x || 2.3.4 - 2.3.9" admits Cilium 2.3.4, newer than 1.20,`,
		"1.20.x || >2.3.4 <2.3.7":          `"1.20.x || >2.3.4 <2.3.7" admits Cilium 2.3.5, newer than 1.20,`,
		">=1.20.0 <=1.20.9 || 1.21.0-rc.1": `admits Cilium 1.21.0-rc.1, newer than 1.20,`,
		">=1.21.0-rc.1 <1.21.0":            `">=1.21.0-rc.1 <1.21.0" admits Cilium 1.21.0-rc.1, newer than 1.20,`,
		"1.20.3-pre":                       "",
		"1.20.9":                           "",
		"~1.20.0":                          "",
		">=1.19.0 <1.21.0":                 "",
		"1.16.5":                           "",
	} {
		got := lintWarnings(t, strings.Replace(doc, "%V%", version, 1), "newest release kronform-gen was checked against")
		wantWarning(t, version, got, want)
	}
}

// lintWarnings loads doc as test.yaml and gives the warnings of Lint that hold every one of marks.
func lintWarnings(t *testing.T, doc string, marks ...string) []string {
	t.Helper()
	m, err := spec.Load("test.yaml", []byte(doc), spec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, warnings := Lint(m)
	var got []string
	for _, w := range warnings {
		if !slices.ContainsFunc(marks, func(mark string) bool { return !strings.Contains(w.String(), mark) }) {
			got = append(got, w.String())
		}
	}
	return got
}

// wantWarning checks the warnings of one case (named name): none when want is "", else exactly one, holding want.
func wantWarning(t *testing.T, name string, got []string, want string) {
	t.Helper()
	switch {
	case want == "" && len(got) > 0:
		t.Errorf("%s: warned %q", name, got)
	case want != "" && (len(got) != 1 || !strings.Contains(got[0], want)):
		t.Errorf("%s: warnings %q, want one holding %q", name, got, want)
	}
}
