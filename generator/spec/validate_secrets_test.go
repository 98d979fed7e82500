package spec

import (
	"errors"
	"strings"
	"testing"
)

const recipient = "age13l5xnu5xcrr9cvqg3k2dtpezkygelplytj7nmg3hxcx9ul40ryzslcc2p9"

func specWithSecrets(secrets string) string {
	return `apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
defaults:
  ageRecipients: [` + recipient + `]
clusters:
  - name: lab
    apiServer: {host: api.lab.example.com}
    nodes:
      - {name: cp1, roles: [control-plane]}
    cilium: {version: 1.16.5}
    secrets:
` + secrets
}

func TestSecretValidation(t *testing.T) {
	cases := []struct {
		name, secrets string
		want          []string
	}{
		{"valid, sources not looked at", `      - name: creds
        namespace: kube-system
        type: kubernetes.io/tls
        data:
          tls.crt: {file: does/not/exist.crt}
          tls.key: {env: NOT_SET_ANYWHERE}
`, nil},
		{"bad names and keys", `      - name: ../escape
        namespace: Kube_System
        data:
          "bad key": {env: X}
          good: {env: "1X"}
          both: {env: X, file: y}
          none: {}
          abs: {file: /etc/passwd}
`, []string{
			"spec.yaml:12:15: clusters[0].secrets[0].name: \"../escape\" is not a valid name",
			"spec.yaml:13:20: clusters[0].secrets[0].namespace: \"Kube_System\" is not a valid name",
			"clusters[0].secrets[0].data.abs.file: \"/etc/passwd\" is not a relative path",
			"clusters[0].secrets[0].data.bad key: \"bad key\" is not a valid Secret key",
			"clusters[0].secrets[0].data.both: give env or file, not both",
			"clusters[0].secrets[0].data.good.env: not an environment variable name (not shown: it may be the secret itself) (letters, digits and _, not starting with a digit)",
			"clusters[0].secrets[0].data.none: a value source is required (values never stand in the spec) (env: VARIABLE or file: PATH)",
		}},
		{"types", `      - name: a
        namespace: default
        type: kubernetes.io/tls
        data: {tls.crt: {env: C}}
      - name: b
        namespace: default
        type: kubernetes.io/service-account-token
        data: {token: {env: T}}
      - name: c
        namespace: default
        type: kubernetes.io/bogus
        data: {x: {env: X}}
      - name: d
        namespace: default
        type: not a type
        data: {x: {env: X}}
      - name: e
        namespace: default
        type: example.com/custom
        data: {x: {env: X}}
      - name: e
        namespace: default
        data: {}
`, []string{
			"clusters[0].secrets[0].data: a kubernetes.io/tls secret needs the key \"tls.key\"",
			"clusters[0].secrets[1].type: type kubernetes.io/service-account-token is filled in by the cluster, not by a spec",
			"clusters[0].secrets[2].type: unknown built-in Secret type \"kubernetes.io/bogus\"",
			"clusters[0].secrets[3].type: \"not a type\" is not a Secret type",
			"clusters[0].secrets[5].name: secret default/e is already defined at clusters[0].secrets[4]",
			"clusters[0].secrets[5].data: a secret needs at least one key",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load("spec.yaml", []byte(specWithSecrets(c.secrets)), Options{})
			if c.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("want problems, got %v", err)
			}
			got := err.Error()
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
			if len(ps) != len(c.want) {
				t.Errorf("got %d problems, want %d:\n%s", len(ps), len(c.want), got)
			}
		})
	}
}

// A value written where its source belongs (the likeliest slip) is refused without ever being shown: spec errors
// land in CI logs.
func TestMessagesNeverShowAValueWrittenInPlaceOfItsSource(t *testing.T) {
	const value = "Sup3rS3cret-4711"
	for _, data := range []string{
		"password: " + value,
		"password: \"" + value + "\"",
		"password: 47114711",
		"password: {env: " + value + "!}",
		"password: {env: 47114711}",
		"password: {file: [" + value + "]}",
		"password: [" + value + "]",
	} {
		text := specWithSecrets("      - name: a\n        namespace: default\n        data:\n          " + data + "\n")
		_, err := Load("spec.yaml", []byte(text), Options{})
		if err == nil {
			t.Fatalf("%s: accepted", data)
		}
		msg := err.Error()
		if strings.Contains(msg, "4711") {
			t.Errorf("%s: the message shows the value:\n%s", data, msg)
		}
		if !strings.Contains(msg, "clusters[0].secrets[0].data.password") {
			t.Errorf("%s: the message does not name the field:\n%s", data, msg)
		}
	}
}

func TestRecipientMustParse(t *testing.T) {
	text := strings.Replace(specWithSecrets("      - {name: a, namespace: default, data: {x: {env: X}}}\n"), recipient, "age1notakeyatall000000000", 1)
	_, err := Load("spec.yaml", []byte(text), Options{})
	if err == nil || !strings.Contains(err.Error(), "defaults.ageRecipients[0]: \"age1notakeyatall000000000\" is not an age recipient") {
		t.Fatalf("got %v", err)
	}
}

