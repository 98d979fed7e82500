package manifest

import (
	_ "embed"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Redacted is how a redacted part of an error message prints.
const Redacted = "(not shown)"

// Redact keeps of an error message of kustomize, a YAML parser or a build only what is known to be no part of the
// files they read, which may hold a secret value: the phrases that kustomize, the libraries it calls and kronform-gen
// write their messages with (wording.txt: every phrase of two words or more, or of a word and punctuation, in the
// string literals of their sources, and a single word where a format writes it), kustomize's object IDs (Secret.v1.[noGrp]/name.namespace: names are no values,
// and a build prints them), line and column numbers, and the words that keep says are harmless, such as a file of the
// tree. Everything else prints as Redacted, whatever its shape: a value quoted, listed, dumped as bytes, in a patch or
// an object printed whole. The inside of a bracketed or backquoted part with anything redacted in it is redacted
// whole, and redacted parts that only white space, = or , separate print as one. Words are what white space and ASCII punctuation separate, but for
// . / - and _, which names, paths and field paths hold. Denying the shapes that print values instead would always
// miss one.
func Redact(msg string, keep func(string) bool) string {
	var items []item
	fixed := fixedSpans(msg)
	for i := 0; i < len(msg); {
		if fixed[i] > i {
			items = append(items, item{i, fixed[i], shown})
			i = fixed[i]
			continue
		}
		if n := phraseAt(msg, i); n > 0 {
			items = append(items, item{i, i + n, phrase})
			i += n
			continue
		}
		switch {
		case separator(msg[i]):
			items = append(items, item{i, i + 1, sep})
			i++
		default:
			j := i
			for j < len(msg) && !separator(msg[j]) && fixed[j] == 0 {
				j++
			}
			items = append(items, word(msg, i, j, keep)...)
			i = j
		}
	}
	hideGroups(msg, items)

	var b strings.Builder
	hiding, pending := false, ""
	for _, it := range items {
		text := msg[it.start:it.end]
		switch it.kind {
		case sep:
			if hiding && strings.Trim(pending+text, " \t=,") == "" {
				pending += text
				continue
			}
			b.WriteString(pending + text)
			hiding, pending = false, ""
		case hidden:
			if !hiding {
				b.WriteString(Redacted)
			}
			hiding, pending = true, ""
		default:
			b.WriteString(pending + text)
			hiding, pending = false, ""
		}
	}
	b.WriteString(pending)
	return b.String()
}

// item is a part of a message: words and phrases shown or hidden, and the separators between them.
type item struct {
	start, end int
	kind       int
}

const (
	shown  = iota // a word keep takes, an object ID, a line number
	phrase        // of wording.txt
	sep
	hidden
)

// separator says whether a byte separates words: white space, control characters and ASCII punctuation, but for the
// . / - _ of names and paths. Bytes of other characters (or of no character) are part of words.
func separator(c byte) bool {
	return c < 0x80 && !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("./-_", c) >= 0)
}

// word classifies the word msg[i:j]: shown when keep says it is harmless (or it is, less a full stop that ends a
// sentence), when it is "line" or "column" and the number after it, or when it stands in a template of the wording;
// hidden otherwise.
func word(msg string, i, j int, keep func(string) bool) []item {
	w := msg[i:j]
	switch {
	case keep != nil && keep(w):
		return []item{{i, j, shown}}
	case strings.HasSuffix(w, ".") && len(w) > 1 && keep != nil && keep(w[:len(w)-1]):
		return []item{{i, j - 1, shown}, {j - 1, j, sep}}
	case strings.Trim(w, "0123456789") == "" && (strings.HasSuffix(msg[:i], "line ") || strings.HasSuffix(msg[:i], "column ")):
		return []item{{i, j, shown}}
	case (w == "line" || w == "column") && len(msg) > j+1 && msg[j] == ' ' && '0' <= msg[j+1] && msg[j+1] <= '9':
		return []item{{i, j, shown}}
	case templateAt(msg, w, j):
		return []item{{i, j, phrase}}
	}
	return []item{{i, j, hidden}}
}

// fixedSpans marks the parts of a message that are shown whatever stands around them: kustomize's object IDs, and
// what an earlier redaction left. fixed[i] is the end of the span starting at i, or 0.
func fixedSpans(msg string) []int {
	fixed := make([]int, len(msg)+1)
	mark := func(spans [][]int) {
		for _, s := range spans {
			for k := s[0]; k < s[1]; k++ {
				fixed[k] = s[1]
			}
		}
	}
	mark(resID.FindAllStringIndex(msg, -1))
	mark(redacted.FindAllStringIndex(msg, -1))
	return fixed
}

