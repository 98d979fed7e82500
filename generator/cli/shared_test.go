package cli

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/kronform/kronform-gen/generator/tree"
)

// After every generate, warnShared looks for an object that one of kronform-gen's Kustomizations applies and another
// Kustomization too. In a bootstrapped fleet every cluster has such another one, flux bootstrap's, which applies
// gotk-components.yaml, hundreds of kB of CRDs: building them all made a no-op generate of 100 clusters ten times
// slower, and one of 1000 take minutes instead of seconds. Where no file but kronform-gen's names one of its objects
// (a CiliumNetworkPolicy of the user's says cilium only in cilium.io) or may rename one (no namePrefix or nameSuffix
// that begins or ends one of its names, nor a postBuild variable in a name), nothing is built: each further cluster costs about the bytes read.
// Where one does, the object is found and warned of.
func TestWarnSharedBuildsOnlyWhereAnotherFileNamesAnObject(t *testing.T) {
	components := fakeComponents(t)
	allocs := func(out string, gen *tree.Tree) (uint64, string) {
		var stderr bytes.Buffer
		a := &app{outDir: out, stderr: &stderr}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		a.warnShared(gen, nil, nil)
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc, stderr.String()
	}
	const n = 8
	out, gen := sharedFleet(t, n)
	// Nor do the user's apps: a kustomization file that sets a namespace and labels (it renames nothing) and takes a
	// file from beside its folder (none of kronform-gen's), and a script that holds shell variables (no Kustomization
	// substitutes them: none has a postBuild).
	writeFile(t, out, "clusters/c00/apps.yaml", "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\n"+
		"spec:\n  interval: 10m\n  path: ./apps\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n")
	writeFile(t, out, "apps/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: apps\n"+
		"labels:\n- pairs:\n    team: web\nresources:\n- policy.yaml\n- backup.yaml\n- ../shared/limits.yaml\n")
	writeFile(t, out, "shared/limits.yaml", "apiVersion: v1\nkind: LimitRange\nmetadata:\n  name: limits\nspec:\n  limits:\n  - type: Container\n    max:\n      memory: 1Gi\n")
	writeFile(t, out, "apps/backup.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: backup\ndata:\n  run.sh: |\n    tar czf \"${HOME}/backup.tgz\" /data\n")
	total, warned := allocs(out, gen)
	if warned != "" {
		t.Errorf("warned of an object no other file names:\n%s", warned)
	}
	per := float64(total) / n
	t.Logf("%.0f bytes allocated per cluster, for %d bytes of gotk-components.yaml", per, components.Len())
	if per > 4*float64(components.Len()) {
		t.Errorf("each cluster allocates %.1f times its gotk-components.yaml: the fleet is built though no file names, nor may rename, an object of kronform-gen's",
			per/float64(components.Len()))
	}
	// Nor is flux bootstrap's gotk-components.yaml read to look for names: it holds Flux's own components.
	if per > float64(components.Len())/4 {
		t.Errorf("each cluster allocates %.2f times its gotk-components.yaml: flux bootstrap's components are read", per/float64(components.Len()))
	}

	// A user's copy of the release, applied by flux bootstrap's Kustomization from the cluster's folder.
	writeFile(t, out, "clusters/c03/my-cilium.yaml", ciliumRelease("30m"))
	if _, warned := allocs(out, gen); !strings.Contains(warned, "warning: cluster c03: HelmRelease kube-system/cilium is applied by 2 Flux Kustomizations (cilium, flux-system)") ||
		strings.Count(warned, "warning:") != 1 {
		t.Errorf("the user's copy of the HelmRelease is not warned of once:\n%s", warned)
	}
	// A copy in every cluster (a user taking over their Cilium) builds every cluster, but not Flux's CRDs, which
	// flux-system alone applies: parsing those in each cluster made such a generate of 100 clusters take 40 s.
	for i := range n {
		writeFile(t, out, fmt.Sprintf("clusters/c%02d/my-cilium.yaml", i), ciliumRelease("30m"))
	}
	total, warned = allocs(out, gen)
	if strings.Count(warned, "warning:") != n {
		t.Errorf("the user's copies are not warned of once per cluster:\n%s", warned)
	}
	per = float64(total) / n
	t.Logf("every cluster built: %.0f bytes allocated per cluster, for %d bytes of gotk-components.yaml", per, components.Len())
	// About 7 times without the CRDs (a build's own cost, this stand-in being small), 120 times with them.
	if per > 20*float64(components.Len()) {
		t.Errorf("each cluster allocates %.1f times its gotk-components.yaml: Flux's CRDs are built", per/float64(components.Len()))
	}
}

