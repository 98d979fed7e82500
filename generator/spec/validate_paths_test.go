package spec

import (
	"strings"
	"testing"
)

// A cluster's Flux path is a folder directly in clusters/: build, diff and the CI workflow find its Kustomizations
// there, and only there; a path inside another cluster's folder would make that cluster apply this one's objects.
func TestFluxPathIsAFolderOfClusters(t *testing.T) {
	for _, c := range []struct{ path, want string }{
		{"fleet/lab", `fw.yaml:9:18: clusters[0].flux.path: path "fleet/lab" is not a folder directly in clusters/`},
		{"clusters/lab2/sub", `path "clusters/lab2/sub" is not a folder directly in clusters/`},
		{".kronform-gen", `path ".kronform-gen" is not a folder directly in clusters/`},
		{"infrastructure/other", `path "infrastructure/other" is not a folder directly in clusters/`},
		{"clusters", `path "clusters" is not a folder directly in clusters/`},
		// A ./ prefix, as flux bootstrap --path takes it, goes through the same checks.
		{"./clusters/fw/flux-system", `path "./clusters/fw/flux-system" is not a folder directly in clusters/`},
		{"./foo", `path "./foo" is not a folder directly in clusters/`},
		{"./clusters/x/y", `path "./clusters/x/y" is not a folder directly in clusters/`},
		{"./infrastructure/fw/cilium", `path "./infrastructure/fw/cilium" is not a folder directly in clusters/`},
		// Already refused for its form: one message, not two.
		{"./clusters/x/", `path "./clusters/x/" is not in clean form`},
	} {
		got := strings.Join(problemsOf(t, "    flux: {path: "+c.path+"}\n"), "\n")
		if !strings.Contains(got, c.want) || strings.Count(got, "flux.path") > 1 {
			t.Errorf("path %s:\n%s\nwant %q", c.path, got, c.want)
		}
	}
	for _, fp := range []string{"clusters/prod", "./clusters/prod"} {
		m, err := Load("fw.yaml", []byte(firewallBase+"    flux: {path: "+fp+"}\n"), Options{})
		if err != nil {
			t.Fatalf("%s: %v", fp, err)
		}
		if got := m.Clusters[0].Flux.Path; got != "clusters/prod" {
			t.Errorf("%s: the model holds %q, want the clean clusters/prod", fp, got)
		}
	}
}

