package schema

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// toolProps is a typical tool: one prop of each shape the validator handles.
const toolProps = `[
	{"name":"test","type":"app","app":"test"},
	{"name":"text","type":"string","label":"Text","description":"The message text. Markdown works."},
	{"name":"count","type":"integer","label":"Count","min":1,"max":100,"optional":true},
	{"name":"big","type":"integer","optional":true},
	{"name":"mode","type":"string","options":["a","b"],"optional":true},
	{"name":"tags","type":"string[]","optional":true},
	{"name":"levels","type":"integer[]","optional":true},
	{"name":"flag","type":"boolean","optional":true},
	{"name":"ratio","type":"number","optional":true},
	{"name":"meta","type":"object","optional":true},
	{"name":"anything","type":"any","optional":true},
	{"name":"query","type":"sql","optional":true},
	{"name":"channel","type":"string","label":"Channel","description":"the channel ID","remoteOptions":true}
]`

func TestValidateMessages(t *testing.T) {
	t.Parallel()
	_, v := mustValidator(t, toolProps)
	const ok = `"text":"hi","channel":"C1"`
	tests := []struct {
		name string
		raw  string
		want []string // FieldError.Error() lines, in order
	}{
		{"valid", `{` + ok + `}`, nil},
		{"empty", ``, []string{
			"channel: required field is missing (Channel: the channel ID)",
			"text: required field is missing (Text: The message text)",
		}},
		{"null", `null`, []string{
			"channel: required field is missing (Channel: the channel ID)",
			"text: required field is missing (Text: The message text)",
		}},
		{"not an object", `["a","b"]`, []string{"the arguments must be a JSON object, got array of 2 items"}},
		{"a string", `"text"`, []string{`the arguments must be a JSON object, got string "text"`}},
		{"not JSON", `{"text":`, []string{"the arguments are not valid JSON: unexpected EOF"}},
		{"trailing data", `{} {}`, []string{"the arguments are not valid JSON: trailing data after the JSON value"}},
		{"integer from a word", `{` + ok + `,"count":"abc"}`, []string{`count: expected integer, got string "abc"`}},
		{"fraction for integer", `{` + ok + `,"count":1.5}`, []string{`count: expected integer, got number 1.5`}},
		{"below minimum", `{` + ok + `,"count":0}`, []string{`count: must be at least 1 (got 0)`}},
		{"above maximum", `{` + ok + `,"count":"1000"}`, []string{`count: must be at most 100 (got 1000)`}},
		{"not in enum", `{` + ok + `,"mode":"c"}`, []string{`mode: must be one of "a", "b" (got "c")`}},
		{"unknown field", `{` + ok + `,"foo":1}`, []string{
			`foo: unknown field (this tool takes: text, count, big, mode, tags, levels, flag, ratio, meta, anything, query, channel, _account_id)`,
		}},
		{"near miss", `{` + ok + `,"Tags":["x"]}`, []string{
			`Tags: unknown field (this tool takes: text, count, big, mode, tags, levels, flag, ratio, meta, anything, query, channel, _account_id); did you mean "tags"?`,
		}},
		{"app prop is not an argument", `{` + ok + `,"test":{"authProvisionId":"apn_1"}}`, []string{
			`test: unknown field (this tool takes: text, count, big, mode, tags, levels, flag, ratio, meta, anything, query, channel, _account_id)`,
		}},
		{"bad boolean word", `{` + ok + `,"flag":"yes"}`, []string{`flag: expected boolean, got string "yes"`}},
		{"bad array item", `{` + ok + `,"levels":["1","x",3]}`, []string{`levels[1]: expected integer, got string "x"`}},
		{"object given a word", `{` + ok + `,"meta":"nope"}`, []string{`meta: expected object, got string "nope"`}},
		{"nested required", `{` + ok + `,"query":{"params":[1]}}`, []string{
			`query.query: required field is missing (The SQL statement)`,
		}},
		{"nested type", `{` + ok + `,"query":{"query":true}}`, []string{`query.query: expected string, got boolean true`}},
		{"reserved argument type", `{` + ok + `,"_account_id":true}`, []string{`_account_id: expected string, got boolean true`}},
		{"huge exponent refused", `{` + ok + `,"count":1e10000000}`, []string{"count: number out of range (at most 400 characters, exponent within ±400)"}},
		{"huge nested number refused", `{` + ok + `,"anything":[1,{"x":1e999}]}`, []string{"anything[1].x: number out of range (at most 400 characters, exponent within ±400)"}},
		{"null required field", `{"text":null,"channel":"C1"}`, []string{"text: required field is missing (Text: The message text)"}},
		{"several, sorted by field", `{"count":"x","mode":"z","zzz":1}`, []string{
			"channel: required field is missing (Channel: the channel ID)",
			`count: expected integer, got string "x"`,
			`mode: must be one of "a", "b" (got "z")`,
			"text: required field is missing (Text: The message text)",
			`zzz: unknown field (this tool takes: text, count, big, mode, tags, levels, flag, ratio, meta, anything, query, channel, _account_id)`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, errs := v.Validate(json.RawMessage(tc.raw))
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
				if e.String() != e.Error() {
					t.Errorf("String() = %q, Error() = %q", e.String(), e.Error())
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("errors\n got: %q\nwant: %q", got, tc.want)
			}
		})
	}
}

