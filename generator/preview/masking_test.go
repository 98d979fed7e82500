package preview_test

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kronform/kronform-gen/generator/preview"
	"github.com/kronform/kronform-gen/generator/secrets"
)

// varsTree is a cluster whose Kustomization "vars" builds Secret flux-system/cluster-secret-vars, and whose
// Kustomization "apps" substitutes its variables into apps/config.yaml.
func varsTree(token, config string) map[string][]byte {
	return map[string][]byte{
		"clusters/c1/vars.yaml": []byte(fluxKustomization("vars", "./vars")),
		"clusters/c1/apps.yaml": []byte(fluxKustomization("apps", "./apps", "postBuild:", "  substituteFrom:", "  - {kind: Secret, name: cluster-secret-vars}")),
		"vars/secret.yaml": []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: cluster-secret-vars\n  namespace: flux-system\n" +
			"stringData:\n  api_token: " + token + "\n"),
		"apps/config.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-config\n  namespace: apps\ndata:\n" + config),
	}
}

func buildFiles(t *testing.T, files map[string][]byte, opts preview.Options) []*preview.Build {
	t.Helper()
	src, ks := fromFiles(t, files)
	res, err := src.Build(ks, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res.Builds
}

// An object that changes only through a Secret-sourced variable is changed: Flux rewrites it. The diff lists it, says
// the change is masked, and shows neither value.
func TestDiffSeesAChangeOfASecretSourcedVariable(t *testing.T) {
	const oldToken, newToken = "KRONOLD-s3cr3t-token", "KRONNEW-0th3r-token"
	config := "  token: ${api_token}\n  url: https://api.example.com/?t=${api_token}\n  plain: unchanged\n"
	old := buildFiles(t, varsTree(oldToken, config), preview.Options{})
	same := buildFiles(t, varsTree(oldToken, config), preview.Options{})
	if changes, err := preview.Diff(old, same, "HEAD", "working tree"); err != nil || len(changes) != 0 {
		t.Fatalf("two builds of one tree differ: %v %+v", err, changes)
	}
	changed := buildFiles(t, varsTree(newToken, config), preview.Options{})
	changes, err := preview.Diff(old, changed, "HEAD", "working tree")
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]preview.ObjectChange{}
	for _, c := range changes {
		byKey[c.Key] = c
	}
	cm, ok := byKey["c1/ConfigMap/apps/app-config"]
	if !ok {
		t.Fatalf("app-config, whose variable changed, is not in the diff: %v", slicesKeys(byKey))
	}
	if cm.Change != preview.Changed || strings.Join(cm.SecretKeysChanged, ",") != "data.token,data.url" {
		t.Errorf("app-config: %s, masked changes %v", cm.Change, cm.SecretKeysChanged)
	}
	if !strings.Contains(cm.Diff, "# values changed (masked): data.token, data.url\n") {
		t.Errorf("the diff does not say the change is masked:\n%s", cm.Diff)
	}
	if _, ok := byKey["c1/Secret/flux-system/cluster-secret-vars"]; !ok || len(changes) != 2 {
		t.Errorf("changes: %v", slicesKeys(byKey))
	}
	all, _ := json.Marshal(changes)
	for _, v := range []string{"KRONOLD", "KRONNEW", "s3cr3t", "0th3r", "KRONFORMGENMASKED"} {
		if strings.Contains(string(all), v) {
			t.Errorf("the diff shows %q:\n%s", v, all)
		}
	}
	// It prints masked as before.
	y, _ := changed[0].YAML(false)
	if !strings.Contains(string(y), "  token: '*****'\n") || !strings.Contains(string(y), "  url: https://api.example.com/?t=*****\n") {
		t.Errorf("build:\n%s", y)
	}
}

func slicesKeys(m map[string]preview.ObjectChange) []string {
	var out []string
	for k := range maps.Keys(m) {
		out = append(out, k)
	}
	return out
}

