package cli_test

import (
	"encoding/base64"
	"fmt"
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

// reviewerProject is the example tree with a Flux Kustomization of the user's own, apps, whose path kronform-gen does
// not generate, all committed.
func reviewerProject(t *testing.T) *project {
	t.Helper()
	p := newProject(t)
	p.write("clusters/kronform/apps.yaml", fluxKustomization("apps", "./apps/kronform"))
	p.write("apps/kronform/cm.yaml", configMap("base", "a: b"))
	gitRepo(t, p.dir)
	return p
}

// The reviewer's cases: a value that Flux applies in a Secret never prints, in build, diff or check, and check
// reports it. Each case adds files to the committed tree (an owned file replaced by its own text plus the case's).
func TestReviewedLeaksStayMasked(t *testing.T) {
	const secrets = "infrastructure/kronform/secrets/kustomization.yaml"
	encoded := base64.StdEncoding.EncodeToString([]byte(leakCanary))
	patch := `"apiVersion: v1\nkind: Secret\nmetadata: {name: canary, namespace: default}\nstringData: {extra: ` + leakCanary + `}"`
	for _, c := range []struct {
		name         string
		files        map[string]string
		owned        string // appended to the owned secrets kustomization, whose diff check prints
		plaintext    []string
		notPlaintext []string // what check does not report
	}{
		{name: "kind tagged !!binary", files: map[string]string{"apps/kronform/bin.yaml": "apiVersion: v1\nkind: !!binary U2VjcmV0\nmetadata: {name: binkind, namespace: default}\nstringData: {pw: " + leakCanary + "}\n"},
			plaintext: []string{"plaintext Secret apps/kronform/bin.yaml (document 1, default/binkind): stringData.pw"}},
		{name: "kind escaped", files: map[string]string{"apps/kronform/esc.yaml": "apiVersion: v1\nkind: \"Secr\\x65t\"\nmetadata: {name: esc, namespace: default}\nstringData: {pw: " + leakCanary + "}\n"},
			plaintext: []string{"plaintext Secret apps/kronform/esc.yaml (document 1, default/esc): stringData.pw"}},
		{name: "values not a mapping", files: map[string]string{
			"apps/kronform/s1.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s1, namespace: default}\nstringData: " + leakCanary + "\n",
			"apps/kronform/s2.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s2, namespace: default}\nstringData: [" + leakCanary + "]\n",
			"apps/kronform/s3.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s3, namespace: default}\ndata: " + encoded + "\n"},
			owned: "---\napiVersion: v1\nkind: Secret\nmetadata: {name: s4, namespace: default}\nstringData: " + leakCanary + "\n",
			plaintext: []string{
				"plaintext Secret apps/kronform/s1.yaml (document 1, default/s1): stringData",
				"plaintext Secret apps/kronform/s2.yaml (document 1, default/s2): stringData",
				"plaintext Secret apps/kronform/s3.yaml (document 1, default/s3): data",
				"plaintext Secret " + secrets + " (document 2, default/s4): stringData"}},
		{name: "aliases and merge keys", files: map[string]string{
			"apps/kronform/m1.yaml": "apiVersion: v1\n<<: {kind: Secret}\nmetadata: {name: m1, namespace: default}\nstringData: {pw: " + leakCanary + "}\n",
			"apps/kronform/m2.yaml": "apiVersion: v1\nmetadata: {name: m2, namespace: default, annotations: {a: &k Secret}}\nkind: *k\nstringData: {pw: " + leakCanary + "}\n"},
			owned: "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: m3\n  namespace: default\n  labels: &v {pw: " + leakCanary + "}\nstringData: *v\n",
			plaintext: []string{
				"plaintext Secret apps/kronform/m1.yaml (document 1, default/m1): stringData.pw",
				"plaintext Secret apps/kronform/m2.yaml (document 1, default/m2): stringData.pw",
				"plaintext Secret " + secrets + " (document 2, default/m3): stringData.pw"}},
		{name: "inline patches", files: map[string]string{
			"apps/kronform/kustomization.yaml": "resources: [cm.yaml, empty.yaml]\npatches:\n- patch: " + patch + "\n" +
				"- target: {kind: Secret, name: canary}\n  patch: '[{\"op\": \"add\", \"path\": \"/stringData/x\", \"value\": \"" + leakCanary + "\"}]'\n",
			"apps/kronform/empty.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: canary, namespace: default}\n"},
			owned: "patches:\n- patch: " + patch + "\n",
			plaintext: []string{
				"plaintext Secret apps/kronform/kustomization.yaml (document 1, default/canary): patches[0].stringData.extra",
				"plaintext Secret apps/kronform/kustomization.yaml (document 1, canary): patches[1]/stringData/x",
				"plaintext Secret " + secrets + " (document 1, default/canary): patches[0].stringData.extra"}},
		{name: "a patch of a Flux Kustomization", files: map[string]string{
			"apps/kronform/empty.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: canary, namespace: default}\n",
			"clusters/kronform/apps.yaml": fluxKustomization("apps", "./apps/kronform", "patches:",
				"- target: {kind: Secret, name: canary}", "  patch: '[{op: add, path: /stringData/x, value: "+leakCanary+"}]'")},
			plaintext: []string{"plaintext Secret clusters/kronform/apps.yaml (document 1, canary): spec.patches[0]/stringData/x"}},
		{name: "values without their keys", files: map[string]string{
			"apps/kronform/kustomization.yaml": "resources: [cm.yaml, k.yaml]\nsecretGenerator: [{name: g, literals: [" + leakCanary + "]}]\n",
			"apps/kronform/k.yaml":             "apiVersion: v1\nkind: Secret\nmetadata: {name: k, namespace: default}\nstringData: {'the password is " + leakCanary + "': x}\n"},
			plaintext: []string{
				"plaintext Secret apps/kronform/kustomization.yaml (document 1, g): secretGenerator.literals[0] (not KEY=VALUE)",
				"plaintext Secret apps/kronform/k.yaml (document 1, default/k): stringData.(a key that is not valid, not shown)"}},
		{name: "a value pasted as a key, in a folder that builds", files: map[string]string{
			"apps/kronform/kustomization.yaml": "resources: [cm.yaml, k.yaml]\n",
			"apps/kronform/k.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: k, namespace: default}\n" +
				"stringData: {'the password is " + leakCanary + "': x, 'token=" + leakCanary + "': y, ok: z}\n" +
				"data: {'" + leakCanary + "/x': eA==}\n"},
			plaintext: []string{
				"plaintext Secret apps/kronform/k.yaml (document 1, default/k): data.(a key that is not valid, not shown), stringData.(a key that is not valid, not shown), stringData.ok"}},
		{name: "a kind Flux substitutes", files: map[string]string{
			"clusters/kronform/apps.yaml":      fluxKustomization("apps", "./apps/kronform", "postBuild:", "  substitute: {k: Secret}"),
			"apps/kronform/kustomization.yaml": "resources: [cm.yaml, sub.yaml]\n",
			"apps/kronform/sub.yaml":           "apiVersion: v1\nkind: ${k}\nmetadata: {name: sub, namespace: default}\nstringData: {pw: " + leakCanary + "}\n"},
			plaintext: []string{"plaintext Secret apps/kronform/sub.yaml (document 1, default/sub): stringData.pw"}},
		{name: "a JSON patch that makes a Secret", files: map[string]string{
			"apps/kronform/kustomization.yaml": "resources: [cm.yaml, db.yaml]\npatches:\n- target: {kind: ConfigMap, name: db}\n  patch: |\n    - {op: replace, path: /kind, value: Secret}\n",
			"apps/kronform/db.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: db, namespace: default}\ndata: {pw: " + encoded + "}\n"},
			plaintext: []string{"plaintext Secret apps/kronform/kustomization.yaml (document 1, db): patches[0]/kind"}},
		{name: "images and replicas through configurations", files: map[string]string{
			"apps/kronform/kustomization.yaml": "resources: [cm.yaml, s.yaml]\nconfigurations: [fs.yaml]\n" +
				"images: [{name: nginx, newTag: " + leakCanary + "}]\nreplicas: [{name: s, count: 31337}]\n",
			"apps/kronform/s.yaml":                    "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: default}\nstringData: {img: nginx}\n",
			"apps/kronform/fs.yaml":                   "images: [{path: stringData/img, kind: Secret}]\nreplicas: [{path: stringData/count, kind: Secret, create: true}]\n",
			"infrastructure/kronform/secrets/fs.yaml": "images: [{path: stringData/img, kind: Secret}]\n"},
			owned: "configurations: [fs.yaml]\nimages: [{name: nginx, newTag: " + leakCanary + "}]\n",
			plaintext: []string{
				"plaintext Secret apps/kronform/kustomization.yaml (document 1): configurations[0].replicas[0].stringData/count",
				"plaintext Secret apps/kronform/s.yaml (document 1, default/s): stringData.img"},
			// The images rewrite only what the Secret holds in the clear; the encrypted secrets' ciphertext they leave.
			notPlaintext: []string{"configurations[0].images"}},
		{name: "generator and transformer configurations", files: map[string]string{
			"apps/kronform/kustomization.yaml": "resources: [cm.yaml]\ngenerators:\n- gen.yaml\n- |\n  apiVersion: builtin\n  kind: SecretGenerator\n" +
				"  metadata: {name: inline, namespace: default}\n  literals: [pw=" + leakCanary + "]\ntransformers:\n- tr.yaml\n",
			"apps/kronform/gen.yaml": "apiVersion: builtin\nkind: SecretGenerator\nmetadata: {name: file, namespace: default}\nliterals: [pw=" + leakCanary + "]\n",
			"apps/kronform/tr.yaml": "apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: t}\ntarget: {kind: Secret, name: file}\n" +
				"patch: '[{\"op\": \"add\", \"path\": \"/stringData\", \"value\": {\"x\": \"" + leakCanary + "\"}}]'\n"},
			plaintext: []string{
				"plaintext Secret apps/kronform/gen.yaml (document 1, default/file): literals.pw",
				"plaintext Secret apps/kronform/kustomization.yaml (document 1, default/inline): generators[1].literals.pw",
				"plaintext Secret apps/kronform/tr.yaml (document 1, file): patch/stringData"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := reviewerProject(t)
			for f, s := range c.files {
				p.write(f, s)
			}
			if c.owned != "" {
				p.write(secrets, p.read(secrets)+c.owned)
			}
			for _, args := range [][]string{{"build"}, {"diff", "--ref", "HEAD"}, {"diff", "--ref", "HEAD", "-o", "json"}, {"check", "-o", "json"}} {
				code, stdout, stderr := p.run(args...)
				if l := leaked(stdout + stderr); l != nil || code == 2 {
					t.Errorf("%v: exit %d, shows %v:\n%s%s", args, code, l, stdout, stderr)
				}
			}
			code, stdout, stderr := p.run("check")
			if l := leaked(stdout + stderr); l != nil || code != 1 {
				t.Errorf("check: exit %d, shows %v:\n%s%s", code, l, stdout, stderr)
			}
			for _, want := range c.plaintext {
				if !strings.Contains(stdout, want+"\n") {
					t.Errorf("check does not report %q:\n%s", want, stdout)
				}
			}
			for _, not := range c.notPlaintext {
				if strings.Contains(stdout, not) {
					t.Errorf("check reports %q:\n%s", not, stdout)
				}
			}
		})
	}
}

// YAML errors quote what they read: an alias to an unknown anchor names it, and the name may be the value.
func TestYAMLErrorsDoNotQuoteTheFile(t *testing.T) {
	p := reviewerProject(t)
	bad := "apiVersion: v1\nkind: Secret\nmetadata: {name: bad, namespace: default}\nstringData: {pw: *" + leakCanary + "}\n"
	p.write("apps/kronform/bad.yaml", bad) // no kustomization.yaml: Flux generates one, parsing every file
	p.write(release, bad)                  // an owned file, which check validates
	for _, args := range [][]string{{"build"}, {"diff", "--ref", "HEAD"}, {"diff", "--ref", "HEAD", "-o", "json"}, {"check"}, {"validate"}} {
		code, stdout, stderr := p.run(args...)
		if l := leaked(stdout + stderr); l != nil || code != 1 {
			t.Errorf("%v: exit %d, shows %v:\n%s%s", args, code, l, stdout, stderr)
		}
	}
	p.write("apps/kronform/kustomization.yaml", "resources: [cm.yaml, bad.yaml]\n") // krusty's own words
	code, _, stderr := p.run("build", "kronform/apps")
	if l := leaked(stderr); l != nil || code != 1 || !strings.Contains(stderr, "unknown anchor '(not shown)' referenced") ||
		!strings.Contains(stderr, "'bad.yaml'") {
		t.Errorf("build kronform/apps: exit %d, shows %v:\n%s", code, l, stderr)
	}
}

// The reviewer's false positive: patches whose target names no kind, applied to a ConfigMap, failed check as
// plaintext Secrets. kustomize applies them to whatever the target selects, so they are reported once the tree has a
// Secret of that name, and only then.
func TestCheckReportsPatchesWithoutAKindOnlyWhereASecretIs(t *testing.T) {
	p := reviewerProject(t)
	p.write("apps/kronform/web.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config, namespace: default}\ndata: {LOG_LEVEL: info}\n")
	p.write("apps/kronform/kustomization.yaml", "resources: [cm.yaml, web.yaml]\npatches:\n"+
		"- target: {name: web-config}\n  patch: \"- op: add\\n  path: /data/EXTRA\\n  value: \\\"1\\\"\"\n")
	p.write("clusters/kronform/apps.yaml", fluxKustomization("apps", "./apps/kronform", "patches:", "- target: {name: web-config}",
		`  patch: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config}\ndata: {LOG_LEVEL: debug}"`))
	if code, stdout, stderr := p.run("check"); code != 0 || strings.Contains(stdout, "plaintext Secret") {
		t.Errorf("check with ConfigMap patches: exit %d\n%s%s", code, stdout, stderr)
	}
	p.write("apps/kronform/secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: web-config, namespace: default}\n")
	code, stdout, stderr := p.run("check")
	for _, want := range []string{
		"plaintext Secret apps/kronform/kustomization.yaml (document 1, web-config): patches[0]/data/EXTRA\n",
		"plaintext Secret clusters/kronform/apps.yaml (document 1, web-config): spec.patches[0].data.LOG_LEVEL\n",
	} {
		if code != 1 || !strings.Contains(stdout, want) {
			t.Errorf("check with a Secret named web-config: exit %d, no %q:\n%s%s", code, want, stdout, stderr)
		}
	}
}

// The reviewer's leaks: a secretGenerator literal that is no key=value printed every literal of the generator, and an
// env line of invalid UTF-8 printed as bytes, in build and diff (whose output CI posts on the pull request).
func TestBuildErrorsDoNotPrintSecretValues(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"literal": {"apps/kronform/kustomization.yaml": "resources: [cm.yaml]\nsecretGenerator: [{name: c, literals: [password=" + leakCanary + ", token" + leakCanary + "]}]\n"},
		"env line": {"apps/kronform/kustomization.yaml": "resources: [cm.yaml]\nsecretGenerator: [{name: c, envs: [s.env]}]\n",
			"apps/kronform/s.env": "GOOD=fine\nbad\xffkey=" + leakCanary + "\n"},
	} {
		t.Run(name, func(t *testing.T) {
			p := reviewerProject(t)
			for f, s := range files {
				p.write(f, s)
			}
			var bytes []string
			for _, c := range []byte(leakCanary) {
				bytes = append(bytes, fmt.Sprint(c))
			}
			for _, args := range [][]string{{"build"}, {"build", "kronform/apps"}, {"diff", "--ref", "HEAD"}, {"diff", "--ref", "HEAD", "-o", "json"}} {
				code, stdout, stderr := p.run(args...)
				if l := leaked(stdout + stderr); l != nil || code != 1 || strings.Contains(stdout+stderr, strings.Join(bytes, " ")) ||
					!strings.Contains(stdout+stderr, "kronform/apps: kustomize build apps/kronform: loading KV pairs: ") {
					t.Errorf("%v: exit %d, shows %v:\n%s%s", args, code, l, stdout, stderr)
				}
			}
		})
	}
}

