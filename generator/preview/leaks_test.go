package preview_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kronform/kronform-gen/generator/preview"
)

// A JSON patch's copy and move write into a Secret's values whatever stands at from: an annotation an earlier
// operation added, in the clear. One moving a value within the Secret's values moves what the Secret's own report
// covers.
func TestPatchCopyIntoSecret(t *testing.T) {
	files := map[string]string{
		"apps/s.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: Opaque\nstringData: {old: ''}\n",
		"apps/kustomization.yaml": `resources: [s.yaml]
patches:
- target: {kind: Secret, name: s}
  patch: |-
    - {op: add, path: /metadata/annotations, value: {x: CANARY-c}}
    - {op: add, path: /metadata/annotations/y, value: CANARY-m}
    - {op: copy, from: /metadata/annotations/x, path: /stringData/copied}
    - {op: move, from: /metadata/annotations/y, path: /stringData/moved}
    - {op: copy, from: /stringData/old, path: /stringData/again}
    - {op: copy, from: /metadata/name, path: /metadata/labels}
`,
	}
	dir := t.TempDir()
	tree := map[string][]byte{}
	for p, b := range files {
		tree[p] = []byte(b)
	}
	writeTree(t, dir, tree)
	built := string(kustomizeBuild(t, filepath.Join(dir, "apps")))
	for _, s := range []string{"copied: CANARY-c", "moved: CANARY-m"} {
		if !strings.Contains(built, s) {
			t.Errorf("kustomize build lacks %q:\n%s", s, built)
		}
	}
	read := func(p string) ([]byte, bool) { b, ok := files[p]; return []byte(b), ok }
	found, err := preview.KustomizationSecrets("apps/kustomization.yaml", []byte(files["apps/kustomization.yaml"]), read, nil)
	var got []string
	for _, f := range found {
		got = append(got, f.Name+" "+strings.Join(f.Keys, " "))
	}
	want := []string{"s patches[0]/stringData/copied patches[0]/stringData/moved"}
	if diff := cmp.Diff(want, got); err != nil || diff != "" {
		t.Errorf("KustomizationSecrets (-want +got), %v:\n%s", err, diff)
	}
}

// Aliases of aliases make a file of a few lines hold 10^12 values: check reads each node once, and ends.
func TestPlaintextSecretsOnAliasesOfAliases(t *testing.T) {
	const enc = `"ENC[AES256_GCM,data:a,iv:b,tag:c,type:str]"`
	var b strings.Builder
	fmt.Fprintf(&b, "l0: &l0 [%s]\n", strings.Repeat(enc+", ", 9)+enc)
	for i := 1; i < 12; i++ {
		fmt.Fprintf(&b, "l%d: &l%d [%s*l%d]\n", i, i, strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 9), i-1)
	}
	b.WriteString("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  k: *l11\n  j: [*l11, CANARY]\n")
	done := make(chan []preview.PlaintextSecret, 1)
	go func() {
		found, _ := preview.PlaintextSecrets([]byte(b.String()), nil)
		done <- found
	}()
	select {
	case found := <-done:
		if len(found) != 1 || strings.Join(found[0].Keys, " ") != "data.j" {
			t.Errorf("PlaintextSecrets = %+v, want data.j alone", found)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("PlaintextSecrets still walking the aliases after 20s")
	}
}
