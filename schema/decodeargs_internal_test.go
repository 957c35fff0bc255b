package schema

import (
	"reflect"
	"testing"
)

var decodeArgsCases = []string{
	`{}`, ` {"a":1} `, `{"a":"x","b":true,"c":false,"d":null,"e":-1.5e300,"f":[1,"2",{"g":null}],"h":{"i":{}}}`,
	`{"s":"a\"b\\c\u00e9\n","k\u0065y":1,"dup":1,"dup":"two"}`, "{\"bad\":\"\xff\"}", `{"n":12345678901234567890123}`,
	`[]`, `null`, `"x"`, `1`, `{"a":1} {}`, `{"a":}`, `{"a":1,}`, `{`, ``,
}

// TestDecodeObjectMatchesDecode: the fast path reads the arguments exactly
// as decode does, and leaves the rest to it.
func TestDecodeObjectMatchesDecode(t *testing.T) {
	for _, c := range decodeArgsCases {
		checkDecodeObject(t, []byte(c))
	}
}

func checkDecodeObject(t *testing.T, raw []byte) {
	t.Helper()
	got, ok := decodeObject(raw)
	want, err := decode(raw)
	wantObj, isObj := want.(map[string]any)
	if err != nil || !isObj {
		if ok {
			t.Fatalf("%q: fast path took %v; decode: %v, %v", raw, got, want, err)
		}
		return
	}
	if !ok {
		t.Fatalf("%q: fast path refused an object", raw)
	}
	if !reflect.DeepEqual(got, wantObj) {
		t.Fatalf("%q: fast path %#v, decode %#v", raw, got, wantObj)
	}
}

func FuzzDecodeObject(f *testing.F) {
	for _, c := range decodeArgsCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, raw []byte) { checkDecodeObject(t, raw) })
}
