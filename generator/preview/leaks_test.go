package preview_test

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kronform/kronform-gen/generator/preview"
)

// kustomize's value transformers write their value at the fields their field specs name, creating them: a label, an
// annotation or a ValueAddTransformer's value so written into a Secret's data or stringData stands there in the clear.
// The kustomize CLI's build shows each canary in a Secret; check reports each field spec, and none that writes
// elsewhere, into a ConfigMap, or nothing.
func TestFieldSpecSecrets(t *testing.T) {
	files := map[string]string{
		"apps/s.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: Opaque\n---\n" +
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
		"apps/fs.yaml": "commonAnnotations:\n- {path: stringData, kind: Secret, create: true}\n" +
			"- {path: data, kind: ConfigMap, create: true}\n- {path: metadata/annotations, create: true}\n",
		"apps/va.yaml": "apiVersion: builtin\nkind: ValueAddTransformer\nmetadata: {name: va}\nvalue: CANARY-va\n" +
			"targets:\n- {selector: {kind: Secret}, fieldPath: stringData/va}\n- {selector: {kind: ConfigMap}, fieldPath: data/va}\n",
		"apps/kustomization.yaml": `resources: [s.yaml]
labels:
- pairs: {lbl: CANARY-l}
  fields:
  - {path: stringData, kind: Secret, create: true}
  - {path: metadata/labels, create: true}
  - {path: data, kind: ConfigMap, create: true}
- pairs: {empty: ""}
  fields:
  - {path: data, create: true}
commonAnnotations: {ann: CANARY-a}
configurations: [fs.yaml]
transformers:
- va.yaml
- |-
  apiVersion: builtin
  kind: LabelTransformer
  metadata: {name: lt}
  labels: {lt: CANARY-lt}
  fieldSpecs:
  - {path: data, create: true}
  - {path: data, group: apps, create: true}
`,
	}
	dir := t.TempDir()
	tree := map[string][]byte{}
	for p, b := range files {
		tree[p] = []byte(b)
	}
	writeTree(t, dir, tree)
	built := string(kustomizeBuild(t, filepath.Join(dir, "apps")))
	var secret string
	for _, d := range strings.Split(built, "---\n") {
		if strings.Contains(d, "kind: Secret") {
			secret = d
		}
	}
	for _, s := range []string{"lbl: CANARY-l", "ann: CANARY-a", "va: CANARY-va", "lt: CANARY-lt"} {
		if !strings.Contains(secret, s) {
			t.Errorf("kustomize build's Secret lacks %q:\n%s", s, built)
		}
	}
	read := func(p string) ([]byte, bool) { b, ok := files[p]; return []byte(b), ok }
	names := preview.NewSecretNames(slices.Sorted(maps.Keys(files)), read)
	found, err := preview.KustomizationSecrets("apps/kustomization.yaml", []byte(files["apps/kustomization.yaml"]), read, names)
	var got []string
	for _, f := range found {
		got = append(got, f.Keys...)
	}
	want := []string{"configurations[0].commonAnnotations[0].stringData", "labels[0].fields[0].stringData",
		"transformers[0].targets[0].stringData/va", "transformers[1].fieldSpecs[0].data"}
	if diff := cmp.Diff(want, got); err != nil || diff != "" {
		t.Errorf("KustomizationSecrets (-want +got), %v:\n%s", err, diff)
	}
	if strings.Contains(fmt.Sprint(found), "CANARY") {
		t.Errorf("a value in the report: %v", found)
	}
}

