package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kronform/kronform-gen/generator/cache"
)

// TestCheckRemembersOnlyCleanVerdictsOverTheSameInputs changes each input of check in turn (a tree file, the spec,
// the flags, how a value source comes out, an age key, the cache switch) and asserts which runs are answered from
// the cache: only a clean verdict over exactly the inputs of an earlier clean run.
func TestCheckRemembersOnlyCleanVerdictsOverTheSameInputs(t *testing.T) {
	t.Setenv(cache.Env, t.TempDir())
	t.Setenv("SOPS_AGE_KEY", "")
	os.Unsetenv("SOPS_AGE_KEY")
	t.Setenv("SOPS_AGE_KEY_FILE", "")
	os.Unsetenv("SOPS_AGE_KEY_FILE")
	keyDir := t.TempDir()
	initKey(t, keyDir, "a")
	dir := fleet(t, recipientOf(t, filepath.Join(keyDir, "a.spec.yaml")))
	t.Setenv("KG_TOKEN", "v")
	if code, _, errOut := runIn(t, dir, "generate"); code != 0 {
		t.Fatal(errOut)
	}

	check := func(step string, wantCode int, wantCached bool, args ...string) (string, string) {
		t.Helper()
		code, out, errOut := runIn(t, dir, append([]string{"check"}, args...)...)
		if code != wantCode {
			t.Fatalf("%s: exit %d, want %d\n%s%s", step, code, wantCode, out, errOut)
		}
		if cached := strings.Contains(errOut, "cached:"); cached != wantCached {
			t.Fatalf("%s: answered from the cache: %v, want %v\n%s", step, cached, wantCached, errOut)
		}
		return out, errOut
	}
	// The cached report is the first one: the same stdout, the same stderr up to the last line, which says cached.
	same := func(step string, args ...string) {
		t.Helper()
		out, errOut := check(step, 0, false, args...)
		outAgain, errAgain := check(step+", again", 0, true, args...)
		head := func(s string) string { return s[:strings.LastIndex(strings.TrimSuffix(s, "\n"), "\n")+1] }
		if out != outAgain || head(errOut) != head(errAgain) {
			t.Fatalf("%s: the cached report differs from the first:\n%s%s\nvs\n%s%s", step, out, errOut, outAgain, errAgain)
		}
	}
	same("first run")
	same("other flags", "--output", "json")

	// A value source that comes out otherwise (here: gone) is a new input; that verdict is then remembered too.
	os.Unsetenv("KG_TOKEN")
	if _, errOut := check("source gone", 0, false); !strings.Contains(errOut, "values not compared") {
		t.Fatalf("check without the source does not say what it did not verify:\n%s", errOut)
	}
	check("source gone, again", 0, true)
	t.Setenv("KG_TOKEN", "v")
	check("source back", 0, false) // one verdict per key: the last, which saw the source gone
	check("source back, again", 0, true)

	// A drifted tree is never remembered; the clean tree is recognised again once restored.
	file := filepath.Join(dir, "output", "infrastructure", "lab", "cilium", "helmrelease.yaml")
	clean, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(file, append(clean, "# edited\n"...), 0o644)
	check("hand edit", 1, false)
	check("hand edit, again", 1, false)
	os.WriteFile(file, clean, 0o644)
	check("restored", 0, true)
	stray := filepath.Join(dir, "output", "infrastructure", "lab", "cilium", "extra.yaml")
	os.WriteFile(stray, []byte("a: b\n"), 0o644)
	check("stray file", 1, false)
	os.Remove(stray)

	// Any change to the spec's bytes is a new input, even one that changes nothing it says.
	specPath := filepath.Join(dir, "cluster-spec.yaml")
	specText, _ := os.ReadFile(specPath)
	os.WriteFile(specPath, append(specText, "# a comment\n"...), 0o644)
	check("spec edited", 0, false)
	check("spec edited, again", 0, true)

	// With an age key the values are inputs: never remembered.
	t.Setenv("SOPS_AGE_KEY_FILE", filepath.Join(keyDir, "a.agekey"))
	check("with a key", 0, false)
	check("with a key, again", 0, false)
	os.Unsetenv("SOPS_AGE_KEY_FILE")
	check("without the key", 0, true)

	t.Setenv(cache.Env, "off")
	check("cache off", 0, false)
	check("cache off, again", 0, false)
}
