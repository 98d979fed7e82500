package cli

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The examples users copy into their repositories must call commands and flags that exist: a renamed flag would
// otherwise break every CI that copied them, silently until the next pull request.
func TestExamplesCallRealCommandsAndFlags(t *testing.T) {
	quoted := regexp.MustCompile(`"[^"]*"`)
	call := regexp.MustCompile(`(?:^|[\s:(])kronform-gen\s+(\S.*)$`)
	found := map[string]int{}
	for _, file := range []string{"../../examples/github-actions/kronform-gen.yaml", "../../examples/pre-commit/.pre-commit-config.yaml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for n, line := range strings.Split(string(data), "\n") {
			trimmed := strings.TrimSpace(line)
			if strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, "name:") {
				continue
			}
			m := call.FindStringSubmatch(quoted.ReplaceAllString(line, "QUOTED"))
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