// sharedFleet is a bootstrapped fleet of n clusters (c00, c01, ...) in a folder: flux bootstrap's files (Flux's CRDs
// as gotk-components.yaml) and kronform-gen's Kustomization cilium with its HelmRelease kube-system/cilium in each,
// and a policy of the user's that speaks of Cilium but names none of kronform-gen's objects. The tree returned holds
// kronform-gen's files.
func sharedFleet(t *testing.T, n int) (string, *tree.Tree) {
	t.Helper()
	components := fakeComponents(t).String()
	out := t.TempDir()
	gen := tree.New()
	for i := range n {
		c := fmt.Sprintf("c%02d", i)
		writeFile(t, out, "clusters/"+c+"/flux-system/gotk-components.yaml", components)
		writeFile(t, out, "clusters/"+c+"/flux-system/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- gotk-components.yaml\n- gotk-sync.yaml\n")
		writeFile(t, out, "clusters/"+c+"/flux-system/gotk-sync.yaml", gotkSync(c))
		for p, s := range map[string]string{
			"clusters/" + c + "/cilium.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: cilium\n  namespace: flux-system\n" +
				"spec:\n  interval: 10m0s\n  path: ./infrastructure/" + c + "/cilium\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
			"infrastructure/" + c + "/cilium/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- helmrelease.yaml\n",
			"infrastructure/" + c + "/cilium/helmrelease.yaml":   ciliumRelease("10m"),
		} {
			writeFile(t, out, p, s)
			if err := gen.Add(p, []byte(s)); err != nil {
				t.Fatal(err)
			}
		}
	}
	writeFile(t, out, "apps/policy.yaml", "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: cilium-operator-egress\n  namespace: apps\n")
	return out, gen
}

// ciliumRelease is a HelmRelease kube-system/cilium of the chart cilium, reconciled at interval.
func ciliumRelease(interval string) string {
	return "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: cilium\n  namespace: kube-system\n" +
		"spec:\n  interval: " + interval + "\n  chart:\n    spec:\n      chart: cilium\n      sourceRef:\n        kind: HelmRepository\n        name: cilium\n"
}