// The field specs a kustomization's configurations give its images, replicas, labels and varReference name where its
// images, replicas, labels (pairs) and vars write their values, as a ReplicaCountTransformer's fieldSpecs name where
// its count goes: into a Secret's data or stringData, the image's new tag, the replica count, the label and the var's
// value (a ConfigMap's, in the clear) stand there as written. The kustomize CLI's build shows each canary in the
// Secret; check reports each field spec that writes a value of its own, and none naming a ConfigMap. The images and
// the var rewrite values the Secret holds in the clear (see TestRewritingFieldSpecsAreNoSecretsReport): the Secret's
// own report names them.
func TestConfiguredFieldSpecSecrets(t *testing.T) {
	files := map[string]string{
		"apps/s.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: Opaque\nstringData: {img: nginx, v: $(V)}\n---\n" +
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {v: CANARY-var}\n",
		"apps/fs.yaml": "images:\n- {path: stringData/img, kind: Secret}\n- {path: data/img, kind: ConfigMap}\n" +
			"replicas:\n- {path: stringData/count, kind: Secret, create: true}\n" +
			"labels:\n- {path: stringData, kind: Secret, create: true}\n" +
			"varReference:\n- {path: stringData/v, kind: Secret}\n",
		"apps/kustomization.yaml": `resources: [s.yaml]
configurations: [fs.yaml]
images:
- {name: nginx, newTag: CANARY-tag}
replicas:
- {name: s, count: 31337}
labels:
- pairs: {lbl: CANARY-l}
vars:
- name: V
  objref: {kind: ConfigMap, name: c, apiVersion: v1}
  fieldref: {fieldpath: data.v}
transformers:
- |-
  apiVersion: builtin
  kind: ReplicaCountTransformer
  metadata: {name: rc}
  replica: {name: s, count: 4242}
  fieldSpecs: [{path: stringData/rc, kind: Secret, create: true}]
`,
	}
	dir := t.TempDir()
	tree := map[string][]byte{}
	for p, b := range files {
		tree[p] = []byte(b)
	}
	writeTree(t, dir, tree)
	built := string(kustomizeBuild(t, filepath.Join(dir, "apps")))
	var secret string
	for _, d := range strings.Split(built, "---\n") {
		if strings.Contains(d, "kind: Secret") {
			secret = d
		}
	}
	for _, s := range []string{"img: nginx:CANARY-tag", "count: 31337", "lbl: CANARY-l", "v: CANARY-var", "rc: 4242"} {
		if !strings.Contains(secret, s) {
			t.Errorf("kustomize build's Secret lacks %q:\n%s", s, built)
		}
	}
	read := func(p string) ([]byte, bool) { b, ok := files[p]; return []byte(b), ok }
	names := preview.NewSecretNames(slices.Sorted(maps.Keys(files)), read)
	found, err := preview.KustomizationSecrets("apps/kustomization.yaml", []byte(files["apps/kustomization.yaml"]), read, names)
	var got []string
	for _, f := range found {
		got = append(got, f.Keys...)
	}
	want := []string{"configurations[0].labels[0].stringData", "configurations[0].replicas[0].stringData/count",
		"transformers[0].fieldSpecs[0].stringData/rc"}
	if diff := cmp.Diff(want, got); err != nil || diff != "" {
		t.Errorf("KustomizationSecrets (-want +got), %v:\n%s", err, diff)
	}
	own, err := preview.PlaintextSecrets([]byte(files["apps/s.yaml"]), names)
	if err != nil || len(own) != 1 || !slices.Equal(own[0].Keys, []string{"stringData.img", "stringData.v"}) {
		t.Errorf("the Secret's own report: %v, %v", own, err)
	}
	if strings.Contains(fmt.Sprint(found), "CANARY") {
		t.Errorf("a value in the report: %v", found)
	}
}

