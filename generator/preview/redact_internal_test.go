package preview

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// redactCanary stands for a secret value in the files of the cases below.
const redactCanary = "CANARY-s3cr3t"

// leakedForms are the forms of the canary a message could print: as is, as decimal bytes (an env line of invalid
// UTF-8), in base64.
func leakedForms(msg string) []string {
	var bytes []string
	for _, c := range []byte(redactCanary) {
		bytes = append(bytes, fmt.Sprint(c))
	}
	var out []string
	for _, form := range []string{redactCanary, "s3cr3t", strings.Join(bytes, " "), base64.StdEncoding.EncodeToString([]byte(redactCanary)), "hunter2"} {
		if strings.Contains(msg, form) {
			out = append(out, form)
		}
	}
	return out
}

// Every way of failing a build that reads a secret value which kustomize v5.8.2 was found to have: the error never
// prints the value, in any form, and still names the files, entries, fields and objects the kustomization gives. A
// build that reads no file that may hold a secret value prints kustomize's error as it is.
func TestBuildErrorsNeverPrintSecretValues(t *testing.T) {
	const C = redactCanary
	secret := func(extra string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: default}\n" + extra
	}
	configMap := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {x: y}\n"
	for _, c := range []struct {
		name  string
		files map[string]string
		want  string // the message, after "kustomize build app: "
	}{
		// secretGenerator literals, env files and file sources
		{"a literal with no =", map[string]string{"k": "secretGenerator: [{name: c, literals: [password=hunter2, token" + C + "]}]\n"},
			"loading KV pairs: literal sources (not shown): invalid literal source (not shown), expected key=value"},
		{"a literal with no key", map[string]string{"k": "secretGenerator: [{name: c, literals: [\"=" + C + "\"]}]\n"},
			"loading KV pairs: literal sources (not shown): invalid literal source =(not shown), expected key=value"},
		{"a literal key twice", map[string]string{"k": "secretGenerator: [{name: c, literals: [a=" + C + ", a=" + C + "2]}]\n"},
			"configmap c illegally repeats the key `a`"},
		{"an env line of invalid UTF-8", map[string]string{"k": "secretGenerator: [{name: c, envs: [s.env]}]\n", "s.env": "GOOD=fine\nbad\xffkey=" + C + "\n"},
			"loading KV pairs: env source files: [s.env]: (not shown) has invalid utf8 bytes : (not shown)"},
		{"an env file missing", map[string]string{"k": "secretGenerator: [{name: c, envs: [nosuch.env], literals: [a=" + C + "]}]\n"},
			"loading KV pairs: env source files: [nosuch.env]: '/app/nosuch.env' doesn't exist"},
		{"a file source missing", map[string]string{"k": "secretGenerator: [{name: c, files: [key=nosuch.txt], literals: [a=" + C + "]}]\n"},
			"loading KV pairs: file sources: [key=nosuch.txt]: '/app/nosuch.txt' doesn't exist"},
		{"a file source with no key", map[string]string{"k": "secretGenerator: [{name: c, files: [\"=x.txt\"]}]\n", "x.txt": C},
			`loading KV pairs: file sources: [=x.txt]: missing key name for file path "x.txt" in source "=x.txt"`},
		{"a file source with two =", map[string]string{"k": "secretGenerator: [{name: c, files: [\"a=" + C + "=c\"]}]\n"},
			`loading KV pairs: file sources: (not shown): (not shown) "a=(not shown)=c" key name or file path contains '='`},
		{"a generator over a Secret", map[string]string{"k": "resources: [s.yaml]\nsecretGenerator: [{name: s, namespace: default, options: {disableNameSuffixHash: true}, literals: [a=" + C + "]}]\n",
			"s.yaml": secret("stringData: {pw: " + C + "}\n")},
			"merging from generator &(not shown): (not shown) exists; can not use behavior: '(not shown)', behavior must be merge or replace"},
		{"a generator merging into nothing", map[string]string{"k": "secretGenerator: [{name: c, behavior: merge, literals: [a=" + C + "]}]\n"},
			"merging from generator &(not shown): (not shown) does not exist; cannot merge or replace"},
		// the kustomization file itself
		{"an unknown anchor in the kustomization", map[string]string{"k": "secretGenerator: [{name: c, literals: [*" + C + "]}]\n"},
			"invalid Kustomization: yaml: unknown anchor '(not shown)' referenced"},
		{"literals not a list", map[string]string{"k": "secretGenerator: [{name: c, literals: {a: " + C + "}}]\n"},
			"invalid Kustomization: json: cannot unmarshal (not shown) into Go struct field (not shown) of type [](not shown)"},
		// (in a base: kustomize-controller drops what it does not know from the folder's own file, and builds the rest)
		{"a misspelt field", map[string]string{"k": "resources: [base]\n", "base/kustomization.yaml": "resources: [../s.yaml]\nsecretGenertor: [{name: c, literals: [a=" + C + "]}]\n", "s.yaml": secret("")},
			`invalid Kustomization: json: unknown field "secretGenertor"`},
		{"a syntax error", map[string]string{"k": "secretGenerator: [{name: c, literals: [a=" + C + "}]\n"},
			"invalid Kustomization: yaml: did not find expected ',' or ']'"},
		// Secret manifests
		{"an unknown anchor in a Secret", map[string]string{"k": "resources: [s.yaml]\n", "s.yaml": secret("stringData: {pw: *" + C + "}\n")},
			"accumulating resources: accumulating resources from 's.yaml': MalformedYAMLError: yaml: unknown anchor '(not shown)' referenced in File: s.yaml"},
		{"a syntax error in a Secret", map[string]string{"k": "resources: [s.yaml]\n", "s.yaml": secret("stringData: {pw: " + C + ": x: y}\n")},
			"accumulating resources: accumulating resources from 's.yaml': MalformedYAMLError: yaml: line 3: did not find expected ',' or '}' in File: s.yaml"},
		{"a Secret without a name", map[string]string{"k": "resources: [s.yaml]\n", "s.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {labels: {pw: " + C + "}}\nstringData: {pw: " + C + "}\n"},
			"accumulating resources: accumulation err='accumulating resources from 's.yaml': missing metadata.name in object (not shown)': must build at directory: '/app/s.yaml': file is not directory"},
		{"a Secret twice", map[string]string{"k": "resources: [s.yaml, t.yaml]\n", "s.yaml": secret("stringData: {pw: " + C + "}\n"), "t.yaml": secret("stringData: {pw: " + C + "2}\n")},
			"accumulating resources: accumulation err='merging resources from 't.yaml': may not add resource with an already registered id: Secret.v1.[noGrp]/s.default': must build at directory: '/app/t.yaml': file is not directory"},
		{"a SecretList whose items are no list", map[string]string{"k": "resources: [s.yaml]\n", "s.yaml": "apiVersion: v1\nkind: SecretList\nitems: {a: " + C + "}\n"},
			"accumulating resources: accumulation err='accumulating resources from 's.yaml': expected array in (not shown) {}': must build at directory: '/app/s.yaml': file is not directory"},
		// patches
		{"a strategic merge patch that does not parse", map[string]string{"k": "resources: [s.yaml]\npatches:\n- patch: \"kind: Secret\\nstringData: {pw: *" + C + "}\"\n", "s.yaml": secret("")},
			"trouble configuring builtin PatchTransformer with config: `\n(not shown)\n`: unable to parse SM or JSON patch from [patch: (not shown)]"},
		{"a strategic merge patch without a name", map[string]string{"k": "resources: [s.yaml]\npatches:\n- patch: \"apiVersion: v1\\nkind: Secret\\nstringData: {pw: " + C + "}\"\n", "s.yaml": secret("")},
			"trouble configuring builtin PatchTransformer with config: `\n(not shown)\n`: unable to parse SM or JSON patch from [patch: (not shown)]"},
		{"a strategic merge patch without a target", map[string]string{"k": "resources: [s.yaml]\npatches:\n- patch: \"apiVersion: v1\\nkind: Secret\\nmetadata: {name: other}\\nstringData: {pw: " + C + "}\"\n", "s.yaml": secret("")},
			`no resource matches strategic merge patch "Secret.v1.[noGrp]/other.[noNs]": no matches for (not shown) Secret.v1.[noGrp]/other.[noNs]; failed to find unique target for patch Secret.v1.[noGrp]/other.[noNs]`},
		{"a JSON patch that does not parse", map[string]string{"k": "resources: [s.yaml]\npatches:\n- target: {kind: Secret}\n  patch: '[{op: add, path: /stringData/pw, value: " + C + "'\n", "s.yaml": secret("")},
			"trouble configuring builtin PatchTransformer with config: `\n(not shown)\n`: unable to parse SM or JSON patch from [patch: \"(not shown)"},
		{"a JSON patch's test failing", map[string]string{"k": "resources: [s.yaml]\npatches:\n- target: {kind: Secret}\n  patch: '[{\"op\": \"test\", \"path\": \"/stringData/pw\", \"value\": \"" + C + "\"}]'\n", "s.yaml": secret("stringData: {pw: other}\n")},
			"testing value /stringData/pw failed: test failed"},
		{"a JSON patch into a value", map[string]string{"k": "resources: [s.yaml]\npatches:\n- target: {kind: Secret}\n  patch: '[{\"op\": \"add\", \"path\": \"/stringData/pw/x\", \"value\": \"" + C + "\"}]'\n", "s.yaml": secret("stringData: {pw: " + C + "}\n")},
			`add operation does not apply: doc is missing path: "/stringData/pw/x": missing value`},
		{"a JSON patch removing nothing", map[string]string{"k": "resources: [s.yaml]\npatches:\n- target: {kind: Secret}\n  patch: '[{\"op\": \"remove\", \"path\": \"/stringData/nope\"}]'\n", "s.yaml": secret("stringData: {pw: " + C + "}\n")},
			"error in remove for path: '/stringData/nope': Unable to remove nonexistent key: nope: missing value"},
		{"a patchesJson6902 that does not parse", map[string]string{"k": "resources: [s.yaml]\npatchesJson6902:\n- target: {version: v1, kind: Secret, name: s}\n  patch: '[{op: test, path: /stringData/pw, value: " + C + "}]'\n", "s.yaml": secret("")},
			"trouble configuring builtin PatchJson6902Transformer with config: `\n(not shown)\n`: (not shown): invalid character '(not shown)' looking for beginning of object key string"},
		{"a patch file that does not parse", map[string]string{"k": "resources: [s.yaml]\npatchesStrategicMerge: [p.yaml]\n", "s.yaml": secret(""), "p.yaml": "kind: Secret\nstringData: {pw: *" + C + "}\n"},
			"trouble configuring builtin PatchStrategicMergeTransformer with config: `\n(not shown)\n`: MalformedYAMLError: yaml: unknown anchor '(not shown)' referenced in File: p.yaml"},
		{"a patch file missing", map[string]string{"k": "resources: [s.yaml]\npatches:\n- path: nosuch.yaml\n", "s.yaml": secret("stringData: {pw: " + C + "}\n")},
			"trouble configuring builtin PatchTransformer with config: `\npath: nosuch.yaml\n`: failed to get the patch file from path(nosuch.yaml): '/app/nosuch.yaml' doesn't exist"},
		// replacements
		{"a replacement into a value", map[string]string{"k": "resources: [s.yaml, cm.yaml]\nreplacements:\n- source: {kind: ConfigMap, name: cm, fieldPath: data}\n  targets: [{select: {kind: Secret}, fieldPaths: [stringData.pw.x]}]\n",
			"s.yaml": secret("stringData: {pw: " + C + "}\n"), "cm.yaml": configMap},
			"unable to find field \"stringData.pw.x\" in replacement target: wrong node kind: expected MappingNode but got ScalarNode: node contents:\n(not shown)\n"},
		{"a replacement's source field missing", map[string]string{"k": "resources: [s.yaml, cm.yaml]\nreplacements:\n- source: {kind: Secret, name: s, fieldPath: stringData.nope}\n  targets: [{select: {kind: ConfigMap}, fieldPaths: [data.x]}]\n",
			"s.yaml": secret("stringData: {pw: " + C + "}\n"), "cm.yaml": configMap},
			"fieldPath `stringData.nope` is missing for replacement source Secret.[noVer].[noGrp]/s.[noNs]"},
		{"a replacement's source missing", map[string]string{"k": "resources: [s.yaml]\nreplacements:\n- source: {kind: Secret, name: nope, fieldPath: stringData.pw}\n  targets: [{select: {kind: Secret}, fieldPaths: [stringData.pw]}]\n",
			"s.yaml": secret("stringData: {pw: " + C + "}\n")},
			"nothing selected by Secret.[noVer].[noGrp]/nope.[noNs]:stringData.pw"},
		// mistakes beside a Secret: the names the kustomization gives print
		{"a resource misspelt", map[string]string{"k": "resources: [s.yaml, deploymnet.yaml]\n", "s.yaml": secret("stringData: {pw: " + C + "}\n")},
			"accumulating resources: accumulation err='accumulating resources from 'deploymnet.yaml': '/app/deploymnet.yaml' doesn't exist': must build at directory: not a valid directory: '/app/deploymnet.yaml' doesn't exist"},
		{"a resource outside", map[string]string{"k": "resources: [s.yaml, ../nope]\n", "s.yaml": secret("stringData: {pw: " + C + "}\n")},
			"accumulating resources: accumulation err='accumulating resources from '../nope': '/nope' doesn't exist': must build at directory: not a valid directory: '/nope' doesn't exist"},
		{"a resource without a kind", map[string]string{"k": "resources: [s.yaml, deploy.yaml]\n", "s.yaml": secret("stringData: {pw: " + C + "}\n"), "deploy.yaml": "apiVersion: v1\nmetadata: {name: x}\n"},
			"accumulating resources: accumulation err='accumulating resources from 'deploy.yaml': missing kind in object (not shown)': must build at directory: '/app/deploy.yaml': file is not directory"},
		{"a component missing", map[string]string{"k": "resources: [s.yaml]\ncomponents: [nocomp]\n", "s.yaml": secret("stringData: {pw: " + C + "}\n")},
			"accumulating components: (not shown) \"must build at directory: not a valid directory: '/app/nocomp' doesn't exist\""},
		// no secret value read: kustomize's own words, whole
		{"a resource misspelt, no Secret", map[string]string{"k": "resources: [deploymnet.yaml]\n"},
			"accumulating resources: accumulation err='accumulating resources from 'deploymnet.yaml': '/app/deploymnet.yaml' doesn't exist': must build at directory: not a valid directory: '/app/deploymnet.yaml' doesn't exist"},
		{"a resource without a kind, no Secret", map[string]string{"k": "resources: [deploy.yaml]\n", "deploy.yaml": "apiVersion: v1\nmetadata: {name: x}\n"},
			"accumulating resources: accumulation err='accumulating resources from 'deploy.yaml': missing kind in object {{v1 } {{x } map[] map[]}}': must build at directory: '/app/deploy.yaml': file is not directory"},
		{"a ConfigMap's env line of invalid UTF-8", map[string]string{"k": "configMapGenerator: [{name: c, envs: [c.env]}]\n", "c.env": "bad\xffkey=shown\n"},
			"loading KV pairs: env source files: [c.env]: line [98 97 100 255 107 101 121 61 115 104 111 119 110] has invalid utf8 bytes : bad\xffkey=shown"},
	} {
		t.Run(c.name, func(t *testing.T) {
			files := map[string][]byte{}
			for p, s := range c.files {
				if p == "k" {
					p = "kustomization.yaml"
				}
				files["app/"+p] = []byte(s)
			}
			s, err := FromFiles(files)
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.kustomize(Kustomization{Name: "app", Cluster: "c", Path: "app"}, false, nil)
			if err == nil {
				t.Fatal("built")
			}
			msg := strings.TrimPrefix(err.Error(), "kustomize build app: ")
			if l := leakedForms(msg); l != nil {
				t.Errorf("the error prints %v:\n%s", l, msg)
			}
			if !strings.Contains(msg, c.want) {
				t.Errorf("got  %q\nwant %q", msg, c.want)
			}
		})
	}
}

// A file decrypted for a build holds secret values, whatever it looks like.
func TestErrorsOfBuildsOfDecryptedFilesAreRedacted(t *testing.T) {
	s, err := FromFiles(map[string][]byte{"app/c.env": []byte("x=y\n")})
	if err != nil {
		t.Fatal(err)
	}
	msg := "env source files: [c.env]: line [1] has invalid utf8 bytes : " + redactCanary
	for _, decrypted := range []bool{false, true} {
		in := newInputs(s)
		if _, err := in.over(s.fs).ReadFile("/app/c.env"); err != nil {
			t.Fatal(err)
		}
		in.decrypted["/app/c.env"] = decrypted
		got := in.redact(errors.New(msg)).Error()
		if want := map[bool]string{false: msg, true: "env source files: [c.env]: (not shown) has invalid utf8 bytes : (not shown)"}[decrypted]; got != want {
			t.Errorf("decrypted %v: got %q, want %q", decrypted, got, want)
		}
	}
}
