package manifest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"go.yaml.in/yaml/v2"
)

// tricky are strings whose YAML style is easy to get wrong: words YAML 1.1 reads as booleans or null, numbers in
// every notation, timestamps, sexagesimal numbers, indicators at the start, ": " and " #" inside, quotes, spaces at
// the ends, line breaks, tabs, non-ASCII, and long text that yaml.v2 folds at column 80.
var tricky = []string{
	"", " ", "a", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "NO", "on", "On", "ON", "off", "Off", "true", "True",
	"TRUE", "false", "False", "null", "Null", "NULL", "~", "-", "--", "---", "...", "<<", "=", ".inf", "-.inf", ".nan",
	"0", "00", "007", "0644", "0x1F", "0o17", "0b101", "1_000", "+1", "-1", "1.5", "1e3", "1E+3", "6443", "50000",
	"2379-2380", "9962-9964/tcp", "1:20", "1:20:30", "20:30.5", "2001-12-14", "2001-12-14T21:59:43.10-05:00",
	"10.0.0.0/8", "1.20.2", "~1.16.0", "v1", "kube-system", "helm.toolkit.fluxcd.io/v2", "https://helm.cilium.io/",
	"a: b", "a:b", "a:", ":a", "a #b", "a#b", "#a", "@a", "a@b", "%a", "!a", "&a", "*a", "|a", ">a", "?a", "? a", "'a",
	"\"a", "a'b", "a\"b", "`a", "[a]", "{a}", "a,b", "a ", " a", "a  b", "a\tb", "a\nb", "a\n", "\n", "grüße", "日本",
	"\u00a0", "\ufeffa", "a\x7fb", "a\u2028b", "a\u0085b", "\u2029", "a\rb", "\x00", "ENC[AES256_GCM,data:abc=,iv:def=,tag:ghi=,type:str]", "**SOPS**", "*****",
	strings.Repeat("word ", 30), strings.Repeat("x", 200), "short words then a long tail " + strings.Repeat("y", 70),
	strings.Repeat("k", 128), strings.Repeat("k", 129), strings.Repeat("é", 64), strings.Repeat("é", 65), "1" + strings.Repeat("0", 127),
	"reachability-check", "CiliumClusterwideNetworkPolicy", "k8s:io.kubernetes.pod.namespace", "node-role.kubernetes.io/control-plane",
}

// randomValue builds a JSON value of the shapes manifests have, from tricky strings, random strings and numbers.
func randomValue(r *rand.Rand, depth int) any {
	switch n := r.IntN(10); {
	case depth < 4 && n < 3:
		m := map[string]any{}
		for range r.IntN(5) {
			m[randomString(r)] = randomValue(r, depth+1)
		}
		return m
	case depth < 4 && n < 5:
		s := make([]any, r.IntN(4))
		for i := range s {
			s[i] = randomValue(r, depth+1)
		}
		return s
	case n < 8:
		return randomString(r)
	}
	switch r.IntN(6) {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return r.Int64() - math.MaxInt64/2
	case 3:
		return uint64(math.MaxInt64) + r.Uint64N(1000)
	case 4:
		return r.NormFloat64() * 1e6
	}
	return int64(r.IntN(70000))
}

func randomString(r *rand.Rand) string {
	if r.IntN(2) == 0 {
		return tricky[r.IntN(len(tricky))]
	}
	const alphabet = "abcXYZ0129_-./: #'\"éٳ\t"
	runes := []rune(alphabet)
	var b strings.Builder
	for range r.IntN(12) {
		b.WriteRune(runes[r.IntN(len(runes))])
	}
	if r.IntN(20) == 0 { // now and then one of YAML's other line breaks
		breaks := []string{"\r", "\u0085", "\u2028", "\u2029"}
		b.WriteString(breaks[r.IntN(len(breaks))])
		b.WriteRune(runes[r.IntN(len(runes))])
	}
	return b.String()
}

// reference is what yaml.v2 prints for v: the map itself when yaml.v2 orders every mapping's keys consistently,
// otherwise the mappings in the fixed order marshal gives them (yaml.v2's own order then changes from run to run).
func reference(v map[string]any) ([]byte, error) {
	if consistent(v) {
		return yaml.Marshal(v)
	}
	return yaml.Marshal(ordered(v))
}

func consistent(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		if _, ok := sortedKeys(t); !ok {
			return false
		}
		for _, x := range t {
			if !consistent(x) {
				return false
			}
		}
	case []any:
		for _, x := range t {
			if !consistent(x) {
				return false
			}
		}
	}
	return true
}

// yaml.v2 writes the keys "1", "020" and "0x1F" in an order that changes from run to run; marshal always writes the
// same, one of yaml.v2's orders, whether it prints the value itself or hands it to yaml.v2.
func TestMarshalIsDeterministicWhereYAMLv2IsNot(t *testing.T) {
	keys := map[string]any{"1": 1, "020": 2, "0x1F": 3}
	yamlv2 := map[string]bool{}
	for range 500 {
		b, _ := yaml.Marshal(keys)
		yamlv2[string(b)] = true
	}
	if len(yamlv2) < 2 {
		t.Fatalf("yaml.v2 wrote these keys in one order only, so this test shows nothing: %v", yamlv2)
	}
	for _, v := range []map[string]any{
		keys,
		{"values": keys, "text": "two\nlines"}, // a multi-line string sends the whole value to yaml.v2
	} {
		first, err := marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		for range 200 {
			if b, _ := marshal(v); string(b) != string(first) {
				t.Fatalf("marshal wrote\n%s\nthen\n%s", first, b)
			}
		}
		if _, ok := v["values"]; !ok && !yamlv2[string(first)] {
			t.Errorf("marshal wrote an order yaml.v2 never writes:\n%s", first)
		}
	}
}