// Two clusters on one Flux path are refused at the second, however the path is written.
func TestFluxPathUsedTwice(t *testing.T) {
	spec := firewallBase + `  - name: b
    apiServer: {host: api.example.com}
    nodes:
      - {name: n1, addresses: [159.69.60.183], roles: [control-plane]}
    cilium: {version: 1.16.5}
    flux: {path: ./clusters/fw}
`
	_, err := Load("fw.yaml", []byte(spec), Options{})
	want := `fw.yaml:14:18: clusters[1].flux.path: path "clusters/fw" is already used by clusters[0]`
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

// A name that does not decode gives one problem, not a second about the Flux path made from it.
func TestBadNameGivesOneProblem(t *testing.T) {
	spec := strings.Replace(firewallBase, "name: fw", "name: 123", 1)
	_, err := Load("fw.yaml", []byte(spec), Options{})
	if err == nil || strings.Count(err.Error(), "\n") != 0 || !strings.Contains(err.Error(), "clusters[0].name: expected a string") {
		t.Fatalf("got %v", err)
	}
}

// An unknown preset gives one problem, not others about the nodes and rules the preset would have brought.
func TestUnknownPresetGivesOneProblem(t *testing.T) {
	got := problemsOf(t, "    hostPolicies:\n      - {name: p, preset: no-such-preset}\n")
	if len(got) != 1 || !strings.Contains(got[0], `clusters[0].hostPolicies[0].preset: unknown preset "no-such-preset"`) {
		t.Fatalf("got %q", got)
	}
}

// repositoryPath is where the tree lies in the repository Flux follows: a folder of it, in clean form (./ taken, as
// flux bootstrap takes it), never its root written out, nor outside it, nor in .git.
func TestRepositoryPath(t *testing.T) {
	for _, c := range []struct{ path, want string }{
		{"''", `fw.yaml:3:17: repositoryPath: an empty value is not allowed (leave it out when the tree is the root of the repository Flux follows)`},
		{".", `fw.yaml:3:17: repositoryPath: path "." is the repository's root (leave it out when the tree is the root of the repository Flux follows)`},
		{"./", `repositoryPath: path "./" is the repository's root`},
		{"/srv/fleet", `fw.yaml:3:17: repositoryPath: path "/srv/fleet" leaves the repository (the folder that holds the tree, from the repository's root, such as output)`},
		{"../output", `repositoryPath: path "../output" leaves the repository`},
		{"output/", `fw.yaml:3:17: repositoryPath: path "output/" is not in clean form (write output)`},
		{"fleet//output", `repositoryPath: path "fleet//output" is not in clean form (write fleet/output)`},
		{".git/output", `repositoryPath: path ".git/output" is inside .git, which Flux never reads`},
		// A folder named with a control or format character looks like another in every listing, as in flux.path.
		{`"out\u200Bput"`, `fw.yaml:3:17: repositoryPath: path "out\u200bput" holds U+200B, a format character, which no listing shows (write the path without it)`},
		{`"fleet/\x7Foutput"`, `repositoryPath: path "fleet/\x7foutput" holds U+007F, a control character, which no listing shows`},
	} {
		spec := strings.Replace(firewallBase, "kind: ClusterSpec\n", "kind: ClusterSpec\nrepositoryPath: "+c.path+"\n", 1)
		_, err := Load("fw.yaml", []byte(spec), Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Count(err.Error(), "repositoryPath") != 1 {
			t.Errorf("repositoryPath %s:\n%v\nwant %q", c.path, err, c.want)
		}
	}
	for _, rp := range []string{"output", "./output", "fleet/output"} {
		spec := strings.Replace(firewallBase, "kind: ClusterSpec\n", "kind: ClusterSpec\nrepositoryPath: "+rp+"\n", 1)
		m, err := Load("fw.yaml", []byte(spec), Options{})
		if err != nil {
			t.Fatalf("%s: %v", rp, err)
		}
		if want := strings.TrimPrefix(rp, "./"); m.RepositoryPath != want {
			t.Errorf("%s: the model holds %q, want %q", rp, m.RepositoryPath, want)
		}
	}
}

// flux.path is the cluster's folder in the tree; with repositoryPath, flux bootstrap's --path is that folder under
// repositoryPath. A flux.path written as the bootstrap path (output/clusters/fw) is told to drop the prefix, and the
// hint for any other bad path names the --path bootstrap takes in this layout, not the tree's own folder.
func TestFluxPathWithRepositoryPath(t *testing.T) {
	withRP := func(fluxPath string) string {
		return strings.Replace(firewallBase, "kind: ClusterSpec\n", "kind: ClusterSpec\nrepositoryPath: output\n", 1) +
			"    flux: {path: " + fluxPath + "}\n"
	}
	for _, c := range []struct{ path, want string }{
		{"output/clusters/fw", `clusters[0].flux.path: path "output/clusters/fw" is a path from the repository's root, but flux.path is the cluster's folder in the tree, and the tree is the folder output of the repository Flux follows (repositoryPath) (write clusters/fw, and bootstrap with flux bootstrap --path output/clusters/fw)`},
		{"./output/clusters/fw", `(write clusters/fw, and bootstrap with flux bootstrap --path output/clusters/fw)`},
		{"fleet/lab", `path "fleet/lab" is not a folder directly in clusters/: build, diff and the CI workflow find each cluster's Flux Kustomizations in clusters/<cluster>/, so they would never see this cluster, and a path inside another cluster's folder makes that cluster apply this one's objects (clusters/<folder>, as flux bootstrap --path output/clusters/fw)`},
	} {
		_, err := Load("fw.yaml", []byte(withRP(c.path)), Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Count(err.Error(), "flux.path:") != 1 {
			t.Errorf("path %s:\n%v\nwant %q", c.path, err, c.want)
		}
	}
}

// A control or format character (Unicode Cc, Cf: \x01, a zero-width space) in a Flux path is refused, named by its code
// point: the folder it names looks like another in every listing and log. Letters of any script are a folder's own.
func TestFluxPathHasNoUnseenCharacters(t *testing.T) {
	for _, c := range []struct{ path, want string }{
		{`"clusters/la\u200Bb"`, `fw.yaml:9:18: clusters[0].flux.path: path "clusters/la\u200bb" holds U+200B, a format character, which no listing shows (write the path without it)`},
		{`"clusters/l\x01ab"`, `fw.yaml:9:18: clusters[0].flux.path: path "clusters/l\x01ab" holds U+0001, a control character, which no listing shows (write the path without it)`},
		{`"fleet/\u00ADlab"`, `fw.yaml:9:18: clusters[0].flux.path: path "fleet/\u00adlab" holds U+00AD, a format character, which no listing shows (write the path without it)`},
	} {
		got := strings.Join(problemsOf(t, "    flux: {path: "+c.path+"}\n"), "\n")
		if got != c.want {
			t.Errorf("path %s:\n%s\nwant\n%s", c.path, got, c.want)
		}
	}
	for _, fp := range []string{"clusters/prod-zürich", "clusters/東京"} {
		if _, err := Load("fw.yaml", []byte(firewallBase+"    flux: {path: "+fp+"}\n"), Options{}); err != nil {
			t.Errorf("%s: %v", fp, err)
		}
	}
}

// InTree resolves spec.path as kustomize-controller's securejoin does, from the repository's root: ".." stops at the
// root rather than leaving the repository, and the tree may be a folder of the repository.
func TestInTree(t *testing.T) {
	for _, c := range []struct {
		path, repositoryPath, want string
		inside                     bool
	}{
		{"./clusters/alpha", "", "clusters/alpha", true},
		{"", "", ".", true},
		{"/", "", ".", true},
		{"../apps/alpha", "", "apps/alpha", true},
		{"/../../apps/./alpha/", "", "apps/alpha", true},
		{"./output/clusters/alpha", "output", "clusters/alpha", true},
		{"../output", "output", ".", true},
		{"./clusters/alpha", "output", "", false},
		{"./outputs/alpha", "output", "", false},
	} {
		got, inside := InTree(c.path, c.repositoryPath)
		if got != c.want || inside != c.inside {
			t.Errorf("InTree(%q, %q) = %q, %v; want %q, %v", c.path, c.repositoryPath, got, inside, c.want, c.inside)
		}
	}
}