// writeFile writes s to the path p (slashed) under root, making its folders.
func writeFile(t *testing.T, root, p, s string) {
	t.Helper()
	p = filepath.Join(root, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A name need not stand whole in any file: kustomize's namePrefix or nameSuffix (of a kustomization file, or of a Flux
// Kustomization's spec) adds to the rest of it, and Flux's postBuild substitutes variables, inline or from a
// ConfigMap the cluster builds. A user's Kustomization that so makes HelmRelease kube-system/cilium applies
// kronform-gen's object all the same, and is warned of by the name Flux applies.
func TestWarnSharedSeesNamesMadeByPrefixSuffixAndPostBuild(t *testing.T) {
	t.Setenv("GIT_ALLOW_PROTOCOL", os.Getenv("GIT_ALLOW_PROTOCOL"))
	t.Setenv("GIT_TERMINAL_PROMPT", os.Getenv("GIT_TERMINAL_PROMPT"))
	// The user's release and Kustomization say cilium nowhere: the chart comes through a chartRef.
	release := func(name string) string {
		return "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: " + name + "\n  namespace: kube-system\n" +
			"spec:\n  interval: 30m\n  chartRef:\n    kind: OCIRepository\n    name: cni\n"
	}
	userKustomization := func(spec string) string {
		return "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: cni\n  namespace: flux-system\n" +
			"spec:\n  interval: 10m\n  path: ./apps/cni\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n" + spec
	}
	kustomization := func(fields string) string {
		return "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" + fields + "resources:\n- release.yaml\n"
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
	}{{
		name: "namePrefix",
		files: map[string]string{
			"clusters/c00/cni.yaml":       userKustomization(""),
			"apps/cni/kustomization.yaml": kustomization("namePrefix: cil\n"),
			"apps/cni/release.yaml":       release("ium"),
		},
	}, {
		name: "nameSuffix",
		files: map[string]string{
			"clusters/c00/cni.yaml":       userKustomization(""),
			"apps/cni/kustomization.yaml": kustomization("nameSuffix: um\n"),
			"apps/cni/release.yaml":       release("cili"),
		},
	}, {
		name: "a Flux Kustomization's namePrefix",
		files: map[string]string{
			"clusters/c00/cni.yaml":       userKustomization("  namePrefix: cil\n"),
			"apps/cni/kustomization.yaml": kustomization(""),
			"apps/cni/release.yaml":       release("ium"),
		},
	}, {
		name: "namePrefix of two layers",
		files: map[string]string{
			"clusters/c00/cni.yaml":            userKustomization(""),
			"apps/cni/kustomization.yaml":      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamePrefix: c\nresources:\n- base\n",
			"apps/cni/base/kustomization.yaml": kustomization("namePrefix: il\n"),
			"apps/cni/base/release.yaml":       release("ium"),
		},
	}, {
		name: "an inline PrefixSuffixTransformer",
		files: map[string]string{
			"clusters/c00/cni.yaml": userKustomization(""),
			"apps/cni/kustomization.yaml": kustomization("transformers:\n- |-\n  apiVersion: builtin\n  kind: PrefixSuffixTransformer\n  metadata:\n    name: cni\n" +
				"  prefix: cil\n  fieldSpecs:\n  - path: metadata/name\n"),
			"apps/cni/release.yaml": release("ium"),
		},
	}, {
		name: "namePrefix of a variable",
		files: map[string]string{
			"clusters/c00/cni.yaml":       userKustomization("  postBuild:\n    substitute:\n      cni: cil\n"),
			"apps/cni/kustomization.yaml": kustomization("namePrefix: ${cni}\n"),
			"apps/cni/release.yaml":       release("ium"),
		},
	}, {
		name: "postBuild substitute",
		files: map[string]string{
			"clusters/c00/cni.yaml":       userKustomization("  postBuild:\n    substitute:\n      cni_rest: ium\n"),
			"apps/cni/kustomization.yaml": kustomization(""),
			"apps/cni/release.yaml":       release("cil${cni_rest}"),
		},
	}, {
		name: "postBuild substituteFrom a ConfigMap",
		files: map[string]string{
			"clusters/c00/cni.yaml": userKustomization("  postBuild:\n    substituteFrom:\n    - kind: ConfigMap\n      name: cluster-vars\n"),
			"clusters/c00/vars.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-vars\n  namespace: flux-system\n" +
				"data:\n  cni_head: cil\n  cni_rest: ium\n",
			"apps/cni/kustomization.yaml": kustomization(""),
			"apps/cni/release.yaml":       release("${cni_head}${cni_rest}"),
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			out, gen := sharedFleet(t, 2)
			wantSharedWarnings(t, out, gen, tc.files, "HelmRelease kube-system/cilium is applied by 2 Flux Kustomizations (cilium, cni)")
		})
	}
}

// Another Kustomization applies kronform-gen's objects without any file naming them when its build takes in
// kronform-gen's files: a Flux Kustomization whose path holds kronform-gen's folders (kustomize-controller builds a
// folder without a kustomization file as every YAML file below it, and the folders below that have one as they
// stand), or a kustomization file of the user's that lists one of those folders. Both are warned of.
func TestWarnSharedSeesKronformGenFilesBuiltByAnotherKustomization(t *testing.T) {
	t.Setenv("GIT_ALLOW_PROTOCOL", os.Getenv("GIT_ALLOW_PROTOCOL"))
	t.Setenv("GIT_TERMINAL_PROMPT", os.Getenv("GIT_TERMINAL_PROMPT"))
	fluxKustomization := func(name, path string) string {
		return "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: " + name + "\n  namespace: flux-system\n" +
			"spec:\n  interval: 10m\n  path: " + path + "\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
	}
	policy := func(other string) string {
		names := []string{other, "host-policies"}
		slices.Sort(names)
		return "CiliumClusterwideNetworkPolicy host-fw-control-plane is applied by 2 Flux Kustomizations (" + strings.Join(names, ", ") + ")"
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string
	}{{
		name:  "a Flux Kustomization of the folder that holds kronform-gen's",
		files: map[string]string{"clusters/c00/infrastructure.yaml": fluxKustomization("infrastructure", "./infrastructure")},
		want: []string{"HelmRelease kube-system/cilium is applied by 2 Flux Kustomizations (cilium, infrastructure)",
			policy("infrastructure")},
	}, {
		name:  "of the cluster's folder of kronform-gen's",
		files: map[string]string{"clusters/c00/infrastructure.yaml": fluxKustomization("infrastructure", "infrastructure/c00/")},
		want: []string{"HelmRelease kube-system/cilium is applied by 2 Flux Kustomizations (cilium, infrastructure)",
			policy("infrastructure")},
	}, {
		name: "a kustomization file that lists a folder of kronform-gen's",
		files: map[string]string{
			"clusters/c00/apps.yaml":  fluxKustomization("apps", "./apps"),
			"apps/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ../infrastructure/c00/host-policies\n",
		},
		want: []string{policy("apps")},
	}, {
		// A Kustomization that another's build declares has its spec substituted by that one's postBuild.
		name: "a Flux Kustomization whose path a postBuild variable makes",
		files: map[string]string{
			"clusters/c00/apps.yaml":   fluxKustomization("apps", "./apps") + "  postBuild:\n    substitute:\n      cluster: c00\n",
			"apps/infrastructure.yaml": fluxKustomization("infrastructure", "./infrastructure/${cluster}/host-policies"),
		},
		want: []string{policy("infrastructure")},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			out, gen := sharedFleet(t, 1)
			// kronform-gen's host policies, whose names no file of the user's holds.
			for p, s := range map[string]string{
				"clusters/c00/host-policies.yaml":                     fluxKustomization("host-policies", "./infrastructure/c00/host-policies"),
				"infrastructure/c00/host-policies/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- host-fw-control-plane.yaml\n",
				"infrastructure/c00/host-policies/host-fw-control-plane.yaml": "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata:\n  name: host-fw-control-plane\n" +
					"spec:\n  nodeSelector:\n    matchLabels:\n      node-role.kubernetes.io/control-plane: \"\"\n  ingress:\n  - fromEntities:\n    - cluster\n",
			} {
				writeFile(t, out, p, s)
				if err := gen.Add(p, []byte(s)); err != nil {
					t.Fatal(err)
				}
			}
			wantSharedWarnings(t, out, gen, tc.files, tc.want...)
		})
	}
}

// spec.path is read from the root of the repository Flux follows, in which the tree may lie in a folder
// (repositoryPath): a Flux Kustomization of the folder above kronform-gen's takes them in; one of a folder of that name
// beside the tree does not.
func TestNamedElsewhereReadsSpecPathFromTheRepositoryRoot(t *testing.T) {
	gen := tree.New()
	gen.SetRepositoryPath("fleet")
	if err := gen.Add("infrastructure/c00/cilium/helmrelease.yaml", []byte(ciliumRelease("10m"))); err != nil {
		t.Fatal(err)
	}
	for spec, want := range map[string]bool{
		"path: ./fleet/infrastructure":           true,
		"path: fleet/infrastructure/c00/cilium/": true,
		"path: ./fleet":                          true,
		"path: ./":                               true,
		"{}":                                     true, // no path: the repository's root
		"path: ./infrastructure":                 false,
		"path: ./fleet/apps":                     false,
		// A variable that a postBuild may substitute: any folder below the part before it.
		"path: ./fleet/infrastructure/${cluster}":        true,
		"path: ./fleet/infrastructure/c${n}/cilium":      true,
		"path: ${base}/apps":                             true,
		"path: ./fleet/apps/${app}/../../infrastructure": true,
		"path: ./fleet/infrastructure/..${x}":            true,
		"path: ./fleet/clusters/${cluster}/apps":         false,
		"path: ./infrastructure/${cluster}":              false,
	} {
		k := "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: infra, namespace: flux-system}\nspec:\n  " + spec + "\n"
		read := func(p string) ([]byte, error) { return []byte(k), nil }
		if got := (&app{}).namedElsewhere(gen, []string{"clusters/c00/infra.yaml"}, read); got != want {
			t.Errorf("spec %s: built %v, want %v", spec, got, want)
		}
	}
}

// A namePrefix or nameSuffix is common too (an environment's, a team's). Every name a build gives an object begins
// with the last prefix it added and ends with the last suffix: an object so renamed is one of kronform-gen's only if
// one of its names begins with such a prefix, or ends with such a suffix (or the prefix is a variable, which postBuild
// may substitute). Others are no reason to build the fleet.
func TestWarnSharedDoesNotBuildForAffixesNoNameTakes(t *testing.T) {
	const n = 4
	out, gen := sharedFleet(t, n)
	writeFile(t, out, "clusters/c00/apps.yaml", "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\n"+
		"spec:\n  interval: 10m\n  path: ./apps\n  prune: true\n  namePrefix: c00-\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n")
	writeFile(t, out, "apps/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamePrefix: web-\nnameSuffix: -v2\n"+
		"resources:\n- policy.yaml\ntransformers:\n- team.yaml\n")
	writeFile(t, out, "apps/team.yaml", "apiVersion: builtin\nkind: PrefixSuffixTransformer\nmetadata:\n  name: team\nprefix: team-\nsuffix: \"\"\nfieldSpecs:\n- path: metadata/name\n")
	read := func(p string) ([]byte, error) { return os.ReadFile(filepath.Join(out, filepath.FromSlash(p))) }
	if (&app{outDir: out}).namedElsewhere(gen, nil, read) {
		t.Errorf("the fleet is built for prefixes and suffixes that no name of kronform-gen's takes")
	}
}

// Flux repositories commonly give every cluster's Kustomizations postBuild variables (the cluster's name in an
// Ingress's host, a container's environment, a chart's values). A variable makes one of kronform-gen's names only
// where it stands in a name, or where kustomize may copy it into one (replacements, a JSON patch's copy or move):
// elsewhere it is no reason to build the fleet, which made a no-op generate of 1000 such clusters three times slower.
func TestWarnSharedDoesNotBuildForVariablesOutsideNames(t *testing.T) {
	t.Setenv("GIT_ALLOW_PROTOCOL", os.Getenv("GIT_ALLOW_PROTOCOL"))
	t.Setenv("GIT_TERMINAL_PROMPT", os.Getenv("GIT_TERMINAL_PROMPT"))
	const n = 8
	out, gen := sharedFleet(t, n)
	for i := range n {
		c := fmt.Sprintf("c%02d", i)
		writeFile(t, out, "clusters/"+c+"/apps.yaml", "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\n"+
			"spec:\n  interval: 10m\n  path: ./apps\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"+
			"  postBuild:\n    substitute:\n      cluster_name: "+c+"\n")
	}
	writeFile(t, out, "apps/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: apps\n"+
		"resources:\n- web.yaml\n- policy.yaml\npatches:\n- target:\n    kind: Deployment\n  patch: |-\n    - op: add\n      path: /metadata/labels/cluster\n      value: ${cluster_name}\n")
	writeFile(t, out, "apps/web.yaml", "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: web\nspec:\n  rules:\n  - host: web.${cluster_name}.example.com\n"+
		"---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {app: web}\nspec:\n  template:\n    metadata:\n      labels: {cluster: \"${cluster_name}\"}\n"+
		"    spec:\n      containers:\n      - name: web\n        image: nginx\n        env:\n        - name: CLUSTER\n          value: ${cluster_name}\n"+
		"---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: metrics\nspec:\n  values:\n    cluster:\n      name: ${cluster_name}\n")
	var stderr bytes.Buffer
	a := &app{outDir: out, stderr: &stderr}
	read := func(p string) ([]byte, error) { return os.ReadFile(filepath.Join(out, filepath.FromSlash(p))) }
	if a.namedElsewhere(gen, nil, read) {
		t.Errorf("the fleet is built for postBuild variables that stand in no name")
	}

	// Where a variable stands in a name, or may be copied into one, the fleet is built and the name Flux applies is
	// warned of.
	userKustomization := "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: cni\n  namespace: flux-system\n" +
		"spec:\n  interval: 10m\n  path: ./cni\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n" +
		"  postBuild:\n    substitute:\n      cni: cil\n"
	release := func(name, values string) string {
		return "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: " + name + "\n  namespace: kube-system\n" +
			"spec:\n  interval: 30m\n  chartRef:\n    kind: OCIRepository\n    name: cni\n" + values
	}
	kustomization := func(fields string) string {
		return "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- release.yaml\n" + fields
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
	}{{
		name:  "in metadata.name",
		files: map[string]string{"cni/kustomization.yaml": kustomization(""), "cni/release.yaml": release("\"${cni}ium\"", "")},
	}, {
		name: "in a JSON patch's value, inline",
		files: map[string]string{
			"cni/kustomization.yaml": kustomization("patches:\n- target:\n    kind: HelmRelease\n  patch: |-\n    - op: replace\n      path: /metadata/name\n      value: ${cni}ium\n"),
			"cni/release.yaml":       release("cni", ""),
		},
	}, {
		name: "copied by a replacement",
		files: map[string]string{
			"cni/kustomization.yaml": kustomization("replacements:\n- source:\n    kind: HelmRelease\n    fieldPath: spec.values.release\n" +
				"  targets:\n  - select:\n      kind: HelmRelease\n    fieldPaths:\n    - metadata.name\n"),
			"cni/release.yaml": release("cni", "  values:\n    release: ${cni}ium\n"),
		},
	}, {
		name: "copied by a JSON patch",
		files: map[string]string{
			"cni/kustomization.yaml": kustomization("patches:\n- target:\n    kind: HelmRelease\n  path: rename.json\n"),
			"cni/rename.json":        `[{"op": "copy", "from": "/spec/values/release", "path": "/metadata/name"}]`,
			"cni/release.yaml":       release("cni", "  values:\n    release: ${cni}ium\n"),
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			out, gen := sharedFleet(t, 2)
			writeFile(t, out, "clusters/c00/cni.yaml", userKustomization)
			wantSharedWarnings(t, out, gen, tc.files, "HelmRelease kube-system/cilium is applied by 2 Flux Kustomizations (cilium, cni)")
		})
	}
}

// A YAML anchor may hold an alias to itself (kustomize refuses such a file, but generate reads every file of the
// tree): reading a file for names and prefixes takes each node once, and ends.
func TestNamedElsewhereReadsAnchorsThatHoldThemselves(t *testing.T) {
	gen := tree.New()
	if err := gen.Add("infrastructure/c00/cilium/helmrelease.yaml", []byte(ciliumRelease("10m"))); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"clusters/c00/apps.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system}\n" +
			"spec:\n  path: ./apps\n  postBuild:\n    substitute: {cluster: c00}\n",
		"apps/web.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata: &data\n  host: web.${cluster}.example.com\n  again: *data\n" +
			"more:\n  <<: &more\n    <<: *more\n    host: ${cluster}\n",
		"apps/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamePrefix: web-\nlabels: &labels\n- pairs: *labels\n",
	}
	read := func(p string) ([]byte, error) { return []byte(files[p]), nil }
	if (&app{}).namedElsewhere(gen, slices.Sorted(maps.Keys(files)), read) {
		t.Errorf("built for a prefix and variables that make no name of kronform-gen's")
	}
}

