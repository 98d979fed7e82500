package preview_test

import (
	"bytes"
	"encoding/base64"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kronform/kronform-gen/generator/cli"
	"github.com/kronform/kronform-gen/generator/preview"
	"github.com/kronform/kronform-gen/generator/secrets"
	"github.com/kronform/kronform-gen/internal/fleetgen"
)

func TestBuildEqualsKustomizeCLIOnAFleet(t *testing.T) {
	dir := t.TempDir()
	specFile := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(specFile, fleetgen.Spec(4), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	out := filepath.Join(dir, "repo")
	if code := cli.Main([]string{"generate", "--spec", specFile, "--out", out}, nil, &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("generate the fleet: exit %d\n%s", code, stderr.String())
	}
	if n := assertBuildsMatchCLI(t, out); n != 8 {
		t.Errorf("checked %d Kustomizations of the fleet, want 8", n)
	}
}

// TestBuildFixture pins what postBuild and the spec fields do (substitute, substituteFrom a ConfigMap and a Secret
// of the same cluster, an unresolved source, defaults, targetNamespace, namePrefix, images, patches,
// commonMetadata), and that Secret-sourced values are masked.
func TestBuildFixture(t *testing.T) {
	res, _ := buildDir(t, filepath.Join("testdata", "fixture"))
	builds := res.Builds
	var got bytes.Buffer
	for _, b := range builds {
		y, err := b.YAML(false)
		if err != nil {
			t.Fatal(err)
		}
		got.WriteString("# " + b.ID() + "\n")
		for _, n := range b.Notes {
			got.WriteString("# note: " + n + "\n")
		}
		got.Write(y)
	}
	golden := filepath.Join("testdata", "fixture.golden.yaml")
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), got.String()); d != "" {
		t.Errorf("fixture build differs from %s (-want +got; rerun with -update if intended):\n%s", golden, d)
	}
	if strings.Contains(got.String(), "not-so-secret") {
		t.Error("a Secret-sourced variable was substituted in the clear")
	}
}

func TestBuildSelectsOneKustomization(t *testing.T) {
	src, err := preview.FromDir(filepath.Join("testdata", "fixture"))
	if err != nil {
		t.Fatal(err)
	}
	ks, _ := src.Kustomizations()
	var ids []string
	for _, k := range ks {
		ids = append(ids, k.ID()+"="+k.Path)
	}
	if want := "alpha/apps=apps/alpha alpha/flux-system=clusters/alpha alpha/vars=vars/alpha beta/apps=apps/beta"; strings.Join(ids, " ") != want {
		t.Fatalf("Kustomizations: %s\nwant: %s", strings.Join(ids, " "), want)
	}
	res, err := src.Build(ks, preview.Options{Cluster: "alpha", Name: "apps"})
	builds := res.Builds
	if err != nil {
		t.Fatal(err)
	}
	if len(builds) != 1 || builds[0].ID() != "alpha/apps" {
		t.Fatalf("selected builds: %v", builds)
	}
	// Its substituteFrom sources were still built from alpha/vars.
	y, _ := builds[0].YAML(false)
	if !bytes.Contains(y, []byte("value: eu-central")) {
		t.Errorf("REGION from the ConfigMap in alpha/vars was not substituted:\n%s", y)
	}
}

// sopsFixture encrypts a Secret with the real sops CLI and a fresh age key, the way the secrets contract says
// (encrypted_regex ^(data|stringData)$), and returns the tree holding it and the key file.
func sopsFixture(t *testing.T) (dir, keyFile string) {
	t.Helper()
	dir = t.TempDir()
	keyFile = filepath.Join(t.TempDir(), "age.agekey")
	if out, err := exec.Command("go", "tool", "age-keygen", "-o", keyFile).CombinedOutput(); err != nil {
		t.Fatalf("age-keygen: %v\n%s", err, out)
	}
	key, _ := os.ReadFile(keyFile)
	var recipient string
	for _, l := range strings.Split(string(key), "\n") {
		if r, ok := strings.CutPrefix(l, "# public key: "); ok {
			recipient = r
		}
	}
	plain := filepath.Join(t.TempDir(), "secret.yaml")
	// Keys in sorted order, as kronform-gen writes its own: kustomize-controller hands sops the built object as JSON
	// with sorted keys, and the SOPS MAC is over the values in the encrypted file's order (see docs/ci.md).
	os.WriteFile(plain, []byte("apiVersion: v1\ndata:\n  token: czNjcjN0\nkind: Secret\nmetadata:\n  name: db\n  namespace: apps\nstringData:\n  password: hunter2\n"), 0o600)
	enc, err := exec.Command("go", "tool", "sops", "--encrypt", "--age", recipient, "--encrypted-regex", "^(data|stringData)$", plain).Output()
	if err != nil {
		t.Fatalf("sops --encrypt: %v", err)
	}
	writeTree(t, dir, map[string][]byte{
		"clusters/c1/secrets.yaml": []byte(`apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: secrets
  namespace: flux-system
spec:
  interval: 10m
  path: ./infrastructure/c1/secrets
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
  decryption: {provider: sops, secretRef: {name: sops-age}}
`),
		"infrastructure/c1/secrets/db.yaml": enc,
	})
	return dir, keyFile
}

