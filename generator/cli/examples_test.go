package cli

import (
	"fmt"
	"maps"
	"os"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// The examples users copy into their repositories must call commands and flags that exist: a renamed flag would
// otherwise break every CI that copied them, silently until the next pull request.
func TestExamplesCallRealCommandsAndFlags(t *testing.T) {
	quoted := regexp.MustCompile(`"[^"]*"`)
	// An HTML comment (the marker of the workflow's pull request comment) names kronform-gen without calling it.
	marker := regexp.MustCompile(`<!--.*?-->`)
	call := regexp.MustCompile(`(?:^|[\s:(])kronform-gen\s+(\S.*)$`)
	found := map[string]int{}
	for _, file := range []string{workflowExample, preCommitExample} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for n, line := range strings.Split(string(data), "\n") {
			trimmed := strings.TrimSpace(line)
			if strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, "name:") {
				continue
			}
			m := call.FindStringSubmatch(quoted.ReplaceAllString(marker.ReplaceAllString(line, ""), "QUOTED"))
			if m == nil {
				continue
			}
			var args []string
			for _, f := range strings.Fields(m[1]) {
				if strings.ContainsAny(f[:1], ">|&;#") {
					break
				}
				last := strings.HasSuffix(f, ";")
				args = append(args, strings.TrimSuffix(f, ";"))
				if last {
					break
				}
			}
			cmd, rest, err := (&app{}).rootCommand().Find(args)
			if err != nil || cmd.Name() == "kronform-gen" {
				t.Errorf("%s:%d: kronform-gen %s: no such command (%v)", file, n+1, strings.Join(args, " "), err)
				continue
			}
			if err := cmd.ParseFlags(rest); err != nil {
				t.Errorf("%s:%d: kronform-gen %s: %v", file, n+1, strings.Join(args, " "), err)
			}
			found[cmd.Name()]++
		}
	}
	for _, want := range []string{"check", "diff"} {
		if found[want] == 0 {
			t.Errorf("no call of kronform-gen %s found in the examples (found %v)", want, found)
		}
	}
}

// exampleFiles are the files users copy, as the tests below read them.
const (
	workflowExample  = "../../examples/github-actions/kronform-gen.yaml"
	preCommitExample = "../../examples/pre-commit/.pre-commit-config.yaml"
	commentMarker    = "<!-- kronform-gen diff -->"
)

type workflowStep struct {
	ID              string            `json:"id"`
	Name            string            `json:"name"`
	Uses            string            `json:"uses"`
	If              string            `json:"if"`
	Run             string            `json:"run"`
	With            map[string]any    `json:"with"`
	Env             map[string]string `json:"env"`
	ContinueOnError any               `json:"continue-on-error"`
}