// kustomize gives a namespace (a kustomization file's, a Flux Kustomization's targetNamespace) to a custom resource
// whose scope it does not know, as a CiliumClusterwideNetworkPolicy: a user's copy of a host policy in a folder of
// Cilium's things, namespace kube-system, is built with one. The API server drops it, and Flux applies the one
// cluster-wide object of that name: kronform-gen's policy, which it writes without a namespace. It is warned of.
func TestWarnSharedSeesClusterScopedObjectsGivenANamespace(t *testing.T) {
	t.Setenv("GIT_ALLOW_PROTOCOL", os.Getenv("GIT_ALLOW_PROTOCOL"))
	t.Setenv("GIT_TERMINAL_PROMPT", os.Getenv("GIT_TERMINAL_PROMPT"))
	fluxKustomization := func(name, path, spec string) string {
		return "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: " + name + "\n  namespace: flux-system\n" +
			"spec:\n  interval: 10m\n  path: " + path + "\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n" + spec
	}
	policy := func(name string) string {
		return "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata:\n  name: " + name + "\n" +
			"spec:\n  nodeSelector:\n    matchLabels:\n      node-role.kubernetes.io/control-plane: \"\"\n  ingress:\n  - fromEntities:\n    - cluster\n"
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
	}{{
		name: "a kustomization file's namespace",
		files: map[string]string{
			"clusters/c00/my-cilium.yaml":  fluxKustomization("my-cilium", "./my-cilium", ""),
			"my-cilium/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: kube-system\nresources:\n- host-fw.yaml\n",
			"my-cilium/host-fw.yaml":       policy("host-fw-control-plane"),
		},
	}, {
		name: "a Flux Kustomization's targetNamespace",
		files: map[string]string{
			"clusters/c00/my-cilium.yaml": fluxKustomization("my-cilium", "./my-cilium", "  targetNamespace: kube-system\n"),
			"my-cilium/host-fw.yaml":      policy("host-fw-control-plane"),
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			out, gen := sharedFleet(t, 1)
			for p, s := range map[string]string{
				"clusters/c00/host-policies.yaml":                             fluxKustomization("host-policies", "./infrastructure/c00/host-policies", ""),
				"infrastructure/c00/host-policies/kustomization.yaml":         "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- host-fw-control-plane.yaml\n",
				"infrastructure/c00/host-policies/host-fw-control-plane.yaml": policy("host-fw-control-plane"),
			} {
				writeFile(t, out, p, s)
				if err := gen.Add(p, []byte(s)); err != nil {
					t.Fatal(err)
				}
			}
			wantSharedWarnings(t, out, gen, tc.files, "CiliumClusterwideNetworkPolicy host-fw-control-plane is applied by 2 Flux Kustomizations (host-policies, my-cilium)")
		})
	}
}

