package validate

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kronform/kronform-gen/generator/cache"
	"github.com/kronform/kronform-gen/generator/manifest"
	"github.com/kronform/kronform-gen/generator/render"
	"github.com/kronform/kronform-gen/generator/spec"
	"github.com/kronform/kronform-gen/generator/tree"
	"github.com/kronform/kronform-gen/internal/fleetgen"
)

func schemas(t *testing.T) *Schemas {
	t.Helper()
	s, err := DefaultSchemas()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func strs(findings []Finding) []string {
	out := []string{}
	for _, f := range findings {
		out = append(out, f.String())
	}
	return out
}

func TestEmbeddedSchemas(t *testing.T) {
	s := schemas(t)
	want := []string{
		"cilium.io/v2 CiliumClusterwideNetworkPolicy",
		"helm.toolkit.fluxcd.io/v2 HelmRelease",
		"kustomize.toolkit.fluxcd.io/v1 Kustomization",
		"source.toolkit.fluxcd.io/v1 GitRepository",
		"source.toolkit.fluxcd.io/v1 HelmRepository",
	}
	if diff := cmp.Diff(want, s.Kinds()); diff != "" {
		t.Errorf("served kinds (-want +got):\n%s", diff)
	}
	for _, pin := range []string{"helm-controller@v1.6.4", "kustomize-controller@v1.9.6", "source-controller@v1.9.6", "cilium@v1.20.2"} {
		if !strings.Contains(s.Versions, pin) {
			t.Errorf("crds/VERSIONS does not record %s:\n%s", pin, s.Versions)
		}
	}
}

func TestInvalidObjectsAreRefusedWithTheirFieldPath(t *testing.T) {
	s := schemas(t)
	files, _ := filepath.Glob("testdata/invalid/*.yaml")
	var covered []string
	for _, c := range invalidCases {
		covered = append(covered, filepath.Join("testdata/invalid", c.file))
		t.Run(c.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata/invalid", c.file))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, strs(s.File(c.file, b))); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
	slices.Sort(covered)
	if diff := cmp.Diff(files, covered); diff != "" {
		t.Errorf("every testdata/invalid file needs a case in cases_test.go (-files +cases):\n%s", diff)
	}
}

func TestValidObjectsPass(t *testing.T) {
	s := schemas(t)
	files, _ := filepath.Glob("testdata/valid/*.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata/valid files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := strs(s.File(filepath.Base(f), b)); len(got) > 0 {
			t.Errorf("%s: want no findings, got:\n%s", f, strings.Join(got, "\n"))
		}
	}
}

func renderSpec(t *testing.T, name string, data []byte) *tree.Tree {
	t.Helper()
	m, err := spec.Load(name, data, spec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := render.Fleet(m, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r.Tree
}

func TestExampleTreeIsValid(t *testing.T) {
	data, err := os.ReadFile("../../cluster-spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Rendered as CI renders it: no key, no sources, the committed encrypted files kept.
	m, err := spec.Load("../../cluster-spec.yaml", data, spec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := render.Fleet(m, render.Options{Previous: os.DirFS("../../output")})
	if err != nil {
		t.Fatal(err)
	}
	findings, err := Tree(r.Tree)
	if err != nil {
		t.Fatal(err)
	}
	if len(findings) > 0 {
		t.Errorf("the example tree is invalid:\n%s", strings.Join(strs(findings), "\n"))
	}
	// the committed output/ is what validate checks on disk
	findings, _, err = Dir("../../output")
	if err != nil {
		t.Fatal(err)
	}
	if len(findings) > 0 {
		t.Errorf("output/ is invalid:\n%s", strings.Join(strs(findings), "\n"))
	}
}

func TestFleetTreeIsValid(t *testing.T) {
	// 8 clusters cover every chart version fleetgen cycles through, the presets and the split port lists.
	tr := renderSpec(t, "fleet.yaml", fleetgen.Spec(8))
	findings, err := Tree(tr)
	if err != nil {
		t.Fatal(err)
	}
	if len(findings) > 0 {
		t.Errorf("the fleet tree is invalid:\n%s", strings.Join(strs(findings), "\n"))
	}
}

// A tree breaks in more than one way at once: every problem of every file is reported, in file and line order, and
// files that are not Kubernetes objects are left alone.
func TestTreeReportsEverythingSorted(t *testing.T) {
	tr := tree.New()
	add := func(p, data string) {
		if err := tr.Add(p, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	add(".sops.yaml", "creation_rules:\n- path_regex: .*\n")
	add("hetzner/kronform.json", `{"rules": 1}`)
	add("README.md", "# not an object\n")
	add("b/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresource:\n- a.yaml\n")
	add("a/two.yaml", `# two documents, the second one broken twice
apiVersion: v1
kind: Namespace
metadata:
  name: fine
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: x
  namespace: kube-system
data:
  ok: "1"
binaryData:
  ok: "!!"
`)
	add("a/deployment.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n")
	add("a/list.yaml", "- not\n- an object\n")
	want := []string{
		`a/deployment.yaml:2:1: Deployment web: kind: no schema for Deployment apps/v1: kronform-gen validates cilium.io/v2 CiliumClusterwideNetworkPolicy, helm.toolkit.fluxcd.io/v2 HelmRelease, kustomize.toolkit.fluxcd.io/v1 Kustomization, source.toolkit.fluxcd.io/v1 GitRepository, source.toolkit.fluxcd.io/v1 HelmRepository, v1 ConfigMap, v1 Namespace, v1 Secret`,
		`a/list.yaml: not valid YAML: line 1: a Kubernetes object must be a mapping: json: cannot unmarshal array into Go value of type map[string]interface {}`,
		`a/two.yaml:15:3: ConfigMap kube-system/x: binaryData[ok]: Invalid value: "ok": duplicate of key present in data`,
		`a/two.yaml:15:3: ConfigMap kube-system/x: binaryData[ok]: Invalid value: must be base64 (illegal base64 data at input byte 0)`,
		`b/kustomization.yaml:3:1: Kustomization (no name): resource: unknown field: not declared in the Kustomization schema`,
	}
	if diff := cmp.Diff(want, strs(schemas(t).Tree(tr))); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

// Encrypted Secrets are not waved through: only their sops block and encrypted values are set aside.
func TestEncryptedSecretIsStillChecked(t *testing.T) {
	b, err := os.ReadFile("testdata/valid/secret-sops.yaml")
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(b), "    password: ENC[", "    pass word: ENC[", 1)
	broken = strings.Replace(broken, "type: Opaque\n", "type: kubernetes.io/tls\n", 1)
	want := []string{
		`secret.yaml:9:1: Secret kube-system/hetzner-robot: data[tls.crt]: Required value: required for a Secret of type kubernetes.io/tls`,
		`secret.yaml:9:1: Secret kube-system/hetzner-robot: data[tls.key]: Required value: required for a Secret of type kubernetes.io/tls`,
		`secret.yaml:10:5: Secret kube-system/hetzner-robot: data[(a key that is not valid, not shown)]: Invalid value: a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
	}
	if diff := cmp.Diff(want, strs(schemas(t).File("secret.yaml", []byte(broken)))); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	// the sops block is set aside only when it is one: a Secret with a stray sops key is refused
	plain := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: x\nsops: yes\n"
	want = []string{`s.yaml:6:1: Secret x/s: sops: unknown field: not declared in the Secret schema`}
	if diff := cmp.Diff(want, strs(schemas(t).File("s.yaml", []byte(plain)))); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

// A Secret's key the API server would not take is most likely a value pasted where its key belongs: a finding names
// it "(a key that is not valid, not shown)", as check's report does, at the key's place in the file, and never quotes
// it; a ConfigMap's keys hold no secret and show. Keys the API server takes show as they are.
func TestSecretKeysThatAreNotValidAreNotShown(t *testing.T) {
	file := "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: x}\n" +
		"stringData:\n  ok.key_1-a: x\n  'the password is CANARY': z\n" +
		"data:\n  ..CANARY: eA==\n  'CANARY=': '!!'\n"
	want := []string{
		`s.yaml:6:3: Secret x/s: stringData[(a key that is not valid, not shown)]: Invalid value: a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
		`s.yaml:8:3: Secret x/s: data[(a key that is not valid, not shown)]: Invalid value: must not start with '..'`,
		`s.yaml:9:3: Secret x/s: data[(a key that is not valid, not shown)]: Invalid value: a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
		`s.yaml:9:3: Secret x/s: data[(a key that is not valid, not shown)]: Invalid value: must be base64 (illegal base64 data at input byte 0)`,
	}
	if diff := cmp.Diff(want, strs(schemas(t).File("s.yaml", []byte(file)))); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: x}\ndata: {'a b': x}\nbinaryData: {'c d': '!!'}\n"
	for _, f := range strs(schemas(t).File("c.yaml", []byte(cm))) {
		if !strings.Contains(f, "[a b]") && !strings.Contains(f, "[c d]") {
			t.Errorf("a ConfigMap's key is not shown: %s", f)
		}
	}
}

func TestPathSegments(t *testing.T) {
	for in, want := range map[string][]string{
		"spec.ingress[0].toPorts[12].ports[0].port":              {"spec", "ingress", "0", "toPorts", "12", "ports", "0", "port"},
		"metadata.labels[node-role.kubernetes.io/control-plane]": {"metadata", "labels", "node-role.kubernetes.io/control-plane"},
		".spec.x": {"spec", "x"},
		"":        nil,
	} {
		if diff := cmp.Diff(want, pathSegments(in)); diff != "" {
			t.Errorf("pathSegments(%q) (-want +got):\n%s", in, diff)
		}
	}
}

// A file found valid is remembered by its bytes and not validated again by the same binary; a changed file, an
// invalid one and a Secret are validated every time.
func TestTreeRemembersValidFiles(t *testing.T) {
	t.Setenv(cache.Env, t.TempDir())
	tr := renderSpec(t, "fleet.yaml", fleetgen.Spec(2))
	secret, err := os.ReadFile("testdata/valid/secret-sops.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Add("infrastructure/extra/secret.yaml", secret); err != nil {
		t.Fatal(err)
	}
	var files, secrets int
	for _, p := range tr.Paths() {
		if Validated(p) {
			files++
			if b, _ := tr.File(p); manifest.MayHoldSecret(b) {
				secrets++
			}
		}
	}
	if secrets == 0 || secrets == files {
		t.Fatalf("the fleet should hold Secrets and other objects: %d of %d files hold a Secret", secrets, files)
	}
	validated := func(tr *tree.Tree) (int64, []Finding) {
		t.Helper()
		before := validatedFiles.Load()
		findings, err := Tree(tr)
		if err != nil {
			t.Fatal(err)
		}
		return validatedFiles.Load() - before, findings
	}
	if n, findings := validated(tr); n != int64(files) || len(findings) > 0 {
		t.Fatalf("first run validated %d files (want %d), findings %v", n, files, strs(findings))
	}
	if n, _ := validated(tr); n != int64(secrets) {
		t.Fatalf("second run validated %d files, want only the %d holding Secrets", n, secrets)
	}

	changed := tree.New()
	var broken string
	for _, p := range tr.Paths() {
		b, _ := tr.File(p)
		if broken == "" && Validated(p) && !strings.Contains(string(b), "Secret") && strings.Contains(string(b), "CiliumClusterwideNetworkPolicy") {
			broken, b = p, []byte(strings.Replace(string(b), "kind: CiliumClusterwideNetworkPolicy", "kind: CiliumClusterwideNetworkPolicy\nspek: {}", 1))
		}
		if err := changed.Add(p, b); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		n, findings := validated(changed)
		if n != int64(secrets)+1 {
			t.Errorf("after one file changed, %d files were validated, want %d", n, secrets+1)
		}
		if len(findings) != 1 || findings[0].File != broken || findings[0].Field != "spek" {
			t.Errorf("the changed file's finding is not reported every time: %v", strs(findings))
		}
	}
}

// A folder kronform-gen never wrote (no ownership record) has every YAML file checked, except flux bootstrap's
// flux-system folders, kronform-gen's own state and .git; with a record, only the files it lists.
func TestDirWithoutRecordChecksEveryYAMLFileOutsideFluxSystem(t *testing.T) {
	dir := t.TempDir()
	bad := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: ns\nbogus: 1\n"
	for p, data := range map[string]string{
		"apps/good.yaml":                          "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n",
		"apps/bad.yaml":                           bad,
		"clusters/c1/flux-system/gotk-sync.yaml":  bad,
		"flux-system/gotk-components.yaml":        bad,
		".git/x.yaml":                             bad,
		".kronform-gen/txn/infrastructure/a.yaml": bad,
	} {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	findings, _, err := Dir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := strs(findings); len(got) != 1 || !strings.HasPrefix(got[0], "apps/bad.yaml:6:1: ConfigMap ns/x: bogus:") {
		t.Errorf("findings %q, want one for apps/bad.yaml", got)
	}

	// With a record, the files it lists and nothing else.
	if err := os.MkdirAll(filepath.Join(dir, tree.StateDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(tree.OwnedFile)), []byte(`{"files":{"apps/good.yaml":"x"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if findings, _, err := Dir(dir); err != nil || len(findings) != 0 {
		t.Errorf("with a record listing only a valid file: %q, %v", strs(findings), err)
	}
}

// The digest of a file that may hold a secret value is never remembered, however the value stands in it: a
// secretGenerator literal, a patch, a Secret whose kind is tagged or escaped (these once held no "Secret" and were).
func TestTreeNeverRemembersFilesThatMayHoldASecretValue(t *testing.T) {
	t.Setenv(cache.Env, t.TempDir())
	tr := tree.New()
	for p, data := range map[string]string{
		"apps/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nsecretGenerator:\n- name: app\n  literals: [password=hunter2]\n",
		"apps/patched/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n" +
			"patches:\n- target: {name: a}\n  patch: '[{op: add, path: /stringData/pw, value: hunter2}]'\n",
		"apps/binary.yaml":  "apiVersion: v1\nkind: !!binary U2VjcmV0\nmetadata: {name: b, namespace: apps}\nstringData: {pw: hunter2}\n",
		"apps/escaped.yaml": "apiVersion: v1\nkind: \"Secr\\x65t\"\nmetadata: {name: e, namespace: apps}\nstringData: {pw: hunter2}\n",
		"apps/config.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: apps}\ndata: {color: blue}\n",
	} {
		if err := tr.Add(p, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	for run := range 2 {
		before := validatedFiles.Load()
		findings, err := Tree(tr)
		if err != nil || len(findings) > 0 {
			t.Fatalf("run %d: %v %v", run, err, strs(findings))
		}
		if n, want := validatedFiles.Load()-before, []int64{5, 4}[run]; n != want {
			t.Errorf("run %d validated %d files, want %d (only the ConfigMap remembered)", run, n, want)
		}
	}
}

// Files with the same bytes are validated once, and each of them still gets its own findings: a fleet's clusters
// share most of their files.
func TestSameContentIsValidatedOnceAndReportedForEveryFile(t *testing.T) {
	s, err := DefaultSchemas()
	if err != nil {
		t.Fatal(err)
	}
	bad := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: ns\nbogus: 1\n"
	tr := tree.New()
	for p, data := range map[string]string{
		"c1/app.yaml":  bad,
		"c2/app.yaml":  bad,
		"c3/app.yaml":  bad,
		"c1/good.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n",
	} {
		if err := tr.Add(p, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	before := validatedContents.Load()
	got := strs(s.Tree(tr))
	if n := validatedContents.Load() - before; n != 2 {
		t.Errorf("validated %d contents, want 2 (three files share one)", n)
	}
	var want []string
	for _, c := range []string{"c1", "c2", "c3"} {
		want = append(want, c+"/app.yaml:6:1: ConfigMap ns/x: bogus: unknown field: not declared in the ConfigMap schema")
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