func TestBuildMasksAndDecryptsSOPSSecrets(t *testing.T) {
	dir, keyFile := sopsFixture(t)
	// kustomize alone (no kustomization.yaml there: the generated one) equals the CLI, ciphertext and all.
	assertBuildsMatchCLI(t, dir)

	src, _ := preview.FromDir(dir)
	ks, _ := src.Kustomizations()
	res, err := src.Build(ks, preview.Options{})
	builds := res.Builds
	if err != nil {
		t.Fatal(err)
	}
	masked, _ := builds[0].YAML(false)
	for _, want := range []string{"  password: '**SOPS**'\n", "  token: '**SOPS**'\n", "\nsops:\n"} {
		if !bytes.Contains(masked, []byte(want)) {
			t.Errorf("masked build lacks %q:\n%s", want, masked)
		}
	}
	if bytes.Count(masked, []byte("ENC[")) != 1 || !bytes.Contains(masked, []byte("  mac: ENC[")) || bytes.Contains(masked, []byte("hunter2")) {
		t.Errorf("masked build shows a value:\n%s", masked)
	}

	ids, err := secrets.LoadIdentities(keyFile, os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	res, err = src.Build(ks, preview.Options{Decrypt: secrets.NewDecryptor(ids)})
	if err != nil {
		t.Fatal(err)
	}
	builds = res.Builds
	clear, _ := builds[0].YAML(true)
	want := "apiVersion: v1\ndata:\n  token: czNjcjN0\nkind: Secret\nmetadata:\n  name: db\n  namespace: apps\nstringData:\n  password: hunter2\n"
	if string(clear) != want {
		t.Errorf("decrypted build:\n%s", clear)
	}
	if bytes.Contains(clear, []byte("sops:")) {
		t.Errorf("the decrypted Secret still carries its sops block:\n%s", clear)
	}

	// The encrypted file is no plaintext Secret, and masks in a file diff.
	enc, _ := os.ReadFile(filepath.Join(dir, "infrastructure/c1/secrets/db.yaml"))
	if found, err := preview.PlaintextSecrets(enc, nil); err != nil || len(found) != 0 {
		t.Errorf("PlaintextSecrets(encrypted) = %v, %v", found, err)
	}
	// Nor its sops block: with a recipient's key the data key unwraps and the MAC, a hash of every value, decrypts.
	if m := preview.MaskFile(enc); bytes.Contains(m, []byte("ENC[")) || !bytes.Contains(m, []byte("password: '**SOPS**'")) ||
		!bytes.Contains(m, []byte("  mac: '*****'\n")) || !bytes.Contains(m, []byte("  - enc: '*****'\n")) ||
		!bytes.Contains(m, []byte("    recipient: age1")) {
		t.Errorf("MaskFile(encrypted):\n%s", m)
	}
}

func TestPlaintextSecrets(t *testing.T) {
	for _, tc := range []struct{ name, file, want string }{
		{"clear stringData", "kind: Secret\nmetadata: {name: a, namespace: n}\nstringData: {x: y}\n", "1 n/a [stringData.x]"},
		{"kind substituted by Flux", "apiVersion: v1\nkind: ${k}\nmetadata: {name: s}\nstringData: {x: y}\n", "1 /s [stringData.x]"},
		{"clear beside ciphertext under a sops block", "kind: Secret\nmetadata: {name: b}\ndata:\n  x: ENC[AES256_GCM,data:a,iv:b,tag:c,type:str]\n  y: eg==\nsops: {version: 3.13.3}\n", "1 /b [data.y]"},
		{"second document", "kind: ConfigMap\ndata: {x: y}\n---\nkind: \"Secret\"\nmetadata: {name: c}\ndata: {k: dg==}\n", "2 /c [data.k]"},
		{"no values", "kind: Secret\nmetadata: {name: d}\ntype: Opaque\n", ""},
		{"not a Secret", "kind: ConfigMap\nmetadata: {name: e}\ndata: {password: x}\n", ""},
		{"all encrypted", "kind: Secret\nmetadata: {name: f}\nstringData: {x: 'ENC[AES256_GCM,data:a,iv:b,tag:c,type:str]'}\nsops: {version: 3.13.3}\n", ""},
		// However the kind is written, a Secret is found: these once slipped past a line-based pre-check unmasked.
		{"JSON on one line", `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"g"},"stringData":{"p":"x"}}`, "1 /g [stringData.p]"},
		{"flow mapping", "{kind: Secret, metadata: {name: h}, data: {p: eA==}}\n", "1 /h [data.p]"},
		{"comment after the kind", "kind: Secret # db\nmetadata: {name: i}\nstringData: {p: x}\n", "1 /i [stringData.p]"},
		{"tagged kind", "kind: !!str Secret\nmetadata: {name: j}\nstringData: {p: x}\n", "1 /j [stringData.p]"},
		{"escaped kind", "kind: \"Secr\\u0065t\"\nmetadata: {name: k}\nstringData: {p: x}\n", "1 /k [stringData.p]"},
		{"kind through an alias", "a: &k Secret\n---\nkind: Secret\nmetadata: {name: l}\nstringData: {p: x}\n", "2 /l [stringData.p]"},
		// kustomize and Flux apply each item of a List: one once passed check and printed unmasked.
		{"item of a List", "apiVersion: v1\nkind: List\nitems:\n- {kind: ConfigMap, metadata: {name: m0}, data: {p: x}}\n- {kind: Secret, metadata: {name: m, namespace: n}, stringData: {p: x}}\n", "1 n/m [stringData.p]"},
		{"items of a SecretList", "kind: SecretList\nitems:\n- {kind: Secret, metadata: {name: n1}, data: {p: eA==}}\n- {kind: Secret, metadata: {name: n2}, data: {q: 'ENC[AES256_GCM,data:a,iv:b,tag:c,type:str]'}}\n", "1 /n1 [data.p]"},
		{"a List inside a List", "kind: List\nitems:\n- kind: List\n  items:\n  - {kind: Secret, metadata: {name: o}, stringData: {p: x}}\n", "1 /o [stringData.p]"},
		// sops leaves an empty value as it is, and it holds nothing to leak.
		{"empty values", "kind: Secret\nmetadata: {name: q}\nstringData: {a: '', b: 'ENC[AES256_GCM,data:a,iv:b,tag:c,type:str]'}\ndata: {c: \"\", d: x}\n", "1 /q [data.d]"},
		{"items of a kind that is no List", "kind: Thing\nitems:\n- {kind: Secret, metadata: {name: p}, stringData: {p: x}}\n", ""},
		// kustomize decodes tags and resolves aliases and merge keys: Flux applies each of these as a Secret.
		{"kind tagged !!binary", "kind: !!binary U2VjcmV0\nmetadata: {name: r}\nstringData: {p: x}\n", "1 /r [stringData.p]"},
		{"kind tagged !!binary, verbatim", "kind: !<tag:yaml.org,2002:binary> U2VjcmV0\nmetadata: {name: r2}\nstringData: {p: x}\n", "1 /r2 [stringData.p]"},
		{"kind escaped in hex", "kind: \"Secr\\x65t\"\nmetadata: {name: r3}\nstringData: {p: x}\n", "1 /r3 [stringData.p]"},
		{"kind merged in", "<<: {kind: Secret}\nmetadata: {name: s}\nstringData: {p: x}\n", "1 /s [stringData.p]"},
		{"kind from an anchor", "metadata: {name: t, annotations: {a: &k Secret}}\nkind: *k\nstringData: {p: x}\n", "1 /t [stringData.p]"},
		{"values from an anchor", "kind: Secret\nmetadata: {name: u, labels: &v {p: x}}\nstringData: *v\n", "1 /u [stringData.p]"},
		{"values merged in", "kind: Secret\nmetadata: {name: v, labels: &v {p: x}}\nstringData: {<<: *v, q: ''}\n", "1 /v [stringData.p]"},
		{"key tagged !!binary", "kind: Secret\nmetadata: {name: w}\n!!binary c3RyaW5nRGF0YQ==: {p: x}\n", "1 /w [stringData.p]"},
		// The API server takes only a mapping of strings, but kustomize passes anything on, and prints it.
		{"stringData a string", "kind: Secret\nmetadata: {name: x}\nstringData: value\n", "1 /x [stringData]"},
		{"stringData a list", "kind: Secret\nmetadata: {name: y}\nstringData: [value]\n", "1 /y [stringData]"},
		{"data a string", "kind: Secret\nmetadata: {name: z}\ndata: dmFsdWU=\n", "1 /z [data]"},
		{"a value a mapping", "kind: Secret\nmetadata: {name: z2}\nstringData: {p: {q: value}}\n", "1 /z2 [stringData.p]"},
		{"empty shapes", "kind: Secret\nmetadata: {name: z3}\nstringData: ''\ndata: []\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			found, err := preview.PlaintextSecrets([]byte(tc.file), nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range found {
				got = append(got, strings.Join([]string{itoa(f.Document), f.Namespace + "/" + f.Name, "[" + strings.Join(f.Keys, " ") + "]"}, " "))
			}
			if strings.Join(got, "; ") != tc.want {
				t.Errorf("got %q, want %q", strings.Join(got, "; "), tc.want)
			}
		})
	}
}