// resID is an object ID as kustomize prints it (resid.ResId's String): Kind.version.[group]/name.namespace, with
// [noVer], [noGrp] and [noNs] for what is not set.
var resID = regexp.MustCompile(`\b[A-Za-z][A-Za-z0-9]*\.(?:\[noVer\]|[A-Za-z0-9]+)\.\[(?:noGrp|[a-z0-9.-]+)\]/[A-Za-z0-9._:-]+\.(?:\[noNs\]|[a-z0-9-]+)`)

var redacted = regexp.MustCompile(regexp.QuoteMeta(Redacted))

// hideGroups hides every bracketed ((), [], {}) or backquoted part of a message that holds a hidden word, at any
// depth: a list or an object printed with one value in it is no list of names. Brackets that stand in a phrase count
// too (path(, with config: `): they stay, with the white space inside them, and only what is between is hidden.
func hideGroups(msg string, items []item) {
	type open struct {
		item int
		c    byte
	}
	var stack []open
	var groups [][2]int // the items of the brackets
	quote := -1
	for k, it := range items {
		if it.kind != sep && it.kind != phrase {
			continue
		}
		for _, c := range []byte(msg[it.start:it.end]) {
			switch c {
			case '(', '[', '{':
				stack = append(stack, open{k, c})
			case ')', ']', '}':
				want := map[byte]byte{')': '(', ']': '[', '}': '{'}[c]
				for n := len(stack) - 1; n >= 0; n-- {
					if stack[n].c == want {
						groups = append(groups, [2]int{stack[n].item, k})
						stack = stack[:n]
						break
					}
				}
			case '`':
				if quote < 0 {
					quote = k
				} else {
					groups = append(groups, [2]int{quote, k})
					quote = -1
				}
			}
		}
	}
	space := func(it item) bool { return it.kind == sep && strings.TrimSpace(msg[it.start:it.end]) == "" }
	for _, g := range groups {
		from, to := g[0], g[1]
		if from == to || !slices.ContainsFunc(items[from+1:to], func(it item) bool { return it.kind == hidden }) {
			continue
		}
		if items[from].kind == phrase || items[to].kind == phrase {
			for from++; from < to && space(items[from]); from++ {
			}
			for to--; to > from && space(items[to]); to-- {
			}
		}
		for k := from; k <= to; k++ {
			items[k].kind = hidden
		}
	}
}

//go:embed wording.txt
var wording string

// phrases are wording.txt's phrases by their first byte, longest first; templates its templates by their word.
var phrases, templates = func() (func() map[byte][]string, func() map[string][][2]string) {
	load := sync.OnceValues(func() (map[byte][]string, map[string][][2]string) {
		ps, ts := map[byte][]string{}, map[string][][2]string{}
		for _, line := range strings.Split(wording, "\n") {
			if t := strings.Split(line, "\t"); len(t) == 3 {
				ts[t[0]] = append(ts[t[0]], [2]string{t[1], t[2]})
			} else if line != "" {
				ps[line[0]] = append(ps[line[0]], line)
			}
		}
		for _, list := range ps {
			slices.SortFunc(list, func(a, b string) int { return len(b) - len(a) })
		}
		return ps, ts
	})
	return func() map[byte][]string { p, _ := load(); return p }, func() map[string][][2]string { _, t := load(); return t }
}()

// templateAt says whether the word w, which ends at msg[j], starts a template of the wording: a word that a format
// writes before a verb, and only there (lstat %s: no such file or directory). The gap before the verb, one word in
// its place and the text after it must follow as the format writes them; a value that is the word alone does not.
func templateAt(msg, w string, j int) bool {
	for _, t := range templates()[w] {
		gap, next := t[0], t[1]
		k := j + len(gap)
		if !strings.HasPrefix(msg[j:], gap) {
			continue
		}
		fill := k
		if strings.HasPrefix(msg[k:], Redacted) {
			fill += len(Redacted)
		}
		for fill < len(msg) && !separator(msg[fill]) {
			fill++
		}
		if fill > k && strings.HasPrefix(msg[fill:], next) {
			return true
		}
	}
	return false
}

// phraseAt is the length of the longest phrase that stands at msg[i:] as a whole (not part of a longer word, but for
// a full stop after it), or 0.
func phraseAt(msg string, i int) int {
	for _, p := range phrases()[msg[i]] {
		end := i + len(p)
		if !strings.HasPrefix(msg[i:], p) {
			continue
		}
		startOK := i == 0 || separator(msg[i-1]) || separator(p[0])
		endOK := end == len(msg) || separator(msg[end]) || separator(p[len(p)-1]) ||
			msg[end] == '.' && (end+1 == len(msg) || separator(msg[end+1]))
		if startOK && endOK {
			return len(p)
		}
	}
	return 0
}