// kustomize-controller decrypts only for a Kustomization with spec.decryption, and refuses to apply one whose build
// still holds a SOPS-encrypted Secret, unless the Secret is annotated decrypt: disabled. build (masked or with the key)
// and diff fail the same way.
func TestSOPSSecretsFollowTheKustomizationsDecryption(t *testing.T) {
	dir, keyFile := sopsFixture(t)
	ids, err := secrets.LoadIdentities(keyFile, os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	withKey := preview.Options{Decrypt: secrets.NewDecryptor(ids)}
	kpath := filepath.Join(dir, "clusters/c1/secrets.yaml")
	k, _ := os.ReadFile(kpath)
	noDecryption := strings.Replace(string(k), "  decryption: {provider: sops, secretRef: {name: sops-age}}\n", "", 1)
	if noDecryption == string(k) {
		t.Fatal("the fixture has no decryption to remove")
	}
	os.WriteFile(kpath, []byte(noDecryption), 0o644)
	const reason = "c1/secrets: Secret/apps/db is SOPS encrypted, configuring decryption is required for this secret to be reconciled"
	for name, opts := range map[string]preview.Options{"masked": {}, "with the key": withKey} {
		src, _ := preview.FromDir(dir)
		ks, _ := src.Kustomizations()
		res, err := src.Build(ks, opts)
		builds := buildsOf(res)
		if err == nil || err.Error() != reason || len(builds) != 0 {
			t.Errorf("%s, without spec.decryption: %d builds, error %v; want %q", name, len(builds), err, reason)
		}
	}

	// Annotated decrypt: disabled, the Secret is applied as it is: never decrypted, with or without spec.decryption.
	os.WriteFile(filepath.Join(dir, "infrastructure/c1/secrets/kustomization.yaml"), []byte(
		"resources: [db.yaml]\ncommonAnnotations: {kustomize.toolkit.fluxcd.io/decrypt: Disabled}\n"), 0o644)
	for _, kfile := range []string{noDecryption, string(k)} {
		os.WriteFile(kpath, []byte(kfile), 0o644)
		src, _ := preview.FromDir(dir)
		ks, _ := src.Kustomizations()
		res, err := src.Build(ks, withKey)
		if err != nil {
			t.Fatalf("decrypt: disabled: %v", err)
		}
		builds := res.Builds
		y, _ := builds[0].YAML(true)
		if strings.Contains(string(y), "hunter2") || !strings.Contains(string(y), "password: ENC[") {
			t.Errorf("a Secret annotated decrypt: disabled was decrypted:\n%s", y)
		}
	}
}

// Any expression whose value derives from a masked variable prints masked, and while a required source is missing an
// expression on an unknown variable prints as written, default included.
func TestExpressionsOnMaskedVariablesPrintMasked(t *testing.T) {
	config := "  keep: ${undefined_var:=fallback}\n  keep2: x-${undefined_var,,}-${undefined_var/a\\/b/c}\n" +
		"  head: ${api_token:0:4}\n  lower: ${api_token,,}\n  upper: ${api_token^}\n  len: ${#api_token}\n" +
		"  trim: ${api_token#KRON}\n  repl: pre-${api_token/o/0}\n  dflt: ${api_token:-none}\n  arg: ${HOST/x/${api_token}}\n"
	files := varsTree("KRONFORM-s3cr3t", config)
	files["clusters/c1/apps.yaml"] = []byte(strings.Replace(string(files["clusters/c1/apps.yaml"]),
		"    - {kind: Secret, name: cluster-secret-vars}\n",
		"    - {kind: Secret, name: cluster-secret-vars}\n    - {kind: ConfigMap, name: only-in-the-cluster}\n", 1))
	b := buildFiles(t, files, preview.Options{})
	y, err := b[0].YAML(false)
	if err != nil {
		t.Fatal(err)
	}
	want := `apiVersion: v1
data:
  arg: ${HOST/x/${api_token}}
  dflt: '*****'
  head: '*****'
  keep: ${undefined_var:=fallback}
  keep2: x-${undefined_var,,}-${undefined_var/a\/b/c}
  len: '*****'
  lower: '*****'
  repl: pre-*****
  trim: '*****'
  upper: '*****'
kind: ConfigMap
metadata:
  name: app-config
  namespace: apps
`
	if string(y) != want {
		t.Errorf("build:\n%s\nwant:\n%s", y, want)
	}
	// With HOST known, its replacement takes the masked value as an argument: the result is masked too.
	files["clusters/c1/apps.yaml"] = []byte(strings.Replace(string(files["clusters/c1/apps.yaml"]),
		"    substituteFrom:\n", "    substitute: {HOST: xhost}\n    substituteFrom:\n", 1))
	y, _ = buildFiles(t, files, preview.Options{})[0].YAML(false)
	if !strings.Contains(string(y), "  arg: '*****'\n") {
		t.Errorf("an argument from a masked variable:\n%s", y)
	}
}

func buildsOf(r *preview.Result) []*preview.Build {
	if r == nil {
		return nil
	}
	return r.Builds
}

// build and diff decide what is a Secret on the object as kustomize prints it and Flux applies it (tags decoded,
// aliases and merge keys resolved), and mask its data and stringData whatever their shape.
func TestBuildAndDiffMaskSecretsAsApplied(t *testing.T) {
	const canary = "CANARY-b1n4ry"
	encoded := base64.StdEncoding.EncodeToString([]byte(canary))
	secrets := map[string]string{
		"binary":  "apiVersion: v1\nkind: !!binary U2VjcmV0\nmetadata: {name: binary, namespace: apps}\nstringData: {pw: " + canary + "}\n",
		"escaped": "apiVersion: v1\nkind: \"Secr\\x65t\"\nmetadata: {name: escaped, namespace: apps}\nstringData: {pw: " + canary + "}\n",
		"merged":  "apiVersion: v1\n<<: {kind: Secret}\nmetadata: {name: merged, namespace: apps}\nstringData: {pw: " + canary + "}\n",
		"string":  "apiVersion: v1\nkind: Secret\nmetadata: {name: string, namespace: apps}\nstringData: " + canary + "\n",
		"list":    "apiVersion: v1\nkind: Secret\nmetadata: {name: list, namespace: apps}\nstringData: [" + canary + "]\n",
		"data":    "apiVersion: v1\nkind: Secret\nmetadata: {name: data, namespace: apps}\ndata: " + encoded + "\n",
		"nested":  "apiVersion: v1\nkind: Secret\nmetadata: {name: nested, namespace: apps}\ndata: {pw: {x: " + encoded + "}}\n",
	}
	files := map[string][]byte{"clusters/c1/apps.yaml": []byte(fluxKustomization("apps", "./apps"))}
	for name, doc := range secrets {
		files["apps/"+name+".yaml"] = []byte(doc)
	}
	builds := buildFiles(t, files, preview.Options{})
	y, err := builds[0].YAML(false)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(y), canary) || strings.Contains(string(y), encoded) {
		t.Errorf("build shows a value:\n%s", y)
	}
	changes, err := preview.Diff(nil, builds, "HEAD", "working tree")
	if err != nil {
		t.Fatal(err)
	}
	all, _ := json.Marshal(changes)
	if strings.Contains(string(all), canary) || strings.Contains(string(all), encoded) {
		t.Errorf("diff shows a value:\n%s", all)
	}
	for _, c := range changes {
		if c.Kind != "Secret" || c.Key != "c1/Secret/apps/"+c.Name {
			t.Errorf("%s: kind %q", c.Key, c.Kind)
		}
	}
	if len(changes) != len(secrets) {
		t.Errorf("%d objects in the diff, want %d", len(changes), len(secrets))
	}
}
