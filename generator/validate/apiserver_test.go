package validate

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kronform/kronform-gen/generator/manifest"
	"github.com/kronform/kronform-gen/generator/tree"
	"github.com/kronform/kronform-gen/internal/fleetgen"
	"github.com/kronform/kronform-gen/internal/testenv"
)

// fleetClusters is the size of the fleet sent to the API server: enough for every chart version fleetgen cycles
// through, twice.
const fleetClusters = 8

// TestAPIServerAgrees proves the offline validator against a real kube-apiserver: every object of the committed
// example tree, of a rendered fleet and of testdata/valid is accepted by a server-side dry-run apply, and every
// object of testdata/invalid is refused, on the same field path the offline validator names.
//
//	bash hack/build-k8s.sh && KRONFORM_E2E=1 go test ./generator/validate -run APIServer -v
func TestAPIServerAgrees(t *testing.T) {
	api := testenv.StartAPIServer(t)
	if err := api.ApplyCRDs("crds"); err != nil {
		t.Fatal(err)
	}
	namespaces := map[string]bool{}
	accept := func(t *testing.T, file string, obj *unstructured.Unstructured) {
		t.Helper()
		if ns := obj.GetNamespace(); ns != "" && !namespaces[ns] {
			n := &unstructured.Unstructured{}
			n.SetAPIVersion("v1")
			n.SetKind("Namespace")
			n.SetName(ns)
			if err := api.Apply(n); err != nil {
				t.Fatalf("creating namespace %s: %v", ns, err)
			}
			namespaces[ns] = true
		}
		if err := api.DryRunApply(obj); err != nil {
			t.Errorf("%s: the API server refuses what the offline validator accepts: %v", file, err)
		}
	}

	t.Run("example tree", func(t *testing.T) {
		// The example's secrets are encrypted for the PUBLIC, DEMO-ONLY key; the real sops CLI decrypts them through
		// stdin and stdout, and the server must take the decrypted Secret as kustomize-controller would send it.
		demoKey, err := os.ReadFile("../../examples/demo.agekey")
		if err != nil {
			t.Fatal(err)
		}
		decrypted := func(t *testing.T, rel string, enc []byte) {
			objs, err := testenv.DecodeYAML(sops(t, enc, "--decrypt", "SOPS_AGE_KEY="+string(demoKey)))
			if err != nil || len(objs) != 1 {
				t.Fatalf("%s: decrypted file holds %d objects: %v", rel, len(objs), err)
			}
			accept(t, rel, objs[0])
		}
		n := acceptDir(t, "../../output", accept, decrypted)
		t.Logf("the API server accepted all %d objects of output/", n)
	})

	t.Run("fleet", func(t *testing.T) {
		dir := t.TempDir()
		tr := renderSpec(t, "fleet.yaml", fleetgen.Spec(fleetClusters))
		if _, err := tree.Write(dir, tr, func(_ string, b []byte) bool { return manifest.Owned(b) }); err != nil {
			t.Fatal(err)
		}
		n := acceptDir(t, dir, accept, needsKey)
		t.Logf("the API server accepted all %d objects of a %d-cluster fleet", n, fleetClusters)
	})

	t.Run("valid fixtures", func(t *testing.T) {
		n := acceptDir(t, "testdata/valid", accept, func(t *testing.T, rel string, _ []byte) {
			t.Logf("%s: encrypted for a key that was thrown away; the sops subtest sends a decrypted Secret", rel)
		})
		t.Logf("the API server accepted all %d objects of testdata/valid", n)
	})

	t.Run("sops secret decrypted in memory", func(t *testing.T) {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		plain := []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: robot\n  namespace: kube-system\ntype: Opaque\nstringData:\n  user: test-user\ndata:\n  password: dGVzdC1wYXNzd29yZA==\n")
		enc := sops(t, plain, "--encrypt", "--age", id.Recipient().String(), "--encrypted-regex", "^(data|stringData)$")
		if got := strs(schemas(t).File("secret.yaml", enc)); len(got) > 0 {
			t.Fatalf("offline validator refuses the encrypted Secret: %v", got)
		}
		dec := sops(t, enc, "--decrypt", "SOPS_AGE_KEY="+id.String())
		objs, err := testenv.DecodeYAML(dec)
		if err != nil || len(objs) != 1 {
			t.Fatalf("decrypted Secret: %d objects, %v", len(objs), err)
		}
		accept(t, "secret.yaml (decrypted)", objs[0])
		// the encrypted file as stored is not an object a cluster takes (its sops field, its ENC[...] data values):
		// kustomize-controller must decrypt it first
		encObjs, err := testenv.DecodeYAML(enc)
		if err != nil {
			t.Fatal(err)
		}
		if err := api.DryRunApply(encObjs[0]); err == nil {
			t.Error("the API server accepts a still-encrypted Secret")
		}
	})

	t.Run("invalid fixtures", func(t *testing.T) {
		for _, c := range invalidCases {
			t.Run(c.file, func(t *testing.T) {
				b, err := os.ReadFile(filepath.Join("testdata/invalid", c.file))
				if err != nil {
					t.Fatal(err)
				}
				findings := schemas(t).File(c.file, b)
				objs, err := testenv.DecodeYAML(b)
				if err != nil || len(objs) != 1 {
					t.Fatalf("%d objects, %v", len(objs), err)
				}
				if ns := objs[0].GetNamespace(); ns != "" && !namespaces[ns] {
					accept(t, "namespace", namespaceOf(ns))
				}
				serverErr := api.DryRunApply(objs[0])
				if c.serverAccepts != "" {
					if serverErr != nil {
						t.Fatalf("the API server now refuses it (%v): the gap (%s) is closed upstream; drop serverAccepts", serverErr, c.serverAccepts)
					}
					t.Logf("accepted by the API server as expected: %s; refused offline: %s", c.serverAccepts, findings[0])
					return
				}
				if serverErr == nil {
					t.Fatalf("the API server accepts what the offline validator refuses: %v", strs(findings))
				}
				for _, f := range findings {
					if want := serverNeedle(f); !strings.Contains(serverErr.Error(), want) {
						t.Errorf("the server's error does not name %q\n  server:  %v\n  offline: %s", want, serverErr, f)
					}
				}
				t.Logf("refused by both:\n  server:  %v\n  offline: %s", serverErr, findings[0])
			})
		}
	})
}

