package schema

import (
	"encoding/json"
	"reflect"
	"testing"
)

const configuredProps = `[
	{"name":"googleSheets","type":"app","app":"test"},
	{"name":"other","type":"app","app":"slack"},
	{"name":"sheetId","type":"string","withLabel":true,"options":[{"label":"Budget 2025","value":"s1"},{"label":"Plan","value":"s2"}]},
	{"name":"tableId","type":"string","withLabel":true,"remoteOptions":true,"optional":true},
	{"name":"fields","type":"string[]","withLabel":true,"optional":true,"options":[{"label":"Name","value":"fld1"},"fld2"]},
	{"name":"num","type":"integer","withLabel":true,"optional":true,"options":[{"label":"One","value":1}]},
	{"name":"drive","type":"string","optional":true,"default":"My Drive"},
	{"name":"mode","type":"string","withLabel":true,"default":"fast","options":[{"label":"Fast mode","value":"fast"},"slow"]},
	{"name":"limit","type":"integer","default":100},
	{"name":"_meta","type":"string","optional":true},
	{"name":"hidden","type":"string","hidden":true,"reloadProps":true}
]`

func TestConfiguredProps(t *testing.T) {
	t.Parallel()
	tr, v := mustValidator(t, configuredProps)
	const defaults = `"drive":"My Drive","mode":{"__lv":{"label":"Fast mode","value":"fast"}},"limit":100`
	tests := []struct {
		name string
		args string
		want string
	}{
		{"label from the option", `{"sheetId":"s1"}`,
			`{"sheetId":{"__lv":{"label":"Budget 2025","value":"s1"}},` + defaults + `}`},
		{"label is the value without a matching option", `{"sheetId":"s1","tableId":"tbl9"}`,
			`{"sheetId":{"__lv":{"label":"Budget 2025","value":"s1"}},"tableId":{"__lv":{"label":"tbl9","value":"tbl9"}},` + defaults + `}`},
		{"array of labelled values", `{"sheetId":"s2","fields":["fld1","fld2"]}`,
			`{"sheetId":{"__lv":{"label":"Plan","value":"s2"}},"fields":{"__lv":[{"label":"Name","value":"fld1"},{"label":"fld2","value":"fld2"}]},` + defaults + `}`},
		{"number labels", `{"sheetId":"s1","num":"1"}`,
			`{"sheetId":{"__lv":{"label":"Budget 2025","value":"s1"}},"num":{"__lv":{"label":"One","value":1}},` + defaults + `}`},
		{"given values beat defaults", `{"sheetId":"s1","drive":"Shared","limit":"5","mode":"slow"}`,
			`{"sheetId":{"__lv":{"label":"Budget 2025","value":"s1"}},"drive":"Shared","limit":5,"mode":{"__lv":{"label":"slow","value":"slow"}}}`},
		{"renamed prop mapped back, reserved removed", `{"sheetId":"s1","prop__meta":"m","_account_id":"apn_1","_dynamic_props_id":"dyp_1"}`,
			`{"sheetId":{"__lv":{"label":"Budget 2025","value":"s1"}},"_meta":"m",` + defaults + `}`},
		{"dynamic fields pass through, app props do not", `{"sheetId":"s1","col_0000":"A","googleSheets":{"authProvisionId":"apn_x"},"other":1}`,
			`{"sheetId":{"__lv":{"label":"Budget 2025","value":"s1"}},"col_0000":"A",` + defaults + `}`},
		{"already wrapped kept", `{"sheetId":{"__lv":{"label":"Mine","value":"s1"}}}`,
			`{"sheetId":{"__lv":{"label":"Mine","value":"s1"}},` + defaults + `}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, errs := v.Validate(json.RawMessage(tc.args))
			if tc.name == "already wrapped kept" {
				// the schema wants a string; the error is reported, and
				// ConfiguredProps still does not double-wrap
				if len(errs) != 1 {
					t.Errorf("errors = %v", errs)
				}
			} else if len(errs) > 0 {
				t.Fatalf("errors: %v", errs)
			}
			got := canonValue(t, tr.ConfiguredProps(a))
			if want := canonJSON(t, tc.want); got != want {
				t.Errorf("configured_props\n got: %s\nwant: %s", got, want)
			}
		})
	}
}

func TestConfiguredPropsKeepsIntegersExact(t *testing.T) {
	t.Parallel()
	tr, v := mustValidator(t, `[{"name":"id","type":"integer"},{"name":"ids","type":"integer[]"}]`)
	a, errs := v.Validate(json.RawMessage(`{"id":9007199254740993,"ids":["9007199254740995"]}`))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	b, err := json.Marshal(tr.ConfiguredProps(a))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"id":9007199254740993,"ids":[9007199254740995]}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}

// TestConfiguredPropsDefaultsAreCopies: defaults are decoded once per
// translation, and every call gets values of its own: changing one call's
// configured_props does not reach the next call's.
func TestConfiguredPropsDefaultsAreCopies(t *testing.T) {
	t.Parallel()
	tr, v := mustValidator(t, `[{"name":"opts","type":"object","default":{"a":[1,{"b":2}]}},{"name":"tags","type":"string[]","default":["x"]}]`)
	a, errs := v.Validate(json.RawMessage(`{}`))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	first := tr.ConfiguredProps(a)
	first["opts"].(map[string]any)["a"].([]any)[1].(map[string]any)["b"] = "changed"
	first["tags"].([]any)[0] = "changed"
	if got, want := canonValue(t, tr.ConfiguredProps(a)), canonJSON(t, `{"opts":{"a":[1,{"b":2}]},"tags":["x"]}`); got != want {
		t.Errorf("second call's configured_props = %s, want the defaults %s", got, want)
	}
}

func TestMissingRequired(t *testing.T) {
	t.Parallel()
	// The static schema had only sheetId; the reload revealed more fields.
	_, v := mustValidator(t, `[{"name":"sheetId","type":"string","reloadProps":true}]`)
	a, errs := v.Validate(json.RawMessage(`{"sheetId":"s1","col_0000":"x"}`))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	reloaded := mustTranslate(t, `[
		{"name":"sheetId","type":"string","reloadProps":true},
		{"name":"col_0000","type":"string","label":"Name"},
		{"name":"myColumnData","type":"string[]","label":"Values","description":"Provide a value for each cell. More text."},
		{"name":"col_0002","type":"string","optional":true},
		{"name":"_x","type":"string"},
		{"name":"withDefault","type":"string","default":"d"}
	]`)
	got := reloaded.MissingRequired(a)
	want := []FieldError{
		{Field: "myColumnData", Message: "required field is missing (Values: Provide a value for each cell)", Description: "Values: Provide a value for each cell"},
		{Field: "prop__x", Message: "required field is missing"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("MissingRequired =\n%+v\nwant\n%+v", got, want)
	}
	a.Values["_x"] = "given under the prop name"
	a.Values["myColumnData"] = []any{"v"}
	if got := reloaded.MissingRequired(a); len(got) != 0 {
		t.Errorf("MissingRequired = %v, want none", got)
	}
}
