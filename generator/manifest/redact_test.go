package manifest

import (
	"strings"
	"testing"
)

// kustomize's errors (v5.8.2, as builds of an in-memory tree give them) when a file holds a secret value, here
// CANARY: each prints kustomize's words and the names keep takes, and nothing of the value, whatever its shape.
var kustomizeErrors = []struct{ msg, want string }{
	{"loading KV pairs: literal sources [password=CANARY tokenCANARY]: invalid literal source tokenCANARY, expected key=value",
		"loading KV pairs: literal sources (not shown): invalid literal source (not shown), expected key=value"},
	{"loading KV pairs: literal sources [=CANARY]: invalid literal source =CANARY, expected key=value",
		"loading KV pairs: literal sources (not shown): invalid literal source =(not shown), expected key=value"},
	{"loading KV pairs: env source files: [s.env]: line [98 97 100 255 107 101 121 61 67 65 78 65 82 89] has invalid utf8 bytes : bad\xffkey=CANARY",
		"loading KV pairs: env source files: [s.env]: (not shown) has invalid utf8 bytes : (not shown)"},
	{"loading KV pairs: file sources: [a=CANARY=c]: source \"a=CANARY=c\" key name or file path contains '='",
		"loading KV pairs: file sources: (not shown): (not shown) \"a=(not shown)=c\" key name or file path contains '='"},
	{"loading KV pairs: file sources: [key=nosuch.txt]: '/app/nosuch.txt' doesn't exist",
		"loading KV pairs: file sources: [key=nosuch.txt]: '/app/nosuch.txt' doesn't exist"},
	{"configmap c illegally repeats the key `CANARY`", "configmap c illegally repeats the key `(not shown)`"},
	{"merging from generator &{0x336ef3822a80 <nil>}: id resid.ResId{Gvk:resid.Gvk{Group:\"\", Version:\"v1\", Kind:\"Secret\", isClusterScoped:false}, Name:\"CANARY\", Namespace:\"default\"} exists; can not use behavior: 'unspecified', behavior must be merge or replace",
		"merging from generator &(not shown): (not shown) exists; can not use behavior: '(not shown)', behavior must be merge or replace"},
	{"invalid Kustomization: yaml: unknown anchor 'CANARY' referenced", "invalid Kustomization: yaml: unknown anchor '(not shown)' referenced"},
	{"invalid Kustomization: json: unknown field \"secretGenertor\"", "invalid Kustomization: json: unknown field \"secretGenertor\""},
	{"accumulating resources: accumulating resources from 's.yaml': MalformedYAMLError: yaml: unknown anchor 'CANARY' referenced in File: s.yaml",
		"accumulating resources: accumulating resources from 's.yaml': MalformedYAMLError: yaml: unknown anchor '(not shown)' referenced in File: s.yaml"},
	{"accumulating resources: accumulating resources from 's.yaml': MalformedYAMLError: yaml: line 3: did not find expected ',' or '}' in File: s.yaml",
		"accumulating resources: accumulating resources from 's.yaml': MalformedYAMLError: yaml: line 3: did not find expected ',' or '}' in File: s.yaml"},
	{"accumulating resources: accumulation err='accumulating resources from 's.yaml': missing metadata.name in object {{v1 Secret} {{ } map[pw:CANARY] map[]}}': must build at directory: '/app/s.yaml': file is not directory",
		"accumulating resources: accumulation err='accumulating resources from 's.yaml': missing metadata.name in object (not shown)': must build at directory: '/app/s.yaml': file is not directory"},
	{"accumulating resources: accumulation err='accumulating resources from 's.yaml': expected array in SecretList/items, but found map[string]interface {}': must build at directory: '/app/s.yaml': file is not directory",
		"accumulating resources: accumulation err='accumulating resources from 's.yaml': expected array in (not shown) {}': must build at directory: '/app/s.yaml': file is not directory"},
	{"accumulating resources: accumulation err='merging resources from 't.yaml': may not add resource with an already registered id: Secret.v1.[noGrp]/s.default': must build at directory: '/app/t.yaml': file is not directory",
		"accumulating resources: accumulation err='merging resources from 't.yaml': may not add resource with an already registered id: Secret.v1.[noGrp]/s.default': must build at directory: '/app/t.yaml': file is not directory"},
	{"accumulating resources: accumulation err='accumulating resources from 'deploymnet.yaml': '/app/deploymnet.yaml' doesn't exist': must build at directory: not a valid directory: '/app/deploymnet.yaml' doesn't exist",
		"accumulating resources: accumulation err='accumulating resources from 'deploymnet.yaml': '/app/deploymnet.yaml' doesn't exist': must build at directory: not a valid directory: '/app/deploymnet.yaml' doesn't exist"},
	{"accumulating resources: accumulation err='accumulating resources from '../nope': '/nope' doesn't exist': must build at directory: not a valid directory: '/nope' doesn't exist",
		"accumulating resources: accumulation err='accumulating resources from '../nope': '/nope' doesn't exist': must build at directory: not a valid directory: '/nope' doesn't exist"},
	{"trouble configuring builtin PatchTransformer with config: `\npatch: |-\n  kind: Secret\n  stringData: {pw: *CANARY}\n`: unable to parse SM or JSON patch from [patch: \"kind: Secret\\nstringData: {pw: *CANARY}\"]",
		"trouble configuring builtin PatchTransformer with config: `\n(not shown)\n`: unable to parse SM or JSON patch from [patch: (not shown)]"},
	{"trouble configuring builtin PatchTransformer with config: `\npatch: '[{op: add, path: /stringData/pw, value: CANARY'\ntarget:\n  kind: Secret\n`: unable to parse SM or JSON patch from [patch: \"[{op: add, path: /stringData/pw, value: CANARY\"]",
		"trouble configuring builtin PatchTransformer with config: `\n(not shown)\n`: unable to parse SM or JSON patch from [patch: \"(not shown)"},
	{"trouble configuring builtin PatchJson6902Transformer with config: `\njsonOp: '[{op: test, path: /stringData/pw, value: CANARY}]'\ntarget:\n  kind: Secret\n  name: s\n  version: v1\n`: decoding [{op: test, path: /stringData/pw, value: CANARY}]: invalid character 'o' looking for beginning of object key string",
		"trouble configuring builtin PatchJson6902Transformer with config: `\n(not shown)\n`: (not shown): invalid character '(not shown)' looking for beginning of object key string"},
	{"trouble configuring builtin PatchTransformer with config: `\npath: nosuch.yaml\n`: failed to get the patch file from path(nosuch.yaml): '/app/nosuch.yaml' doesn't exist",
		"trouble configuring builtin PatchTransformer with config: `\n(not shown)\n`: failed to get the patch file from path(nosuch.yaml): '/app/nosuch.yaml' doesn't exist"},
	{"no resource matches strategic merge patch \"Secret.v1.[noGrp]/other.[noNs]\": no matches for Id Secret.v1.[noGrp]/other.[noNs]; failed to find unique target for patch Secret.v1.[noGrp]/other.[noNs]",
		"no resource matches strategic merge patch \"Secret.v1.[noGrp]/other.[noNs]\": no matches for (not shown) Secret.v1.[noGrp]/other.[noNs]; failed to find unique target for patch Secret.v1.[noGrp]/other.[noNs]"},
	{"unable to find field \"stringData.pw.x\" in replacement target: wrong node kind: expected MappingNode but got ScalarNode: node contents:\nCANARY\n",
		"unable to find field \"stringData.pw.x\" in replacement target: wrong node kind: expected MappingNode but got ScalarNode: node contents:\n(not shown)\n"},
	{"fieldPath `stringData.nope` is missing for replacement source Secret.[noVer].[noGrp]/s.[noNs]",
		"fieldPath `stringData.nope` is missing for replacement source Secret.[noVer].[noGrp]/s.[noNs]"},
	{"testing value /stringData/pw failed: test failed", "testing value (not shown) failed: test failed"},
	{"yaml: cannot decode !!str `CANARY` as a !!int", "yaml: cannot decode !!str `(not shown)` as a !!int"},
	// A word a format writes alone prints where the format writes it, and not as a value.
	{"error decrypting sources: lstat apps/base/nested.enc.env: no such file or directory",
		"error decrypting sources: lstat apps/base/nested.enc.env: no such file or directory"},
	{"invalid literal source lstat, expected key=value", "invalid literal source (not shown), expected key=value"},
}

