package cli_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

// The reviewer's canary: no form of it may print, in any stream of any command.
const leakCanary = "CANARY-s3cr3t-9f8e"

// leaked lists the forms of the canary that a text holds: as is, in base64 (once and twice) and as a placeholder.
func leaked(s string) []string {
	once := base64.StdEncoding.EncodeToString([]byte(leakCanary))
	var out []string
	for _, form := range []string{leakCanary, once, base64.StdEncoding.EncodeToString([]byte(once)), "KRONFORMGENMASKED"} {
		if strings.Contains(s, form) {
			out = append(out, form)
		}
	}
	return out
}

// A pull request adds its own recipient and a secret read from the runner's environment: check, without the key,
// encrypts the value to show the missing file in its diff. The diff shows the file's shape, never what a holder of
// that recipient's key could open: the data key wrapped for it, the MAC (a hash of every value), the ciphertext.
func TestCheckNeverPrintsTheSOPSMetadataItEncrypted(t *testing.T) {
	p := newProject(t)
	attacker, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := os.ReadFile(p.spec)
	s := strings.Replace(string(spec), "ageRecipients: [", "ageRecipients: ["+attacker.Recipient().String()+", ", 1)
	s = strings.Replace(s, "    hetzner:\n", "      - name: runner\n        namespace: kube-system\n        data:\n          token: {env: KG_RUNNER_SECRET}\n    hetzner:\n", 1)
	if s == string(spec) {
		t.Fatal("the spec did not change")
	}
	os.WriteFile(p.spec, []byte(s), 0o644)
	t.Setenv("SOPS_AGE_KEY_FILE", "")
	os.Unsetenv("SOPS_AGE_KEY_FILE")
	t.Setenv("KG_RUNNER_SECRET", leakCanary)
	for _, args := range [][]string{{"check"}, {"check", "--output", "json"}} {
		code, stdout, stderr := p.run(args...)
		if code != 1 || !strings.Contains(stdout, "infrastructure/kronform/secrets/kube-system/runner.yaml") {
			t.Fatalf("%v: exit %d\n%s%s", args, code, stdout, stderr)
		}
		for _, shown := range []string{"BEGIN AGE ENCRYPTED FILE", "ENC[", "lastmodified: \"", "mac: ENC"} {
			if strings.Contains(stdout+stderr, shown) {
				t.Errorf("%v shows %q:\n%s%s", args, shown, stdout, stderr)
			}
		}
		if l := leaked(stdout + stderr); l != nil {
			t.Errorf("%v shows %v", args, l)
		}
		if !strings.Contains(stdout, "recipient: "+attacker.Recipient().String()) {
			t.Errorf("%v does not show the recipients:\n%s", args, stdout)
		}
	}
}

// Values substituted from a Secret print masked wherever they stand: in the key, name and namespace of an object,
// in the name of a Kustomization (its build's header, notes and errors). Objects whose keys differ only in masked
// values are one entry of the diff, so the output is the same whether or not two variables are equal.
func TestSubstitutedSecretValuesNeverPrint(t *testing.T) {
	tree := func(pw3 string) map[string]string {
		return map[string]string{
			"clusters/kronform/vars.yaml": fluxKustomization("vars", "./vars"),
			"clusters/kronform/apps.yaml": fluxKustomization("apps", "./apps", "postBuild:", "  substituteFrom:", "  - {kind: Secret, name: vars}"),
			"vars/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: vars, namespace: flux-system}\n" +
				"stringData: {pw: " + leakCanary + ", pw2: " + leakCanary + ", pw3: " + pw3 + "}\n",
			"apps/a.yaml":       "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \"a-${pw}\", namespace: \"ns-${pw2}\"}\ndata: {x: \"1\"}\n",
			"apps/b.yaml":       "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \"a-${pw3}\", namespace: \"ns-${pw2}\"}\ndata: {x: \"1\"}\n",
			"apps/child.yaml":   fluxKustomization("child-${pw}", "./childapps"),
			"childapps/cm.yaml": configMap("c", "a: b"),
		}
	}
	var outputs []string
	for _, pw3 := range []string{leakCanary, "other-value"} {
		dir, out := fluxTree(t, map[string]string{"clusters/kronform/vars.yaml": fluxKustomization("vars", "./vars"), "vars/x.yaml": configMap("x", "a: b")})
		gitRepo(t, dir)
		for p, s := range tree(pw3) {
			os.MkdirAll(filepath.Dir(filepath.Join(out, p)), 0o755)
			os.WriteFile(filepath.Join(out, p), []byte(s), 0o644)
		}
		full := filepath.Join(dir, "full.json")
		var all string
		for _, args := range [][]string{{"build"}, {"build", "kronform/apps"}, {"diff", "--ref", "HEAD"}, {"diff", "--ref", "HEAD", "-o", "json", "--full-output", full}} {
			_, stdout, stderr := run(t, append(args, "--out", out)...)
			written, _ := os.ReadFile(full)
			all += stdout + stderr + string(written)
			if l := leaked(stdout + stderr + string(written)); l != nil {
				t.Errorf("pw3=%s, %v shows %v:\n%s%s", pw3, args, l, stdout, stderr)
			}
		}
		for _, want := range []string{"kronform/ConfigMap/ns-*****/a-*****", `"name": "a-*****"`, `"namespace": "ns-*****"`, "kronform/child-*****"} {
			if !strings.Contains(all, want) {
				t.Errorf("pw3=%s: no %q in\n%s", pw3, want, all)
			}
		}
		outputs = append(outputs, all)
		// A Kustomization that does not build is named in the error, masked.
		os.WriteFile(filepath.Join(out, "apps/child.yaml"), []byte(fluxKustomization("child-${pw}", "./nowhere")), 0o644)
		for _, args := range [][]string{{"build"}, {"diff", "--ref", "HEAD"}} {
			code, stdout, stderr := run(t, append(args, "--out", out)...)
			if l := leaked(stdout + stderr); code != 1 || l != nil || !strings.Contains(stderr, "kronform/child-*****: nowhere: the path does not exist") {
				t.Errorf("pw3=%s, %v: exit %d, shows %v:\n%s%s", pw3, args, code, l, stdout, stderr)
			}
		}
	}
	if outputs[0] != outputs[1] {
		t.Errorf("the output tells whether two variables are equal:\n%s\n----\n%s", outputs[0], outputs[1])
	}
}
