package manifest

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v2"
)

// marshal prints a JSON value as yaml.Marshal (go.yaml.in/yaml/v2, the encoder sigs.k8s.io/yaml and kustomize use)
// prints it. Printing a fleet spent most of its time in that encoder's general machinery, although manifests only
// ever need a small part of it: block mappings with sorted keys, block sequences, and scalars. emit writes that part
// itself; every scalar whose style it does not decide with certainty is printed by yaml.Marshal and reused, and a
// value it cannot print in full (a multi-line or very long string, an unusual type) goes to yaml.Marshal whole. The
// tests hold the two to the same bytes on generated trees and on random values.
//
// One thing it does differently, on purpose: yaml.v2 sorts keys with an order that is not transitive for some sets
// of keys with digits ("0x1F" < "1" < "020" < "0x1F"), so for those it writes a different order from run to run (it
// sorts Go's randomly ordered map keys). Such keys can come from a spec's Helm values; the same spec must give the
// same bytes, so those keys are put in one fixed order of the ones yaml.v2 may write (see orderedKeys), and what
// goes to yaml.v2 goes as ordered mappings.
func marshal(v map[string]any) ([]byte, error) {
	if out, ok := emit(v); ok {
		return out, nil
	}
	return yaml.Marshal(ordered(v))
}

// ordered turns every mapping of a JSON value into a yaml.MapSlice in orderedKeys' order.
func ordered(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(yaml.MapSlice, 0, len(t))
		for _, k := range orderedKeys(t) {
			out = append(out, yaml.MapItem{Key: k, Value: ordered(t[k])})
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = ordered(x)
		}
		return out
	}
	return v
}

// emit prints v in yaml.Marshal's block style; ok is false when some part of it needs the encoder itself.
func emit(v map[string]any) (out []byte, ok bool) {
	if len(v) == 0 {
		return []byte("{}\n"), true
	}
	e := emitter{buf: make([]byte, 0, 512)}
	if !e.mapping(v, 0, false) {
		return nil, false
	}
	return e.buf, true
}

// width is the column beyond which yaml.v2 folds a scalar at a space.
const width = 80

// maxSimpleKey is the longest key yaml.v2 writes as a plain "key:"; a longer one is written as "? key".
const maxSimpleKey = 128

type emitter struct{ buf []byte }

func (e *emitter) indent(n int) {
	for range n {
		e.buf = append(e.buf, ' ')
	}
}

// mapping writes a non-empty mapping whose keys start at column col. inline says the first key follows a "- " that is
// already written.
func (e *emitter) mapping(m map[string]any, col int, inline bool) bool {
	keys := orderedKeys(m)
	for i, k := range keys {
		if i > 0 || !inline {
			e.indent(col)
		}
		start := len(e.buf)
		// yaml.v2 writes a key holding a line break (any of YAML's) as "? key", even escaped on one line.
		if len(k) > maxSimpleKey || !utf8.ValidString(k) || hasBreak(k) || !e.scalar(k, col) {
			return false
		}
		written := len(e.buf) - start // the key as written, quotes included
		e.buf = append(e.buf, ':')
		if !e.value(m[k], col, col+written+2) {
			return false
		}
	}
	return true
}

// value writes what follows "key:" at column col: a scalar on the same line (starting at column at), or a block
// below. yaml.v2 indents a mapping under a key by two and a sequence not at all.
func (e *emitter) value(v any, col, at int) bool {
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 {
			e.buf = append(e.buf, " {}\n"...)
			return true
		}
		e.buf = append(e.buf, '\n')
		return e.mapping(t, col+2, false)
	case []any:
		if len(t) == 0 {
			e.buf = append(e.buf, " []\n"...)
			return true
		}
		e.buf = append(e.buf, '\n')
		return e.sequence(t, col, false)
	}
	e.buf = append(e.buf, ' ')
	if !e.scalarValue(v, at) {
		return false
	}
	e.buf = append(e.buf, '\n')
	return true
}

// sequence writes a non-empty sequence whose dashes stand at column col.
func (e *emitter) sequence(s []any, col int, inline bool) bool {
	for i, item := range s {
		if i > 0 || !inline {
			e.indent(col)
		}
		e.buf = append(e.buf, "- "...)
		switch t := item.(type) {
		case map[string]any:
			if len(t) == 0 {
				e.buf = append(e.buf, "{}\n"...)
				continue
			}
			if !e.mapping(t, col+2, true) {
				return false
			}
		case []any:
			if len(t) == 0 {
				e.buf = append(e.buf, "[]\n"...)
				continue
			}
			if !e.sequence(t, col+2, true) {
				return false
			}
		default:
			if !e.scalarValue(item, col+2) {
				return false
			}
			e.buf = append(e.buf, '\n')
		}
	}
	return true
}

// scalarValue writes a scalar that starts at column at.
func (e *emitter) scalarValue(v any, at int) bool {
	switch t := v.(type) {
	case string:
		return e.scalar(t, at)
	case nil:
		e.buf = append(e.buf, "null"...)
	case bool:
		e.buf = strconv.AppendBool(e.buf, t)
	case int64:
		e.buf = strconv.AppendInt(e.buf, t, 10)
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(t), 10)
	case uint64:
		e.buf = strconv.AppendUint(e.buf, t, 10)
	case float64:
		r, ok := encoded(t)
		if !ok {
			return false
		}
		e.buf = append(e.buf, r...)
	default:
		return false
	}
	return true
}

// scalar writes a string that starts at column at, plain when that is certainly how yaml.v2 writes it, otherwise as
// yaml.v2 writes it alone, when that is one line that cannot be folded.
func (e *emitter) scalar(s string, at int) bool {
	r := s
	if !plain(s) {
		var ok bool
		if r, ok = encoded(s); !ok {
			return false
		}
	}
	if at+len(r) > width && strings.IndexByte(r, ' ') >= 0 {
		return false // yaml.v2 may fold it at a space
	}
	e.buf = append(e.buf, r...)
	return true
}