// Redacting the errors of builds that read a secret value must not hide what is wrong: the names the kustomization
// files give print, and a build that reads none prints kustomize's words as they are.
func TestBuildErrorsNameTheFiles(t *testing.T) {
	const secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: default}\nstringData: {pw: " + leakCanary + "}\n"
	for _, c := range []struct {
		name, kustomization, want string
		files                     map[string]string
	}{
		{name: "a resource misspelt", kustomization: "resources: [cm.yaml, deploymnet.yaml]\n",
			want: "accumulation err='accumulating resources from 'deploymnet.yaml': '/apps/kronform/deploymnet.yaml' doesn't exist'"},
		{name: "a resource without a kind", kustomization: "resources: [cm.yaml, deploy.yaml]\n", files: map[string]string{"deploy.yaml": "apiVersion: v1\nmetadata: {name: x}\n"},
			want: "accumulation err='accumulating resources from 'deploy.yaml': missing kind in object "},
		{name: "a resource outside", kustomization: "resources: [cm.yaml, ../nope]\n",
			want: "accumulation err='accumulating resources from '../nope': '/apps/nope' doesn't exist'"},
		{name: "a replacement's field misspelt", kustomization: "resources: [cm.yaml]\nreplacements:\n- source: {kind: ConfigMap, name: base, fieldPath: data.nope}\n  targets: [{select: {kind: ConfigMap}, fieldPaths: [data.b]}]\n",
			want: "fieldPath `data.nope` is missing for replacement source ConfigMap.[noVer].[noGrp]/base.[noNs]"},
	} {
		for _, withSecret := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, a Secret beside: %v", c.name, withSecret), func(t *testing.T) {
				p := reviewerProject(t)
				k := c.kustomization
				if withSecret {
					k = strings.Replace(k, "resources: [cm.yaml", "resources: [cm.yaml, secret.yaml", 1)
					p.write("apps/kronform/secret.yaml", secret)
				}
				p.write("apps/kronform/kustomization.yaml", k)
				for f, s := range c.files {
					p.write("apps/kronform/"+f, s)
				}
				code, stdout, stderr := p.run("build", "kronform/apps")
				if l := leaked(stdout + stderr); l != nil || code != 1 || !strings.Contains(stderr, c.want) || strings.Contains(stderr, "err=(not shown)") {
					t.Errorf("exit %d, shows %v:\n%s%s", code, l, stdout, stderr)
				}
			})
		}
	}
}