// A file that is no spec at all is refused without being quoted: the spec's path can come from a pull request, as a
// link to a token or key file of the CI runner.
func TestASpecThatIsNoMappingIsNotQuoted(t *testing.T) {
	for text, holds := range map[string]string{
		"ghp_SECRET4711\n": "a single value (not shown)",
		"https://x-access-token:ghs_SECRET4711@github.com\nhttps://u:p@example.com\n":                          "a single value (not shown)",
		"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktSECRET4711\n-----END OPENSSH PRIVATE KEY-----\n": "a single value (not shown)",
		"- SECRET4711\n": "a list",
	} {
		_, err := Load("spec.yaml", []byte(text), Options{})
		if err == nil || strings.Contains(err.Error(), "4711") || !strings.Contains(err.Error(), "the spec must be a mapping; this file holds "+holds) {
			t.Errorf("%q: %v", text, err)
		}
		if ps := (Problems{}); errors.As(err, &ps) && len(ps) != 1 {
			t.Errorf("%q: %d problems, want the one:\n%v", text, len(ps), err)
		}
	}
}

// A private age key pasted where its public key belongs (the key file's last line instead of its "# public key:" line)
// is refused without being shown, in the spec's errors as anywhere: they reach CI logs and pull request checks. The
// message says what it is, so that it is removed and replaced.
func TestAPrivateKeyListedAsRecipientIsNotShown(t *testing.T) {
	const private = "AGE-SECRET-KEY-1X883Q3CC6L0UD87HR8R2870X6AW0QQQL2VDMQ2XM8MFQETSGYQTQF4829R"
	for _, listed := range []string{private, strings.ToLower(private), private + ", " + private} {
		text := strings.Replace(specWithSecrets("      - {name: a, namespace: default, data: {x: {env: X}}}\n"), recipient, listed, 1)
		_, err := Load("spec.yaml", []byte(text), Options{})
		if err == nil {
			t.Fatalf("%s: accepted", listed)
		}
		msg := err.Error()
		if strings.Contains(strings.ToUpper(msg), "X883Q3CC6L0UD87") {
			t.Errorf("the message shows the private key:\n%s", msg)
		}
		if !strings.Contains(msg, "spec.yaml:4:19: defaults.ageRecipients[0]: an age private key") {
			t.Errorf("the message does not say a private key stands there:\n%s", msg)
		}
	}
}

// However it is pasted, a private age key is never shown: as the whole list (ageRecipients: AGE-SECRET-KEY-1...,
// the natural paste of one line), after other text, or where any other field's value belongs.
func TestAPrivateKeyPastedAnyWayIsNotShown(t *testing.T) {
	const private = "AGE-SECRET-KEY-1X883Q3CC6L0UD87HR8R2870X6AW0QQQL2VDMQ2XM8MFQETSGYQTQF4829R"
	base := specWithSecrets("      - {name: a, namespace: default, data: {x: {env: X}}}\n")
	for _, text := range []string{
		strings.Replace(base, "["+recipient+"]", private, 1),
		strings.Replace(base, "["+recipient+"]", "['# "+private+"']", 1),
		strings.Replace(base, "["+recipient+"]", "[\"key: "+strings.ToLower(private)+"\"]", 1),
		strings.Replace(base, "{version: 1.16.5}", "{version: 1.16.5, rollOutCiliumPods: "+private+"}", 1),
	} {
		_, err := Load("spec.yaml", []byte(text), Options{})
		if err == nil {
			t.Fatalf("accepted:\n%s", text)
		}
		if msg := err.Error(); strings.Contains(strings.ToUpper(msg), "X883Q3CC6L0UD87") {
			t.Errorf("the message shows the private key:\n%s", msg)
		}
	}
}

