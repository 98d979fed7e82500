package spec

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// decodeAny must give exactly what yaml.v3's own decoding into interface{} gives, for every kind of node it walks
// itself and every kind it hands over.
func TestDecodeAnyEqualsYAMLv3(t *testing.T) {
	docs := []string{
		"a: 1\nb: [x, 2, 3.5, true, null, ~, '7', !!str 8, 0x1F, 1e3, .inf, 2001-12-14]\nc: {d: {e: [ {f: g} ]}}\n",
		"base: &b {x: 1, y: [1, 2]}\nuse: *b\nmerged: {<<: *b, y: 3}\n",
		"1: int key\ntrue: bool key\n? [complex]\n: key\nnull: n\n",
		"tagged: !custom {a: b}\nseq: !!set {a, b}\nbin: !!binary aGVsbG8=\nts: !!timestamp 2020-01-02T03:04:05Z\n",
		"empty: {}\nlist: []\nnested: [[[]], {}]\nblock: |\n  two\n  lines\nfolded: >\n  one\n  line\n",
		"anchored: &s str\nalias: *s\nseq: [&i 1, *i]\n",
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		docs = append(docs, randomDoc(r, 0))
	}
	for _, doc := range docs {
		var root yaml.Node
		if err := yaml.Unmarshal([]byte(doc), &root); err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
		n := root.Content[0]
		var want any
		werr := n.Decode(&want)
		got, gerr := decodeAny(n)
		if (werr != nil) != (gerr != nil) || !reflect.DeepEqual(normalizeAny(got), normalizeAny(want)) {
			t.Fatalf("%s\ndecodeAny: %#v (%v)\nyaml.v3:   %#v (%v)", doc, got, gerr, want, werr)
		}
	}
}

// randomDoc writes a random mapping in block or flow style, with scalars of every plain type.
func randomDoc(r *rand.Rand, depth int) string {
	scalars := []string{"x", "'q'", "\"d\"", "12", "-3", "4.5", "true", "no", "null", "~", "0o17", "1_000", "2021-01-01", "!!str 9", "!!int '10'"}
	var b strings.Builder
	b.WriteString("{")
	for i := range 1 + r.IntN(4) {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "k%d: ", r.IntN(5)+i*5)
		switch k := r.IntN(4); {
		case k == 0 && depth < 3:
			b.WriteString(randomDoc(r, depth+1))
		case k == 1 && depth < 3:
			b.WriteString("[" + scalars[r.IntN(len(scalars))] + ", " + randomDoc(r, depth+1) + "]")
		default:
			b.WriteString(scalars[r.IntN(len(scalars))])
		}
	}
	b.WriteString("}")
	return b.String()
}