// A Secret's key that the API server would not take is most likely a value pasted where its key belongs: check names
// it "(a key that is not valid, not shown)", and build and diff print it masked, also where diff names the values
// that changed under the mask.
func TestDiffNamesNoKeyThatIsNotValid(t *testing.T) {
	p := newProject(t)
	p.write("clusters/kronform/apps.yaml", fluxKustomization("apps", "./apps/kronform"))
	p.write("apps/kronform/kustomization.yaml", "resources: [k.yaml]\n")
	p.write("apps/kronform/k.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: k, namespace: default}\nstringData: {'"+leakCanary+"=': a, ok: b}\n")
	gitRepo(t, p.dir)
	p.write("apps/kronform/k.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: k, namespace: default}\nstringData: {'"+leakCanary+"=': c, ok: b}\n")
	for _, args := range [][]string{{"build"}, {"diff", "--ref", "HEAD"}, {"diff", "--ref", "HEAD", "-o", "json"}} {
		code, stdout, stderr := p.run(args...)
		if l := leaked(stdout + stderr); l != nil || code == 2 {
			t.Errorf("%v: exit %d, shows %v:\n%s%s", args, code, l, stdout, stderr)
		}
		if args[0] == "diff" && !strings.Contains(stdout, "values changed (masked): stringData.*****") &&
			!strings.Contains(stdout, `"secretKeysChanged": [`+"\n"+`            "stringData.*****"`) {
			t.Errorf("%v does not name the masked change:\n%s", args, stdout)
		}
	}
}

