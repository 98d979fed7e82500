package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"sigs.k8s.io/yaml"

	"github.com/kronform/kronform-gen/internal/gittest"
)

// The workflow example's diff and summary steps, run with bash on a pull request's checkout (the base branch as
// origin/main): the comment's title says what differs. A change to hetzner/ alone was titled "What Flux will apply
// differently" above a summary of 0 added, 0 changed, 0 removed. The comment fits in one GitHub comment.
func TestWorkflowCommentTitle(t *testing.T) {
	for _, tool := range []string{"bash", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the workflow's steps need %s: %v", tool, err)
		}
	}
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "examples", "github-actions", "kronform-gen.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				ID  string            `json:"id"`
				Run string            `json:"run"`
				Env map[string]string `json:"env"`
			} `json:"steps"`
		} `json:"jobs"`
	}
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatal(err)
	}
	var diffRun, summaryRun string
	var summaryEnv map[string]string
	for _, s := range wf.Jobs["check"].Steps {
		switch {
		case s.ID == "diff":
			diffRun = s.Run
		case strings.Contains(s.Run, "$GITHUB_STEP_SUMMARY"):
			summaryRun, summaryEnv = s.Run, s.Env
		}
	}
	if diffRun == "" || summaryRun == "" {
		t.Fatal("no diff step, or no summary step")
	}

	gittest.Isolate(t)
	repo := t.TempDir()
	const spec = `apiVersion: kronform.dev/v1alpha1
kind: ClusterSpec
clusters:
  - name: alpha
    apiServer: {host: api.alpha.example.com, port: 6443}
    nodes: [{name: a1, addresses: [198.51.100.1], roles: [control-plane]}]
    cilium: {version: 1.15.6, hostFirewall: true, kubeProxyReplacement: true, auditMode: true}
    hostPolicies:
      - name: cp
        nodes: {role: control-plane}
        ingress: [{entities: [world, cluster], ports: [6443/tcp, 50000/tcp, 50001/tcp]}]
    hetzner: {adminSources: [203.0.113.7/32]}
`
	generate := func(s string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(repo, "cluster-spec.yaml"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(filepath.Join(binDir, "kronform-gen"), "generate")
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("generate: %v\n%s", err, out)
		}
	}
	generate(spec)
	gittest.Run(t, repo, "init", "-q", "-b", "main")
	gittest.Run(t, repo, "add", "-A")
	gittest.Run(t, repo, "commit", "-q", "-m", "base")
	gittest.Run(t, repo, "update-ref", "refs/remotes/origin/main", "HEAD")

	bash := func(script string, env map[string]string) {
		t.Helper()
		cmd := exec.Command("bash", "--noprofile", "--norc", "-e", "-c", script) // GitHub's shell for run
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s\n%s", err, script, out)
		}
	}
	expr := regexp.MustCompile(`^\$\{\{\s*steps\.(\w+)\.(outcome|outputs\.(\w+))\s*\}\}$`)
	title := func() string {
		t.Helper()
		outputs := filepath.Join(t.TempDir(), "outputs")
		github := map[string]string{"GITHUB_OUTPUT": outputs, "GITHUB_BASE_REF": "main",
			"GITHUB_STEP_SUMMARY": filepath.Join(t.TempDir(), "summary")}
		bash(diffRun, github)
		b, _ := os.ReadFile(outputs)
		out := map[string]string{}
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				out[k] = v
			}
		}
		env := map[string]string{}
		for k, v := range github {
			env[k] = v
		}
		for k, v := range summaryEnv {
			m := expr.FindStringSubmatch(v)
			switch {
			case m == nil:
				t.Fatalf("summary step: env %s: %q is not a step's output or outcome", k, v)
			case m[2] == "outcome":
				env[k] = "success"
			default:
				env[k] = out[m[3]]
			}
		}
		bash(summaryRun, env)
		comment, err := os.ReadFile(filepath.Join(repo, "comment.md"))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(comment), "\n") {
			if strings.HasPrefix(line, "### ") {
				return line
			}
		}
		t.Fatalf("no title in the comment:\n%s", comment)
		return ""
	}

	if got, want := title(), "### Flux will apply nothing differently"; got != want {
		t.Errorf("no change: %q, want %q", got, want)
	}
	generate(strings.Replace(spec, "203.0.113.7", "203.0.113.8", 1))
	if got, want := title(), "### Flux will apply nothing differently; Robot firewall templates to upload"; got != want {
		t.Errorf("only the Robot template changed: %q, want %q", got, want)
	}
	generate(strings.Replace(spec, "50001/tcp", "50002/tcp", 1))
	if got, want := title(), "### What Flux will apply differently"; got != want {
		t.Errorf("a policy changed: %q, want %q", got, want)
	}
	generate(strings.NewReplacer("50001/tcp", "50002/tcp", "203.0.113.7", "203.0.113.8").Replace(spec))
	if got, want := title(), "### What Flux will apply differently, and Robot firewall templates to upload"; got != want {
		t.Errorf("both changed: %q, want %q", got, want)
	}
	// A template that goes away is none to upload: it stays in Robot until the admin removes it there.
	generate(strings.Replace(spec, "    hetzner: {adminSources: [203.0.113.7/32]}\n", "", 1))
	if got, want := title(), "### Flux will apply nothing differently; Robot firewall templates to remove from Robot"; got != want {
		t.Errorf("the Robot template removed: %q, want %q", got, want)
	}
	broken := "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system}\n" +
		"spec: {interval: 10m, path: ./nowhere, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}\n"
	if err := os.WriteFile(filepath.Join(repo, "output", "clusters", "alpha", "apps.yaml"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := title(), "### kronform-gen diff failed: a tree does not build"; got != want {
		t.Errorf("a tree that does not build: %q, want %q", got, want)
	}

	// GitHub refuses a comment over 65536 characters, and the step posting it fails the job: --max-lines bounds the
	// lines of the diff, not their length, and one long Helm value made a comment of 70,000.
	if err := os.Remove(filepath.Join(repo, "output", "clusters", "alpha", "apps.yaml")); err != nil {
		t.Fatal(err)
	}
	generate(strings.Replace(spec, "auditMode: true}", "auditMode: true, values: {note: "+strings.Repeat("x", 70000)+"}}", 1))
	if got, want := title(), "### What Flux will apply differently"; got != want {
		t.Errorf("a long value changed: %q, want %q", got, want)
	}
	comment, err := os.ReadFile(filepath.Join(repo, "comment.md"))
	if err != nil {
		t.Fatal(err)
	}
	if n := utf8.RuneCount(comment); n > 65536 {
		t.Errorf("the comment has %d characters; GitHub takes at most 65536", n)
	}
	for _, want := range []string{"~ alpha/HelmRelease/kube-system/cilium (changed)\n",
		"0 added, 1 changed, 0 removed (origin/main -> working tree)\n````\n", "... truncated to fit a pull request comment"} {
		if !strings.Contains(string(comment), want) {
			t.Errorf("the shortened comment holds no %q:\n%.2000s", want, comment)
		}
	}
}

// kronform-gen keeps its results per binary (its Go build ID), and actions/cache saves nothing when its key is found:
// keyed on output/ alone, a new kronform-gen (another version, with output/ unchanged) restored the old binary's
// results, ran cold, and saved nothing, until output/ changed. The install step names the binary for the key.
func TestWorkflowCacheKeyNamesTheBinary(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skipf("the workflow's steps need bash: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "examples", "github-actions", "kronform-gen.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				ID   string         `json:"id"`
				Uses string         `json:"uses"`
				Run  string         `json:"run"`
				With map[string]any `json:"with"`
			} `json:"steps"`
		} `json:"jobs"`
	}
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatal(err)
	}
	var install, key, restore string
	for _, s := range wf.Jobs["check"].Steps {
		switch {
		case strings.Contains(s.Run, "go install github.com/kronform/kronform-gen/cmd/kronform-gen@"):
			if s.ID != "install" {
				t.Errorf("the install step has id %q, want install", s.ID)
			}
			install = s.Run
		case strings.HasPrefix(s.Uses, "actions/cache@"):
			key, _ = s.With["key"].(string)
			restore, _ = s.With["restore-keys"].(string)
		}
	}
	const binary = "${{ steps.install.outputs.binary }}"
	if !strings.Contains(key, binary+"-${{ hashFiles('output/**') }}") {
		t.Errorf("cache key %q does not name the binary (%s)", key, binary)
	}
	for _, k := range strings.Split(strings.TrimSpace(restore), "\n") {
		if !strings.Contains(k, binary) {
			t.Errorf("restore key %q restores the results of any binary", k)
		}
	}

	// The step, with go install standing in for itself: it writes the binary's digest to the step's outputs.
	fake := t.TempDir()
	if err := os.WriteFile(filepath.Join(fake, "go"), []byte("#!/bin/sh\n[ \"$1\" = install ] || exit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	outputs := filepath.Join(t.TempDir(), "outputs")
	cmd := exec.Command("bash", "--noprofile", "--norc", "-e", "-c", install)
	cmd.Env = append(os.Environ(), "GITHUB_OUTPUT="+outputs,
		"PATH="+fake+string(os.PathListSeparator)+binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("install step: %v\n%s", err, out)
	}
	got, _ := os.ReadFile(outputs)
	if !regexp.MustCompile(`^binary=[0-9a-f]{16,}\n$`).Match(got) {
		t.Errorf("install step outputs %q, want binary=<digest>", got)
	}
}
