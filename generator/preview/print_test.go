package preview

import (
	"fmt"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/provider"
)

// The printer's shortcut must print every object exactly as kustomize's own resource.AsYAML does, and must step
// aside (fast=false) for anything whose JSON typing it does not decide itself.
func TestResourceYAMLEqualsKustomizeAsYAML(t *testing.T) {
	cases := []struct {
		name string
		doc  string
		fast bool
	}{
		{"plain object", `apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: b, labels: {z: "1", a: x}}
data: {k: v, "n": "007", empty: "", multi: "a\nb\n", unicode: "grüße", html: "<a & b>"}
`, true},
		{"typed scalars", `apiVersion: example.com/v1
kind: Thing
metadata: {name: t}
spec:
  port: 6443
  negative: -12
  zero: 0
  on: true
  off: False
  nothing: null
  tilde: ~
  blank:
  quoted: "true"
  yes: yes
  list: [1, "2", three, {a: b}, [], {}]
  nested: {deep: {deeper: [x]}}
`, true},
		{"secret", `apiVersion: v1
kind: Secret
metadata: {name: s}
type: Opaque
data: {a: "ENC[AES256_GCM,data:xx,type:str]", b: cGxhaW4=}
stringData: {c: clear}
`, true},
		{"float", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: f}\nspec: {f: 1.5, e: 1e6, big: 1.0}\n", false},
		{"timestamp", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ts}\nspec: {at: 2001-12-14}\n", false},
		{"octal and hex", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: o}\nspec: {mode: 0644, hex: 0x1F, under: 1_000}\n", false},
		{"huge integer", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: h}\nspec: {n: 18446744073709551615}\n", false},
		{"custom tag", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nspec: {v: !foo bar}\n", false},
		{"explicit string tag", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: e}\nspec: {v: !!str 12, w: !!int \"7\"}\n", true},
		{"integer key", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: k}\nspec: {1: one}\n", false},
	}
	rf := provider.NewDefaultDepProvider().GetResourceFactory()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs, err := rf.SliceFromBytes([]byte(c.doc))
			if err != nil {
				t.Fatal(err)
			}
			r := rs[0]
			if _, fast := jsonValue(r.RNode.YNode()); fast != c.fast {
				t.Errorf("shortcut taken = %v, want %v", fast, c.fast)
			}
			want, wantErr := r.AsYAML()
			got, err := resourceYAML(r, true)
			if wantErr != nil {
				if err == nil {
					t.Fatalf("kustomize fails (%v), the printer printed\n%s", wantErr, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("printed\n%s\nkustomize prints\n%s", got, want)
			}

			wantMasked := string(want)
			if c.name == "secret" {
				wantMasked = "apiVersion: v1\ndata:\n  a: '**SOPS**'\n  b: '*****'\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  c: '*****'\ntype: Opaque\n"
			}
			gotMasked, err := resourceYAML(r, false)
			if err != nil {
				t.Fatal(err)
			}
			if string(gotMasked) != wantMasked {
				t.Errorf("masked, printed\n%s\nwant\n%s", gotMasked, wantMasked)
			}
		})
	}
}

// Keys that print alike once masked are one key, and which value it keeps does not depend on the placeholders (drawn
// anew in every run), so the same tree prints the same.
func TestMaskedKeysThatCollidePrintTheSame(t *testing.T) {
	low, high := placeholderPlain+strings.Repeat("0", 32), placeholderPlain+strings.Repeat("f", 32)
	for _, m := range []map[string]any{{low: "x", high: "y"}, {low: "y", high: "x"}} {
		got := maskValuePlaceholders(map[string]any{"data": m})
		if fmt.Sprint(got) != "map[data:map[*****:x]]" {
			t.Errorf("masked as %v", got)
		}
	}
}
