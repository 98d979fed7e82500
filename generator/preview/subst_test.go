package preview

import (
	"math/rand"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/envsubst"
)

// randomTemplate writes text with ${...} expressions of every operator, nested in arguments now and then.
func randomTemplate(rng *rand.Rand, depth int) string {
	pick := func(s ...string) string { return s[rng.Intn(len(s))] }
	var b strings.Builder
	for range rng.Intn(4) + 1 {
		if rng.Intn(3) == 0 {
			b.WriteString(pick("text ", "a-b", "x/y", "1", "$", "$$", "k: v", "ab*", " "))
			continue
		}
		name := pick("A", "B", "EMPTY", "UNSET", "NUM")
		arg := func() string {
			if depth < 2 && rng.Intn(3) == 0 {
				return randomTemplate(rng, depth+1)
			}
			return pick("a", "b", "1", "-2", "x*", "*b", "", "0")
		}
		word := func() string {
			if a := arg(); a != "" && !strings.ContainsAny(a, "}:/") {
				return a
			}
			return "w"
		}
		switch rng.Intn(8) {
		case 0:
			b.WriteString("${" + name + "}")
		case 1:
			b.WriteString("${#" + name + "}")
		case 2:
			b.WriteString("${" + name + pick(",", ",,", "^", "^^") + "}")
		case 3:
			b.WriteString("${" + name + ":" + pick("0", "1", "-3", "9", "x") + pick("", ":2", ":-1", ":0", ":x") + "}")
		case 4:
			b.WriteString("${" + name + pick("#", "##", "%", "%%") + word() + "}")
		case 5:
			b.WriteString("${" + name + pick("/", "//", "/#", "/%") + word() + "/" + pick("", "r", word()) + "}")
		default:
			b.WriteString("${" + name + pick(":-", ":=", ":+", ":?", "=") + arg() + "}")
		}
	}
	return b.String()
}

// The walk over expressions gives what Flux's envsubst gives whenever nothing is masked.
func TestSubstitutionEqualsFluxEnvsubst(t *testing.T) {
	vars := map[string]string{"A": "alpha-beta", "B": "x/y*z", "EMPTY": "", "NUM": "12345"}
	rng := rand.New(rand.NewSource(7))
	for range 5000 {
		tmpl := randomTemplate(rng, 0)
		want, wantErr := envsubst.Eval(tmpl, func(n string) (string, bool) { return vars[n], true })
		got, err := substitution{vars: vars}.eval(tmpl)
		if (err != nil) != (wantErr != nil) || err == nil && got != want {
			t.Fatalf("%q: got %q, %v; envsubst gives %q, %v", tmpl, got, err, want, wantErr)
		}
	}
}

// Whatever an expression makes of a masked variable prints as the mask alone, changes when the value changes, and
// stays the same for the same value.
func TestSubstitutionMasksEveryDerivedValue(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	eval := func(tmpl, value string) string {
		t.Helper()
		vars := map[string]string{"A": placeholder(placeholderPlain, value), "B": "x/y*z", "EMPTY": "", "NUM": "12345"}
		out, err := substitution{vars: vars}.eval(tmpl)
		if err != nil {
			t.Fatalf("%q: %v", tmpl, err)
		}
		return out
	}
	for range 3000 {
		tmpl := randomTemplate(rng, 0)
		if !strings.Contains(tmpl, "${A") && !strings.Contains(tmpl, "${#A") {
			continue
		}
		if _, err := envsubst.Eval(tmpl, func(string) (string, bool) { return "", true }); err != nil {
			continue
		}
		out := eval(tmpl, "KRONFORM-s3cr3t")
		printed := maskPlaceholders(out)
		for _, leak := range []string{placeholderMarker, "kronform", "KRON", "s3cr3t"} {
			if strings.Contains(strings.ToLower(printed), strings.ToLower(leak)) {
				t.Fatalf("%q prints %q", tmpl, printed)
			}
		}
		if again := eval(tmpl, "KRONFORM-s3cr3t"); again != out {
			t.Fatalf("%q: %q, then %q for the same value", tmpl, out, again)
		}
	}
	for _, tmpl := range []string{"${A}", "${#A}", "${A:0:4}", "${A,,}", "${A/x/y}", "${A:-d}", "p-${A##*-}", "${B/x/${A}}"} {
		if a, b := eval(tmpl, "one"), eval(tmpl, "two"); a == b || !hasPlaceholder(a) {
			t.Errorf("%q gives %q for one value and %q for another", tmpl, a, b)
		}
	}
}