func itoa(n int) string { return string(rune('0' + n)) }

// MaskFile masks a Secret however its kind is written, so a diff never shows the value.
func TestMaskFileFindsEverySpellingOfSecret(t *testing.T) {
	for _, file := range []string{
		`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"g"},"stringData":{"p":"CANARY"}}`,
		"kind: Secret # db\nstringData: {p: CANARY}\n",
		"kind: !!str Secret\nstringData: {p: CANARY}\n",
		"kind: \"Secr\\u0065t\"\nstringData: {p: CANARY}\n",
		"kind: \"Secret\"\nstringData: {p: CANARY\n", // not valid YAML: replaced whole
		"kind: List\nitems:\n- kind: Secret\n  stringData: {p: CANARY}\n",
		"kind: SecretList\nitems:\n- {kind: Secret, data: {p: CANARY}}\n",
		"kind: !!binary U2VjcmV0\nstringData: {p: CANARY}\n",
		"kind: \"Secr\\x65t\"\nstringData: {p: CANARY}\n",
		"kind: !<tag:yaml.org,2002:binary> U2VjcmV0\nstringData: {p: CANARY}\n",
		"%TAG !e! tag:yaml.org,2002:\n---\nkind: !e!binary U2VjcmV0\nstringData: {p: CANARY}\n",
		"<<: {kind: Secret}\nstringData: {p: CANARY}\n",
		"<<: [{a: b}, {kind: Secret}]\nstringData: {p: CANARY}\n",
		"metadata: {annotations: {a: &k Secret}}\nkind: *k\nstringData: {p: CANARY}\n",
		// An anchored value is the same value wherever it stands: it is masked where it is defined too.
		"kind: Secret\nmetadata: {labels: &v {p: CANARY}}\nstringData: *v\n",
		"kind: Secret\nmetadata: {annotations: {a: &s CANARY}}\nstringData: {p: *s}\n",
		"kind: Secret\nmetadata: {labels: &v {p: CANARY}}\nstringData: {<<: *v}\n",
		"kind: Secret\nstringData: CANARY\n",
		"kind: Secret\nstringData: [CANARY]\n",
		"kind: Secret\ndata: {p: [{q: CANARY}]}\n",
		"kind: Secret\ndata: Q0FOQVJZ\n",
		// Flux's postBuild may substitute Secret for the kind.
		"apiVersion: v1\nkind: ${kind}\nstringData: {p: CANARY}\n",
		"kind: Sec${suffix:=ret}\ndata: {p: Q0FOQVJZ}\n",
	} {
		if got := string(preview.MaskFile([]byte(file))); strings.Contains(got, "CANARY") || strings.Contains(got, "Q0FOQVJZ") {
			t.Errorf("%q masked as %q", file, got)
		}
	}
}

