package schema

import (
	"encoding/json"
	"testing"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
)

// FuzzTranslate: any list of props either fails to translate with an error or
// gives a portable, compilable, deterministic schema; nothing panics.
func FuzzTranslate(f *testing.F) {
	for _, fx := range loadFixtures(f) {
		if b, err := json.Marshal(fx.comp.ConfigurableProps); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var props []pdclient.ConfigurableProp
		if json.Unmarshal(data, &props) != nil {
			return
		}
		tr, err := Translate(props, Options{App: "fuzz"})
		if err != nil {
			return
		}
		checkPortable(t, tr)
		for _, p := range Profiles {
			out, err := ApplyProfile(tr.Schema, p)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if _, err := compile("mem:///profiled.json", out); err != nil {
				t.Fatalf("%s: the reshaped schema does not compile: %v", p, err)
			}
		}
		again, err := Translate(props, Options{App: "fuzz"})
		if err != nil || string(again.Schema) != string(tr.Schema) {
			t.Fatalf("not deterministic: %v", err)
		}
		v, err := NewValidator(tr)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := v.Validate(nil)
		if _, err := json.Marshal(tr.ConfiguredProps(a)); err != nil {
			t.Fatalf("configured_props do not encode: %v", err)
		}
		_ = tr.MissingRequired(a)
	})
}

// FuzzValidate: any arguments are either rejected with field errors or accepted;
// accepted (coerced) arguments validate again unchanged, without new notes, and
// encode as configured_props; nothing panics.
func FuzzValidate(f *testing.F) {
	for _, s := range []string{
		``, `null`, `{}`, `[]`, `"x"`, `{"text":"hi","channel":"C1"}`,
		`{"text":"hi","channel":"C1","count":"42","tags":"x","levels":["1",2],"flag":"TRUE","meta":"{\"a\":1}"}`,
		`{"count":1e400,"big":123456789012345678901234567890,"ratio":"1e5"}`,
		`{"query":{"query":"select $1","params":[1,"a",null]},"anything":null,"_account_id":"apn_1"}`,
		`{"mode":12,"Tags":[],"levels":"[1,2]","foo":{"bar":[]}}`,
		`{"sheetId":"s","col_0000":null,"col_0001":{"__lv":{"label":"a","value":1}}}`,
	} {
		f.Add([]byte(s))
	}
	static, vs := mustValidator(f, toolProps)
	dynamic, vd := mustValidator(f, `[{"name":"sheetId","type":"string","reloadProps":true,"withLabel":true},{"name":"n","type":"integer[]","optional":true}]`)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, c := range []struct {
			tr *Translation
			v  *Validator
		}{{static, vs}, {dynamic, vd}} {
			for _, p := range Profiles {
				_, _ = MapArgsBack(p, c.tr.Schema, data) // never panics
			}
			a, errs := c.v.Validate(data)
			for _, e := range errs {
				if e.Message == "" {
					t.Fatalf("empty message in %+v", e)
				}
			}
			if len(errs) > 0 {
				continue
			}
			again := make(map[string]any, len(a.Values)+2)
			for k, x := range a.Values {
				if k == ArgAccountID || k == ArgDynamicPropsID {
					t.Fatalf("reserved argument %s in Values", k)
				}
				again[k] = x
			}
			if a.AccountID != "" {
				again[ArgAccountID] = a.AccountID
			}
			raw, err := json.Marshal(again)
			if err != nil {
				t.Fatalf("accepted values do not encode: %v", err)
			}
			b, errs := c.v.Validate(raw)
			if len(errs) > 0 || len(b.Notes) > 0 {
				t.Fatalf("accepted values %s fail again: %v %v", raw, errs, b.Notes)
			}
			if _, err := json.Marshal(c.tr.ConfiguredProps(a)); err != nil {
				t.Fatalf("configured_props do not encode: %v", err)
			}
		}
	})
}