// A value written in place of a secret's source and anchored there is not shown when an alias brings it into another
// field either (a name, a template, an address, through a merge key): the alias is refused where it stands, and what
// the field's checks would say, quoting the value, is not said.
func TestAValueInPlaceOfASourceIsNotShownThroughAnAlias(t *testing.T) {
	text := specWithSecrets(`      - name: a
        namespace: default
        data:
          password: &pw "Hunter2-SECRET4711!"
          token: {env: &env "SECRET4711 x", file: &m {template: "SECRET4711!"}}
      - name: *pw
        namespace: *env
        data: {x: {env: X}}
    hetzner: {<<: *m, adminSources: [*pw]}
`)
	_, err := Load("spec.yaml", []byte(text), Options{})
	if err == nil {
		t.Fatal("accepted")
	}
	want := `spec.yaml:15:21: clusters[0].secrets[0].data.password: expected a mapping, got a value (not shown: it may be the secret itself, and values never stand in the spec)
spec.yaml:16:24: clusters[0].secrets[0].data.token.env: not an environment variable name (not shown: it may be the secret itself) (letters, digits and _, not starting with a digit)
spec.yaml:16:51: clusters[0].secrets[0].data.token.file: expected a string, got a mapping
spec.yaml:17:15: clusters[0].secrets[1].name: an alias to a value written in a secret's data (not shown: it may be the secret itself) (write the value here, and give the secret's from env: or file:)
spec.yaml:18:20: clusters[0].secrets[1].namespace: an alias to a value written in a secret's data (not shown: it may be the secret itself) (write the value here, and give the secret's from env: or file:)
spec.yaml:20:19: clusters[0].hetzner.<<: an alias to a value written in a secret's data (not shown: it may be the secret itself) (write the value here, and give the secret's from env: or file:)
spec.yaml:20:38: clusters[0].hetzner.adminSources[0]: an alias to a value written in a secret's data (not shown: it may be the secret itself) (write the value here, and give the secret's from env: or file:)`
	if got := err.Error(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// Nor in Helm values, at any depth.
	text = strings.Replace(text, "    hetzner: {<<: *m, adminSources: [*pw]}\n", "    cilium: {version: 1.16.5, values: {tunnel: *pw, hubble: {ui: [{<<: *m}]}}}\n", 1)
	text = strings.Replace(text, "    cilium: {version: 1.16.5}\n", "", 1)
	_, err = Load("spec.yaml", []byte(text), Options{})
	if err == nil || strings.Contains(err.Error(), "4711") ||
		!strings.Contains(err.Error(), "spec.yaml:19:48: clusters[0].cilium.values.tunnel: an alias to a value written in a secret's data") ||
		!strings.Contains(err.Error(), "spec.yaml:19:72: clusters[0].cilium.values.hubble.ui[0].<<: an alias to a value written in a secret's data") {
		t.Errorf("values: %v", err)
	}
}

// Nor when the anchor stands where decoding does not go (a list or an unknown field in place of a source, a repeated
// key) or on what holds the secret's data: every value written inside a source is refused outside one. A source
// brought to another source ({file: ...} written once, used twice; a list of secrets shared by two clusters) is
// decoded as a source again, and is no value.
func TestAValueInASourceIsNotShownThroughAnyAlias(t *testing.T) {
	text := specWithSecrets(`      - name: a
        namespace: default
        data:
          p1: [&v1 "SECRET4711 a"]
          p2: {value: &v2 "SECRET4711 b"}
          p3: {env: A, env: &v3 "SECRET4711 c"}
      - name: b
        namespace: default
        data: &d {host: "SECRET4711 d"}
    hetzner: {adminSources: [*v1, *v2, *v3]}
    apiServer: *d
`)
	text = strings.Replace(text, "    apiServer: {host: api.lab.example.com}\n", "", 1)
	_, err := Load("spec.yaml", []byte(text), Options{})
	if err == nil || strings.Contains(err.Error(), "4711") {
		t.Fatalf("shown: %v", err)
	}
	for _, want := range []string{
		"spec.yaml:20:30: clusters[0].hetzner.adminSources[0]: an alias to a value written in a secret's data",
		"spec.yaml:20:35: clusters[0].hetzner.adminSources[1]: an alias to a value written in a secret's data",
		"spec.yaml:20:40: clusters[0].hetzner.adminSources[2]: an alias to a value written in a secret's data",
		"spec.yaml:21:16: clusters[0].apiServer: an alias to a value written in a secret's data",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no %q in\n%v", want, err)
		}
	}

	text = specWithSecrets(`      - &s
        name: a
        namespace: default
        data: {x: &src {file: x.txt}, y: *src}
      - {<<: *s, name: b}
`)
	if _, err := Load("spec.yaml", []byte(text), Options{}); err != nil {
		t.Errorf("a source used twice: %v", err)
	}
}

// A value written as a key in a source's place ({hunter2} is a mapping whose one key is the value) is not shown as
// an unknown field's name, nor in the path, nor as a repeated key: a known field's name still is.
func TestAKeyInPlaceOfASourceIsNotShown(t *testing.T) {
	text := specWithSecrets(`      - name: a
        namespace: default
        data:
          p1: {Hunter2-SECRET4711}
          p2: {file: x, "SECRET4711 b": 1, "SECRET4711 b": 2}
          p3: {fiel: x}
          p4: {env: A, env: B}
`)
	_, err := Load("spec.yaml", []byte(text), Options{})
	if err == nil {
		t.Fatal("accepted")
	}
	want := `spec.yaml:15:15: clusters[0].secrets[0].data.p1: a value source is required (values never stand in the spec) (env: VARIABLE or file: PATH)
spec.yaml:15:16: clusters[0].secrets[0].data.p1: unknown field (not shown: it may be the secret itself) (known fields: env, file)
spec.yaml:16:25: clusters[0].secrets[0].data.p2: unknown field (not shown: it may be the secret itself) (known fields: env, file)
spec.yaml:16:44: clusters[0].secrets[0].data.p2: duplicate key (not shown: it may be the secret itself) (first at line 16)
spec.yaml:17:15: clusters[0].secrets[0].data.p3: a value source is required (values never stand in the spec) (env: VARIABLE or file: PATH)
spec.yaml:17:16: clusters[0].secrets[0].data.p3: unknown field (not shown: it may be the secret itself) (did you mean file?)
spec.yaml:18:24: clusters[0].secrets[0].data.p4.env: duplicate key "env" (first at line 18)`
	if got := err.Error(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