// Images and vars only rewrite a value already standing where their field specs point (an image naming the image, a
// string holding $(VAR)), and never create one: in a Secret's values that value stands in the clear already, which
// the Secret's own report covers, and ciphertext or base64 is never rewritten. A kustomization whose configurations
// give its images and vars field specs that a Secret's values would match (no kind: the ConfigMap's data/image) is
// not reported when kustomize writes nothing into a Secret: here the build has none, and the encrypted one keeps its
// values as they were.
func TestRewritingFieldSpecsAreNoSecretsReport(t *testing.T) {
	files := map[string]string{
		"apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: images}\ndata: {image: nginx, url: $(HOST)/x}\n---\n" +
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: host}\ndata: {host: example.com}\n",
		"apps/enc.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: enc}\ntype: Opaque\n" +
			"data: {image: 'ENC[AES256_GCM,data:bmdpbng=,iv:aXY=,tag:dGFn,type:str]', url: 'ENC[AES256_GCM,data:eA==,iv:aXY=,tag:dGFn,type:str]'}\n",
		"apps/kc.yaml": "images:\n- {path: data/image}\nvarReference:\n- {path: data/url}\n",
		"apps/kustomization.yaml": `resources: [cm.yaml, enc.yaml]
configurations: [kc.yaml]
images:
- {name: nginx, newTag: "1.25"}
vars:
- name: HOST
  objref: {kind: ConfigMap, name: host, apiVersion: v1}
  fieldref: {fieldpath: data.host}
`,
	}
	dir := t.TempDir()
	tree := map[string][]byte{}
	for p, b := range files {
		tree[p] = []byte(b)
	}
	writeTree(t, dir, tree)
	built := string(kustomizeBuild(t, filepath.Join(dir, "apps")))
	for _, s := range []string{"image: nginx:1.25", "url: example.com/x", "image: ENC[AES256_GCM,data:bmdpbng=", "url: ENC[AES256_GCM,data:eA=="} {
		if !strings.Contains(built, s) {
			t.Errorf("kustomize build lacks %q:\n%s", s, built)
		}
	}
	read := func(p string) ([]byte, bool) { b, ok := files[p]; return []byte(b), ok }
	names := preview.NewSecretNames(slices.Sorted(maps.Keys(files)), read)
	found, err := preview.KustomizationSecrets("apps/kustomization.yaml", []byte(files["apps/kustomization.yaml"]), read, names)
	if err != nil || len(found) > 0 {
		t.Errorf("KustomizationSecrets: %v, %v", found, err)
	}
}

// A diff shows a kustomization or transformer configuration with the values its field specs write into a Secret
// masked, and others as they are.
func TestMaskFileMasksFieldSpecValues(t *testing.T) {
	for _, tc := range []struct{ file, shown string }{
		{"labels:\n- pairs: {pw: CANARY-l}\n  fields: [{path: stringData, create: true}]\n- pairs: {a: shown}\n", "a: shown"},
		{"labels:\n- pairs: {a: shown}\n  fields: [{path: metadata/labels, create: true}]\n", "a: shown"},
		{"commonAnnotations: {a: CANARY-a}\nconfigurations: [fs.yaml]\nresources: [shown.yaml]\n", "shown.yaml"},
		{"configurations: [fs.yaml]\nnamespace: CANARY-ns\nnamePrefix: CANARY-p-\nnameSuffix: -CANARY-s\nresources: [shown.yaml]\n" +
			"labels:\n- pairs: {a: CANARY-l}\n", "shown.yaml"},
		{"configurations: [fs.yaml]\nimages:\n- {name: shown, newName: CANARY-n, newTag: CANARY-t, digest: CANARY-d, tagSuffix: CANARY-x}\n" +
			"replicas:\n- {name: shown-r, count: 31337}\n", "name: shown-r"},
		{"apiVersion: builtin\nkind: ReplicaCountTransformer\nmetadata: {name: shown}\nreplica: {name: s, count: 31337}\n" +
			"fieldSpecs: [{path: stringData/n, create: true}]\n", "name: shown"},
		{"transformers:\n- |\n  apiVersion: builtin\n  kind: AnnotationsTransformer\n  metadata: {name: shown}\n" +
			"  annotations: {a: CANARY-t}\n  fieldSpecs: [{path: data, create: true}]\n", "name: shown"},
		{"apiVersion: builtin\nkind: ValueAddTransformer\nmetadata: {name: shown}\nvalue: CANARY-v\n" +
			"targets: [{fieldPath: stringData/v}]\n", "name: shown"},
	} {
		masked := string(preview.MaskFile([]byte(tc.file)))
		if strings.Contains(masked, "CANARY") || strings.Contains(masked, "31337") || !strings.Contains(masked, tc.shown) {
			t.Errorf("MaskFile(%q) =\n%s", tc.file, masked)
		}
	}
	// Without configurations, a kustomization's namespace, images and replicas write only where kustomize's own field
	// specs say, never into a Secret's values: the file shows as it is.
	plain := "namespace: shown\nnamePrefix: p-\nimages: [{name: n, newTag: t}]\nreplicas: [{name: r, count: 3}]\n"
	if masked := string(preview.MaskFile([]byte(plain))); masked != plain {
		t.Errorf("MaskFile(%q) =\n%s", plain, masked)
	}
}

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