// A Secret's key the API server would not take is most likely a value pasted where its key belongs: check's diff of a
// file shows it masked, as build and diff print it and as check's report names it ("(a key that is not valid, not
// shown)"); keys the API server takes (dots, dashes, underscores) show as they are.
func TestMaskFileHidesSecretKeysThatAreNotValid(t *testing.T) {
	for _, file := range []string{
		"kind: Secret\nstringData: {'the password is CANARY': x, ok.key_1-a: y}\n",
		"kind: Secret\ndata:\n  CANARY/x: eA==\n  ok.key_1-a: eQ==\n",
		"kind: Secret\nstringData: {'..CANARY': x, ok.key_1-a: y, 'CANARY 2': z}\n",
		"kind: Secret\nmetadata: {labels: &v {'CANARY=': x}}\nstringData: {<<: *v, ok.key_1-a: y}\n",
	} {
		got := string(preview.MaskFile([]byte(file)))
		if strings.Contains(got, "CANARY") || !strings.Contains(got, "ok.key_1-a") {
			t.Errorf("%q masked as %q", file, got)
		}
	}
}

// secretGenerator makes Secrets from values kept beside the kustomization: literals are always in the clear, env and
// file sources unless SOPS-encrypted (kustomize-controller decrypts those).
func TestGeneratorSecrets(t *testing.T) {
	files := map[string]string{
		"apps/db.env":         "PASSWORD=x\n",
		"apps/enc.env":        "PASSWORD=ENC[AES256_GCM,data:a,iv:b,tag:c,type:str]\nsops_mac=ENC[AES256_GCM,data:a,iv:b,tag:c,type:str]\n",
		"apps/creds.yaml":     "user: x\n",
		"apps/creds.enc.yaml": "user: ENC[AES256_GCM,data:a,iv:b,tag:c,type:str]\nsops:\n  mac: ENC[AES256_GCM,data:a,iv:b,tag:c,type:str]\n",
		"shared/ca.crt":       "-----BEGIN CERTIFICATE-----\n",
	}
	read := func(p string) ([]byte, bool) { b, ok := files[p]; return []byte(b), ok }
	kustomization := `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
secretGenerator:
  - name: app
    namespace: apps
    literals: [password=hunter2, user=admin]
    envs: [db.env, enc.env]
    files: [creds.yaml, token=creds.enc.yaml, ../shared/ca.crt, ../../outside.txt, missing.txt]
  - name: sealed
    envs: [enc.env]
    files: [creds.enc.yaml]
  - name: legacy
    env: db.env
`
	found, err := preview.KustomizationSecrets("apps/kustomization.yaml", []byte(kustomization), read, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range found {
		got = append(got, f.Namespace+"/"+f.Name+" ["+strings.Join(f.Keys, " ")+"]")
	}
	want := "apps/app [secretGenerator.envs.db.env secretGenerator.files.ca.crt secretGenerator.files.creds.yaml " +
		"secretGenerator.literals.password secretGenerator.literals.user]; /legacy [secretGenerator.envs.db.env]"
	if strings.Join(got, "; ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, "; "), want)
	}
	masked := string(preview.MaskFile([]byte(kustomization)))
	if strings.Contains(masked, "hunter2") || strings.Contains(masked, "admin") || !strings.Contains(masked, "password=*****") {
		t.Errorf("literals not masked:\n%s", masked)
	}
}

// kustomize's SecretGenerator plugin makes Secrets too, from the configurations a kustomization's generators give:
// a file, a folder whose kustomization lists them, or the configuration inline. Their literals are plaintext where
// they are written (check scans every file), and their sources, read from the folder of the kustomization that lists
// the generators, as a secretGenerator's are. Diffs mask the literals. The real kustomize CLI builds the tree into
// the Secrets named.
func TestGeneratorConfigSecrets(t *testing.T) {
	files := map[string]string{
		"apps/db.env":  "TOKEN=CANARY-env\n",
		"apps/enc.env": "PASSWORD=ENC[AES256_GCM,data:a,iv:b,tag:c,type:str]\nsops_mac=ENC[AES256_GCM,data:a,iv:b,tag:c,type:str]\n",
		"apps/gen.yaml": "apiVersion: builtin\nkind: SecretGenerator\nmetadata: {name: fromfile, namespace: apps}\n" +
			"literals: [password=CANARY-file]\nenvs: [db.env, enc.env]\n",
		"apps/sub/kustomization.yaml": "resources: [gen.yaml]\n",
		"apps/sub/gen.yaml":           "apiVersion: builtin\nkind: SecretGenerator\nmetadata: {name: fromdir}\nfiles: [db.env]\n",
		"apps/kustomization.yaml": `generators:
- gen.yaml
- sub
- |
  apiVersion: builtin
  kind: SecretGenerator
  metadata: {name: inline}
  literals: [x=CANARY-inline]
- |
  apiVersion: builtin
  kind: ConfigMapGenerator
  metadata: {name: settings}
  literals: [shown=shown]
patches:
- target: {name: inline}
  patch: |
    - {op: add, path: /data/y, value: Q0FOQVJZ}
`,
	}
	read := func(p string) ([]byte, bool) { b, ok := files[p]; return []byte(b), ok }
	// The inline configuration's Secret is one a patch without a kind can select.
	names := preview.NewSecretNames(slices.Sorted(maps.Keys(files)), read)
	var got []string
	for _, p := range slices.Sorted(maps.Keys(files)) {
		found, err := preview.PlaintextSecrets([]byte(files[p]), names)
		if err != nil {
			t.Fatal(err)
		}
		if preview.IsKustomizationFile(p) {
			k, err := preview.KustomizationSecrets(p, []byte(files[p]), read, names)
			if err != nil {
				t.Fatal(err)
			}
			found = append(found, k...)
		}
		for _, f := range found {
			got = append(got, p+": "+f.Namespace+"/"+f.Name+" "+strings.Join(f.Keys, " "))
		}
	}
	want := []string{
		"apps/gen.yaml: apps/fromfile literals.password",
		"apps/kustomization.yaml: apps/fromfile generators[0].envs.db.env",
		"apps/kustomization.yaml: /fromdir generators[1].files.db.env",
		"apps/kustomization.yaml: /inline generators[2].literals.x",
		"apps/kustomization.yaml: /inline patches[0]/data/y",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("plaintext (-want +got):\n%s", diff)
	}
	for _, p := range []string{"apps/gen.yaml", "apps/kustomization.yaml"} {
		masked := string(preview.MaskFile([]byte(files[p])))
		if strings.Contains(masked, "CANARY") || !strings.Contains(masked, "=*****") {
			t.Errorf("MaskFile(%s):\n%s", p, masked)
		}
		if p == "apps/kustomization.yaml" && !strings.Contains(masked, "shown=shown") {
			t.Errorf("MaskFile(%s) masks a ConfigMap's literal:\n%s", p, masked)
		}
	}

	dir := t.TempDir()
	tree := map[string][]byte{}
	for p, b := range files {
		tree[p] = []byte(b)
	}
	writeTree(t, dir, tree)
	built := string(kustomizeBuild(t, filepath.Join(dir, "apps")))
	for _, s := range []string{"name: fromfile-", "name: fromdir-", "name: inline-", "TOKEN: " + base64.StdEncoding.EncodeToString([]byte("CANARY-env"))} {
		if !strings.Contains(built, s) {
			t.Errorf("kustomize build lacks %q:\n%s", s, built)
		}
	}
}

// A JSON patch that sets /kind to Secret turns the object its target selects (a ConfigMap holding a password, say)
// into a Secret holding those values, as the real kustomize CLI builds it: check reports the patch, in a
// kustomization and in a Flux Kustomization, and one that sets another kind is no Secret.
func TestPatchThatMakesASecret(t *testing.T) {
	files := map[string][]byte{
		"apps/cm.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: db, namespace: apps}\ndata: {password: aHVudGVyMg==}\n---\n" +
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other, namespace: apps}\ndata: {shown: shown}\n"),
		"apps/kustomization.yaml": []byte(`resources: [cm.yaml]
patches:
- target: {kind: ConfigMap, name: db}
  patch: |
    - {op: replace, path: /kind, value: !!binary U2VjcmV0}
- target: {kind: ConfigMap, name: other}
  patch: |
    - {op: add, path: /metadata/labels, value: {kind: Secret}}
    - {op: replace, path: /kind, value: ConfigMap}
`),
	}
	dir := t.TempDir()
	writeTree(t, dir, files)
	if built := string(kustomizeBuild(t, filepath.Join(dir, "apps"))); !strings.Contains(built, "kind: Secret\nmetadata:\n  name: db\n") {
		t.Fatalf("kustomize did not make a Secret:\n%s", built)
	}
	read := func(p string) ([]byte, bool) { b, ok := files[p]; return b, ok }
	found, err := preview.KustomizationSecrets("apps/kustomization.yaml", files["apps/kustomization.yaml"], read, nil)
	if err != nil || len(found) != 1 || found[0].Name != "db" || strings.Join(found[0].Keys, " ") != "patches[0]/kind" {
		t.Errorf("KustomizationSecrets = %+v, %v", found, err)
	}
	flux := `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  patches:
  - target: {kind: ConfigMap}
    patch: |
      - {op: replace, path: /kind, value: Secret}
`
	found, err = preview.PlaintextSecrets([]byte(flux), preview.NewSecretNames(nil, read))
	if err != nil || len(found) != 1 || strings.Join(found[0].Keys, " ") != "spec.patches[0]/kind" {
		t.Errorf("PlaintextSecrets(Flux Kustomization) = %+v, %v", found, err)
	}
}