func TestValidateSuggestsRenamedArgument(t *testing.T) {
	t.Parallel()
	_, v := mustValidator(t, `[{"name":"_x","type":"string","optional":true}]`)
	_, errs := v.Validate(json.RawMessage(`{"_x":"v"}`))
	want := `_x: unknown field (this tool takes: prop__x, _account_id); did you mean "prop__x"?`
	if len(errs) != 1 || errs[0].Error() != want {
		t.Errorf("errors = %v, want %q", errs, want)
	}
}

func TestValidateFieldErrorParts(t *testing.T) {
	t.Parallel()
	_, v := mustValidator(t, toolProps)
	_, errs := v.Validate(json.RawMessage(`{"text":"x"}`))
	want := []FieldError{{Field: "channel", Message: "required field is missing (Channel: the channel ID)", Description: "Channel: the channel ID"}}
	if !reflect.DeepEqual(errs, want) {
		t.Errorf("errors = %+v, want %+v", errs, want)
	}
	_, errs = v.Validate(json.RawMessage(`{"text":"x","channel":"c","count":"many"}`))
	if len(errs) != 1 || errs[0].Field != "count" || errs[0].Description != "Count" {
		t.Errorf("errors = %+v, want one for count with Description \"Count\"", errs)
	}
}

func TestValidateCoercions(t *testing.T) {
	t.Parallel()
	_, v := mustValidator(t, toolProps)
	tests := []struct {
		name      string
		field     string
		given     string // JSON
		want      string // JSON of the coerced value
		wantNotes []string
	}{
		{"numeric string to integer", "count", `"42"`, `42`, []string{`count: the string "42" was read as the integer 42`}},
		{"padded integer string", "count", `" +7 "`, `7`, []string{`count: the string " +7 " was read as the integer 7`}},
		{"big integer stays exact", "big", `"12345678901234567890123"`, `12345678901234567890123`,
			[]string{`big: the string "12345678901234567890123" was read as the integer 12345678901234567890123`}},
		{"big integer number stays exact", "big", `98765432109876543210`, `98765432109876543210`, nil},
		{"numeric string to number", "ratio", `"0.25"`, `0.25`, []string{`ratio: the string "0.25" was read as the number 0.25`}},
		{"true string", "flag", `"true"`, `true`, []string{`flag: the string "true" was read as true`}},
		{"FALSE string", "flag", `"FALSE"`, `false`, []string{`flag: the string "FALSE" was read as false`}},
		{"single value to array", "tags", `"x"`, `["x"]`, []string{"tags: a single value was read as a list of one"}},
		{"JSON array string", "tags", `"[\"a\",\"b\"]"`, `["a","b"]`, []string{"tags: the string was read as a JSON array"}},
		{"array items", "levels", `["1",2]`, `[1,2]`, []string{`levels[0]: the string "1" was read as the integer 1`}},
		{"single item coerced too", "levels", `"3"`, `[3]`, []string{
			"levels: a single value was read as a list of one",
			`levels[0]: the string "3" was read as the integer 3`,
		}},
		{"number to string", "mode", `12`, `"12"`, []string{`mode: the number 12 was read as the string "12"`}},
		{"JSON object string", "meta", `"{\"a\":1}"`, `{"a":1}`, []string{"meta: the string was read as a JSON object"}},
		{"nested object field", "query", `{"query":"select 1","usePreparedStatements":"true"}`, `{"query":"select 1","usePreparedStatements":true}`,
			[]string{`query.usePreparedStatements: the string "true" was read as true`}},
		{"any keeps null", "anything", `null`, `null`, nil},
		{"any keeps strings", "anything", `"42"`, `"42"`, nil},
		{"no coercion when right", "count", `5`, `5`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			raw := `{"text":"hi","channel":"C1","` + tc.field + `":` + tc.given + `}`
			a, errs := v.Validate(json.RawMessage(raw))
			if tc.name == "number to string" {
				// 12 becomes "12", which is then not in the enum: coercion happens
				// before validation, and the error shows the coerced value.
				if len(errs) != 1 || !strings.Contains(errs[0].Error(), `(got "12")`) {
					t.Errorf("errors = %v", errs)
				}
			} else if len(errs) > 0 {
				t.Fatalf("unexpected errors: %v", errs)
			}
			got, ok := a.Values[tc.field]
			if !ok {
				t.Fatalf("%s missing from Values", tc.field)
			}
			if g := canonValue(t, got); g != tc.want {
				t.Errorf("value = %s, want %s", g, tc.want)
			}
			if !reflect.DeepEqual(a.Notes, tc.wantNotes) {
				t.Errorf("notes = %q, want %q", a.Notes, tc.wantNotes)
			}
		})
	}
}