// The emitter prints exactly what yaml.v2 prints, or steps aside; and it does not step aside for ordinary values.
func TestEmitEqualsYAMLv2(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	taken := 0
	const n = 20000
	for i := range n {
		v := map[string]any{}
		for range 1 + r.IntN(6) {
			v[randomString(r)] = randomValue(r, 1)
		}
		want, err := reference(v)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := emit(v)
		if !ok {
			continue
		}
		taken++
		if string(got) != string(want) {
			t.Fatalf("value %d: %#v\nemitted\n%s\nyaml.v2 writes\n%s", i, v, got, want)
		}
	}
	t.Logf("the emitter printed %d of %d random values itself", taken, n)
	if taken < n/4 {
		t.Errorf("the emitter printed only %d of %d random values itself", taken, n)
	}
}

// Each tricky string as a key and as a value, at the top and nested, in mappings and sequences.
func TestEmitTrickyStrings(t *testing.T) {
	// Values around column 80 after keys yaml.v2 quotes (and escapes): the key as written counts toward the column
	// where folding starts.
	for _, k := range []string{"n", "yes", "k", "1", "a\tb", "it's", "a: b"} {
		for n := 60; n <= 85; n++ {
			long := strings.Repeat("x", n-2) + " y"
			v := map[string]any{k: long, "nested": map[string]any{k: long}, "list": []any{long, map[string]any{k: long}}}
			want, _ := reference(v)
			if got, ok := emit(v); ok && string(got) != string(want) {
				t.Errorf("%#v:\nemitted\n%s\nyaml.v2 writes\n%s", v, got, want)
			}
		}
	}
	for _, s := range tricky {
		for _, v := range []map[string]any{
			{s: "x"}, {"k": s}, {"k": []any{s, map[string]any{s: s}}}, {"a": map[string]any{"b": map[string]any{s: []any{s}}}},
			{"list": []any{[]any{s, []any{}}, map[string]any{}, nil}},
		} {
			want, err := reference(v)
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := emit(v); ok && string(got) != string(want) {
				t.Errorf("%#v:\nemitted\n%s\nyaml.v2 writes\n%s", v, got, want)
			}
		}
	}
}

// Keys in yaml.v2's order, which is not byte order: letters after other characters, digit runs by value.
func TestKeyOrderEqualsYAMLv2(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const alphabet = "aZb_-.0109é٣ "
	runes := []rune(alphabet)
	inconsistent := 0
	defer func() {
		t.Logf("%d of 3000 key sets are not ordered consistently", inconsistent)
		if inconsistent > 300 {
			t.Errorf("%d of 3000 key sets were found inconsistent: the check is too eager", inconsistent)
		}
	}()
	for range 3000 {
		m := map[string]any{}
		for range 2 + r.IntN(6) {
			var b strings.Builder
			for range 1 + r.IntN(6) {
				b.WriteRune(runes[r.IntN(len(runes))])
			}
			m[b.String()] = 1
		}
		var want []string
		out, err := yaml.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var order yaml.MapSlice
		if err := yaml.Unmarshal(out, &order); err != nil {
			t.Fatal(err)
		}
		for _, item := range order {
			want = append(want, fmt.Sprint(item.Key))
		}
		got, ok := sortedKeys(m)
		if !ok {
			inconsistent++
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("keys %q: sorted %q, yaml.v2 %q", got, got, want)
		}
	}
}

func FuzzEmit(f *testing.F) {
	f.Add(uint64(1), uint64(2))
	f.Fuzz(func(t *testing.T, a, b uint64) {
		r := rand.New(rand.NewPCG(a, b))
		v := map[string]any{}
		for range 1 + r.IntN(6) {
			v[randomString(r)] = randomValue(r, 1)
		}
		want, err := reference(v)
		if err != nil {
			t.Skip()
		}
		if got, ok := emit(v); ok && string(got) != string(want) {
			t.Fatalf("%#v:\nemitted\n%s\nyaml.v2 writes\n%s", v, got, want)
		}
	})
}

// A mapping too wide for the pairwise check of its key order still prints the same on every run, even when its keys
// hold a triple yaml.v2 cannot order ("0x1F" < "1" < "020" < "0x1F"): maps iterate in a new order each time.
func TestWideMappingOrderIsStable(t *testing.T) {
	m := map[string]any{"0x1F": 1, "1": 2, "020": 3}
	for i := range pairCheckLimit + 100 {
		m[fmt.Sprintf("k%d", i)] = i
	}
	first, err := Encode(map[string]any{"values": m})
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, err := Encode(map[string]any{"values": m})
		if err != nil {
			t.Fatal(err)
		}
		if string(again) != string(first) {
			t.Fatal("a wide mapping printed in another order")
		}
	}
}