// The workflow posts the diff exactly when a pull request needs it, drift included, keeps one comment of its own up to
// date, and still fails the job on drift; a change that skips those steps again on a failed check fails here.
func TestWorkflowExample(t *testing.T) {
	data, err := os.ReadFile(workflowExample)
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Permissions map[string]string `json:"permissions"`
		Jobs        map[string]struct {
			ContinueOnError any            `json:"continue-on-error"`
			Steps           []workflowStep `json:"steps"`
		} `json:"jobs"`
	}
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatalf("%s does not parse: %v", workflowExample, err)
	}
	if want := map[string]string{"contents": "read", "pull-requests": "write"}; !maps.Equal(wf.Permissions, want) {
		t.Errorf("permissions = %v, want only %v", wf.Permissions, want)
	}
	job, ok := wf.Jobs["check"]
	if !ok || job.ContinueOnError != nil {
		t.Fatalf("want a job named check that fails when a step fails, got %+v", wf.Jobs)
	}

	goMod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(goMod)
	check := -1
	for i, s := range job.Steps {
		if s.ContinueOnError != nil {
			t.Errorf("step %q: continue-on-error would let the job pass on drift", s.Name+s.Uses)
		}
		switch {
		case strings.HasPrefix(s.Uses, "actions/checkout@"):
			if fmt.Sprint(s.With["fetch-depth"]) != "0" {
				t.Errorf("checkout: fetch-depth = %v, want 0 (diff --ref reads the base commit)", s.With["fetch-depth"])
			}
		case strings.HasPrefix(s.Uses, "actions/setup-go@"):
			if goLine == nil || s.With["go-version"] != string(goLine[1]) {
				t.Errorf("setup-go: go-version = %v, want go.mod's go line %q", s.With["go-version"], goLine)
			}
		case strings.HasPrefix(s.Uses, "actions/cache@"):
			if s.With["path"] != "~/.cache/kronform-gen/results" {
				t.Errorf("cache: path = %v", s.With["path"])
			}
		case s.ID == "check":
			check = i
			if s.If != "" {
				t.Errorf("check: if = %q; check runs on every event", s.If)
			}
			if !strings.Contains(s.Run, "if [ -d templates ]; then\n  kronform-gen check --templates templates\n") {
				t.Errorf("check: the presets of templates/ must be passed when the folder exists:\n%s", s.Run)
			}
		}
	}
	if check < 0 {
		t.Fatal("no step with id: check")
	}
	var summary, post, artifact *workflowStep
	for i := check + 1; i < len(job.Steps); i++ {
		s := &job.Steps[i]
		// Without a status function GitHub adds success(), and the step is skipped exactly when check found drift.
		if !strings.Contains(s.If, "!cancelled()") && !strings.Contains(s.If, "always()") {
			t.Errorf("step %q after check: if = %q, want it to run when check failed", s.Name+s.Uses, s.If)
		}
		if !strings.Contains(s.If, "github.event_name == 'pull_request'") && !strings.Contains(s.If, "steps.diff.outcome == 'success'") {
			t.Errorf("step %q after check: if = %q, want it only on a pull request", s.Name+s.Uses, s.If)
		}
		switch {
		case strings.Contains(s.Run, "$GITHUB_STEP_SUMMARY"):
			summary = s
		case strings.Contains(s.Run, "gh "):
			post = s
		case strings.HasPrefix(s.Uses, "actions/upload-artifact@"):
			artifact = s
		}
	}
	if summary == nil || post == nil || artifact == nil {
		t.Fatalf("want the summary, comment and artifact steps after check: %v, %v, %v", summary, post, artifact)
	}
	if !strings.Contains(summary.Run, "echo '"+commentMarker+"'") || !strings.Contains(summary.Run, `while grep -qF "$fence" flux-diff.md`) {
		t.Errorf("summary: want the marker first and a fence longer than any backtick run:\n%s", summary.Run)
	}
	if !strings.Contains(post.If, "github.event.pull_request.head.repo.full_name == github.repository") {
		t.Errorf("comment: if = %q; a fork's read-only token cannot comment", post.If)
	}
	for _, want := range []string{`startswith("` + commentMarker + `")`, `.user.login == "github-actions[bot]"`, "--method PATCH", "--method POST"} {
		if !strings.Contains(post.Run, want) {
			t.Errorf("comment: want %q: the workflow's own comment is found by its marker and edited in place:\n%s", want, post.Run)
		}
	}
	if strings.Contains(post.Run, "--edit-last") {
		t.Error("comment: --edit-last edits the bot's last comment, which may be another workflow's")
	}
}

// The hook judges what generate made, on every commit: with the presets of templates/ when the repository has them.
func TestPreCommitExample(t *testing.T) {
	data, err := os.ReadFile(preCommitExample)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Repos []struct {
			Hooks []struct {
				ID        string `json:"id"`
				Entry     string `json:"entry"`
				Files     string `json:"files"`
				AlwaysRun bool   `json:"always_run"`
			} `json:"hooks"`
		} `json:"repos"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("%s does not parse: %v", preCommitExample, err)
	}
	if len(cfg.Repos) != 1 || len(cfg.Repos[0].Hooks) != 1 {
		t.Fatalf("want one hook, got %+v", cfg)
	}
	h := cfg.Repos[0].Hooks[0]
	if !strings.Contains(h.Entry, "if [ -d templates ]; then exec kronform-gen check --templates templates; else exec kronform-gen check; fi") {
		t.Errorf("entry = %q: want check with --templates templates when the folder exists", h.Entry)
	}
	// pre-commit matches files against the staged files it passes, deleted ones left out: a commit that only deletes
	// a generated file would skip a hook that runs on matching files alone (TestPreCommitExampleRuns runs it).
	if !h.AlwaysRun || h.Files != "" {
		t.Errorf("always_run = %v, files = %q: want the hook on every commit", h.AlwaysRun, h.Files)
	}
}

// The README shows both examples in full; each copy must be the file, byte for byte, under a marker naming it.
func TestExamplesInREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{preCommitExample, workflowExample} {
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(file, "../../")
		marker := "<!-- " + name + " "
		_, after, ok := strings.Cut(string(readme), marker)
		if !ok {
			t.Errorf("README.md: no copy of %s (want a line starting %q before a fenced block)", name, marker)
			continue
		}
		lines := strings.SplitAfter(after, "\n")
		if len(lines) < 2 || !strings.HasPrefix(lines[1], "```") {
			t.Errorf("README.md: the line after %q must open a fenced block", marker)
			continue
		}
		fence := strings.TrimRight(strings.TrimRight(lines[1], "\n"), "yaml")
		var got strings.Builder
		closed := false
		for _, l := range lines[2:] {
			if strings.TrimRight(l, "\n") == fence {
				closed = true
				break
			}
			got.WriteString(l)
		}
		if !closed || got.String() != string(want) {
			t.Errorf("README.md's copy of %s differs from the file: copy the file into the fenced block again", name)
		}
	}
}
