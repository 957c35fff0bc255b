package pdclient

import (
	"bytes"
	"encoding/json"
	"testing"
)

// fieldsMap is Fields into a map, the last value of a key winning.
func fieldsMap(raw []byte) (map[string]json.RawMessage, bool) {
	m := map[string]json.RawMessage{}
	ok := JSONFields(raw, func(k, v []byte) bool {
		m[string(k)] = v
		return true
	})
	return m, ok
}

var objectCases = []string{
	`{}`,
	` { } `,
	`{"a":1}`,
	`{"a" : "x,}]" , "b":[1,{"c":"]}"}],"d":{"e":[[]]},"f":null,"g":true,"h":-1.5e3}`,
	`{"k\"ey":"v\\","k\u00e9":"\"}"}`,
	`{"dup":1,"dup":2}`,
	"{\n\t\"a\": {\"b\": \"{\\\"\"}\r\n}",
	`{"ret":{"id":"x","url":"https://e.com/a"},"exports":{"$summary":"ok"},"os":[]}`,
}

func TestJSONFieldsMatchesUnmarshal(t *testing.T) {
	for _, c := range objectCases {
		var want map[string]json.RawMessage
		if err := json.Unmarshal([]byte(c), &want); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		got, ok := fieldsMap([]byte(c))
		if !ok {
			t.Errorf("%s: Fields reported not an object", c)
			continue
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d keys, want %d", c, len(got), len(want))
		}
		for k, v := range want {
			if !bytes.Equal(bytes.TrimSpace(got[k]), bytes.TrimSpace(v)) {
				t.Errorf("%s: key %q = %s, want %s", c, k, got[k], v)
			}
		}
	}
}

func TestJSONFieldsNotAnObject(t *testing.T) {
	for _, c := range []string{``, `null`, `[]`, `"x"`, `1`, `{"a"}`, `{"a":`, `{"a":1`, `{"a":"x}`, `{a:1}`, `{"a":1 "b":2}`} {
		if _, ok := fieldsMap([]byte(c)); ok {
			t.Errorf("%q: Fields reported an object", c)
		}
	}
}

func TestJSONFieldStops(t *testing.T) {
	if got := string(JSONField([]byte(`{"a":1,"b":[2],"a":3}`), "a")); got != "3" {
		t.Errorf("Field a = %s, want the last value 3", got)
	}
	if got := JSONField([]byte(`{"a":1}`), "z"); got != nil {
		t.Errorf("Field z = %s, want nil", got)
	}
	n := 0
	JSONFields([]byte(`{"a":1,"b":2,"c":3}`), func(_, _ []byte) bool { n++; return n < 2 })
	if n != 2 {
		t.Errorf("fn called %d times after it returned false, want 2", n)
	}
}

func FuzzJSONFields(f *testing.F) {
	for _, c := range objectCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var want map[string]json.RawMessage
		if json.Unmarshal(raw, &want) != nil || want == nil {
			fieldsMap(raw) // must not panic
			return
		}
		got, ok := fieldsMap(raw)
		if !ok {
			t.Fatalf("%s: not an object", raw)
		}
		for k, v := range want {
			if !bytes.Equal(bytes.TrimSpace(got[k]), bytes.TrimSpace(v)) {
				t.Fatalf("%s: key %q = %s, want %s", raw, k, got[k], v)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d keys, want %d", raw, len(got), len(want))
		}
	})
}

func TestJSONFieldsAllocations(t *testing.T) {
	raw := []byte(`{"exports":{"$summary":"ok"},"os":[],"ret":{"id":"x","k\\u0065y":1}}`)
	n := testing.AllocsPerRun(100, func() {
		JSONFields(raw, func(k, v []byte) bool { return string(k) != "none" })
	})
	if n != 0 {
		t.Errorf("Fields allocates %v times per object of plain keys, want 0", n)
	}
}
