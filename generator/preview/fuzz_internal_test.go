package preview

import (
	"sort"
	"testing"
)

// mapFiles is a tree held in memory, as FindPlaintextSecrets reads one.
type mapFiles map[string][]byte

func (m mapFiles) Paths() []string {
	var out []string
	for p := range m {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func (m mapFiles) File(p string) ([]byte, bool) { b, ok := m[p]; return b, ok }
func (m mapFiles) Size(p string) int64          { return int64(len(m[p])) }

// FuzzUserFile feeds what check, build and diff read of any user's tree any bytes, as a resource of a Flux
// Kustomization and as its kustomization file: the plaintext-Secret scan, the masking of diffs, the looping-alias
// check and the build itself must each answer (an error is an answer), never crash or recurse without end. The seeds
// run with every go test; `go test -fuzz FuzzUserFile ./generator/preview` searches further.
func FuzzUserFile(f *testing.F) {
	for _, seed := range []string{
		"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: v}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: &d {a: *d}\n",
		"secretGenerator:\n- name: s\n  literals: [k=v]\n",
		"patches:\n- patch: |\n    apiVersion: v1\n    kind: Secret\n    metadata: {name: s}\n    stringData: {k: v}\n",
		"a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n",
		"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {k: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]}\nsops: {mac: m}\n",
		"value: ${x:=y}\n",
	} {
		f.Add([]byte(seed))
	}
	flux := []byte("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system}\n" +
		"spec: {interval: 10m, path: ./apps, prune: true, sourceRef: {kind: GitRepository, name: flux-system}, " +
		"postBuild: {substitute: {x: y}}}\n")
	f.Fuzz(func(t *testing.T, b []byte) {
		MaskFile(b)
		MaskPlaceholders(b)
		loopingAlias(b)
		for _, files := range []map[string][]byte{
			{"clusters/a/apps.yaml": flux, "apps/kustomization.yaml": []byte("resources: [x.yaml]\n"), "apps/x.yaml": b},
			{"clusters/a/apps.yaml": flux, "apps/kustomization.yaml": b, "apps/x.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")},
		} {
			FindPlaintextSecrets(mapFiles(files), nil)
			src, err := FromFiles(files)
			if err != nil {
				continue
			}
			if ks, err := src.Kustomizations(); err == nil {
				src.Build(ks, Options{})
			}
		}
	})
}