// kustomize's patch transformers patch as a kustomization's patches do, configured through its transformers (a
// file, or inline): check reports those that write a value in the clear into a Secret (inline patches where they are
// written, files read from the kustomization's folder), diffs mask them, and the real kustomize CLI applies them all.
func TestTransformerConfigSecrets(t *testing.T) {
	files := map[string]string{
		"apps/s.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: apps}\ntype: Opaque\n",
		"apps/tr.yaml": "apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: a}\ntarget: {kind: Secret}\n" +
			"patch: |\n  - {op: add, path: /stringData/a, value: CANARY-a}\n",
		"apps/json.yaml": "apiVersion: builtin\nkind: PatchJson6902Transformer\nmetadata: {name: b}\n" +
			"target: {version: v1, kind: Secret, name: s, namespace: apps}\njsonOp: '[{\"op\": \"add\", \"path\": \"/data\", \"value\": {\"b\": \"Q0FOQVJZLWI=\"}}]'\n",
		"apps/smp.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: apps}\nstringData: {c: CANARY-c}\n",
		"apps/ops.yaml": "- {op: add, path: /stringData/d, value: CANARY-d}\n",
		"apps/kustomization.yaml": `resources: [s.yaml]
transformers:
- tr.yaml
- json.yaml
- |
  apiVersion: builtin
  kind: PatchStrategicMergeTransformer
  metadata: {name: c}
  paths: [smp.yaml]
- |
  apiVersion: builtin
  kind: PatchTransformer
  metadata: {name: d}
  target: {kind: Secret, name: s}
  path: ops.yaml
- |
  apiVersion: builtin
  kind: PatchStrategicMergeTransformer
  metadata: {name: e}
  patches: |-
    apiVersion: v1
    kind: Secret
    metadata: {name: s, namespace: apps}
    stringData: {e: CANARY-e}
`,
	}
	dir := t.TempDir()
	tree := map[string][]byte{}
	for p, b := range files {
		tree[p] = []byte(b)
	}
	writeTree(t, dir, tree)
	built := string(kustomizeBuild(t, filepath.Join(dir, "apps")))
	for _, s := range []string{"a: CANARY-a", "b: Q0FOQVJZLWI=", "c: CANARY-c", "d: CANARY-d", "e: CANARY-e"} {
		if !strings.Contains(built, s) {
			t.Errorf("kustomize build lacks %q:\n%s", s, built)
		}
	}

	read := func(p string) ([]byte, bool) { b, ok := files[p]; return []byte(b), ok }
	var got []string
	for _, p := range slices.Sorted(maps.Keys(files)) {
		found, err := preview.PlaintextSecrets([]byte(files[p]), nil)
		if err != nil {
			t.Fatal(err)
		}
		if preview.IsKustomizationFile(p) {
			k, err := preview.KustomizationSecrets(p, []byte(files[p]), read, nil)
			if err != nil {
				t.Fatal(err)
			}
			found = append(found, k...)
		}
		for _, f := range found {
			got = append(got, p+": "+f.Name+" "+strings.Join(f.Keys, " "))
		}
	}
	want := []string{
		"apps/json.yaml: s jsonOp/data",
		"apps/kustomization.yaml: s transformers[2].paths[0].stringData.c",
		"apps/kustomization.yaml: s transformers[3].patch/stringData/d",
		"apps/kustomization.yaml: s transformers[4].patches.stringData.e",
		"apps/smp.yaml: s stringData.c",
		"apps/tr.yaml:  patch/stringData/a",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("plaintext (-want +got):\n%s", diff)
	}
	for _, p := range []string{"apps/tr.yaml", "apps/json.yaml", "apps/kustomization.yaml"} {
		if masked := string(preview.MaskFile([]byte(files[p]))); strings.Contains(masked, "CANARY") || strings.Contains(masked, "Q0FOQVJZ") {
			t.Errorf("MaskFile(%s):\n%s", p, masked)
		}
	}
}

