package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseProfile(t *testing.T) {
	t.Parallel()
	for _, p := range Profiles {
		got, err := ParseProfile(strings.ToUpper(string(p)))
		if err != nil || got != p {
			t.Errorf("ParseProfile(%q) = %q, %v", p, got, err)
		}
	}
	for _, bad := range []string{"", "strict", "openai"} {
		if _, err := ParseProfile(bad); err == nil || !strings.Contains(err.Error(), "portable, openai-strict, gemini") {
			t.Errorf("ParseProfile(%q) error = %v, want one listing the profiles", bad, err)
		}
	}
}

func TestApplyProfileExamples(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in       string
		strict, gemini string
	}{
		{"optional becomes nullable and required",
			`{"type":"object","properties":{"a":{"type":"string"},"n":{"type":"integer","default":3,"minimum":1}},"required":["a"],"additionalProperties":false}`,
			`{"type":"object","properties":{"a":{"type":"string"},"n":{"type":["integer","null"],"minimum":1,"description":"Default: 3."}},"required":["a","n"],"additionalProperties":false}`,
			`{"type":"object","properties":{"a":{"type":"string"},"n":{"type":"integer","default":3,"minimum":1}},"required":["a"]}`},
		{"enums: null added when optional; only strings in gemini",
			`{"type":"object","properties":{"s":{"type":"string","enum":["x","y"]},"i":{"type":"integer","description":"Level","enum":[1,2]}},"required":["i"]}`,
			`{"type":"object","properties":{"s":{"type":["string","null"],"enum":["x","y",null]},"i":{"type":"integer","description":"Level","enum":[1,2]},"_more_fields":{"type":["string","null"],"description":"` + moreFieldsDescription + `"}},"required":["s","i","_more_fields"],"additionalProperties":false}`,
			`{"type":"object","properties":{"s":{"type":"string","enum":["x","y"]},"i":{"type":"integer","description":"Level. One of: 1, 2."},"_more_fields":{"type":"string","description":"` + moreFieldsDescription + `"}},"required":["i"]}`},
		{"free-form object and any value become JSON-encoded strings",
			`{"type":"object","properties":{"m":{"type":"object","title":"Meta","description":"Extra data."},"v":{"description":"Anything."}},"required":["m"],"additionalProperties":false}`,
			`{"type":"object","properties":{"m":{"type":"string","title":"Meta","description":"Extra data. ` + encodedObjectNote + `"},"v":{"type":["string","null"],"description":"Anything. ` + encodedValueNote + `"}},"required":["m","v"],"additionalProperties":false}`,
			`{"type":"object","properties":{"m":{"type":"string","title":"Meta","description":"Extra data. ` + encodedObjectNote + `"},"v":{"type":"string","description":"Anything. ` + encodedValueNote + `"}},"required":["m"]}`},
		{"nested objects closed, arrays reshaped, unknown keywords dropped",
			`{"type":"object","properties":{"o":{"type":"object","properties":{"k":{"type":"string","format":"email","minLength":3}},"required":["k"]},"l":{"type":"array","items":{"type":["integer","null"],"enum":[1,null]}}},"required":["o","l"],"additionalProperties":false,"$schema":"x"}`,
			`{"type":"object","properties":{"o":{"type":"object","properties":{"k":{"type":"string","format":"email"}},"required":["k"],"additionalProperties":false},"l":{"type":"array","items":{"type":["integer","null"],"enum":[1,null]}}},"required":["o","l"],"additionalProperties":false}`,
			`{"type":"object","properties":{"o":{"type":"object","properties":{"k":{"type":"string","minLength":3,"description":"Format: email."}},"required":["k"]},"l":{"type":"array","items":{"type":"integer","nullable":true,"description":"One of: 1, null."}}},"required":["o","l"]}`},
		{"an object root without properties gets _more_fields",
			`{"type":"object"}`,
			`{"type":"object","properties":{"_more_fields":{"type":["string","null"],"description":"` + moreFieldsDescription + `"}},"required":["_more_fields"],"additionalProperties":false}`,
			`{"type":"object","properties":{"_more_fields":{"type":"string","description":"` + moreFieldsDescription + `"}}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for p, want := range map[Profile]string{ProfileOpenAIStrict: c.strict, ProfileGemini: c.gemini} {
				got, err := ApplyProfile(json.RawMessage(c.in), p)
				if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				if string(got) != want {
					t.Errorf("%s:\n got %s\nwant %s", p, got, want)
				}
			}
			if got, _ := ApplyProfile(json.RawMessage(c.in), ProfilePortable); string(got) != c.in {
				t.Errorf("portable changed the schema: %s", got)
			}
		})
	}
	if _, err := ApplyProfile(json.RawMessage(`[1]`), ProfileGemini); err == nil {
		t.Error("ApplyProfile accepted an array")
	}
}

func TestMapArgsBackExamples(t *testing.T) {
	t.Parallel()
	const s = `{"type":"object","properties":{"a":{"type":"string"},"n":{"type":"integer"},"m":{"type":"object"},"v":{},` +
		`"o":{"type":"object","properties":{"x":{"type":"string"},"y":{"type":"string"}},"required":["x"]},` +
		`"l":{"type":"array","items":{"type":"object"}}},"required":["a"],"additionalProperties":true}`
	cases := []struct{ name, in, want, err string }{
		{"nulls of optionals dropped, of required kept", `{"a":null,"n":null,"o":{"x":null,"y":null}}`, `{"a":null,"o":{"x":null}}`, ""},
		{"JSON-encoded objects and values decoded", `{"m":"{\"k\":1}","v":"[1,\"two\"]","l":["{\"z\":true}"]}`, `{"l":[{"z":true}],"m":{"k":1},"v":[1,"two"]}`, ""},
		{"what does not decode stays", `{"m":"not json","v":"plain text","n":"12"}`, `{"m":"not json","n":"12","v":"plain text"}`, ""},
		{"_more_fields merged, never over a given field", `{"a":"given","_more_fields":"{\"a\":\"other\",\"extra\":5}"}`, `{"a":"given","extra":5}`, ""},
		{"_more_fields may be an object or null", `{"_more_fields":{"extra":1},"n":2}`, `{"extra":1,"n":2}`, ""},
		{"_more_fields null", `{"_more_fields":null}`, `{}`, ""},
		{"_more_fields not an object", `{"_more_fields":"[1]"}`, "", `_more_fields: expected a JSON-encoded object of fields, got string "[1]"`},
		{"numbers stay exact", `{"n":12345678901234567890}`, `{"n":12345678901234567890}`, ""},
	}
	for _, c := range cases {
		for _, p := range []Profile{ProfileOpenAIStrict, ProfileGemini} {
			got, err := MapArgsBack(p, json.RawMessage(s), json.RawMessage(c.in))
			if c.err != "" {
				if err == nil || err.Error() != c.err {
					t.Errorf("%s/%s: error %v, want %s", c.name, p, err, c.err)
				}
				continue
			}
			if err != nil || string(got) != c.want {
				t.Errorf("%s/%s: got %s (%v), want %s", c.name, p, got, err, c.want)
			}
		}
	}
	in := json.RawMessage(`{"m":"{}","x":null}`)
	if got, err := MapArgsBack(ProfilePortable, json.RawMessage(s), in); err != nil || string(got) != string(in) {
		t.Errorf("portable changed the arguments: %s", got)
	}
	for _, odd := range []string{`[1]`, `nope`, ``} {
		if got, err := MapArgsBack(ProfileGemini, json.RawMessage(s), json.RawMessage(odd)); err != nil || string(got) != odd {
			t.Errorf("MapArgsBack(%q) = %s, %v; want it unchanged", odd, got, err)
		}
	}
}

// TestProfilesOverFixtures reshapes every fixture schema in every profile and
// checks each profile's rules, that the result compiles, and that arguments
// written against it (sample arguments of the original, encoded as a model
// following the reshaped schema would) map back to the very same arguments,
// which the original validates.
func TestProfilesOverFixtures(t *testing.T) {
	n := 0
	for _, f := range loadFixtures(t) {
		if f.comp.PropsError != "" {
			continue
		}
		tr, err := Translate(f.comp.ConfigurableProps, Options{App: f.app})
		if err != nil {
			continue
		}
		n++
		t.Run(f.app+"/"+f.comp.Key, func(t *testing.T) {
			v, err := NewValidator(tr)
			if err != nil {
				t.Fatal(err)
			}
			orig := decodeMap(t, tr.Schema)
			args := sampleValue(orig).(map[string]any)
			if tr.Dynamic {
				args["revealed_field"] = "r" // a field a reload would reveal
			}
			if _, errs := v.Validate(mustJSON(t, args)); len(errs) > 0 {
				t.Fatalf("sample arguments %s are not valid: %v", mustJSON(t, args), errs)
			}
			for _, p := range []Profile{ProfileOpenAIStrict, ProfileGemini} {
				out, err := ApplyProfile(tr.Schema, p)
				if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				again, _ := ApplyProfile(tr.Schema, p)
				if !bytes.Equal(out, again) {
					t.Errorf("%s: not deterministic", p)
				}
				if _, err := compile("mem:///profiled.json", out); err != nil {
					t.Errorf("%s: does not compile: %v", p, err)
				}
				shaped := decodeMap(t, out)
				for _, problem := range profileProblems(p, shaped, "") {
					t.Errorf("%s: %s", p, problem)
				}
				wire := encodeFor(p, orig, args, true)
				back, err := MapArgsBack(p, tr.Schema, mustJSON(t, wire))
				if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				if got := decodeMap(t, back); !reflect.DeepEqual(got, decodeMap(t, mustJSON(t, args))) {
					t.Errorf("%s: arguments %s map back to %s, want %s", p, mustJSON(t, wire), back, mustJSON(t, args))
				}
			}
		})
	}
	if n == 0 {
		t.Fatal("no fixture")
	}
}

// profileProblems lists where s, a reshaped schema, breaks its profile's rules.
func profileProblems(p Profile, s map[string]any, path string) []string {
	var out []string
	bad := func(format string, args ...any) {
		out = append(out, fmt.Sprintf("%s: ", strings.TrimPrefix(path+"$", ""))+fmt.Sprintf(format, args...))
	}
	typ, typed := s["type"]
	switch p {
	case ProfileOpenAIStrict:
		if _, ok := s["default"]; ok {
			bad("default")
		}
		if !typed {
			bad("no type")
		}
		if props, ok := s["properties"].(map[string]any); ok {
			req, _ := s["required"].([]any)
			if len(req) != len(props) {
				bad("%d of %d properties required", len(req), len(props))
			}
		}
		if (typ == "object" || slices.Contains(asList(typ), "object")) && s["additionalProperties"] != false {
			bad("object without additionalProperties false")
		}
	case ProfileGemini:
		if _, ok := s["additionalProperties"]; ok {
			bad("additionalProperties")
		}
		if _, ok := typ.(string); !ok {
			bad("type %v is not one string", typ)
		}
		if _, ok := s["enum"]; ok && typ != "string" {
			bad("enum on type %v", typ)
		}
		if props, ok := s["properties"].(map[string]any); typ == "object" && (!ok || len(props) == 0) {
			bad("object without properties")
		}
	}
	if props, ok := s["properties"].(map[string]any); ok {
		for _, k := range slices.Sorted(maps.Keys(props)) {
			out = append(out, profileProblems(p, props[k].(map[string]any), path+"."+k)...)
		}
	}
	if it, ok := s["items"].(map[string]any); ok {
		out = append(out, profileProblems(p, it, path+"[]")...)
	}
	return out
}

func asList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// sampleValue is a valid value of schema s: every property set (so that the
// round trip covers each), the first enum value, the minimum.
func sampleValue(s map[string]any) any {
	if e, ok := s["enum"].([]any); ok && len(e) > 0 {
		return e[0]
	}
	if d, ok := s["default"]; ok {
		return d
	}
	switch s["type"] {
	case "string":
		return "text"
	case "integer", "number":
		if m, ok := s["minimum"].(json.Number); ok {
			return m
		}
		return json.Number("2")
	case "boolean":
		return true
	case "array":
		it, _ := s["items"].(map[string]any)
		return []any{sampleValue(it)}
	case "object":
		out := map[string]any{}
		props, _ := s["properties"].(map[string]any)
		for k, ps := range props {
			if IsReservedArg(k) {
				continue
			}
			out[k] = sampleValue(ps.(map[string]any))
		}
		if len(props) == 0 {
			out["free"] = map[string]any{"k": json.Number("1")}
		}
		return out
	}
	return map[string]any{"any": []any{json.Number("1"), "two"}} // no type: any value
}

// encodeFor writes args, valid for the original schema s, the way a model
// following s reshaped by p would: absent optionals as null (strict),
// free-form objects and untyped values JSON-encoded, unlisted fields of the
// root in _more_fields.
func encodeFor(p Profile, s map[string]any, args any, root bool) any {
	props, hasProps := s["properties"].(map[string]any)
	obj, isObj := args.(map[string]any)
	switch {
	case !root && (s["type"] == nil || (s["type"] == "object" && len(props) == 0)):
		b, _ := json.Marshal(args)
		return string(b)
	case isObj && (hasProps || root):
		out := map[string]any{}
		more := map[string]any{}
		for k, v := range obj {
			if ps, ok := props[k].(map[string]any); ok {
				out[k] = encodeFor(p, ps, v, false)
			} else {
				more[k] = v
			}
		}
		if p == ProfileOpenAIStrict {
			for k := range props {
				if _, ok := out[k]; !ok {
					out[k] = nil
				}
			}
		}
		if root && len(more) > 0 {
			b, _ := json.Marshal(more)
			out[ArgMoreFields] = string(b)
		}
		return out
	case s["type"] == "array":
		list, _ := args.([]any)
		it, _ := s["items"].(map[string]any)
		out := make([]any, len(list))
		for i, x := range list {
			out[i] = encodeFor(p, it, x, false)
		}
		return out
	}
	return args
}

func decodeMap(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	return m
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