// kustomize writes a Secret from an empty literal, an empty file or an env file of comments and empty values with no
// value in it, as an empty stringData value holds none: check reports none of them, and still every source that gives
// a value (a space, a key alone, a comment in a file source, which is its value).
func TestGeneratorSourcesWithoutValues(t *testing.T) {
	files := map[string]string{
		"apps/empty.txt":    "",
		"apps/comment.txt":  "# CANARY\n",
		"apps/comments.env": "\ufeff# CANARY\n\n   # indented\r\n",
		"apps/empty.env":    "NOTHING=\n  ALSO=\r\n",
		"apps/space.env":    "SPACE= \n",
		"apps/keyalone.env": "CANARY\n",
		"apps/kustomization.yaml": `secretGenerator:
- name: none
  literals: [EMPTY=]
  files: [empty.txt]
  envs: [comments.env, empty.env]
- name: some
  literals: [K=CANARY, "K2=CANARY=="]
  files: [comment.txt]
  envs: [space.env, keyalone.env]
`,
	}
	dir := t.TempDir()
	tree := map[string][]byte{}
	for p, b := range files {
		tree[p] = []byte(b)
	}
	writeTree(t, dir, tree)
	for _, d := range strings.Split(string(kustomizeBuild(t, filepath.Join(dir, "apps"))), "---\n") {
		if strings.Contains(d, "name: none-") && !strings.Contains(d, "data:\n  ALSO: \"\"\n  EMPTY: \"\"\n  NOTHING: \"\"\n  empty.txt: \"\"\nkind") {
			t.Errorf("kustomize build's Secret none holds more than empty values:\n%s", d)
		}
	}
	read := func(p string) ([]byte, bool) { b, ok := files[p]; return []byte(b), ok }
	found, err := preview.KustomizationSecrets("apps/kustomization.yaml", []byte(files["apps/kustomization.yaml"]), read, nil)
	var got []string
	for _, f := range found {
		got = append(got, f.Name+" "+strings.Join(f.Keys, " "))
	}
	want := []string{"some secretGenerator.envs.keyalone.env secretGenerator.envs.space.env secretGenerator.files.comment.txt " +
		"secretGenerator.literals.K secretGenerator.literals.K2"}
	if diff := cmp.Diff(want, got); err != nil || diff != "" {
		t.Errorf("KustomizationSecrets (-want +got), %v:\n%s", err, diff)
	}
}

// A prefix transformer's configuration renames the Secrets of a base as namePrefix does: a patch whose target has no
// kind selects the Secret by its new name, and writes its values into it.
func TestPatchSecretsSeeTransformerPrefixes(t *testing.T) {
	files := map[string]string{
		"apps/base/s.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: Opaque\n",
		"apps/base/kustomization.yaml": "resources: [s.yaml]\ntransformers:\n- |-\n  apiVersion: builtin\n" +
			"  kind: PrefixTransformer\n  metadata: {name: p}\n  prefix: pre-\n  fieldSpecs: [{path: metadata/name}]\n",
		"apps/kustomization.yaml": "resources: [base]\npatches:\n- target: {name: pre-s}\n  patch: |-\n" +
			"    apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: whatever}\n    stringData: {x: CANARY}\n",
	}
	dir := t.TempDir()
	tree := map[string][]byte{}
	for p, b := range files {
		tree[p] = []byte(b)
	}
	writeTree(t, dir, tree)
	if built := string(kustomizeBuild(t, filepath.Join(dir, "apps"))); !strings.Contains(built, "x: CANARY") {
		t.Errorf("kustomize build lacks the patched value:\n%s", built)
	}
	read := func(p string) ([]byte, bool) { b, ok := files[p]; return []byte(b), ok }
	names := preview.NewSecretNames(slices.Sorted(maps.Keys(files)), read)
	found, err := preview.KustomizationSecrets("apps/kustomization.yaml", []byte(files["apps/kustomization.yaml"]), read, names)
	if err != nil || len(found) != 1 || found[0].Name != "pre-s" || strings.Join(found[0].Keys, " ") != "patches[0].stringData.x" {
		t.Errorf("KustomizationSecrets = %+v, %v", found, err)
	}
}
