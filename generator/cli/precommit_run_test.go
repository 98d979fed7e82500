package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kronform/kronform-gen/internal/gittest"
)

// The pre-commit example, run by the real pre-commit in a repository made as the README says (generate, commit): it
// refuses every commit whose output/ is not what the spec generates, and accepts the spec and output/ committed
// together. A commit that only deleted a generated file was let through: pre-commit matches its files pattern against
// the staged files it passes to hooks, and leaves deleted ones out, so the hook was skipped.
func TestPreCommitExampleRuns(t *testing.T) {
	for _, tool := range []string{"pre-commit", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the example needs %s: %v", tool, err)
		}
	}
	config, err := os.ReadFile(filepath.Join(repoRoot(t), "examples", "pre-commit", ".pre-commit-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	home := gittest.Isolate(t)
	t.Setenv("PRE_COMMIT_HOME", filepath.Join(home, "pre-commit"))
	t.Setenv("PATH", binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	repo := t.TempDir()
	const spec = `apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: alpha
    apiServer: {host: api.alpha.example.com, port: 6443}
    nodes: [{name: a1, addresses: [198.51.100.1], roles: [control-plane]}]
    cilium: {version: 1.15.6, hostFirewall: true, kubeProxyReplacement: true}
    hostPolicies:
      - name: cp
        nodes: {role: control-plane}
        ingress: [{entities: [world, cluster], ports: [6443/tcp, 50000/tcp]}]
`
	write := func(rel, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(repo, filepath.FromSlash(rel)), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	generate := func() {
		t.Helper()
		cmd := exec.Command("kronform-gen", "generate")
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("generate: %v\n%s", err, out)
		}
	}
	// commit runs git commit, which runs the hook, and returns its output and whether the commit was made.
	commit := func(msg string) (string, bool) {
		t.Helper()
		out, err := gittest.Try(repo, "commit", "-m", msg)
		if _, ok := err.(*exec.ExitError); err != nil && !ok {
			t.Fatal(err)
		}
		return out, err == nil
	}
	// refused expects the commit refused by the hook with want in its report, then puts HEAD's tree back.
	refused := func(what, want string) {
		t.Helper()
		out, ok := commit(what)
		if ok || !strings.Contains(out, "kronform-gen check") || !strings.Contains(out, want) {
			t.Errorf("%s: want the commit refused by the hook, reporting %q; committed: %v\n%s", what, want, ok, out)
		}
		gittest.Run(t, repo, "reset", "-q", "--hard")
	}

	write("cluster-spec.yaml", spec)
	generate()
	write(".pre-commit-config.yaml", string(config))
	gittest.Run(t, repo, "init", "-q", "-b", "main")
	if out, err := exec.Command("sh", "-c", "cd '"+repo+"' && pre-commit install").CombinedOutput(); err != nil {
		t.Fatalf("pre-commit install: %v\n%s", err, out)
	}
	gittest.Run(t, repo, "add", "-A")
	if out, ok := commit("first generation"); !ok {
		t.Fatalf("the first generation, committed as the README says, is refused:\n%s", out)
	}

	helmRelease := filepath.Join(repo, "output", "infrastructure", "alpha", "cilium", "helmrelease.yaml")
	b, err := os.ReadFile(helmRelease)
	if err != nil {
		t.Fatal(err)
	}
	write("output/infrastructure/alpha/cilium/helmrelease.yaml", strings.Replace(string(b), "interval: 10m0s", "interval: 1m", 1))
	gittest.Run(t, repo, "add", "-A")
	refused("a hand edit under output/", "edited by hand")

	gittest.Run(t, repo, "rm", "-q", "output/infrastructure/alpha/cilium/helmrepository.yaml")
	refused("a generated file deleted", "missing  infrastructure/alpha/cilium/helmrepository.yaml")

	gittest.Run(t, repo, "rm", "-q", "-r", "output/infrastructure/alpha/host-policies")
	refused("a generated folder deleted", "missing  infrastructure/alpha/host-policies/")

	changed := strings.Replace(spec, "50000/tcp]", "50000/tcp, 9100/tcp]", 1)
	write("cluster-spec.yaml", changed)
	gittest.Run(t, repo, "add", "cluster-spec.yaml")
	refused("the spec without generate", "run kronform-gen generate")

	write("cluster-spec.yaml", changed)
	generate()
	gittest.Run(t, repo, "add", "cluster-spec.yaml", "output")
	if out, ok := commit("the spec and output/ together"); !ok {
		t.Errorf("the spec and output/ committed together are refused:\n%s", out)
	}

	// pre-commit leaves untracked files in place, and check reads the tree on disk: an untracked file under output/
	// counts, though the commit does not hold it (docs/ci.md says so).
	write("output/infrastructure/alpha/cilium/scratch.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: scratch}\n")
	write("NOTES.md", "notes\n")
	gittest.Run(t, repo, "add", "NOTES.md")
	refused("an unrelated commit beside an untracked file under output/", "stray    infrastructure/alpha/cilium/scratch.yaml")
}