// plain says whether yaml.v2 certainly writes s as it is: it starts with a letter, so it resolves to no other type
// than a string (the words that do, such as yes, off and null, are five letters at most and go the long way), and no
// character in it makes a plain scalar impossible in block context (no line break, "#", ": " or trailing ":", no
// trailing space, nothing outside printable ASCII).
func plain(s string) bool {
	if len(s) <= 5 {
		return false
	}
	if c := s[0]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e || c == '#':
			return false
		case c == ':' && (i == len(s)-1 || s[i+1] == ' '):
			return false
		}
	}
	return s[len(s)-1] != ' '
}

// hasBreak says whether s holds a line break as YAML counts them: LF, CR, NEL, LS or PS.
func hasBreak(s string) bool { return strings.ContainsAny(s, "\n\r\u0085\u2028\u2029") }

// scalars remembers how yaml.v2 writes a scalar on its own; manifests repeat the same few strings many times.
var scalars sync.Map // any -> encodedScalar

type encodedScalar struct {
	text string
	ok   bool // one line, no line break of any kind
}

// encoded is yaml.v2's own rendering of a scalar, when it is one line.
func encoded(v any) (string, bool) {
	if r, ok := scalars.Load(v); ok {
		return r.(encodedScalar).text, r.(encodedScalar).ok
	}
	var r encodedScalar
	if b, err := yaml.Marshal(v); err == nil {
		text := strings.TrimSuffix(string(b), "\n")
		r = encodedScalar{text, !hasBreak(text)}
	}
	scalars.Store(v, r)
	return r.text, r.ok
}

// orderedKeys is sortedKeys, and for a set of keys yaml.v2's order cannot sort consistently, the order yaml.v2's sort
// gives when the keys come in byte order: an insertion sort, which sort.Sort is for up to twelve keys.
func orderedKeys(m map[string]any) []string {
	if keys, ok := sortedKeys(m); ok {
		return keys
	}
	keys := slices.Sorted(maps.Keys(m))
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keyLess(keys[j], keys[j-1]); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// sortedKeys orders a mapping's keys as yaml.v2 does: by character, except that letters come after everything else
// and runs of digits compare by their value ("port9" before "port10"). That order is not transitive for every set of
// keys with digits ("0x1F" < "1" < "020" < "0x1F"): then yaml.v2's own order depends on the map's iteration order,
// and ok is false. Without digits it is a plain character order.
//
// The transitivity check compares every pair, so it is made only for mappings of up to pairCheckLimit keys (every
// mapping a spec or chart really has). A wider one is sorted from its keys in byte order instead, so that even where
// the order is not transitive the result is the same on every run; yaml.v2's own is not, there.
func sortedKeys(m map[string]any) (keys []string, ok bool) {
	keys = make([]string, 0, len(m))
	digits := false
	for k := range m {
		if !utf8.ValidString(k) {
			return nil, false // yaml.v2 writes such a key as !!binary
		}
		keys = append(keys, k)
		digits = digits || strings.IndexFunc(k, unicode.IsDigit) >= 0
	}
	wide := digits && len(keys) > pairCheckLimit
	if wide {
		slices.Sort(keys)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if keyLess(a, b) {
			return -1
		}
		return 1 // keys differ, and of two different keys exactly one comes first
	})
	if digits && !wide {
		for i := range keys {
			for j := i + 1; j < len(keys); j++ {
				if !keyLess(keys[i], keys[j]) {
					return nil, false
				}
			}
		}
	}
	return keys, true
}

// pairCheckLimit bounds the mappings whose key order is checked pair by pair (see sortedKeys).
const pairCheckLimit = 512

// keyLess is yaml.v2's order of two string keys. It walks both strings rune by rune without copying them: the sort
// of every mapping of a fleet calls it hundreds of thousands of times.
func keyLess(a, b string) bool {
	i := 0 // byte offset of the current rune, the same in both strings until they differ
	for i < len(a) && i < len(b) {
		x, xs := utf8.DecodeRuneInString(a[i:])
		y, ys := utf8.DecodeRuneInString(b[i:])
		if x == y && xs == ys {
			i += xs
			continue
		}
		xl, yl := unicode.IsLetter(x), unicode.IsLetter(y)
		switch {
		case xl && yl:
			return x < y
		case xl || yl:
			return yl // a non-letter sorts first
		}
		// Two non-letters: compare the numbers the digit runs from here spell. A zero inside a number (one with a
		// non-zero digit before it) counts as a digit like any other: both numbers get a leading 1.
		var xn, yn int64
		if x == '0' || y == '0' {
			for j := i; j > 0; {
				r, size := utf8.DecodeLastRuneInString(a[:j])
				if !unicode.IsDigit(r) {
					break
				}
				if r != '0' {
					xn, yn = 1, 1
					break
				}
				j -= size
			}
		}
		xd, xn := digitRun(a[i:], xn)
		yd, yn := digitRun(b[i:], yn)
		if xn != yn {
			return xn < yn
		}
		if xd != yd {
			return xd < yd
		}
		return x < y
	}
	return utf8.RuneCountInString(a) < utf8.RuneCountInString(b)
}

// digitRun reads the digits at the start of s into n (n*10 + digit, as yaml.v2 does for any Unicode digit) and says
// how many there were.
func digitRun(s string, n int64) (count int, value int64) {
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		if !unicode.IsDigit(r) {
			break
		}
		n = n*10 + int64(r-'0')
		count++
		s = s[size:]
	}
	return count, n
}