func TestValidateNullsAndReserved(t *testing.T) {
	t.Parallel()
	_, v := mustValidator(t, toolProps)
	a, errs := v.Validate(json.RawMessage(`{"text":"hi","channel":"C1","count":null,"_account_id":"apn_1","_dynamic_props_id":"dyp_2"}`))
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	if a.AccountID != "apn_1" || a.DynamicPropsID != "dyp_2" {
		t.Errorf("AccountID=%q DynamicPropsID=%q", a.AccountID, a.DynamicPropsID)
	}
	for _, k := range []string{"count", ArgAccountID, ArgDynamicPropsID} {
		if _, ok := a.Values[k]; ok {
			t.Errorf("Values has %s", k)
		}
	}
	if !reflect.DeepEqual(a.Notes, []string{"count: null was treated as not given"}) {
		t.Errorf("notes = %q", a.Notes)
	}
	if len(a.Values) != 2 {
		t.Errorf("Values = %v, want text and channel", a.Values)
	}
}

func TestValidateDynamicAcceptsUnknownFields(t *testing.T) {
	t.Parallel()
	_, v := mustValidator(t, `[{"name":"sheetId","type":"string","reloadProps":true},{"name":"n","type":"integer","optional":true}]`)
	a, errs := v.Validate(json.RawMessage(`{"sheetId":"s","col_0000":"A","col_0001":null,"n":"4"}`))
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	if a.Values["col_0000"] != "A" {
		t.Errorf("col_0000 = %v", a.Values["col_0000"])
	}
	if _, ok := a.Values["col_0001"]; ok {
		t.Error("null unknown field kept")
	}
	if a.Values["n"] != json.Number("4") {
		t.Errorf("n = %#v", a.Values["n"])
	}
}

func TestNewValidatorNeedsTranslate(t *testing.T) {
	t.Parallel()
	if _, err := NewValidator(&Translation{Schema: json.RawMessage(`{"type":"object"}`)}); err == nil {
		t.Error("NewValidator accepted a Translation not built by Translate")
	}
	if _, err := NewValidator(nil); err == nil {
		t.Error("NewValidator accepted nil")
	}
}
