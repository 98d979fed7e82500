package spec

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Pos is a place in the spec file, 1-based.
type Pos struct {
	Line, Col int
}

// Problem is one thing wrong with the spec: where it is, which field, what is wrong and how to fix it.
type Problem struct {
	File string
	Pos  Pos
	Path string
	Msg  string
	Hint string
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Pos.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Pos.Line)
		if p.Pos.Col > 0 {
			fmt.Fprintf(&b, ":%d", p.Pos.Col)
		}
	}
	b.WriteString(": ")
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	if p.Hint != "" {
		fmt.Fprintf(&b, " (%s)", p.Hint)
	}
	return b.String()
}

// Problems is every problem found in one spec, sorted by position. It is the error Load returns for bad input.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Sorted orders problems by file, line, column, path and message, and drops exact repeats.
func (ps Problems) Sorted() Problems {
	out := slices.Clone(ps)
	slices.SortStableFunc(out, func(a, b Problem) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col),
			cmp.Compare(a.Path, b.Path),
			cmp.Compare(a.Msg, b.Msg),
		)
	})
	return slices.Compact(out)
}
