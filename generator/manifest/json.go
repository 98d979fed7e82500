package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeJSON decodes a JSON object into the value YAML should print: maps, slices, strings, bools, nil, and numbers
// as int64, uint64 or float64 (see number). Every object passes through here twice on its way to a file (json.Marshal,
// then this), and encoding/json's decoding into interfaces was half of rendering a fleet, so strictly valid input
// is read by a single-pass reader of its own. Anything that reader does not accept (malformed JSON, invalid UTF-8,
// trailing data, very deep nesting) is decoded by encoding/json as before, which then decides and words any error;
// the tests hold the two to equal values on random and hand-made input.
func decodeJSON(j []byte) (map[string]any, error) {
	r := jsonReader{data: j}
	if v, err := r.document(); err == nil {
		m, ok := v.(map[string]any)
		if ok || v == nil {
			return m, nil
		}
	}
	return decodeJSONStd(j)
}

// decodeJSONStd is encoding/json's reading of the same value.
func decodeJSONStd(j []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	numbers(m)
	return m, nil
}

// maxJSONDepth bounds nesting as encoding/json does; deeper input goes to encoding/json.
const maxJSONDepth = 10000

// errDecline says the reader leaves the input to encoding/json.
var errDecline = errors.New("not read here")

type jsonReader struct {
	data  []byte
	pos   int
	depth int
}

// document reads one value and nothing after it but whitespace.
func (r *jsonReader) document() (any, error) {
	v, err := r.value()
	if err != nil {
		return nil, err
	}
	r.space()
	if r.pos != len(r.data) {
		return nil, errDecline
	}
	return v, nil
}

func (r *jsonReader) space() {
	for r.pos < len(r.data) {
		switch r.data[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

func (r *jsonReader) value() (any, error) {
	r.space()
	if r.pos >= len(r.data) {
		return nil, errDecline
	}
	switch c := r.data[r.pos]; {
	case c == '{':
		return r.object()
	case c == '[':
		return r.array()
	case c == '"':
		return r.str()
	case c == 't':
		return true, r.literal("true")
	case c == 'f':
		return false, r.literal("false")
	case c == 'n':
		return nil, r.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return r.number()
	}
	return nil, errDecline
}

func (r *jsonReader) literal(word string) error {
	if !bytes.HasPrefix(r.data[r.pos:], []byte(word)) {
		return errDecline
	}
	r.pos += len(word)
	return nil
}

func (r *jsonReader) enter() error {
	if r.depth++; r.depth > maxJSONDepth {
		return errDecline
	}
	r.pos++ // the opening bracket
	return nil
}

// closing reads the closing bracket if it comes next (after whitespace), leaving the container.
func (r *jsonReader) closing(bracket byte) bool {
	r.space()
	if r.pos < len(r.data) && r.data[r.pos] == bracket {
		r.pos++
		r.depth--
		return true
	}
	return false
}

// after reads what follows a member or an element: a comma (done is false) or the closing bracket.
func (r *jsonReader) after(bracket byte) (done bool, err error) {
	if r.closing(bracket) {
		return true, nil
	}
	if r.pos < len(r.data) && r.data[r.pos] == ',' {
		r.pos++
		return false, nil
	}
	return false, errDecline
}

func (r *jsonReader) object() (any, error) {
	if err := r.enter(); err != nil {
		return nil, err
	}
	m := map[string]any{}
	for done := r.closing('}'); !done; {
		r.space()
		if r.pos >= len(r.data) || r.data[r.pos] != '"' {
			return nil, errDecline
		}
		k, err := r.str()
		if err != nil {
			return nil, err
		}
		r.space()
		if r.pos >= len(r.data) || r.data[r.pos] != ':' {
			return nil, errDecline
		}
		r.pos++
		v, err := r.value()
		if err != nil {
			return nil, err
		}
		m[k] = v // a repeated key keeps its last value, as in encoding/json
		if done, err = r.after('}'); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (r *jsonReader) array() (any, error) {
	if err := r.enter(); err != nil {
		return nil, err
	}
	s := []any{}
	for done := r.closing(']'); !done; {
		v, err := r.value()
		if err != nil {
			return nil, err
		}
		s = append(s, v)
		if done, err = r.after(']'); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// str reads a string whose opening quote is at pos. Control characters and invalid UTF-8 decline (encoding/json
// refuses the first and replaces the second); escapes are decoded as encoding/json decodes them, a lone surrogate
// included (U+FFFD).
func (r *jsonReader) str() (string, error) {
	start := r.pos + 1
	i := start
	for i < len(r.data) {
		c := r.data[i]
		if c == '"' {
			s := r.data[start:i]
			if !utf8.Valid(s) {
				return "", errDecline
			}
			r.pos = i + 1
			return string(s), nil
		}
		if c == '\\' {
			return r.escaped(start, i)
		}
		if c < 0x20 {
			return "", errDecline
		}
		i++
	}
	return "", errDecline
}

// escaped reads the rest of a string that starts at start and holds its first escape at i.
func (r *jsonReader) escaped(start, i int) (string, error) {
	out := append(make([]byte, 0, i-start+16), r.data[start:i]...)
	for i < len(r.data) {
		c := r.data[i]
		switch {
		case c == '"':
			if !utf8.Valid(out) {
				return "", errDecline
			}
			r.pos = i + 1
			return string(out), nil
		case c < 0x20:
			return "", errDecline
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(r.data) {
			return "", errDecline
		}
		switch e := r.data[i+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			rr, ok := hex4(r.data, i+2)
			if !ok {
				return "", errDecline
			}
			i += 6
			if utf16.IsSurrogate(rr) {
				// A high surrogate followed by an escaped low one is one character; anything else is U+FFFD and the
				// next escape is read on its own.
				if lo, ok := hex4(r.data, i+2); ok && i+1 < len(r.data) && r.data[i] == '\\' && r.data[i+1] == 'u' {
					if dec := utf16.DecodeRune(rr, lo); dec != utf8.RuneError {
						out = utf8.AppendRune(out, dec)
						i += 6
						continue
					}
				}
				rr = utf8.RuneError
			}
			out = utf8.AppendRune(out, rr)
			continue
		default:
			return "", errDecline
		}
		i += 2
	}
	return "", errDecline
}

// hex4 reads four hex digits at i.
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number reads a number of JSON's grammar and gives what number makes of it.
func (r *jsonReader) number() (any, error) {
	start := r.pos
	i := start
	digits := func() int {
		n := 0
		for i < len(r.data) && r.data[i] >= '0' && r.data[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if r.data[i] == '-' {
		i++
	}
	if i < len(r.data) && r.data[i] == '0' {
		i++
	} else if digits() == 0 {
		return nil, errDecline
	}
	if i < len(r.data) && r.data[i] == '.' {
		i++
		if digits() == 0 {
			return nil, errDecline
		}
	}
	if i < len(r.data) && (r.data[i] == 'e' || r.data[i] == 'E') {
		i++
		if i < len(r.data) && (r.data[i] == '+' || r.data[i] == '-') {
			i++
		}
		if digits() == 0 {
			return nil, errDecline
		}
	}
	r.pos = i
	return number(string(r.data[start:i])), nil
}

// number is a JSON number as a YAML parser reading the JSON would hold it: int64, else uint64 (integers up to
// 2^64-1 stay exact), else float64, else (out of float64's range) its text.
func number(s string) any {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i
	}
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		return u
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f
	}
	return s
}