// A replacement copies a value from one object into another: from a ConfigMap into a Secret's data or stringData
// (created there with options.create), inline or from a file, it writes a value in the clear into a Secret, as the
// real kustomize CLI builds it. check reports those, and not one copying from a Secret or into a ConfigMap.
func TestReplacementSecrets(t *testing.T) {
	files := map[string]string{
		"apps/r.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {pw: CANARY-r}\n---\n" +
			"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: Opaque\n---\n" +
			"apiVersion: v1\nkind: Secret\nmetadata: {name: t}\ndata: {pw: 'ENC[AES256_GCM,data:a,iv:b,tag:c,type:str]'}\n---\n" +
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\ndata: {copy: x}\n",
		"apps/rep.yaml": "- source: {kind: ConfigMap, name: c, fieldPath: data.pw}\n  targets:\n  - select: {name: s}\n" +
			"    fieldPaths: [data.fromfile]\n    options: {create: true}\n",
		"apps/kustomization.yaml": `resources: [r.yaml]
replacements:
- source: {kind: ConfigMap, name: c, fieldPath: data.pw}
  targets:
  - select: {kind: Secret, name: s}
    fieldPaths: [stringData.pw]
    options: {create: true}
  - select: {kind: ConfigMap, name: d}
    fieldPaths: [data.copy]
- source: {kind: Secret, name: t, fieldPath: data.pw}
  targets:
  - select: {kind: ConfigMap, name: d}
    fieldPaths: [data.copy]
- path: rep.yaml
transformers:
- |
  apiVersion: builtin
  kind: ReplacementTransformer
  metadata: {name: r}
  replacements:
  - source: {kind: ConfigMap, name: c, fieldPath: data.pw}
    targets:
    - select: {kind: Secret, name: s}
      fieldPaths: [stringData.again]
      options: {create: true}
`,
	}
	dir := t.TempDir()
	tree := map[string][]byte{}
	for p, b := range files {
		tree[p] = []byte(b)
	}
	writeTree(t, dir, tree)
	built := string(kustomizeBuild(t, filepath.Join(dir, "apps")))
	for _, s := range []string{"  fromfile: CANARY-r\nkind: Secret", "  again: CANARY-r\n  pw: CANARY-r\ntype: Opaque"} {
		if !strings.Contains(built, s) {
			t.Errorf("kustomize build lacks %q:\n%s", s, built)
		}
	}
	read := func(p string) ([]byte, bool) { b, ok := files[p]; return []byte(b), ok }
	names := preview.NewSecretNames(slices.Sorted(maps.Keys(files)), read)
	found, err := preview.KustomizationSecrets("apps/kustomization.yaml", []byte(files["apps/kustomization.yaml"]), read, names)
	var got []string
	for _, f := range found {
		got = append(got, f.Name+" "+strings.Join(f.Keys, " "))
	}
	want := []string{"s replacements[0].targets[0].stringData.pw", "s replacements[2].targets[0].data.fromfile",
		"s transformers[0].replacements[0].targets[0].stringData.again"}
	if diff := cmp.Diff(want, got); err != nil || diff != "" {
		t.Errorf("KustomizationSecrets (-want +got), %v:\n%s", err, diff)
	}
}

