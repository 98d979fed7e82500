package manifest

import (
	"strings"
	"testing"
)

// Errors of kustomize and YAML parsers quote what they read; a file that may hold a secret value must not print
// through them. Each message here is one they gave for a Secret whose value holds a canary.
func TestRedactKeepsNoPartOfAFile(t *testing.T) {
	files := func(s string) bool { return s == "s.yaml" || s == "/apps/s.yaml" }
	for _, c := range []struct{ msg, want string }{
		{"apps: failed to decode Kubernetes YAML from s.yaml: MalformedYAMLError: yaml: unknown anchor 'CANARY-1' referenced",
			"apps: failed to decode Kubernetes YAML from s.yaml: MalformedYAMLError: yaml: unknown anchor (not shown) referenced"},
		{"kustomize build apps: accumulating resources: accumulating resources from 's.yaml': MalformedYAMLError: yaml: unknown anchor 'CANARY-1' referenced in File: s.yaml",
			"kustomize build apps: accumulating resources: accumulating resources from 's.yaml': MalformedYAMLError: yaml: unknown anchor (not shown) referenced in File: s.yaml"},
		{"kustomize build apps: accumulating resources: accumulation err='accumulating resources from 's.yaml': missing metadata.name in object {{v1 Secret} {{ } map[pw:CANARY-2] map[]}}': must build at directory: '/apps/s.yaml': file is not directory",
			"kustomize build apps: accumulating resources: accumulation err=(not shown): missing metadata.name in object (not shown)': must build at directory: '/apps/s.yaml': file is not directory"},
		{"kustomize build apps: loading KV pairs: literal sources [CANARY-3]: invalid literal source CANARY-3, expected key=value",
			"kustomize build apps: loading KV pairs: literal sources [CANARY-3]: invalid literal source (not shown), expected key=value"},
		{"kustomize build apps: trouble configuring builtin PatchTransformer with config: `\npatch: |-\n  kind: Secret\n  stringData: {pw: *CANARY-4}\n`: unable to parse SM or JSON patch from [patch: \"kind: Secret\\nstringData: {pw: *CANARY-4}\"]",
			"kustomize build apps: trouble configuring builtin PatchTransformer with config: (not shown): unable to parse SM or JSON patch from [patch: (not shown)]"},
		{"kustomize build apps: unable to find field \"metadata.name.x\" in replacement target: wrong node kind: expected MappingNode but got ScalarNode: node contents:\nCANARY-5\n",
			"kustomize build apps: unable to find field (not shown) in replacement target: wrong node kind: expected MappingNode but got ScalarNode: node contents: (not shown)"},
		{"yaml: cannot decode !!str `CANARY-6` as a !!int", "yaml: cannot decode !!str (not shown) as a !!int"},
		{"line 3 has invalid utf8 bytes : CANARY-7", "line 3 has invalid utf8 bytes : (not shown)"},
		{"the Kustomization's path 'a' and 'CANARY-8'", "the Kustomization's path (not shown) and (not shown)"},
	} {
		got := Redact(c.msg, files)
		if got != c.want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", c.msg, got, c.want)
		}
		if strings.Contains(got, "CANARY") && !strings.Contains(c.want, "CANARY") {
			t.Errorf("%q keeps the value", got)
		}
	}
}
