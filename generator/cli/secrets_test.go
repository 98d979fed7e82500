package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kronform/kronform-gen/generator/cache"
	"github.com/kronform/kronform-gen/generator/spec"
	"github.com/kronform/kronform-gen/generator/tree"
	"github.com/kronform/kronform-gen/internal/gittest"
)

const canary = "CANARY-c4e1-must-never-leak"

// labSpec is a one-node cluster "lab" whose secret name/namespace holds data (lines of "key: source" indented by ten).
func labSpec(recipient, name, namespace, data string) string {
	return `apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
defaults:
  ageRecipients: [` + recipient + `]
clusters:
  - name: lab
    apiServer: {host: api.lab.example.com}
    nodes:
      - {name: cp1, addresses: [192.0.2.10], roles: [control-plane]}
    cilium: {version: 1.16.5}
    secrets:
      - name: ` + name + `
        namespace: ` + namespace + `
        data:
` + data
}

// fleet writes a spec with one secret whose token comes from $KG_TOKEN, and returns the folder.
func fleet(t *testing.T, recipient string) string {
	t.Helper()
	dir := t.TempDir()
	specText := labSpec(recipient, "creds", "kube-system", "          token: {env: KG_TOKEN}\n          file-token: {file: token.txt}\n")
	if err := os.WriteFile(filepath.Join(dir, "cluster-spec.yaml"), []byte(specText), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "token.txt"), []byte(canary+"-file"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runIn(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args = append([]string{"--spec", filepath.Join(dir, "cluster-spec.yaml"), "--out", filepath.Join(dir, "output")}, args...)
	code := Main(args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestCanaryNeverLeaks runs every secret path (create, regenerate, no key, check, tampered file, wrong key) with a
// distinctive value and looks for it in every file of the tree, every output stream, the temp folder.
func TestCanaryNeverLeaks(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // any temp file the run made would land here
	cacheDir := t.TempDir()
	t.Setenv(cache.Env, cacheDir) // remembered check verdicts would land here
	keyDir := t.TempDir()
	code, _, stderr := initLab(t, keyDir)
	if code != 0 {
		t.Fatalf("init: %d %s", code, stderr)
	}
	keyFile := filepath.Join(keyDir, "lab.agekey")
	recipient := recipientOf(t, filepath.Join(keyDir, "cluster-spec.yaml"))
	dir := fleet(t, recipient)
	wrongKey := filepath.Join(keyDir, "other.agekey")
	initKey(t, keyDir, "other")

	leaks := []string{canary, base64.StdEncoding.EncodeToString([]byte(canary)), base64.StdEncoding.EncodeToString([]byte(canary + "-file"))}
	var streams []string
	step := func(name string, wantCode int, env map[string]string, args ...string) string {
		t.Helper()
		t.Setenv("KG_TOKEN", "")
		os.Unsetenv("KG_TOKEN")
		t.Setenv("SOPS_AGE_KEY_FILE", "")
		os.Unsetenv("SOPS_AGE_KEY_FILE")
		for k, v := range env {
			t.Setenv(k, v)
		}
		code, out, errOut := runIn(t, dir, args...)
		streams = append(streams, out, errOut)
		if code != wantCode {
			t.Fatalf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", name, code, wantCode, out, errOut)
		}
		return errOut
	}
	withKey := map[string]string{"KG_TOKEN": canary, "SOPS_AGE_KEY_FILE": keyFile}
	step("generate", 0, withKey, "generate")
	secretFile := filepath.Join(dir, "output/infrastructure/lab/secrets/kube-system/creds.yaml")
	first, err := os.ReadFile(secretFile)
	if err != nil {
		t.Fatal(err)
	}
	if msg := step("regenerate", 0, withKey, "generate"); !strings.Contains(msg, "is up to date") {
		t.Fatalf("regeneration with the key rewrote something: %s", msg)
	}
	if msg := step("generate with --age-key-file", 0, map[string]string{"KG_TOKEN": canary}, "--age-key-file", keyFile, "generate"); !strings.Contains(msg, "is up to date") {
		t.Fatalf("regeneration with --age-key-file rewrote something: %s", msg)
	}
	step("check without key, sources there", 0, map[string]string{"KG_TOKEN": canary}, "check")
	if msg := step("check again, remembered", 0, map[string]string{"KG_TOKEN": canary}, "check"); !strings.Contains(msg, "cached:") {
		t.Fatalf("the second check was not answered from the cache: %s", msg)
	}
	os.Rename(filepath.Join(dir, "token.txt"), filepath.Join(dir, "token.hidden"))
	msg := step("check without key or sources", 0, nil, "check")
	if !strings.Contains(msg, "unverified: kept; names, type, keys and recipients match, values not compared") {
		t.Fatalf("check without a key does not say what it could not verify:\n%s", msg)
	}
	step("generate without key or sources", 0, nil, "generate")
	if now, _ := os.ReadFile(secretFile); !bytes.Equal(now, first) {
		t.Fatal("generate without a key changed the secret file")
	}
	step("generate with the wrong key", 2, map[string]string{"SOPS_AGE_KEY_FILE": wrongKey}, "generate")
	step("generate with a missing key file", 2, nil, "--age-key-file", filepath.Join(keyDir, "absent.agekey"), "generate")
	tampered := bytes.Replace(first, []byte("namespace: kube-system"), []byte("namespace: default"), 1)
	os.WriteFile(secretFile, tampered, 0o644)
	// The message says the way out, too: the file cannot be trusted, and kronform-gen does not write over it.
	if msg := step("generate on a tampered file", 2, withKey, "generate"); !strings.Contains(msg, "MAC mismatch") ||
		!strings.Contains(msg, "restore it from git, or delete it for generate to encrypt it anew from the sources") {
		t.Fatalf("tampered file: %s", msg)
	}
	if now, _ := os.ReadFile(secretFile); !bytes.Equal(now, tampered) {
		t.Fatal("a failed generate changed the tampered file")
	}
	os.Remove(secretFile)
	if msg := step("generate, file and source missing", 2, map[string]string{"SOPS_AGE_KEY_FILE": keyFile}, "generate"); !strings.Contains(msg, "file token.txt does not exist (no earlier file to keep)") ||
		!strings.Contains(msg, "environment variable KG_TOKEN is not set or is empty (no earlier file to keep)") {
		t.Fatalf("missing source not named: %s", msg)
	}

	for i, s := range streams {
		for _, leak := range leaks {
			if strings.Contains(s, leak) {
				t.Fatalf("output stream %d leaks a secret value:\n%s", i, s)
			}
		}
	}
	for _, root := range []string{dir, tmp, cacheDir} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || p == filepath.Join(dir, "token.hidden") {
				return err
			}
			b, _ := os.ReadFile(p)
			for _, leak := range leaks {
				if bytes.Contains(b, []byte(leak)) {
					t.Errorf("%s holds a secret value", p)
				}
			}
			return nil
		})
	}
	if entries, _ := os.ReadDir(tmp); len(entries) > 0 {
		t.Errorf("the run left temp files: %v", entries)
	}
}

func TestCheckWithoutKeyFailsWhenRecipientsChanged(t *testing.T) {
	keyDir := t.TempDir()
	initKey(t, keyDir, "a")
	initKey(t, keyDir, "b")
	a := recipientOf(t, filepath.Join(keyDir, "a.spec.yaml"))
	b := recipientOf(t, filepath.Join(keyDir, "b.spec.yaml"))
	dir := fleet(t, a)
	t.Setenv("KG_TOKEN", "v")
	t.Setenv("SOPS_AGE_KEY_FILE", "")
	if code, _, errOut := runIn(t, dir, "generate"); code != 0 {
		t.Fatal(errOut)
	}
	specPath := filepath.Join(dir, "cluster-spec.yaml")
	text, _ := os.ReadFile(specPath)
	os.WriteFile(specPath, bytes.Replace(text, []byte(a), []byte(b), 1), 0o644)
	os.Unsetenv("KG_TOKEN")
	os.Remove(filepath.Join(dir, "token.txt"))
	code, _, errOut := runIn(t, dir, "check")
	if code != 1 || !strings.Contains(errOut, "needs-key-holder") || !strings.Contains(errOut, "1 secret file(s) not as the spec says that only someone with the age key or the values can write") {
		t.Fatalf("check: exit %d\n%s", code, errOut)
	}
	code, _, errOut = runIn(t, dir, "generate")
	if code != 2 || !strings.Contains(errOut, "nothing was written") {
		t.Fatalf("generate: exit %d\n%s", code, errOut)
	}
}

// Rotating recipients without the key, with every source at hand, writes each secret anew from the local sources
// (encryption needs only the public keys), and must say so per file: nobody compared the committed values with those
// sources, and a stale local file would replace a committed value unnoticed.
func TestRecipientsRotatedWithoutKeyNoteEachFile(t *testing.T) {
	keyDir := t.TempDir()
	initKey(t, keyDir, "a")
	initKey(t, keyDir, "b")
	a := recipientOf(t, filepath.Join(keyDir, "a.spec.yaml"))
	b := recipientOf(t, filepath.Join(keyDir, "b.spec.yaml"))
	dir := fleet(t, a)
	t.Setenv("KG_TOKEN", canary)
	t.Setenv("SOPS_AGE_KEY_FILE", "")
	if code, _, errOut := runIn(t, dir, "generate"); code != 0 {
		t.Fatal(errOut)
	}
	specPath := filepath.Join(dir, "cluster-spec.yaml")
	text, _ := os.ReadFile(specPath)
	os.WriteFile(specPath, bytes.Replace(text, []byte("["+a+"]"), []byte("["+a+", "+b+"]"), 1), 0o644)
	code, _, errOut := runIn(t, dir, "generate")
	if code != 0 {
		t.Fatalf("generate: exit %d\n%s", code, errOut)
	}
	want := "note: infrastructure/lab/secrets/kube-system/creds.yaml (kube-system/creds): reencrypted: the spec's recipients"
	if !strings.Contains(errOut, want) || !strings.Contains(errOut, "encrypted anew from the local sources (file token.txt, environment variable KG_TOKEN), not compared with the committed values") {
		t.Fatalf("generate does not say the file was written anew from the local sources unverified:\n%s", errOut)
	}
	if strings.Contains(errOut, canary) {
		t.Fatal("generate printed the value")
	}
	t.Setenv("SOPS_AGE_KEY_FILE", filepath.Join(keyDir, "b.agekey"))
	if code, _, errOut := runIn(t, dir, "check"); code != 0 {
		t.Fatalf("check with the new key: exit %d\n%s", code, errOut)
	}
}

// Rotating in one step (the old recipient replaced by the new one) and running with the new key: the key opens none
// of the files, which is drift (the files are behind the spec), not a usage error. check reports it (exit 1), as it
// does without a key; generate refuses without the values (exit 2) and says how to rotate.
func TestRotatedToTheNewKeyOnly(t *testing.T) {
	keyDir := t.TempDir()
	initKey(t, keyDir, "old")
	initKey(t, keyDir, "new")
	oldR := recipientOf(t, filepath.Join(keyDir, "old.spec.yaml"))
	newR := recipientOf(t, filepath.Join(keyDir, "new.spec.yaml"))
	dir := fleet(t, oldR)
	t.Setenv("KG_TOKEN", canary)
	t.Setenv("SOPS_AGE_KEY_FILE", "")
	if code, _, errOut := runIn(t, dir, "generate"); code != 0 {
		t.Fatal(errOut)
	}
	specPath := filepath.Join(dir, "cluster-spec.yaml")
	text, _ := os.ReadFile(specPath)
	os.WriteFile(specPath, bytes.Replace(text, []byte(oldR), []byte(newR), 1), 0o644)
	os.Unsetenv("KG_TOKEN")
	os.Rename(filepath.Join(dir, "token.txt"), filepath.Join(dir, "token.hidden"))
	t.Setenv("SOPS_AGE_KEY_FILE", filepath.Join(keyDir, "new.agekey"))
	hint := "list the new recipient beside the old ones and generate with an old key"
	code, stdout, errOut := runIn(t, dir, "check")
	if code != 1 || !strings.Contains(errOut, "needs-key-holder") || !strings.Contains(errOut, hint) {
		t.Fatalf("check with the new key: exit %d, want 1 and the hint\n%s%s", code, stdout, errOut)
	}
	code, _, errOut = runIn(t, dir, "generate")
	if code != 2 || !strings.Contains(errOut, "nothing was written") || !strings.Contains(errOut, hint) {
		t.Fatalf("generate with the new key: exit %d, want 2 and the hint\n%s", code, errOut)
	}
	// As the hint says: both recipients, the old key; then the new recipient alone, the new key.
	os.WriteFile(specPath, bytes.Replace(text, []byte("["+oldR+"]"), []byte("["+oldR+", "+newR+"]"), 1), 0o644)
	t.Setenv("SOPS_AGE_KEY_FILE", filepath.Join(keyDir, "old.agekey"))
	if code, _, errOut := runIn(t, dir, "generate"); code != 0 || strings.Contains(errOut, "note:") {
		t.Fatalf("generate with both recipients and the old key: exit %d\n%s", code, errOut)
	}
	os.WriteFile(specPath, bytes.Replace(text, []byte(oldR), []byte(newR), 1), 0o644)
	t.Setenv("SOPS_AGE_KEY_FILE", filepath.Join(keyDir, "new.agekey"))
	if code, _, errOut := runIn(t, dir, "generate"); code != 0 || strings.Contains(errOut, "note:") {
		t.Fatalf("generate with the new recipient alone and the new key: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := runIn(t, dir, "check"); code != 0 {
		t.Fatalf("check after the rotation: exit %d\n%s", code, errOut)
	}
}

// A recipient removed from the spec: the first run with its key still opens the files (they list it) and re-wraps
// them for the recipients left; from then on that key opens nothing, and the error says so (with the key's public key,
// so its holder knows it) and what to do, not how to rotate to a new key, which is not what happened.
func TestRemovedRecipientsKey(t *testing.T) {
	keyDir := t.TempDir()
	initKey(t, keyDir, "gone")
	initKey(t, keyDir, "kept")
	goneR := recipientOf(t, filepath.Join(keyDir, "gone.spec.yaml"))
	keptR := recipientOf(t, filepath.Join(keyDir, "kept.spec.yaml"))
	dir := fleet(t, goneR+", "+keptR)
	t.Setenv("KG_TOKEN", canary)
	t.Setenv("SOPS_AGE_KEY", "")
	t.Setenv("SOPS_AGE_KEY_FILE", filepath.Join(keyDir, "gone.agekey"))
	if code, _, errOut := runIn(t, dir, "generate"); code != 0 {
		t.Fatal(errOut)
	}
	specPath := filepath.Join(dir, "cluster-spec.yaml")
	text, _ := os.ReadFile(specPath)
	os.WriteFile(specPath, bytes.Replace(text, []byte(goneR+", "), nil, 1), 0o644)
	if code, _, errOut := runIn(t, dir, "generate"); code != 0 {
		t.Fatalf("generate with the removed recipient's key, the files still listing it: exit %d\n%s", code, errOut)
	}
	for _, cmd := range []string{"generate", "check"} {
		code, stdout, errOut := runIn(t, dir, cmd)
		for _, out := range []string{stdout, errOut} {
			if strings.Contains(out, canary) {
				t.Fatalf("%s printed a secret value", cmd)
			}
		}
		if code != 2 {
			t.Fatalf("%s with the removed recipient's key: exit %d, want 2\n%s%s", cmd, code, stdout, errOut)
		}
		for _, want := range []string{"(public key " + goneR + ") is no recipient in the spec nor of any secret file",
			"a key whose recipient was removed from the spec opens no file that a run has written since",
			"run with the key of one of the file's recipients, or without a key"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("%s: the error does not say %q:\n%s", cmd, want, errOut)
			}
		}
		if strings.Contains(errOut, "list the new recipient beside the old ones") {
			t.Errorf("%s: the error gives the rotation hint for a removed recipient:\n%s", cmd, errOut)
		}
	}
	// As it says: the key still listed, or no key.
	t.Setenv("SOPS_AGE_KEY_FILE", filepath.Join(keyDir, "kept.agekey"))
	if code, _, errOut := runIn(t, dir, "check"); code != 0 {
		t.Fatalf("check with the key still listed: exit %d\n%s", code, errOut)
	}
	t.Setenv("SOPS_AGE_KEY_FILE", "")
	if code, _, errOut := runIn(t, dir, "check"); code != 0 {
		t.Fatalf("check without a key: exit %d\n%s", code, errOut)
	}
}

// check with the key and a value source that no longer matches the file (or a file behind its source): the masked
// diff cannot show what differs, so check names the Secret and the keys whose values differ, in text and in JSON,
// never the values.
func TestCheckNamesTheKeysWhoseValuesDiffer(t *testing.T) {
	keyDir := t.TempDir()
	initKey(t, keyDir, "k")
	dir := fleet(t, recipientOf(t, filepath.Join(keyDir, "k.spec.yaml")))
	t.Setenv("KG_TOKEN", canary)
	t.Setenv("SOPS_AGE_KEY", "")
	t.Setenv("SOPS_AGE_KEY_FILE", filepath.Join(keyDir, "k.agekey"))
	if code, _, errOut := runIn(t, dir, "generate"); code != 0 {
		t.Fatal(errOut)
	}
	const stale = "STALE-0b9e-must-never-leak"
	if err := os.WriteFile(filepath.Join(dir, "token.txt"), []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}
	file := "infrastructure/lab/secrets/kube-system/creds.yaml"
	code, stdout, errOut := runIn(t, dir, "check")
	want := "changed  " + file + "\n# Secret kube-system/creds: values changed (masked): stringData.file-token (the value " +
		"sources differ from the file's values: run kronform-gen generate to write them, or bring the sources up to date if the file is right)\n"
	if code != 1 || !strings.Contains(stdout, want) || strings.Contains(stdout, "only masked") {
		t.Errorf("check: exit %d, want 1 and\n%s\ngot\n%s%s", code, want, stdout, errOut)
	}
	for _, v := range []string{canary, stale} {
		if strings.Contains(stdout+errOut, v) {
			t.Fatal("check printed a secret value")
		}
	}
	code, stdout, errOut = runIn(t, dir, "check", "--output", "json")
	var rep checkReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || code != 1 {
		t.Fatalf("check --output json: exit %d, %v\n%s", code, err, stdout)
	}
	found := false
	for _, f := range rep.Files {
		if f.Path == file {
			found = true
			if f.Secret != "kube-system/creds" || !slices.Equal(f.SecretKeysChanged, []string{"stringData.file-token"}) ||
				!strings.Contains(f.Diff, "values changed (masked): stringData.file-token") {
				t.Errorf("check --output json: %+v", f)
			}
		}
	}
	if !found {
		t.Errorf("check --output json does not list %s:\n%s", file, stdout)
	}
	for _, v := range []string{canary, stale} {
		if strings.Contains(stdout+errOut, v) {
			t.Fatal("check --output json printed a secret value")
		}
	}
}

// In a fleet where each cluster has its own recipients, the key of one cluster opens none of the other's files: that
// is no wrong key, and whoever holds it can run generate and check. The other cluster's files are handled as without
// a key. A key listed nowhere (the wrong key file) is refused; one listed only by a file (its cluster moved to a new
// recipient) opens that file and re-wraps it.
func TestFleetKeyOfOneCluster(t *testing.T) {
	keyDir := t.TempDir()
	for _, n := range []string{"a", "b", "a2", "stray"} {
		initKey(t, keyDir, n)
	}
	a := recipientOf(t, filepath.Join(keyDir, "a.spec.yaml"))
	b := recipientOf(t, filepath.Join(keyDir, "b.spec.yaml"))
	a2 := recipientOf(t, filepath.Join(keyDir, "a2.spec.yaml"))
	dir := t.TempDir()
	specPath := filepath.Join(dir, "cluster-spec.yaml")
	cluster := func(name, addr, recipient, env string) string {
		return `  - name: ` + name + `
    apiServer: {host: api.` + name + `.example.com}
    nodes: [{name: cp1, addresses: [` + addr + `], roles: [control-plane]}]
    cilium: {version: 1.16.5}
    ageRecipients: [` + recipient + `]
    secrets: [{name: s, namespace: default, data: {tok: {env: ` + env + `}}}]
`
	}
	writeSpec := func(caRecipient string) {
		text := "apiVersion: kronform.dev/v1alpha1\nkind: ClusterSpec\nclusters:\n" +
			cluster("ca", "192.0.2.10", caRecipient, "TOK_A") + cluster("cb", "192.0.2.11", b, "TOK_B")
		if err := os.WriteFile(specPath, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeSpec(a)
	t.Setenv("SOPS_AGE_KEY", "")
	t.Setenv("SOPS_AGE_KEY_FILE", "")
	t.Setenv("TOK_A", canary+"-a")
	t.Setenv("TOK_B", canary+"-b")
	if code, _, errOut := runIn(t, dir, "generate"); code != 0 {
		t.Fatal(errOut)
	}
	os.Unsetenv("TOK_B")
	cbFile := filepath.Join(dir, "output", "infrastructure", "cb", "secrets", "default", "s.yaml")
	before, _ := os.ReadFile(cbFile)
	keyA := filepath.Join(keyDir, "a.agekey")
	note := "note: infrastructure/cb/secrets/default/s.yaml (default/s): unverified: kept; names, type, keys and recipients match, " +
		"values not compared (the age key from --age-key-file " + keyA + " is a recipient elsewhere in the spec or the tree, not of this file)"
	for _, cmd := range []string{"generate", "check"} {
		code, stdout, errOut := runIn(t, dir, cmd, "--age-key-file", keyA)
		if code != 0 || !strings.Contains(errOut, note) {
			t.Errorf("%s with cluster ca's key: exit %d, want 0 and the note\n%s%s", cmd, code, stdout, errOut)
		}
	}
	if after, _ := os.ReadFile(cbFile); !bytes.Equal(before, after) {
		t.Error("cluster cb's secret file changed")
	}

	code, _, errOut := runIn(t, dir, "check", "--age-key-file", filepath.Join(keyDir, "stray.agekey"))
	if code != 2 || !strings.Contains(errOut, "none of the age keys can decrypt this file") || !strings.Contains(errOut, "nor does a mistyped key file") {
		t.Errorf("check with a key listed nowhere: exit %d, want 2\n%s", code, errOut)
	}

	// build --decrypt with ca's key shows ca's values and leaves cb's encrypted (masked), with a note; a key that
	// opens none of them is refused.
	code, out, errOut := runIn(t, dir, "build", "--decrypt", "--age-key-file", keyA)
	if code != 0 || !strings.Contains(out, canary+"-a") || strings.Contains(out, canary+"-b") ||
		!strings.Contains(errOut, "Secret/default/s is not decrypted: the age key given opens none of its recipients") {
		t.Errorf("build --decrypt with cluster ca's key: exit %d\n%s", code, errOut)
	}
	code, _, errOut = runIn(t, dir, "build", "--decrypt", "--age-key-file", filepath.Join(keyDir, "stray.agekey"))
	if code != 2 || !strings.Contains(errOut, "--decrypt: the age key given opens none of the SOPS files") {
		t.Errorf("build --decrypt with a key listed nowhere: exit %d, want 2\n%s", code, errOut)
	}

	// Cluster ca moves to recipient a2: key a is no spec's recipient now, but ca's file lists it, so it opens that
	// file and re-wraps it for a2, and leaves cb's alone.
	writeSpec(a2)
	if code, _, errOut := runIn(t, dir, "generate", "--age-key-file", keyA); code != 0 || !strings.Contains(errOut, note) {
		t.Fatalf("generate with the old key of ca after ca moved to a2: exit %d\n%s", code, errOut)
	}
	os.Unsetenv("TOK_A")
	if code, _, errOut := runIn(t, dir, "check", "--age-key-file", filepath.Join(keyDir, "a2.agekey")); code != 0 {
		t.Errorf("check with ca's new key: exit %d\n%s", code, errOut)
	}
}

func TestInit(t *testing.T) {
	dir := t.TempDir()
	specPath := filepath.Join(dir, "cluster-spec.yaml")
	var stdout, stderr bytes.Buffer
	code := Main([]string{"init", "prod", "--spec", specPath}, strings.NewReader(""), &stdout, &stderr)
	if code != 0 {
		t.Fatal(stderr.String())
	}
	keyFile := filepath.Join(dir, "prod.agekey")
	want := "kubectl create secret generic sops-age --namespace=flux-system --from-file=age.agekey=" + keyFile + "\n"
	if stdout.String() != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s", stdout.String(), want)
	}
	if !strings.Contains(stderr.String(), keyFile+" is the PRIVATE key: never commit it") {
		t.Fatalf("stderr does not warn about the private key:\n%s", stderr.String())
	}
	info, err := os.Stat(keyFile)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", info, err)
	}
	key, _ := os.ReadFile(keyFile)
	if strings.Contains(stdout.String()+stderr.String(), "AGE-SECRET-KEY") || !bytes.Contains(key, []byte("AGE-SECRET-KEY-1")) {
		t.Fatal("the private key must be in the file and nowhere else")
	}
	m, err := spec.LoadFile(specPath, spec.Options{})
	if err != nil {
		t.Fatalf("scaffolded spec does not load: %v", err)
	}
	if m.Clusters[0].Name != "prod" || len(m.Clusters[0].AgeRecipients) != 1 || !bytes.Contains(key, []byte("# public key: "+m.Clusters[0].AgeRecipients[0])) {
		t.Fatalf("spec does not name the new key's recipient: %+v", m.Clusters[0].AgeRecipients)
	}
	// The key next to the spec is in the repository: init has it ignored, once, and keeps what .gitignore held.
	ignored := func() string { b, _ := os.ReadFile(filepath.Join(dir, ".gitignore")); return string(b) }
	if want := "# the age private key kronform-gen init wrote: never commit it\n/prod.agekey\n"; ignored() != want {
		t.Fatalf(".gitignore:\n%s\nwant:\n%s", ignored(), want)
	}
	os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("node_modules/\n*.agekey"), 0o644)
	if code := Main([]string{"init", "stage", "--spec", filepath.Join(dir, "stage.yaml")}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatal(stderr.String())
	}
	if ignored() != "node_modules/\n*.agekey" {
		t.Errorf("a .gitignore that ignores *.agekey was changed:\n%s", ignored())
	}
	os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("node_modules/"), 0o644)
	if code := Main([]string{"init", "dev", "--spec", filepath.Join(dir, "dev.yaml")}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatal(stderr.String())
	}
	if want := "node_modules/\n# the age private key kronform-gen init wrote: never commit it\n/dev.agekey\n"; ignored() != want {
		t.Errorf(".gitignore:\n%s\nwant:\n%s", ignored(), want)
	}
	elsewhere := t.TempDir()
	if code := Main([]string{"init", "qa", "--spec", filepath.Join(dir, "qa.yaml"), "--age-key", filepath.Join(elsewhere, "qa.agekey")}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatal(stderr.String())
	}
	if _, err := os.Stat(filepath.Join(elsewhere, ".gitignore")); !os.IsNotExist(err) {
		t.Error("a key written elsewhere with --age-key got a .gitignore beside it")
	}

	before, _ := os.ReadFile(specPath)
	stdout.Reset()
	stderr.Reset()
	if code := Main([]string{"init", "prod", "--spec", specPath}, strings.NewReader(""), &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "already exists; init never overwrites") {
		t.Fatalf("second init: exit %d %s", code, stderr.String())
	}
	if after, _ := os.ReadFile(specPath); !bytes.Equal(before, after) {
		t.Fatal("second init changed the spec")
	}
}

