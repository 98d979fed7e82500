package cli_test

import (
	"encoding/base64"
	"os"
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