func TestRedactKeepsPhrasesAndNamesOnly(t *testing.T) {
	names := map[string]bool{}
	for _, n := range strings.Fields("s.yaml /app/s.yaml t.yaml /app/t.yaml deploymnet.yaml /app/deploymnet.yaml ../nope /nope " +
		"s.env c key nosuch.txt /app/nosuch.txt nosuch.yaml /app/nosuch.yaml a secretGenertor stringData.pw.x stringData.nope password " +
		"apps/base/nested.enc.env") {
		names[n] = true
	}
	for _, c := range kustomizeErrors {
		got := Redact(c.msg, func(w string) bool { return names[w] })
		if got != c.want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", c.msg, got, c.want)
		}
		if strings.Contains(got, "CANARY") || strings.Contains(got, "67 65 78") {
			t.Errorf("%q keeps the value", got)
		}
		if again := Redact(got, func(w string) bool { return names[w] }); again != got {
			t.Errorf("Redact is not idempotent: %q, then %q", got, again)
		}
	}
}

// Whatever shape a value has, it does not print: the messages above with values that look like paths, lists,
// quotations, phrases cut short, other scripts or no text at all.
func TestRedactHidesValuesOfAnyShape(t *testing.T) {
	for _, v := range []string{
		"CANARY", "CANARY with spaces", "'CANARY'", `"CANARY"`, "[CANARY]", "CANARY]: x", "{CANARY}", "`CANARY`",
		"CANARY\nCANARY", "ÇANARY-ü", "\xffCANARY\xfe", "CANARY.", "a=CANARY", "CANARY.yaml", "/CANARY/x", "CANARY's",
		"doesn't exist CANARY", "(CANARY", "CANARY)", "\\CANARY\\", "CANARY:CANARY", "CANARY-1.[noGrp]", "line CANARY",
	} {
		for _, c := range kustomizeErrors {
			msg := strings.ReplaceAll(c.msg, "CANARY", v)
			if got := Redact(msg, func(w string) bool { return w == "s.yaml" }); strings.Contains(got, "ANARY") {
				t.Errorf("value %q: Redact(%q) = %q", v, msg, got)
			}
		}
	}
}
