package preview_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kronform/kronform-gen/generator/preview"
	"github.com/kronform/kronform-gen/generator/secrets"
)

// sopsSources is a tree whose Kustomization (with spec.decryption) generates Secrets from SOPS-encrypted files in
// every format kustomize-controller reads (dotenv envs, YAML, JSON, INI and binary files, in the folder and in a
// base it lists), patches with an encrypted patch, and holds a Secret with an encrypted file in a value. All were
// encrypted by the real sops CLI. plain holds each encrypted file's plaintext as `sops decrypt` prints it.
func sopsSources(t *testing.T) (dir, keyFile string, plain map[string][]byte, blob []byte) {
	t.Helper()
	dir = t.TempDir()
	keyFile = filepath.Join(t.TempDir(), "age.agekey")
	if out, err := exec.Command("go", "tool", "age-keygen", "-o", keyFile).CombinedOutput(); err != nil {
		t.Fatalf("age-keygen: %v\n%s", err, out)
	}
	key, _ := os.ReadFile(keyFile)
	_, recipient, _ := strings.Cut(string(key), "# public key: ")
	recipient, _, _ = strings.Cut(recipient, "\n")
	plain = map[string][]byte{}
	// enc encrypts a file with the real sops CLI, in the format its name says, and keeps what sops decrypts it to.
	enc := func(name, text string, args ...string) []byte {
		t.Helper()
		p := filepath.Join(t.TempDir(), filepath.Base(name))
		os.WriteFile(p, []byte(text), 0o600)
		out, err := exec.Command("go", append(append([]string{"tool", "sops", "encrypt", "--age", recipient}, args...), p)...).Output()
		if err != nil {
			t.Fatalf("sops encrypt %s: %v", name, err)
		}
		os.WriteFile(p, out, 0o600)
		cmd := exec.Command("go", "tool", "sops", "decrypt", p)
		cmd.Env = append(os.Environ(), "SOPS_AGE_KEY_FILE="+keyFile)
		if plain[name], err = cmd.Output(); err != nil {
			t.Fatalf("sops decrypt %s: %v", name, err)
		}
		return out
	}
	blob = enc("apps/embedded.json", `{"user": "admin", "password": "from-a-value"}`)
	files := map[string][]byte{
		"clusters/c1/apps.yaml": []byte(fluxKustomization("apps", "./apps", "decryption: {provider: sops, secretRef: {name: sops-age}}")),
		"apps/kustomization.yaml": []byte(`resources: [base, embedded.yaml]
secretGenerator:
- name: app
  namespace: apps
  envs: [app.enc.env]
- name: creds
  namespace: apps
  files: [creds.yaml=creds.enc.yaml, token=token.enc, config.json=config.enc.json, app.ini=app.enc.ini]
patches:
- path: patch.enc.yaml
`),
		"apps/app.enc.env":     enc("apps/app.enc.env", "API_KEY=s3cr3t\nDB_HOST=db.internal\n"),
		"apps/creds.enc.yaml":  enc("apps/creds.enc.yaml", "user: admin\npassword: hunter2\nlist:\n- a\n- b\n"),
		"apps/token.enc":       enc("apps/token.enc", "raw-token-bytes\x00\x01\n"),
		"apps/config.enc.json": enc("apps/config.enc.json", `{"endpoint": "https://db", "retries": 3}`),
		"apps/app.enc.ini":     enc("apps/app.enc.ini", "[db]\npassword = inipass\n"),
		// A patch encrypted with the contract's regex, so that kustomize can tell what it patches only once decrypted.
		"apps/patch.enc.yaml": enc("apps/patch.enc.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: apps\ndata:\n  password: patched-in\n",
			"--encrypted-regex", "^(data|metadata)$"),
		"apps/embedded.yaml": []byte(fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: embedded\n  namespace: apps\ndata:\n  creds.json: %s\n  plain: cGxhaW4=\n",
			b64(blob))),
		"apps/base/kustomization.yaml": []byte("resources: [cm.yaml]\nsecretGenerator:\n- name: nested\n  namespace: apps\n  envs: [nested.enc.env]\n"),
		"apps/base/cm.yaml":            []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: apps\ndata:\n  password: placeholder\n"),
		"apps/base/nested.enc.env":     enc("apps/base/nested.enc.env", "NESTED=deep-value\n"),
	}
	writeTree(t, dir, files)
	return dir, keyFile, plain, blob
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// With the key, build decrypts what kustomize-controller decrypts: its output is the real kustomize CLI's build of the
// tree with every source decrypted by the real sops CLI, and the Secret value holding an encrypted file decrypted in
// the format its key names.
func TestSOPSSourcesDecryptAsFluxDoes(t *testing.T) {
	dir, keyFile, plain, blob := sopsSources(t)
	ids, err := secrets.LoadIdentities(keyFile, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	src, ks := fromDir(t, dir)
	res, err := src.Build(ks, preview.Options{Decrypt: secrets.NewDecryptor(ids)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Builds) != 1 {
		t.Fatalf("%d builds", len(res.Builds))
	}
	b := res.Builds[0]
	if len(b.Notes) != 0 {
		t.Errorf("notes with the key: %q", b.Notes)
	}
	got, err := b.YAML(true)
	if err != nil {
		t.Fatal(err)
	}

	// What Flux does by hand: every source decrypted in place (embedded.json is not a file of the tree, it is in a
	// value), then kustomize build.
	decrypted := t.TempDir()
	copyDir(t, dir, decrypted)
	for name, text := range plain {
		if name != "apps/embedded.json" {
			writeTree(t, decrypted, map[string][]byte{name: text})
		}
	}
	want := string(kustomizeBuild(t, filepath.Join(decrypted, "apps")))
	// The controller decrypts the value after the build, in the format its key (creds.json) names.
	if !strings.Contains(want, b64(blob)) {
		t.Fatal("the Secret holding an encrypted file is not in kustomize's build")
	}
	want = strings.Replace(want, b64(blob), b64(plain["apps/embedded.json"]), 1)
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("build --decrypt differs from kustomize build of the sops-decrypted tree (-want +got):\n%s", diff)
	}
	for _, s := range []string{"password: patched-in", "API_KEY: " + b64([]byte("s3cr3t")), "NESTED: " + b64([]byte("deep-value")),
		"creds.yaml: |\n    " + b64(plain["apps/creds.enc.yaml"])[:40], "token: " + b64([]byte("raw-token-bytes\x00\x01\n"))} {
		if !strings.Contains(string(got), s) {
			t.Errorf("build --decrypt lacks %q", s)
		}
	}
}

// Without the key, the build says which files Flux decrypts that it cannot, builds the Secrets from the encrypted
// files, and leaves out the encrypted patch (kustomize could not find its target), rather than fail where Flux
// succeeds.
func TestSOPSSourcesWithoutTheKeyAreNoted(t *testing.T) {
	dir, _, _, _ := sopsSources(t)
	res, ks := buildDir(t, dir)
	b := res.Builds[0]
	want := []string{
		"kustomize-controller decrypts apps/app.enc.env, apps/creds.enc.yaml, apps/token.enc, apps/config.enc.json, " +
			"apps/app.enc.ini, apps/patch.enc.yaml, apps/base/nested.enc.env before kustomize build; built here from the " +
			"SOPS-encrypted files, what is made of them differs from what Flux applies (Secrets in their values and name " +
			"suffix, and the patches in them are left out): use --decrypt with the key",
		// The value that is not one of those files is named on its own; the generated ones are not named twice.
		"Secret/apps/embedded holds SOPS-encrypted files in creds.json, which kustomize-controller decrypts " +
			"(use --decrypt with the key to see them as Flux applies them)",
	}
	if diff := cmp.Diff(want, b.Notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	y, err := b.YAML(false)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"password: placeholder", "name: app-", "name: nested-", "creds.json: '*****'"} {
		if !strings.Contains(string(y), s) {
			t.Errorf("the build without the key lacks %q:\n%s", s, y)
		}
	}
	if strings.Contains(string(y), "ENC[") || strings.Contains(string(y), "patched-in") {
		t.Errorf("the build without the key shows ciphertext or a patched value:\n%s", y)
	}

	// Without the encrypted patch there is no patch to leave out, and the note does not speak of one; a Secret
	// holding an encrypted file in a value is then noted on its own.
	os.WriteFile(filepath.Join(dir, "apps", "kustomization.yaml"), []byte("resources: [embedded.yaml]\n"), 0o644)
	src, _ := preview.FromDir(dir)
	res, err = src.Build(ks, preview.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"Secret/apps/embedded holds SOPS-encrypted files in creds.json, which kustomize-controller decrypts " +
		"(use --decrypt with the key to see them as Flux applies them)"}
	if diff := cmp.Diff(want, res.Builds[0].Notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
}

// Flux fails a Kustomization whose sources do not decrypt, and so does the build, naming the file and never a value;
// a key that is not the tree's is told apart (the CLI exits 2 on it).
func TestSOPSSourcesThatDoNotDecryptFail(t *testing.T) {
	dir, _, _, _ := sopsSources(t)
	other := filepath.Join(t.TempDir(), "other.agekey")
	if out, err := exec.Command("go", "tool", "age-keygen", "-o", other).CombinedOutput(); err != nil {
		t.Fatalf("age-keygen: %v\n%s", err, out)
	}
	ids, err := secrets.LoadIdentities(other, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	src, _ := preview.FromDir(dir)
	ks, _ := src.Kustomizations()
	_, err = src.Build(ks, preview.Options{Decrypt: secrets.NewDecryptor(ids)})
	if err == nil || !errors.Is(err, secrets.ErrWrongKey) ||
		!strings.HasPrefix(err.Error(), "c1/apps: error decrypting sources: apps/app.enc.env: ") {
		t.Errorf("a key that is not the tree's: %v", err)
	}

	// A source that is not there fails before kustomize runs, as in the controller.
	os.Remove(filepath.Join(dir, "apps", "base", "nested.enc.env"))
	src, _ = preview.FromDir(dir)
	_, err = src.Build(ks, preview.Options{})
	if want := "c1/apps: error decrypting sources: lstat apps/base/nested.enc.env: no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("a missing source: %v, want %q", err, want)
	}
}

// check reports what kustomize-controller writes into a Secret in the clear from a SOPS-encrypted source: none of the
// values sops encrypted (in any format it reads, INI included), every value sops left unencrypted beside them (an
// unencrypted suffix, an encrypted_regex that misses a key), and every value of a file that only looks encrypted.
// The files are the real sops CLI's.
func TestCheckReportsValuesSOPSLeftInTheClear(t *testing.T) {
	dir, keyFile, _, _ := sopsSources(t)
	key, _ := os.ReadFile(keyFile)
	_, recipient, _ := strings.Cut(string(key), "# public key: ")
	recipient, _, _ = strings.Cut(recipient, "\n")
	enc := func(name, text string, args ...string) []byte {
		t.Helper()
		p := filepath.Join(t.TempDir(), filepath.Base(name))
		os.WriteFile(p, []byte(text), 0o600)
		out, err := exec.Command("go", append(append([]string{"tool", "sops", "encrypt", "--age", recipient}, args...), p)...).Output()
		if err != nil {
			t.Fatalf("sops encrypt %s: %v", name, err)
		}
		return out
	}
	suffix := []string{"--unencrypted-suffix", "_unencrypted"}
	partialEnv := enc("partial.enc.env", "PASSWORD=s3cret\nUSER_unencrypted=clear-user\n", suffix...)
	wholeYAML := enc("whole.enc.yaml", "password: s3cret\nempty: ''\nnothing: null\n")
	writeTree(t, dir, map[string][]byte{
		"partial/kustomization.yaml": []byte(`secretGenerator:
- name: partial
  namespace: apps
  envs: [partial.enc.env, fake.env]
  files: [partial.enc.yaml, partial.enc.ini, whole.enc.yaml, token=sneaky.env, sneaky.yaml, comment.env, manifest.enc.yaml,
    leaky.enc.yaml]
patches:
- path: patch.enc.yaml
`),
		"partial/partial.enc.env":  partialEnv,
		"partial/partial.enc.yaml": enc("partial.enc.yaml", "password: s3cret\nuser_unencrypted: clear-user\n", suffix...),
		"partial/partial.enc.ini":  enc("partial.enc.ini", "[db]\npassword = s3cret\nuser_unencrypted = clear-user\n", suffix...),
		"partial/whole.enc.yaml":   wholeYAML,
		"partial/patch.enc.yaml": enc("patch.enc.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: embedded, namespace: apps}\ndata: {a: YQ==}\nstringData: {b: clear-b}\n",
			"--encrypted-regex", "^data$"),
		// A Secret manifest encrypted as kronform-gen encrypts one: its kind and metadata are in the clear, and no value
		// is; one whose stringData sops left in the clear.
		"partial/manifest.enc.yaml": enc("manifest.enc.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: m, namespace: apps}\ntype: Opaque\nstringData: {b: s3cret}\n",
			"--encrypted-regex", "^(data|stringData)$"),
		"partial/leaky.enc.yaml": enc("leaky.enc.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: l}\ndata: {a: YQ==}\nstringData: {b: clear-b}\n",
			"--encrypted-regex", "^data$"),
		// A sops_mac line makes no file encrypted: the controller finds no marker and reads it as it is.
		"partial/fake.env": []byte("PASSWORD=hunter2\nsops_mac=not-a-mac\n"),
		// Lines and documents beside sops' metadata that are no KEY=ENC[...] nor a mapping: the value as it stands
		// (a binary key reads the file whole, undecrypted), and a comment sops did not encrypt.
		"partial/sneaky.env":  []byte("hunter2\nsops_mac=ENC[AES256_GCM,data:a,iv:b,tag:c,type:str]\n"),
		"partial/sneaky.yaml": []byte("sops: {mac: 'ENC[AES256_GCM,data:a,iv:b,tag:c,type:str]'}\n---\nhunter2\n"),
		"partial/comment.env": append(enc("comment.env", "# an encrypted comment\nA=b\n"), "# hunter2\n"...),
	})
	var got []string
	for _, k := range []string{"apps/kustomization.yaml", "apps/base/kustomization.yaml", "partial/kustomization.yaml"} {
		data, err := os.ReadFile(filepath.Join(dir, k))
		if err != nil {
			t.Fatal(err)
		}
		read := func(p string) ([]byte, bool) { b, err := os.ReadFile(filepath.Join(dir, p)); return b, err == nil }
		found, err := preview.KustomizationSecrets(k, data, read, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range found {
			got = append(got, k+": "+f.Namespace+"/"+f.Name+" "+strings.Join(f.Keys, " "))
		}
	}
	want := []string{
		"partial/kustomization.yaml: apps/partial secretGenerator.envs.fake.env secretGenerator.envs.partial.enc.env " +
			"secretGenerator.files.comment.env secretGenerator.files.leaky.enc.yaml secretGenerator.files.partial.enc.ini secretGenerator.files.partial.enc.yaml " +
			"secretGenerator.files.sneaky.yaml secretGenerator.files.token",
		"partial/kustomization.yaml: apps/embedded patches[0].stringData.b",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("KustomizationSecrets (-want +got):\n%s", diff)
	}

	// A Secret value that is a whole encrypted file is no value in the clear (kustomize-controller decrypts it in
	// data; in stringData it stays ciphertext), unless sops left one in it.
	got = nil
	embedded, _ := os.ReadFile(filepath.Join(dir, "apps/embedded.yaml"))
	partial := fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: partial}\ndata:\n  part.env: %s\n  whole.yaml: %s\nstringData:\n  whole.yaml: |\n    %s\n  sneaky: |\n    hunter2\n    sops_mac=ENC[AES256_GCM,data:a,iv:b,tag:c,type:str]\n",
		b64(partialEnv), b64(wholeYAML), strings.ReplaceAll(strings.TrimSpace(string(wholeYAML)), "\n", "\n    "))
	for _, f := range [][]byte{embedded, []byte(partial)} {
		found, err := preview.PlaintextSecrets(f, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range found {
			got = append(got, s.Name+" "+strings.Join(s.Keys, " "))
		}
	}
	if diff := cmp.Diff([]string{"embedded data.plain", "partial data.part.env stringData.sneaky"}, got); diff != "" {
		t.Errorf("PlaintextSecrets (-want +got):\n%s", diff)
	}
}
