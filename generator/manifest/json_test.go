package manifest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// sameAsStd fails unless decodeJSON and encoding/json's reading give the same value, or both an error (the same one,
// since decodeJSON words errors through encoding/json). It reports whether the reader of its own took the input.
func sameAsStd(t *testing.T, in []byte) (read bool) {
	t.Helper()
	got, gotErr := decodeJSON(in)
	want, wantErr := decodeJSONStd(in)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
		t.Fatalf("%q: error %v, encoding/json says %v", in, gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\ngot  %#v\nwant %#v", in, got, want)
	}
	r := jsonReader{data: in}
	v, err := r.document()
	_, object := v.(map[string]any)
	return err == nil && (object || v == nil)
}

func TestDecodeJSONAgreesWithEncodingJSON(t *testing.T) {
	for _, c := range []struct {
		in   string
		read bool // whether the reader of its own takes it, rather than encoding/json
	}{
		{`{}`, true},
		{` {"a" : 1 } ` + "\n", true},
		{"{\"a\":\t[\r\n1 ]}", true},
		{`null`, true},
		{`{"a":{"b":[1,2,{"c":null}],"d":[]},"e":{}}`, true},
		{`{"t":true,"f":false,"n":null}`, true},
		{`{"k":"v","k":"w"}`, true}, // the last of a repeated key wins
		// numbers: int64, past int64 as uint64, past uint64 as float64, past float64 as text
		{`{"a":0,"b":-0,"c":-9223372036854775808,"d":9223372036854775808,"e":18446744073709551615}`, true},
		{`{"a":18446744073709551616,"b":1.5,"c":-2.5e-3,"d":1E+2,"e":1e400,"f":-1e400,"g":0.0}`, true},
		// escapes, the ones json.Marshal writes for HTML characters, surrogate pairs, lone surrogates
		{`{"s":"\"\\\/\b\f\n\r\t\u0041\u00e9\u003c\u003e\u0026\u2028\u0000"}`, true},
		{`{"s":"\ud83d\ude00","t":"a\ud83db","u":"\ude00","v":"\ud83d\u0041","w":"\ud83d\ud83d\ude00"}`, true},
		{`{"\u006b\u0065y":"é ٳ 😀"}`, true},
		// what encoding/json decides: invalid UTF-8 becomes U+FFFD; malformed input is refused, trailing data ignored
		{"{\"s\":\"\xff\"}", false},
		{"{\"s\":\"a\\n\xc3\"}", false},
		{"{\"s\":\"\x01\"}", false},
		{`{"s":"\x"}`, false},
		{`{"s":"\u12"}`, false},
		{`{"a":01}`, false},
		{`{"a":1.}`, false},
		{`{"a":.5}`, false},
		{`{"a":1e}`, false},
		{`{"a":-}`, false},
		{`{"a":+1}`, false},
		{`{"a":tru}`, false},
		{`{"a":1,}`, false},
		{`{"a" 1}`, false},
		{`{a:1}`, false},
		{`{"a":[1,]}`, false},
		{`{"a":[1 2]}`, false},
		{`{"a":1`, false},
		{`{"a":"`, false},
		{`{} {}`, false},
		{`{}x`, false},
		{`[1]`, false},
		{`"s"`, false},
		{`1`, false},
		{``, false},
		{`   `, false},
		{strings.Repeat(`{"a":`, maxJSONDepth+1) + `1` + strings.Repeat(`}`, maxJSONDepth+1), false},
	} {
		if read := sameAsStd(t, []byte(c.in)); read != c.read {
			t.Errorf("%.60q: read here %v, want %v", c.in, read, c.read)
		}
	}
}

// Random values as json.Marshal writes them are all read here, and equal encoding/json's reading; each one cut short
// or with one byte changed still decodes as encoding/json decodes it.
func TestDecodeJSONAgreesOnRandomValues(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for range 3000 {
		v := map[string]any{}
		for range 1 + r.IntN(6) {
			v[randomString(r)] = randomValue(r, 1)
		}
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if !sameAsStd(t, j) {
			t.Fatalf("json.Marshal output not read here: %s", j)
		}
		sameAsStd(t, j[:r.IntN(len(j))])
		changed := append([]byte(nil), j...)
		changed[r.IntN(len(changed))] = "{}[]\",:\\u0123456789eE.-+ \x01\xff\xc3"[r.IntN(25)]
		sameAsStd(t, changed)
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,-2.5e3,"\ud83d\ude00",{"b":null}]}`, `{"s":"\u003c\ud800"}`, "{\"s\":\"\xff\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) { sameAsStd(t, in) })
}