// needsKey fails on an encrypted Secret where no key exists for it (the fleet has no secrets).
func needsKey(t *testing.T, rel string, _ []byte) {
	t.Errorf("%s: encrypted Secret in a tree without a key", rel)
}

// serverNeedle is the part of an offline finding the server's error must contain too: the field path, or for a
// rule on the whole object (a CEL rule at the root), or a path holding a Secret's key that the offline finding does
// not show, its message.
func serverNeedle(f Finding) string {
	if f.Field != "" && !strings.Contains(f.Field, keyNotShown) {
		return f.Field
	}
	return strings.TrimPrefix(f.Message, "Invalid value: ")
}

func namespaceOf(ns string) *unstructured.Unstructured {
	n := &unstructured.Unstructured{}
	n.SetAPIVersion("v1")
	n.SetKind("Namespace")
	n.SetName(ns)
	return n
}

// acceptDir validates every object of the YAML files under dir offline, then sends it to the server; it returns how
// many objects went to the server.
func acceptDir(t *testing.T, dir string, accept func(*testing.T, string, *unstructured.Unstructured), encrypted func(*testing.T, string, []byte)) int {
	t.Helper()
	findings, _, err := Dir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(findings) > 0 {
		t.Fatalf("offline findings in %s:\n%s", dir, strings.Join(strs(findings), "\n"))
	}
	n := 0
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if !Validated(filepath.ToSlash(rel)) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		objs, err := testenv.DecodeYAML(b)
		if err != nil {
			return err
		}
		for _, obj := range objs {
			if obj.GetAPIVersion() == kustomizeGroup+"/v1beta1" {
				continue // kustomize's own file never reaches a cluster
			}
			if _, ok := obj.Object["sops"]; ok {
				encrypted(t, rel, b)
				n++
				continue
			}
			accept(t, rel, obj)
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("no objects in %s", dir)
	}
	return n
}

// sops runs the real sops CLI on data through stdin and stdout, so that no plaintext touches the disk. An argument
// of the form NAME=VALUE is passed as environment instead.
func sops(t *testing.T, data []byte, args ...string) []byte {
	t.Helper()
	var flags, env []string
	for _, a := range args {
		if strings.HasPrefix(a, "SOPS_") {
			env = append(env, a)
			continue
		}
		flags = append(flags, a)
	}
	cmd := exec.Command("go", append(append([]string{"tool", "sops"}, flags...), "--input-type", "yaml", "--output-type", "yaml", "/dev/stdin")...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = bytes.NewReader(data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sops %s: %v\n%s", flags[0], err, stderr.String())
	}
	return out
}
