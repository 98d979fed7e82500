package spec

import (
	"fmt"
	"strings"
	"testing"
)

// A syntax error is reported where yaml.v3 stopped reading, line and column, not at the start of the construct
// around it (yaml.v3's own "line N"); an error found only at the end of the file (an unclosed quote or brace), where
// the unclosed construct opens; an unknown alias at the alias.
func TestYAMLSyntaxErrorPositions(t *testing.T) {
	const head = "apiVersion: kronform.dev/v1alpha1\nkind: ClusterSpec\nclusters:\n  - name: kronform\n"
	for _, c := range []struct{ text, want string }{
		{head + "\t apiServer: {host: api.example.com}\n",
			"t.yaml:5:1: invalid YAML: found a tab character that violates indentation (indent with spaces: YAML does not allow tabs there)"},
		{head + "    apiServer: {host: api.example.com}\n    nodes:\n      - {name: n1, roles: [control-plane]}\n   cilium: {version: 1.16.5}\n",
			"t.yaml:8:4: invalid YAML: did not find expected '-' indicator"},
		{head + "    apiServer: {host: api.example.com}\n    nodes: *nope\n",
			"t.yaml:6:12: invalid YAML: unknown anchor 'nope' referenced"},
		{head + "    apiServer: {host: api.example.com}\n    nodes: [&nope {name: n1}, *nop]\n",
			"t.yaml:6:31: invalid YAML: unknown anchor 'nop' referenced"},
		{head + "    apiServer: {host: \"api.example.com}\n    nodes: []\n",
			"t.yaml:5:23: invalid YAML: found unexpected end of stream"},
		// An unclosed quote reads on across lines until a quote character closes it; the parser stops only after that,
		// and the error is said at the quote, with where the parser stopped.
		{head + "    apiServer: {host: api.example.com}\n    domain: \"example.com\n    nodes: []\n    # the \"exam\": a test\n    cilium: {}\n",
			"t.yaml:6:13: invalid YAML: this quote is not closed on its line, so the quoted value runs on to line 8, and YAML stops at 8:17: mapping values are not allowed in this context (close it on its own line)"},
		{head + "    domain: 'example.com\n    nodes: []\n    # the seed's exam\n    cilium: {}\n",
			"t.yaml:5:13: invalid YAML: this quote is not closed on its line, so the quoted value runs on to line 7, and YAML stops at 7:16: did not find expected key (close it on its own line)"},
		// A flow collection over several lines is no quote.
		{head + "    nodes: [{name: n1},\n      {name: n2}}\n",
			"t.yaml:6:16: invalid YAML: did not find expected ',' or ']'"},
		{head + "    domain: a: b\n",
			"t.yaml:5:14: invalid YAML: mapping values are not allowed in this context"},
		{head + "    apiServer: {host: api.example.com\n    nodes: []\n",
			"t.yaml:5:17: invalid YAML: did not find expected ',' or '}'"},
		{head + "    name: @x\n", "t.yaml:5:11: invalid YAML: found character that cannot start any token"},
		{minimalSpec + "---\n\tkind: Other\n", "t.yaml:10:1: invalid YAML: found character that cannot start any token (indent with spaces: YAML does not allow tabs there)"},
		// Lines end with \r\n or a lone \r too, as YAML counts them.
		{strings.ReplaceAll(head, "\n", "\r\n") + "    name: @x\r\n", "t.yaml:5:11: invalid YAML: found character that cannot start any token"},
		{strings.ReplaceAll(head, "\n", "\r") + "    name: @x\r", "t.yaml:5:11: invalid YAML: found character that cannot start any token"},
		{"0\r\r\r#\n0", "t.yaml:1:1: the spec must be a mapping; this file holds a single value (not shown) (a spec starts with apiVersion: kronform.dev/v1alpha1, kind: ClusterSpec and clusters:)\n" +
			"t.yaml:5:1: invalid YAML: did not find expected <document start>"},
	} {
		_, err := Load("t.yaml", []byte(c.text), Options{})
		if err == nil || err.Error() != c.want {
			t.Errorf("%s\ngot  %v\nwant %s", c.text, err, c.want)
		}
	}
}

// The search for the place parses a bounded number of bytes: past it, the problem names the lines it narrowed the
// error to.
func TestYAMLSyntaxSearchIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: kronform.dev/v1alpha1\nkind: ClusterSpec\nclusters:\n")
	for i := range 200 {
		fmt.Fprintf(&b, "  - name: c%d\n    apiServer: {host: api.example.com}\n", i)
	}
	b.WriteString("   cilium: {version: 1.16.5}\n") // line 404
	text := b.String()
	_, err := Load("t.yaml", []byte(text), Options{})
	if want := "t.yaml:404:4: invalid YAML: did not find expected '-' indicator"; err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	defer func(budget int) { syntaxSearchBudget = budget }(syntaxSearchBudget)
	syntaxSearchBudget = 4 * len(text)
	_, err = Load("t.yaml", []byte(text), Options{})
	if want := "t.yaml:387: invalid YAML: did not find expected '-' indicator (in lines 387-404)"; err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}