// A value pasted where a Secret's key belongs prints masked: when it changes and the value under it does not, diff
// still names the change the mask hides, rather than an object "changed" with an empty diff.
func TestDiffNamesAChangeOfAKeyThatIsNotValid(t *testing.T) {
	p := newProject(t)
	p.write("clusters/kronform/apps.yaml", fluxKustomization("apps", "./apps/kronform"))
	p.write("apps/kronform/kustomization.yaml", "resources: [k.yaml]\n")
	p.write("apps/kronform/k.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: k, namespace: default}\nstringData: {'"+leakCanary+"=': a, ok: b}\n")
	gitRepo(t, p.dir)
	p.write("apps/kronform/k.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: k, namespace: default}\nstringData: {'"+leakCanary+"-2=': a, ok: b}\n")
	for _, args := range [][]string{{"diff", "--ref", "HEAD"}, {"diff", "--ref", "HEAD", "-o", "json"}} {
		code, stdout, stderr := p.run(args...)
		if l := leaked(stdout + stderr); l != nil || code != 1 {
			t.Errorf("%v: exit %d, shows %v:\n%s%s", args, code, l, stdout, stderr)
		}
		if !strings.Contains(stdout, "values changed (masked): stringData.*****") &&
			!strings.Contains(stdout, `"secretKeysChanged": [`+"\n"+`            "stringData.*****"`) {
			t.Errorf("%v does not name the masked change:\n%s", args, stdout)
		}
	}
}
