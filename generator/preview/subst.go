package preview

import (
	"strconv"
	"strings"

	"github.com/fluxcd/pkg/envsubst"
	"github.com/fluxcd/pkg/envsubst/parse"
)

// substitution evaluates text the way Flux's envsubst does, with vars (unknown variables are empty, as in the
// controller without strict substitution), but walks the parsed expressions itself for two things the library's
// mapping function cannot see:
//
//   - an expression whose value derives from a masked variable (a placeholder) must come out masked. The library
//     would run the operator on the placeholder, and ${api_token:0:4}, ${api_token,,} or ${#api_token} would print
//     text made from the placeholder, unmasked. Such an expression becomes a placeholder of its own, an HMAC of the
//     operator, the variable's placeholder and the arguments, so a diff still sees the change.
//   - with keepUnknown (a required substituteFrom source is not in the tree), an expression on a variable that is
//     not known is left as written, operator and default included: the variable may be set in the cluster.
//
// Every other expression is handed to the library, operator, value and arguments, so its result is the library's.
type substitution struct {
	vars        map[string]string
	keepUnknown bool
}

func (s substitution) eval(text string) (string, error) {
	tree, err := parse.Parse(text)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := s.node(&b, tree.Root); err != nil {
		return "", err
	}
	return b.String(), nil
}

func (s substitution) node(b *strings.Builder, n parse.Node) error {
	switch n := n.(type) {
	case *parse.TextNode:
		b.WriteString(n.Value)
	case *parse.ListNode:
		for _, c := range n.Nodes {
			if err := s.node(b, c); err != nil {
				return err
			}
		}
	case *parse.FuncNode:
		v, err := s.fn(n)
		if err != nil {
			return err
		}
		b.WriteString(v)
	}
	return nil
}

func (s substitution) fn(n *parse.FuncNode) (string, error) {
	v, known := s.vars[n.Param]
	if !known && s.keepUnknown {
		return written(n), nil
	}
	args := make([]string, len(n.Args))
	for i, a := range n.Args {
		var b strings.Builder
		if err := s.node(&b, a); err != nil {
			return "", err
		}
		args[i] = b.String()
	}
	all := v + strings.Join(args, "")
	switch {
	case !hasPlaceholder(all):
		return apply(n, v, args)
	case passesThrough(n):
		if hasPlaceholder(v) {
			// The value, or the default if the value is empty: which of the two would tell whether it is.
			return v, nil
		}
		return apply(n, v, args) // a plain value, or the default verbatim with its placeholders
	default:
		return placeholder(placeholderKind(all), append([]string{"expression", n.Name, v}, args...)...), nil
	}
}

// passesThrough says whether an operator gives its variable's value or its arguments unchanged (the library's
// toDefault: ${v}, ${v:-w}, ${v:=w}, ${v:+w}, ${v:?w}, ${v=w}), rather than something computed from them.
func passesThrough(n *parse.FuncNode) bool {
	switch n.Name {
	case ",", ",,", "^", "^^", "#", "##", "%", "%%", ":", "/", "//", "/#", "/%":
		return false
	}
	return true
}

// apply runs the library on one expression: the same operator with the variable and each argument given as
// variables of a template written for it.
func apply(n *parse.FuncNode, v string, args []string) (string, error) {
	vars := map[string]string{"v": v}
	refs := make([]string, len(args))
	for i, a := range args {
		name := "a" + strconv.Itoa(i)
		vars[name], refs[i] = a, "${"+name+"}"
	}
	return envsubst.Eval(writeExpr(n.Name, "v", refs), func(name string) (string, bool) { return vars[name], true })
}

// written is an expression as it was written (up to the spelling of escapes), its arguments included.
func written(n *parse.FuncNode) string {
	args := make([]string, len(n.Args))
	for i, a := range n.Args {
		args[i] = writtenNode(a, strings.HasPrefix(n.Name, "/"))
	}
	return writeExpr(n.Name, n.Param, args)
}

func writtenNode(n parse.Node, replaceArg bool) string {
	switch n := n.(type) {
	case *parse.TextNode:
		if replaceArg {
			// The only arguments whose escapes the parser reads: \/, \\ and $$.
			return strings.NewReplacer(`\`, `\\`, `/`, `\/`, `$`, `$$`).Replace(n.Value)
		}
		return n.Value
	case *parse.ListNode:
		var b strings.Builder
		for _, c := range n.Nodes {
			b.WriteString(writtenNode(c, replaceArg))
		}
		return b.String()
	case *parse.FuncNode:
		return written(n)
	}
	return ""
}

// writeExpr writes an expression of the operator name on param with the arguments, in the parser's syntax.
func writeExpr(name, param string, args []string) string {
	switch {
	case name == "#" && len(args) == 0:
		return "${#" + param + "}"
	case name == ":":
		return "${" + param + ":" + strings.Join(args, ":") + "}"
	case strings.HasPrefix(name, "/"):
		if len(args) < 2 {
			args = append(args, "")
		}
		return "${" + param + name + args[0] + "/" + args[1] + "}"
	}
	return "${" + param + name + strings.Join(args, "") + "}"
}