// initLab runs init for cluster lab in dir.
func initLab(t *testing.T, dir string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := Main([]string{"init", "lab", "--spec", filepath.Join(dir, "cluster-spec.yaml")}, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// initKey makes NAME.agekey (and NAME.spec.yaml) in dir through init.
func initKey(t *testing.T, dir, name string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"init", name, "--spec", filepath.Join(dir, name+".spec.yaml")}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatal(stderr.String())
	}
}

func recipientOf(t *testing.T, specPath string) string {
	t.Helper()
	m, err := spec.LoadFile(specPath, spec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return m.Clusters[0].AgeRecipients[0]
}

// A Secret whose keys sort differently in YAML (key9 before key10, DB_HOST before DBNAME) and in JSON (byte order)
// is what kustomize-controller decrypts from JSON without checking the MAC; build --decrypt must show it as Flux
// applies it, not refuse it with a MAC mismatch (the Flux end-to-end test proves the controller applies it).
func TestBuildDecryptsSecretsWhoseKeysJSONReorders(t *testing.T) {
	keyDir := t.TempDir()
	initKey(t, keyDir, "ops")
	dir := t.TempDir()
	values := map[string]string{"key9": "nine", "key10": "ten", "DB_HOST": "db.internal", "DBNAME": "app"}
	var data string
	for k, v := range values {
		data += "          " + k + ": {file: " + k + ".txt}\n"
		if err := os.WriteFile(filepath.Join(dir, k+".txt"), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	specText := labSpec(recipientOf(t, filepath.Join(keyDir, "ops.spec.yaml")), "app", "default", data)
	if err := os.WriteFile(filepath.Join(dir, "cluster-spec.yaml"), []byte(specText), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOPS_AGE_KEY_FILE", filepath.Join(keyDir, "ops.agekey"))
	if code, _, stderr := runIn(t, dir, "generate"); code != 0 {
		t.Fatalf("generate: %s", stderr)
	}
	code, stdout, stderr := runIn(t, dir, "build", "--decrypt", "lab/secrets")
	if code != 0 {
		t.Fatalf("build --decrypt: exit %d: %s", code, stderr)
	}
	for k, v := range values {
		if !strings.Contains(stdout, "  "+k+": "+v+"\n") {
			t.Errorf("build --decrypt does not show %s:\n%s", k, stdout)
		}
	}
	if code, _, stderr := runIn(t, dir, "check"); code != 0 {
		t.Errorf("check after generate: exit %d: %s", code, stderr)
	}
}

// A secret file changed outside kronform-gen is reported by check (exit 1) and stops generate (exit 2, nothing
// written) when the run has neither the key nor the values: decrypted in place (sops -d -i), or re-encrypted with
// other values for the same public recipients.
func TestSecretFileChangedOutsideWithoutKey(t *testing.T) {
	keyDir := t.TempDir()
	initKey(t, keyDir, "a")
	a := recipientOf(t, filepath.Join(keyDir, "a.spec.yaml"))
	dir, other := fleet(t, a), fleet(t, a)
	t.Setenv("SOPS_AGE_KEY_FILE", "")
	t.Setenv("KG_TOKEN", canary)
	if code, _, errOut := runIn(t, dir, "generate"); code != 0 {
		t.Fatal(errOut)
	}
	t.Setenv("KG_TOKEN", "someone-elses-value")
	if code, _, errOut := runIn(t, other, "generate"); code != 0 {
		t.Fatal(errOut)
	}
	os.Unsetenv("KG_TOKEN")
	os.Remove(filepath.Join(dir, "token.txt"))
	file := filepath.Join(dir, "output", "infrastructure", "lab", "secrets", "kube-system", "creds.yaml")
	reencrypted, err := os.ReadFile(filepath.Join(other, "output", "infrastructure", "lab", "secrets", "kube-system", "creds.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	decrypted := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: kube-system\ntype: Opaque\nstringData:\n  token: " + canary + "\n"
	cases := []struct {
		name, file string
		want       []string
	}{
		{"decrypted in place", decrypted, []string{"unreadable", "not a readable sops-encrypted file", "1 plaintext Secret(s)"}},
		{"re-encrypted with other values", string(reencrypted), []string{"needs-key-holder", "changed since kronform-gen wrote it"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := os.WriteFile(file, []byte(c.file), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, output := range []string{"text", "json"} {
				code, stdout, stderr := runIn(t, dir, "check", "--output", output)
				if code != 1 {
					t.Fatalf("check --output %s: exit %d, want 1\n%s%s", output, code, stdout, stderr)
				}
				for _, w := range c.want {
					if !strings.Contains(stdout+stderr, w) {
						t.Errorf("check --output %s does not say %q:\n%s%s", output, w, stdout, stderr)
					}
				}
				if strings.Contains(stdout+stderr, canary) {
					t.Fatalf("check printed the value:\n%s%s", stdout, stderr)
				}
				// The file is kept, not vouched for: the record still says what kronform-gen wrote, so check shows no
				// change of the record (a digest of the file, as if generate would accept it) nor asks for a generate
				// that refuses; the note says what happened.
				if strings.Contains(stdout, tree.OwnedFile) || strings.Contains(stderr, "file(s) differ from") {
					t.Errorf("check --output %s reports the ownership record as drift:\n%s%s", output, stdout, stderr)
				}
			}
			code, _, stderr := runIn(t, dir, "generate")
			if code != 2 || !strings.Contains(stderr, "nothing was written") {
				t.Fatalf("generate: exit %d, want 2\n%s", code, stderr)
			}
			if got, _ := os.ReadFile(file); string(got) != c.file {
				t.Fatal("generate changed the file")
			}
		})
	}
}

// A secret file the ownership record does not list is vouched for by nothing: here one left behind when a generate
// was undone with git checkout (which restores the spec, the record and the kustomization.yaml, and leaves the new,
// untracked file). Without the key it must not be kept as if verified when the secret comes back with another value:
// written anew from the sources, or, without them, reported (check 1) and refused (generate 2).
func TestLeftoverSecretFileIsNotTrusted(t *testing.T) {
	keyDir := t.TempDir()
	initKey(t, keyDir, "a")
	keyFile := filepath.Join(keyDir, "a.agekey")
	dir := fleet(t, recipientOf(t, filepath.Join(keyDir, "a.spec.yaml")))
	specFile := filepath.Join(dir, "cluster-spec.yaml")
	t.Setenv("SOPS_AGE_KEY_FILE", "")
	t.Setenv("KG_TOKEN", canary)
	if code, _, errOut := runIn(t, dir, "generate"); code != 0 {
		t.Fatal(errOut)
	}
	// What git checkout -- . restores.
	restore := map[string][]byte{}
	for _, p := range []string{specFile, filepath.Join(dir, "output", ".kronform-gen", "owned.json"), filepath.Join(dir, "output", "infrastructure", "lab", "secrets", "kustomization.yaml")} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		restore[p] = b
	}
	withDB := string(restore[specFile]) + "      - name: db\n        namespace: kube-system\n        data:\n          pass: {env: DB_PASS}\n"
	os.WriteFile(specFile, []byte(withDB), 0o644)
	t.Setenv("DB_PASS", "old-value")
	if code, _, errOut := runIn(t, dir, "generate"); code != 0 {
		t.Fatal(errOut)
	}
	db := filepath.Join(dir, "output", "infrastructure", "lab", "secrets", "kube-system", "db.yaml")
	leftover, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	for p, b := range restore {
		os.WriteFile(p, b, 0o644)
	}
	os.WriteFile(specFile, []byte(withDB), 0o644) // the secret comes back

	os.Unsetenv("DB_PASS")
	code, stdout, stderr := runIn(t, dir, "check")
	if code != 1 || !strings.Contains(stderr, "needs-key-holder: not in the ownership record") {
		t.Fatalf("check without the value: exit %d, want 1 and a needs-key-holder note\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := runIn(t, dir, "generate"); code != 2 || !strings.Contains(stderr, "nothing was written") {
		t.Fatalf("generate without the value: exit %d, want 2\n%s", code, stderr)
	}
	t.Setenv("DB_PASS", "new-value")
	if code, _, errOut := runIn(t, dir, "generate"); code != 0 {
		t.Fatal(errOut)
	}
	if now, _ := os.ReadFile(db); bytes.Equal(now, leftover) {
		t.Fatal("the leftover file was kept: it holds the old value")
	}
	if code, _, errOut := runIn(t, dir, "check"); code != 0 {
		t.Fatalf("check after generate: exit %d\n%s", code, errOut)
	}
	t.Setenv("SOPS_AGE_KEY_FILE", keyFile)
	code, stdout, stderr = runIn(t, dir, "build", "--decrypt", "lab/secrets")
	if code != 0 || !strings.Contains(stdout, "  pass: new-value\n") {
		t.Fatalf("build --decrypt: exit %d, the Secret does not hold the new value\n%s", code, stderr)
	}
}

// sops leaves an empty value unencrypted: generate writes it so, and check must then agree the tree is in sync
// rather than fail on it as a plaintext Secret forever.
func TestEmptySecretValueStaysInSync(t *testing.T) {
	keyDir := t.TempDir()
	initKey(t, keyDir, "a")
	a := recipientOf(t, filepath.Join(keyDir, "a.spec.yaml"))
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "cluster-spec.yaml"), []byte(labSpec(a, "creds", "kube-system", "          empty: {file: empty.dat}\n          token: {env: KG_TOKEN}\n")), 0o644)
	os.WriteFile(filepath.Join(dir, "empty.dat"), nil, 0o600)
	t.Setenv("SOPS_AGE_KEY_FILE", "")
	t.Setenv("KG_TOKEN", canary)
	if code, _, errOut := runIn(t, dir, "generate"); code != 0 {
		t.Fatal(errOut)
	}
	if code, stdout, errOut := runIn(t, dir, "check"); code != 0 {
		t.Fatalf("check: exit %d\n%s%s", code, stdout, errOut)
	}
}

// A value the API server would refuse (a .dockerconfigjson that is no JSON object, values past 1 MiB in all) is bad
// input, as a missing source is: every one is reported in one run at its place in the spec, with its field path and
// never the value; exit 2, nothing written, and --output json lists them as problems.
func TestValuesTheAPIServerWouldRefuseArePlacedInTheSpec(t *testing.T) {
	dir := t.TempDir()
	// In a namespace every cluster has: one that nothing creates draws a warning, which is not what this is about.
	specText := labSpec("age13l5xnu5xcrr9cvqg3k2dtpezkygelplytj7nmg3hxcx9ul40ryzslcc2p9", "big", "default",
		"          a: {file: half}\n          b: {file: half}\n          c: {env: KG_TOKEN}\n") +
		"      - name: pull\n        namespace: default\n        type: kubernetes.io/dockerconfigjson\n        data:\n" +
		"          .dockerconfigjson: {file: docker.json}\n"
	os.WriteFile(filepath.Join(dir, "cluster-spec.yaml"), []byte(specText), 0o644)
	os.WriteFile(filepath.Join(dir, "half"), bytes.Repeat([]byte("x"), 1<<19), 0o600)
	os.WriteFile(filepath.Join(dir, "docker.json"), []byte(canary), 0o600)
	t.Setenv("SOPS_AGE_KEY_FILE", "")
	t.Setenv("KG_TOKEN", canary)
	spec := filepath.Join(dir, "cluster-spec.yaml")
	want := spec + ":15:11: clusters[0].secrets[0].data: the values add up to 1048603 bytes, more than the 1048576 (1 MiB) a Kubernetes Secret holds\n" +
		spec + ":22:37: clusters[0].secrets[1].data..dockerconfigjson.file: file docker.json: not a JSON object, which the API server requires of a kubernetes.io/dockerconfigjson Secret\n" +
		"2 problem(s) in the spec; nothing was written\n"
	code, stdout, stderr := runIn(t, dir, "generate")
	if code != 2 || stdout != "" || stderr != want {
		t.Errorf("generate: exit %d, stdout %q, stderr:\n%s\nwant:\n%s", code, stdout, stderr, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "output")); !os.IsNotExist(err) {
		t.Errorf("generate wrote output: %v", err)
	}
	code, stdout, stderr = runIn(t, dir, "check", "--output", "json")
	if code != 2 || !strings.Contains(stdout, `"path": "clusters[0].secrets[1].data..dockerconfigjson.file"`) ||
		!strings.Contains(stdout, `"line": 15,`) {
		t.Errorf("check --output json: exit %d\n%s%s", code, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, canary) {
		t.Errorf("a value leaked:\n%s%s", stdout, stderr)
	}
}

// A secret file encrypted anew has new ciphertext for every value (a new data key, new IVs), so without the key diff
// cannot tell which values changed: when only the Secret's type changed, it must not claim that its values did. It
// says the values were re-encrypted, and names no value as changed.
func TestDiffDoesNotClaimValuesChangedWhenASecretIsReencrypted(t *testing.T) {
	keyDir := t.TempDir()
	initKey(t, keyDir, "a")
	dir := fleet(t, recipientOf(t, filepath.Join(keyDir, "a.spec.yaml")))
	t.Setenv("SOPS_AGE_KEY_FILE", "")
	t.Setenv("KG_TOKEN", canary)
	if code, _, errOut := runIn(t, dir, "generate"); code != 0 {
		t.Fatal(errOut)
	}
	gittest.Isolate(t)
	gittest.Run(t, dir, "init", "-q")
	gittest.Run(t, dir, "add", "-A")
	gittest.Run(t, dir, "commit", "-q", "-m", "secret")
	specFile := filepath.Join(dir, "cluster-spec.yaml")
	b, _ := os.ReadFile(specFile)
	changed := strings.Replace(string(b), "        namespace: kube-system\n", "        namespace: kube-system\n        type: example.com/other\n", 1)
	if changed == string(b) {
		t.Fatal("the spec did not change")
	}
	os.WriteFile(specFile, []byte(changed), 0o644)
	t.Setenv("SOPS_AGE_KEY_FILE", filepath.Join(keyDir, "a.agekey"))
	if code, _, errOut := runIn(t, dir, "generate"); code != 0 {
		t.Fatal(errOut)
	}
	for _, output := range []string{"unified", "json"} {
		code, stdout, stderr := runIn(t, dir, "diff", "--ref", "HEAD", "--output", output)
		if code != 1 {
			t.Fatalf("diff --output %s: exit %d\n%s%s", output, code, stdout, stderr)
		}
		if strings.Contains(stdout, "values changed") || strings.Contains(stdout, "secretKeysChanged") {
			t.Errorf("diff --output %s claims values changed:\n%s", output, stdout)
		}
		if !strings.Contains(stdout, "re-encrypted") && !strings.Contains(stdout, `"secretKeysReencrypted": [`) {
			t.Errorf("diff --output %s does not say the values were re-encrypted:\n%s", output, stdout)
		}
	}
}

// A .gitignore line such as secrets/ (written for plaintext value files) also ignores the secrets folders of the tree:
// git add leaves the new encrypted files out, check passes on the working tree and fails in CI, whose clone has none
// of them. generate names the files it wrote that git ignores and does not track.
func TestGenerateWarnsOfFilesGitIgnores(t *testing.T) {
	keyDir := t.TempDir()
	initKey(t, keyDir, "a")
	dir := fleet(t, recipientOf(t, filepath.Join(keyDir, "a.spec.yaml")))
	t.Setenv("SOPS_AGE_KEY_FILE", "")
	t.Setenv("KG_TOKEN", canary)
	gittest.Isolate(t)
	gittest.Run(t, dir, "init", "-q")
	if code, _, errOut := runIn(t, dir, "generate"); code != 0 || strings.Contains(errOut, "warning: git ignores") {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("secrets/\n"), 0o644)
	specFile := filepath.Join(dir, "cluster-spec.yaml")
	b, _ := os.ReadFile(specFile)
	os.WriteFile(specFile, append(b, []byte("      - name: more\n        namespace: apps\n        data:\n          k: {env: KG_TOKEN}\n")...), 0o644)
	code, _, errOut := runIn(t, dir, "generate")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	for _, p := range []string{"infrastructure/lab/secrets/apps/more.yaml", "infrastructure/lab/secrets/kube-system/creds.yaml", "infrastructure/lab/secrets/kustomization.yaml"} {
		if !strings.Contains(errOut, p) || !strings.Contains(errOut, "warning: git ignores") {
			t.Errorf("generate does not warn that git ignores %s:\n%s", p, errOut)
		}
	}
	if strings.Contains(errOut, canary) {
		t.Errorf("a value leaked:\n%s", errOut)
	}
}

// A value file holds its value in the clear, and belongs outside the repository or ignored by git (docs/secrets.md).
// One that git add -A would commit, or that git tracks already, is named by generate, never with its value.
func TestGenerateWarnsOfValueFilesGitWouldCommit(t *testing.T) {
	keyDir := t.TempDir()
	initKey(t, keyDir, "a")
	dir := fleet(t, recipientOf(t, filepath.Join(keyDir, "a.spec.yaml")))
	t.Setenv("SOPS_AGE_KEY_FILE", "")
	t.Setenv("KG_TOKEN", canary)
	gittest.Isolate(t)
	gittest.Run(t, dir, "init", "-q")
	const addable, tracked = "warning: secret value file token.txt is in the git work tree and not ignored", "warning: secret value file token.txt is tracked by git"
	for _, c := range []struct {
		name, setup string
		want        string
	}{
		{"neither ignored nor tracked", "", addable},
		{"ignored", "ignore", ""},
		{"tracked, though ignored", "track", tracked},
	} {
		switch c.setup {
		case "ignore":
			os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("/token.txt\n"), 0o644)
		case "track":
			gittest.Run(t, dir, "add", "-f", "token.txt")
		}
		code, _, errOut := runIn(t, dir, "generate")
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", c.name, code, errOut)
		}
		for _, w := range []string{addable, tracked} {
			if strings.Contains(errOut, w) != (w == c.want) {
				t.Errorf("%s: want %q, got:\n%s", c.name, c.want, errOut)
			}
		}
		if strings.Contains(errOut, canary) {
			t.Errorf("%s: a value leaked:\n%s", c.name, errOut)
		}
	}
}

// generate and check read no key from sops' own key file (~/.config/sops/age/keys.txt), so that what a run verifies
// does not depend on whose machine runs it. A user whose key is only there, where sops -d finds it, is told so, and
// how to give it, when a run without a key could not open the files; not "someone with the age key must run generate".
func TestNoKeyGivenNamesSopsOwnKeyFile(t *testing.T) {
	keyDir := t.TempDir()
	initKey(t, keyDir, "a")
	initKey(t, keyDir, "b")
	a := recipientOf(t, filepath.Join(keyDir, "a.spec.yaml"))
	b := recipientOf(t, filepath.Join(keyDir, "b.spec.yaml"))
	dir := fleet(t, a)
	t.Setenv("KG_TOKEN", canary)
	t.Setenv("SOPS_AGE_KEY_FILE", "")
	t.Setenv("SOPS_AGE_KEY", "")
	config := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", config)
	if code, _, errOut := runIn(t, dir, "generate"); code != 0 {
		t.Fatal(errOut)
	}
	keys := filepath.Join(config, "sops", "age", "keys.txt")
	os.MkdirAll(filepath.Dir(keys), 0o700)
	key, _ := os.ReadFile(filepath.Join(keyDir, "a.agekey"))
	os.WriteFile(keys, key, 0o600)
	specPath := filepath.Join(dir, "cluster-spec.yaml")
	text, _ := os.ReadFile(specPath)
	os.WriteFile(specPath, bytes.Replace(text, []byte("["+a+"]"), []byte("["+a+", "+b+"]"), 1), 0o644)
	os.Unsetenv("KG_TOKEN")
	hint := "no age key was given, and generate and check do not read sops' own key file " + keys + ": to use it, set SOPS_AGE_KEY_FILE=" + keys
	for _, cmd := range []string{"check", "generate"} {
		code, stdout, errOut := runIn(t, dir, cmd)
		if code == 0 || !strings.Contains(errOut, hint) {
			t.Errorf("%s: exit %d, want the hint %q\n%s%s", cmd, code, hint, stdout, errOut)
		}
	}
	t.Setenv("SOPS_AGE_KEY_FILE", keys)
	if code, _, errOut := runIn(t, dir, "generate"); code != 0 || strings.Contains(errOut, "sops' own key file") {
		t.Fatalf("generate with the key: exit %d\n%s", code, errOut)
	}
}

// A generated file edited by hand to hold a Secret whose key is a value pasted where the key belongs: check's diff
// of the file and the findings of what the API server would refuse (check and validate, text and JSON) name the key "(a key that is not valid, not shown)", at its place in the file, and never show it.
func TestCheckShowsNoSecretKeyThatIsNotValid(t *testing.T) {
	keyDir := t.TempDir()
	initKey(t, keyDir, "a")
	dir := fleet(t, recipientOf(t, filepath.Join(keyDir, "a.spec.yaml")))
	t.Setenv("SOPS_AGE_KEY_FILE", "")
	t.Setenv("KG_TOKEN", "a-token")
	if code, _, errOut := runIn(t, dir, "generate"); code != 0 {
		t.Fatal(errOut)
	}
	file := filepath.Join(dir, "output", "infrastructure", "lab", "cilium", "helmrepository.yaml")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	edited := string(b) + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: k, namespace: default}\n" +
		"stringData:\n  'the password is " + canary + "': x\n  ok: z\n"
	os.WriteFile(file, []byte(edited), 0o644)
	line := strings.Count(string(b), "\n") + 6 // the line of the pasted key
	at := fmt.Sprintf("helmrepository.yaml:%d:3: Secret default/k: stringData[(a key that is not valid, not shown)]: Invalid value: a valid config key", line)
	for _, args := range [][]string{{"check"}, {"check", "--output", "json"}, {"validate"}, {"validate", "--output", "json"}} {
		code, stdout, stderr := runIn(t, dir, args...)
		if strings.Contains(stdout+stderr, canary) || code == 0 {
			t.Errorf("%v: exit %d, shows the value:\n%s%s", args, code, stdout, stderr)
		}
		if len(args) == 1 && !strings.Contains(stdout+stderr, at) {
			t.Errorf("%v does not say %q:\n%s%s", args, at, stdout, stderr)
		}
	}
}

// A value file in a git repository of its own inside the spec's (a clone, or a submodule, holding private files) is
// that repository's: git add -A in the spec's repository takes the folder as a repository, never the file. Whether
// the file is ignored or tracked is asked of the repository that holds it.
func TestValueFileInANestedRepositoryIsThatRepositorys(t *testing.T) {
	keyDir := t.TempDir()
	initKey(t, keyDir, "a")
	dir := fleet(t, recipientOf(t, filepath.Join(keyDir, "a.spec.yaml")))
	specFile := filepath.Join(dir, "cluster-spec.yaml")
	b, _ := os.ReadFile(specFile)
	os.WriteFile(specFile, bytes.Replace(b, []byte("{file: token.txt}"), []byte("{file: private/token.txt}"), 1), 0o644)
	private := filepath.Join(dir, "private")
	os.Mkdir(private, 0o755)
	os.Rename(filepath.Join(dir, "token.txt"), filepath.Join(private, "token.txt"))
	t.Setenv("SOPS_AGE_KEY_FILE", "")
	t.Setenv("KG_TOKEN", canary)
	gittest.Isolate(t)
	gittest.Run(t, dir, "init", "-q")
	gittest.Run(t, private, "init", "-q")
	const addable, tracked = "warning: secret value file private/token.txt is in the git work tree and not ignored",
		"warning: secret value file private/token.txt is tracked by git"
	for _, c := range []struct {
		name, setup string
		want        string
	}{
		{"ignored by its own repository's info/exclude", "exclude", ""},
		{"tracked by its own repository", "track", tracked},
	} {
		switch c.setup {
		case "exclude":
			os.WriteFile(filepath.Join(private, ".git", "info", "exclude"), []byte("/token.txt\n"), 0o644)
		case "track":
			gittest.Run(t, private, "add", "-f", "token.txt")
		}
		code, _, errOut := runIn(t, dir, "generate")
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", c.name, code, errOut)
		}
		for _, w := range []string{addable, tracked} {
			if strings.Contains(errOut, w) != (w == c.want) {
				t.Errorf("%s: want %q, got:\n%s", c.name, c.want, errOut)
			}
		}
	}
}

// A plaintext Secret in a folder generate writes (added by hand, or a decrypted copy left beside its encrypted file)
// makes check fail; generate, run before the commit, names the file too, never its value, and still exits 0.
func TestGenerateWarnsOfPlaintextSecrets(t *testing.T) {
	keyDir := t.TempDir()
	initKey(t, keyDir, "a")
	dir := fleet(t, recipientOf(t, filepath.Join(keyDir, "a.spec.yaml")))
	t.Setenv("SOPS_AGE_KEY_FILE", "")
	t.Setenv("KG_TOKEN", canary)
	if code, _, errOut := runIn(t, dir, "generate"); code != 0 || strings.Contains(errOut, "plaintext") {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	plain := "apiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: kube-system}\nstringData: {token: " + canary + "}\n"
	for _, p := range []string{"clusters/lab/leak.yaml", "infrastructure/lab/secrets/kube-system/creds.dec.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, "output", filepath.FromSlash(p)), []byte(plain), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, _, errOut := runIn(t, dir, "generate")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	for _, p := range []string{"clusters/lab/leak.yaml", "infrastructure/lab/secrets/kube-system/creds.dec.yaml"} {
		if !strings.Contains(errOut, "warning: plaintext Secret "+p+" (document 1, kube-system/creds): stringData.token") {
			t.Errorf("generate does not warn of the plaintext Secret in %s:\n%s", p, errOut)
		}
	}
	if strings.Contains(errOut, canary) {
		t.Errorf("a value leaked:\n%s", errOut)
	}
	if code, out, _ := runIn(t, dir, "check"); code != 1 || !strings.Contains(out, "plaintext Secret clusters/lab/leak.yaml") {
		t.Errorf("check: exit %d\n%s", code, out)
	}
}

// A secret in a namespace the cluster is not known to have keeps Flux's whole secrets Kustomization from applying
// (the API server refuses the Secret, and kustomize-controller applies all or nothing; internal/e2e shows it): every
// command that loads the spec warns of it at its place in the spec, and says which Kustomization fails and how to
// create the namespace. A Namespace object under the cluster's folder, which flux bootstrap's Kustomization applies,
// settles it.
func TestSecretInANamespaceNothingCreatesWarns(t *testing.T) {
	keyDir := t.TempDir()
	initKey(t, keyDir, "a")
	dir := t.TempDir()
	specText := labSpec(recipientOf(t, filepath.Join(keyDir, "a.spec.yaml")), "db", "apps", "          pass: {env: KG_TOKEN}\n") +
		"      - name: hcloud\n        namespace: kube-system\n        data: {token: {env: KG_TOKEN}}\n"
	if err := os.WriteFile(filepath.Join(dir, "cluster-spec.yaml"), []byte(specText), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOPS_AGE_KEY_FILE", "")
	t.Setenv("KG_TOKEN", canary)
	want := "cluster-spec.yaml:13:20: clusters[0].secrets[0].namespace: namespace \"apps\" is not one the cluster is " +
		"known to have (default, kube-node-lease, kube-public, kube-system, flux-system), and no Namespace under " +
		"clusters/lab/ nor in a Kustomization the cluster applies from this repository creates it: the API server " +
		"refuses Secret apps/db, and Flux applies the secrets Kustomization " +
		"(clusters/lab/secrets.yaml) all or nothing, so none of the cluster's secrets is applied or updated while it " +
		"is missing (create it: a Namespace in a YAML file under clusters/lab/"
	for _, cmd := range []string{"generate", "check"} {
		code, _, errOut := runIn(t, dir, cmd)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", cmd, code, errOut)
		}
		if !strings.Contains(errOut, "warning: "+filepath.Join(dir, want)) {
			t.Errorf("%s does not warn of the namespace nothing creates:\n%s", cmd, errOut)
		}
		if strings.Count(errOut, "is not one the cluster is known to have") != 1 {
			t.Errorf("%s: one warning expected, for apps alone:\n%s", cmd, errOut)
		}
	}
	// The user's own Kustomization, which flux bootstrap's applies, creates it: the warning says so, and what fails
	// until it has applied it, not that nothing creates it.
	ns := "# created here so that the secrets Kustomization can apply\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n"
	write := func(p, text string) {
		t.Helper()
		p = filepath.Join(dir, "output", filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("clusters/lab/apps.yaml", "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"+
		"metadata: {name: apps, namespace: flux-system}\nspec: {interval: 10m, path: ./apps, prune: true, "+
		"sourceRef: {kind: GitRepository, name: flux-system}}\n")
	write("apps/namespace.yaml", ns)
	want = "namespace \"apps\" is created by Kustomization flux-system/apps (clusters/lab/apps.yaml), which the secrets " +
		"Kustomization (clusters/lab/secrets.yaml) does not depend on"
	for _, cmd := range []string{"generate", "check"} {
		code, stdout, errOut := runIn(t, dir, cmd)
		if code != 0 || !strings.Contains(errOut, want) || strings.Contains(errOut, "known to have") {
			t.Errorf("%s: exit %d, with the namespace created by the apps Kustomization:\n%s", cmd, code, errOut)
		}
		if strings.Contains(stdout+errOut, canary) {
			t.Fatalf("%s printed a secret value", cmd)
		}
	}
	write("clusters/lab/namespaces.yaml", ns)
	for _, cmd := range []string{"generate", "check"} {
		code, stdout, errOut := runIn(t, dir, cmd)
		if code != 0 || strings.Contains(errOut, "namespace \"apps\"") {
			t.Errorf("%s: exit %d, with the namespace created under clusters/lab/:\n%s", cmd, code, errOut)
		}
		if strings.Contains(stdout+errOut, canary) {
			t.Fatalf("%s printed a secret value", cmd)
		}
	}
}

// sops finds its key file where sops itself looks: on macOS a set XDG_CONFIG_HOME wins over ~/Library/Application
// Support (os.UserConfigDir ignores it there); elsewhere os.UserConfigDir already honours it.
func TestSopsConfigDirFollowsSops(t *testing.T) {
	userDir := func(dir string) func() (string, error) { return func() (string, error) { return dir, nil } }
	env := func(vars map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	}
	for _, c := range []struct {
		goos string
		vars map[string]string
		want string
	}{
		{"darwin", map[string]string{"XDG_CONFIG_HOME": "/xdg"}, "/xdg"},
		{"darwin", map[string]string{"XDG_CONFIG_HOME": ""}, "/Users/u/Library/Application Support"},
		{"darwin", nil, "/Users/u/Library/Application Support"},
		// On Linux os.UserConfigDir reads XDG_CONFIG_HOME itself: its answer stands.
		{"linux", map[string]string{"XDG_CONFIG_HOME": "/xdg"}, "/Users/u/Library/Application Support"},
	} {
		got, err := sopsConfigDir(c.goos, env(c.vars), userDir("/Users/u/Library/Application Support"))
		if err != nil || got != c.want {
			t.Errorf("%s %v: got %q, %v; want %q", c.goos, c.vars, got, err, c.want)
		}
	}
}