// wantSharedWarnings writes files into the tree at out (gen: kronform-gen's files of it), runs the shared-object scan,
// and wants exactly the warnings given, each as it follows "warning: cluster c00: ".
func wantSharedWarnings(t *testing.T, out string, gen *tree.Tree, files map[string]string, want ...string) {
	t.Helper()
	for p, s := range files {
		writeFile(t, out, p, s)
	}
	var stderr bytes.Buffer
	(&app{outDir: out, stderr: &stderr}).warnShared(gen, nil, nil)
	warned := stderr.String()
	for _, w := range want {
		if !strings.Contains(warned, "warning: cluster c00: "+w) {
			t.Errorf("not warned that %s:\n%s", w, warned)
		}
	}
	if n := strings.Count(warned, "warning:"); n != len(want) {
		t.Errorf("%d warnings, want %d:\n%s", n, len(want), warned)
	}
}

// A variable with a default (${var:=default}, ${var:-default}), as Flux repositories commonly write in values, holds a
// colon: read as a string of YAML it is the same string again, which was read again without end (a stack overflow
// that killed generate on any tree holding one). It is text there, and still found where it stands in a name.
func TestVariableWithADefaultIsText(t *testing.T) {
	for doc, want := range map[string]bool{
		"spec:\n  values:\n    cluster: ${cluster_name:=alpha}\n":                         false,
		"spec:\n  values:\n    cluster: \"${cluster_name:-alpha}\"\n":                     false,
		"spec:\n  values:\n    note: |\n      ${cluster_name:=alpha}\n":                   false,
		"metadata:\n  name: cni-${cluster_name:=alpha}\n":                                 true,
		"patch: |\n  - {op: replace, path: /metadata/name, value: \"${name:=cilium}\"}\n": true,
	} {
		if got := variableInName([]byte(doc)); got != want {
			t.Errorf("variableInName(%q) = %v, want %v", doc, got, want)
		}
	}
}

// A string that names an affix word and holds a colon, but parses as a lone string (a URL, a note), was read as YAML
// again and again, as itself, until the stack overflowed: generate died on a kustomization file that wrote one. It is
// text; an affix written in a string of YAML is still found.
func TestAffixWordInTextIsText(t *testing.T) {
	names := [][]byte{[]byte("cilium")}
	for doc, want := range map[string]bool{
		"namePrefix: x-\nnote: see https://example.com/namePrefix\n":                   false,
		"namePrefix: x-\nnote: \"${prefix:=nameSuffix}\"\n":                            false,
		"transformers:\n  - |\n    kind: PrefixTransformer\n    prefix: cil\n":         true,
		"transformers:\n  - |\n    kind: PrefixTransformer\n    prefix: other-\n":      false,
		"namePrefix: x-\ntransformers:\n  - \"url: https://example.com/namePrefix\"\n": false,
	} {
		if got := renames([]byte(doc), names); got != want {
			t.Errorf("renames(%q) = %v, want %v", doc, got, want)
		}
	}
}
