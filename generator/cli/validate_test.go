package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kronform/kronform-gen/generator/tree"
)

// copyTree copies the committed example output/ so a test may break it.
func copyTree(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	src := "../../output"
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func run(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Main(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestValidateCommand(t *testing.T) {
	dir := copyTree(t)
	code, stdout, stderr := run("validate", "--out", dir)
	if code != ExitOK || stdout != "" || stderr != dir+": every generated object is valid\n" {
		t.Fatalf("valid tree: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}

	policy := filepath.Join(dir, "infrastructure/kronform/host-policies/host-fw-control-plane.yaml")
	b, err := os.ReadFile(policy)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(b), "    - world\n", "    - bogus\n", 1)
	broken = strings.Replace(broken, "  - fromEntities:\n", "  - fromEntity: [host]\n    fromEntities:\n", 1)
	if err := os.WriteFile(policy, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = run("validate", "--out", dir)
	file := filepath.ToSlash(policy)
	want := file + `:9:5: CiliumClusterwideNetworkPolicy host-fw-control-plane: spec.ingress[0].fromEntity: unknown field: not declared in the CiliumClusterwideNetworkPolicy schema
` + file + `:11:7: CiliumClusterwideNetworkPolicy host-fw-control-plane: spec.ingress[0].fromEntities[0]: Unsupported value: "bogus": supported values: "all", "world", "cluster", "cluster-mesh", "host", "init", "ingress", "unmanaged", "remote-node", "health", "none", "kube-apiserver"
`
	if code != ExitFailure {
		t.Errorf("exit %d, want %d", code, ExitFailure)
	}
	if diff := cmp.Diff(want, stdout); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
	if wantErr := "2 problem(s) in " + dir + ": the API server would refuse these objects\n"; stderr != wantErr {
		t.Errorf("stderr = %q, want %q", stderr, wantErr)
	}

	code, stdout, _ = run("validate", "--out", dir, "--output", "json")
	var res findingsJSON
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("--output json is not JSON: %v\n%s", err, stdout)
	}
	if code != ExitFailure || res.Valid || len(res.Findings) != 2 || res.Findings[1].Field != "spec.ingress[0].fromEntities[0]" ||
		res.Findings[1].File != "infrastructure/kronform/host-policies/host-fw-control-plane.yaml" || res.Findings[1].Line != 11 {
		t.Errorf("json: exit %d, %+v", code, res)
	}

	if code, _, stderr := run("validate", "--out", filepath.Join(dir, "missing")); code != ExitUsage || !strings.Contains(stderr, "not found") {
		t.Errorf("missing tree: exit %d, stderr %q", code, stderr)
	}
	if code, _, _ := run("validate", "--out", dir, "--output", "yaml"); code != ExitUsage {
		t.Errorf("--output yaml: exit %d, want %d", code, ExitUsage)
	}
}

func TestValidateEmptyJSONIsAList(t *testing.T) {
	code, stdout, _ := run("validate", "--out", copyTree(t), "-o", "json")
	if code != ExitOK || stdout != "{\n  \"valid\": true,\n  \"files\": 10,\n  \"findings\": []\n}\n" {
		t.Errorf("exit %d, stdout %q", code, stdout)
	}
}

// generate must never write a tree the API server would refuse; the spec cannot produce one today, so the guard is
// exercised directly on a tree with a broken object.
func TestGenerateRefusesInvalidTree(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	a := &app{stdout: &stdout, stderr: &stderr, outDir: out}
	tr := tree.New()
	if err := tr.Add("ns.yaml", []byte("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: Bad\n")); err != nil {
		t.Fatal(err)
	}
	err := a.refuseInvalid(tr)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != ExitFailure || !strings.Contains(ee.msg, "nothing was written") {
		t.Fatalf("refuseInvalid = %v, want exit %d", err, ExitFailure)
	}
	if !strings.HasPrefix(stdout.String(), filepath.ToSlash(filepath.Join(out, "ns.yaml"))+":4:3: Namespace Bad: metadata.name: Invalid value: \"Bad\"") {
		t.Errorf("stdout: %s", stdout.String())
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("something was written: %v", entries)
	}
}

func TestCheckFailsOnInvalidTreeInSync(t *testing.T) {
	// A tree in sync with the spec but invalid cannot come from generate; a hand edit also shows as drift. Both are
	// reported, and the check fails.
	dir := copyTree(t)
	policy := filepath.Join(dir, "infrastructure/kronform/host-policies/host-fw-control-plane.yaml")
	b, _ := os.ReadFile(policy)
	if err := os.WriteFile(policy, []byte(strings.Replace(string(b), "    - world\n", "    - bogus\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run("check", "--spec", "../../cluster-spec.yaml", "--out", dir)
	if code != ExitFailure || !strings.Contains(stdout, `spec.ingress[0].fromEntities[0]: Unsupported value: "bogus"`) ||
		!strings.Contains(stdout, "changed  infrastructure/kronform/host-policies/host-fw-control-plane.yaml (edited by hand)") ||
		!strings.Contains(stderr, "1 object(s) the API server would refuse") {
		t.Errorf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}

// check --output json prints the report alone on stdout (it counts the invalid objects); their lines go to stderr, or
// `check --output json | jq` would choke on them.
func TestCheckJSONKeepsFindingsOffStdout(t *testing.T) {
	dir := copyTree(t)
	policy := filepath.Join(dir, "infrastructure/kronform/host-policies/host-fw-control-plane.yaml")
	b, err := os.ReadFile(policy)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(policy, []byte(strings.Replace(string(b), "    - world\n", "    - bogus\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run("check", "--spec", "../../cluster-spec.yaml", "--out", dir, "--output", "json")
	var rep checkReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, stdout)
	}
	if code != ExitFailure || rep.InvalidObjects != 1 || !strings.Contains(stderr, `Unsupported value: "bogus"`) {
		t.Errorf("exit %d, invalidObjects %d, stderr:\n%s", code, rep.InvalidObjects, stderr)
	}
}