// A patch that writes a value in the clear into a Secret is a plaintext Secret: check reports it and diffs mask it,
// inline in a kustomization file or a Flux Kustomization, or in a file a kustomization names.
func TestPatchSecrets(t *testing.T) {
	files := map[string]string{
		"apps/secret-patch.yaml": "stringData: {f: CANARY5}\n",
		"apps/enc-patch.yaml":    "stringData:\n  f: ENC[AES256_GCM,data:a,iv:b,tag:c,type:str]\nsops:\n  mac: ENC[AES256_GCM,data:a,iv:b,tag:c,type:str]\n",
		"apps/ops.json":          `[{"op": "add", "path": "/data/o", "value": "Q0FOQVJZ"}]`,
	}
	read := func(p string) ([]byte, bool) { b, ok := files[p]; return []byte(b), ok }
	kustomization := `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [secret.yaml]
patches:
- patch: "apiVersion: v1\nkind: Secret\nmetadata: {name: canary, namespace: apps}\nstringData: {extra: CANARY0}"
- target: {kind: Secret, name: canary}
  patch: '[{"op": "add", "path": "/stringData/x", "value": "CANARY1"}]'
- target: {name: anything}
  patch: '[{op: add, path: /data/y, value: Q0FOQVJZ}, {op: add, path: /metadata/labels/a, value: shown}]'
- target: {kind: ConfigMap}
  patch: '[{op: add, path: /data/z, value: shown}]'
- target: {kind: Secret}
  patch: '[{op: add, path: /metadata/labels/b, value: shown}, {op: add, path: /stringData/e, value: "ENC[AES256_GCM,data:a,iv:b,tag:c,type:str]"}]'
- target: {kind: Secret}
  path: secret-patch.yaml
- target: {kind: Secret}
  path: enc-patch.yaml
- target: {kind: "Sec.*"}
  patch: '[{op: replace, path: "", value: {stringData: {w: CANARY7}}}]'
- target: {kind: Secret, name: ops}
  path: ops.json
patchesStrategicMerge:
- |
  kind: Secret
  metadata: {name: psm}
  stringData: {q: CANARY9}
- secret-patch.yaml
patchesJson6902:
- target: {version: v1, kind: Secret, name: j}
  patch: '[{op: replace, path: /data/k, value: Q0FOQVJZ}]'
`
	found, err := preview.KustomizationSecrets("apps/kustomization.yaml", []byte(kustomization), read, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range found {
		got = append(got, f.Namespace+"/"+f.Name+" ["+strings.Join(f.Keys, " ")+"]")
	}
	want := []string{
		"apps/canary [patches[0].stringData.extra]", "/canary [patches[1]/stringData/x]", "/anything [patches[2]/data/y]",
		"/ [patches[5].stringData.f]", "/ [patches[7].stringData.w]", "/ops [patches[8]/data/o]",
		"/psm [patchesStrategicMerge[0].stringData.q]", "/j [patchesJson6902[0]/data/k]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	masked := string(preview.MaskFile([]byte(kustomization)))
	if strings.Contains(masked, "CANARY") || strings.Count(masked, "shown") != 3 {
		t.Errorf("patches not masked as they should be:\n%s", masked)
	}

	flux := `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  patches:
  - target: {kind: Secret, name: db}
    patch: |
      - {op: add, path: /stringData/t, value: CANARY}
  - patch: "kind: ConfigMap\nmetadata: {name: c}\ndata: {shown: shown}"
`
	found, err = preview.PlaintextSecrets([]byte(flux), nil)
	if err != nil || len(found) != 1 || found[0].Name != "db" || strings.Join(found[0].Keys, " ") != "spec.patches[0]/stringData/t" {
		t.Errorf("PlaintextSecrets(Flux Kustomization) = %+v, %v", found, err)
	}
	if masked := string(preview.MaskFile([]byte(flux))); strings.Contains(masked, "CANARY") || !strings.Contains(masked, "shown: shown") {
		t.Errorf("Flux Kustomization:\n%s", masked)
	}
}

// kustomize applies a patch with a target to every object the target selects, whatever kind a strategic merge
// patch's body names: a patch whose target has no kind (or one that selects ConfigMaps too) writes into a Secret
// only when the tree has a Secret its name selects. A target whose kind is Secret's is reported whatever the tree.
func TestPatchSecretsNeedASecretOfTheTree(t *testing.T) {
	const (
		kustomization = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [cm.yaml]\npatches:\n" +
			"- target: {name: web-config}\n  patch: \"- op: add\\n  path: /data/EXTRA\\n  value: \\\"1\\\"\"\n" +
			"- target: {kind: Secret|ConfigMap, name: web-config}\n  patch: '[{op: add, path: /data/B, value: b}]'\n" +
			"- target: {kind: Secret, name: nowhere}\n  patch: '[{op: add, path: /data/C, value: c}]'\n" +
			"- target: {kind: ConfigMap}\n  patch: '[{op: add, path: /data/D, value: d}]'\n"
		flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: web, namespace: flux-system}\n" +
			"spec:\n  patches:\n  - target: {name: web-config}\n" +
			"    patch: \"apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: web-config}\\ndata: {LOG_LEVEL: debug}\"\n"
	)
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config}\ndata: {LOG_LEVEL: info}\n"
	report := func(files map[string]string) string {
		t.Helper()
		var paths []string
		for p := range files {
			paths = append(paths, p)
		}
		read := func(p string) ([]byte, bool) { b, ok := files[p]; return []byte(b), ok }
		names := preview.NewSecretNames(paths, read)
		var got []string
		k, err := preview.KustomizationSecrets("apps/web/kustomization.yaml", []byte(files["apps/web/kustomization.yaml"]), read, names)
		if err != nil {
			t.Fatal(err)
		}
		f, err := preview.PlaintextSecrets([]byte(files["clusters/c/web.yaml"]), names)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range append(k, f...) {
			got = append(got, s.Name+" "+strings.Join(s.Keys, " "))
		}
		return strings.Join(got, "; ")
	}
	files := map[string]string{"apps/web/kustomization.yaml": kustomization, "apps/web/cm.yaml": cm, "clusters/c/web.yaml": flux}
	if got, want := report(files), "nowhere patches[2]/data/C"; got != want {
		t.Errorf("no Secret named web-config: got %q, want %q", got, want)
	}
	for name, secret := range map[string]map[string]string{
		"as written":     {"other/s.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: web-config}\n"},
		"in a List":      {"other/s.yaml": "apiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: Secret, metadata: {name: web-config}}]\n"},
		"named by a tag": {"other/s.yaml": "apiVersion: v1\nkind: !!binary U2VjcmV0\nmetadata: {name: web-config}\n"},
		"not valid YAML": {"other/s.yaml": "kind: Secret\nmetadata: {name: web-config\n"},
		"generated":      {"other/kustomization.yaml": "secretGenerator: [{name: web-config, literals: [a=b]}]\n"},
		"with a prefix": {"other/s.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: config}\n",
			"other/kustomization.yaml": "resources: [s.yaml]\nnamePrefix: web-\n"},
	} {
		for p, s := range files {
			secret[p] = s
		}
		want := "web-config patches[0]/data/EXTRA; web-config patches[1]/data/B; nowhere patches[2]/data/C; web-config spec.patches[0].data.LOG_LEVEL"
		if got := report(secret); got != want {
			t.Errorf("a Secret %s: got %q, want %q", name, got, want)
		}
	}
}
