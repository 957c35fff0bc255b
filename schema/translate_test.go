package schema

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
)

func TestTranslatePropTypes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		prop string // one prop, named "p"
		want string // its property schema
	}{
		{"string", `{"type":"string"}`, `{"type":"string"}`},
		{"label and description", `{"type":"string","label":"Channel","description":"Where to post"}`,
			`{"type":"string","title":"Channel","description":"Where to post."}`},
		{"label restating the description left out", `{"type":"string","label":"Channel","description":"The channel ID"}`,
			`{"type":"string","description":"The channel ID."}`},
		{"label restating the name left out", `{"type":"string","label":"P"}`, `{"type":"string"}`},
		{"label restating value labels left out", `{"type":"string","options":[{"label":"In progress","value":"in_progress"}]}`,
			`{"type":"string","enum":["in_progress"]}`},
		{"string array", `{"type":"string[]"}`, `{"type":"array","items":{"type":"string"}}`},
		{"integer bounds", `{"type":"integer","min":1,"max":5}`, `{"type":"integer","minimum":1,"maximum":5}`},
		{"integer bounds as strings", `{"type":"integer","min":"0"}`, `{"type":"integer","minimum":0}`},
		{"impossible bounds dropped", `{"type":"integer","min":5,"max":1}`, `{"type":"integer"}`},
		{"integer array bounds on items", `{"type":"integer[]","min":0,"max":9}`,
			`{"type":"array","items":{"type":"integer","minimum":0,"maximum":9}}`},
		{"boolean default", `{"type":"boolean","default":false}`, `{"type":"boolean","default":false}`},
		{"number", `{"type":"number","max":1.5}`, `{"type":"number","maximum":1.5}`},
		{"object", `{"type":"object"}`, `{"type":"object"}`},
		{"any has no type", `{"type":"any"}`, `{"description":"Any JSON value (string, number, boolean, array or object)."}`},
		{"unknown type kept free", `{"type":"$.magic","label":"M"}`,
			`{"title":"M","description":"Any JSON value: this server does not know the prop type \"$.magic\"; give the value the action expects."}`},
		{"airtable base", `{"type":"$.airtable.baseId","appProp":"a"}`, `{"type":"string","description":"An Airtable base ID (app...)."}`},
		{"discord channel", `{"type":"$.discord.channel"}`, `{"type":"string","description":"A Discord channel ID."}`},
		{"discord channels", `{"type":"$.discord.channel[]"}`,
			`{"type":"array","description":"Discord channel IDs.","items":{"type":"string"}}`},
		{"secret in words", `{"type":"string","secret":true}`, `{"type":"string","description":"Sensitive value (secret)."}`},
		{"file-ref in words", `{"type":"string","format":"file-ref"}`,
			`{"type":"string","description":"A file: give a URL or a path under /tmp."}`},
		{"bare options", `{"type":"string","options":["a","b"]}`, `{"type":"string","enum":["a","b"]}`},
		{"labelled options", `{"type":"string","options":[{"label":"Alpha","value":"a"},{"label":"b","value":"b"}]}`,
			`{"type":"string","description":"Labels: \"a\": Alpha.","enum":["a","b"]}`},
		{"lv options", `{"type":"integer","options":[{"__lv":{"label":"One","value":1}},{"__lv":{"label":"2","value":2}}]}`,
			`{"type":"integer","description":"Labels: 1: One.","enum":[1,2]}`},
		{"options of another type listed", `{"type":"string","options":[{"label":"One","value":1},"two"]}`,
			`{"type":"string","description":"Options: 1: One; \"two\"."}`},
		{"unmanageable numbers stay out of enum and default", `{"type":"integer","options":[1,1e10000000],"default":1e10000000}`,
			`{"type":"integer","description":"Options: 1; 1e10000000. Default: 1e10000000."}`},
		{"duplicate options once", `{"type":"string","options":["x","x"]}`, `{"type":"string","enum":["x"]}`},
		{"array options on items", `{"type":"string[]","options":["r","g"],"default":["r"]}`,
			`{"type":"array","default":["r"],"items":{"type":"string","enum":["r","g"]}}`},
		{"default outside enum in words", `{"type":"string","options":["a"],"default":"z"}`,
			`{"type":"string","description":"Default: \"z\".","enum":["a"]}`},
		{"default of wrong type in words", `{"type":"integer","default":"ten"}`,
			`{"type":"integer","description":"Default: \"ten\"."}`},
		{"remote options", `{"type":"string","remoteOptions":true}`,
			`{"type":"string","description":"Values: pipedream_list_options."}`},
		{"remote options with query", `{"type":"string","remoteOptions":true,"useQuery":true}`,
			`{"type":"string","description":"Values: pipedream_list_options (supports query)."}`},
		{"reload", `{"type":"boolean","reloadProps":true}`,
			`{"type":"boolean","description":"Other fields depend on this one: call pipedream_describe."}`},
		{"markdown link", `{"type":"string","description":"See [the docs](https://x.test/d)"}`,
			`{"type":"string","description":"See the docs (https://x.test/d)."}`},
		{"sql", `{"type":"sql","auth":{"app":"postgresql"}}`, `{"type":"object","description":"A SQL statement with its parameters.",
			"properties":{"query":{"type":"string","description":"The SQL statement. Use placeholders with params for values."},
			"params":{"type":"array","description":"Values for the statement's placeholders, in order.","items":{}},
			"usePreparedStatements":{"type":"boolean","description":"Run the statement as a prepared statement with params."}},
			"required":["query"]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := mustTranslate(t, `[`+strings.Replace(tc.prop, "{", `{"name":"p",`, 1)+`]`)
			got := property(t, tr, "p")
			if want := canonJSON(t, tc.want); got != want {
				t.Errorf("property\n got: %s\nwant: %s", got, want)
			}
		})
	}
}

func TestTranslateSkipsNonArguments(t *testing.T) {
	t.Parallel()
	tr := mustTranslate(t, `[
		{"name":"test","type":"app","app":"test"},
		{"name":"note","type":"alert","content":"<p>Hello <b>there</b> &amp; welcome</p>"},
		{"name":"quiet","type":"alert","hidden":true,"content":"not shown"},
		{"name":"dir","type":"dir","accessMode":"read"},
		{"name":"http","type":"$.interface.http"},
		{"name":"timer","type":"$.interface.timer"},
		{"name":"db","type":"$.service.db"},
		{"name":"store","type":"data_store"},
		{"name":"h","type":"string","hidden":true},
		{"name":"d","type":"string","disabled":true},
		{"name":"r","type":"string","readOnly":true},
		{"name":"keep","type":"string"},
		{"name":"odd","type":"weird"}
	]`)
	var skipped []string
	for _, s := range tr.Skipped {
		skipped = append(skipped, s.Name)
		if s.Reason == "" {
			t.Errorf("skipped %s without a reason", s.Name)
		}
	}
	wantSkipped := []string{"test", "note", "quiet", "dir", "http", "timer", "db", "store", "h", "d", "r"}
	if !reflect.DeepEqual(skipped, wantSkipped) {
		t.Errorf("Skipped = %v, want %v", skipped, wantSkipped)
	}
	var args []string
	for _, a := range tr.Args {
		args = append(args, a.Name)
	}
	if !reflect.DeepEqual(args, []string{"keep", "odd"}) {
		t.Errorf("Args = %v, want [keep odd]", args)
	}
	if !reflect.DeepEqual(tr.Unknown, []string{"odd"}) {
		t.Errorf("Unknown = %v, want [odd]", tr.Unknown)
	}
	if !reflect.DeepEqual(tr.Alerts, []string{"Hello there & welcome"}) {
		t.Errorf("Alerts = %q", tr.Alerts)
	}
	for _, name := range wantSkipped {
		if property(t, tr, name) != "" {
			t.Errorf("skipped prop %s is in the schema", name)
		}
	}
}

func TestTranslateAppProps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		app       string
		props     string
		wantProp  string
		wantProps []AppProp
		reasonHas map[string]string // skipped prop -> part of its reason
	}{
		{"one", "slack", `[{"name":"slack","type":"app","app":"slack"},{"name":"x","type":"string"}]`,
			"slack", []AppProp{{"slack", "slack"}}, nil},
		{"name is not the slug", "google_sheets", `[{"name":"googleSheets","type":"app","app":"google_sheets"}]`,
			"googleSheets", []AppProp{{"googleSheets", "google_sheets"}}, nil},
		{"two apps", "edge", `[{"name":"slack","type":"app","app":"slack"},{"name":"mine","type":"app","app":"edge"}]`,
			"mine", []AppProp{{"slack", "slack"}, {"mine", "edge"}}, map[string]string{"slack": "another app"}},
		{"two for the connection's app", "edge", `[{"name":"a","type":"app","app":"edge"},{"name":"b","type":"app","app":"edge"}]`,
			"a", []AppProp{{"a", "edge"}, {"b", "edge"}}, map[string]string{"b": "second"}},
		{"another app only", "edge", `[{"name":"github","type":"app","app":"github"},{"name":"repo","type":"string"}]`,
			"", []AppProp{{"github", "github"}}, map[string]string{"github": `another app ("github")`}},
		{"no connection app", "", `[{"name":"slack","type":"app","app":"slack"}]`,
			"", []AppProp{{"slack", "slack"}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr, err := Translate(decodeProps(t, tc.props), Options{App: tc.app})
			if err != nil {
				t.Fatal(err)
			}
			if tr.AppProp != tc.wantProp {
				t.Errorf("AppProp = %q, want %q", tr.AppProp, tc.wantProp)
			}
			if !reflect.DeepEqual(tr.AppProps, tc.wantProps) {
				t.Errorf("AppProps = %v, want %v", tr.AppProps, tc.wantProps)
			}
			for _, p := range tc.wantProps {
				if property(t, tr, p.Name) != "" {
					t.Errorf("app prop %s is an argument", p.Name)
				}
			}
			for name, part := range tc.reasonHas {
				found := false
				for _, s := range tr.Skipped {
					if s.Name == name {
						found = true
						if !strings.Contains(s.Reason, part) {
							t.Errorf("reason for %s = %q, want it to mention %q", name, s.Reason, part)
						}
					}
				}
				if !found {
					t.Errorf("%s not in Skipped", name)
				}
			}
		})
	}
}

func TestTranslateNames(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 80)
	tr := mustTranslate(t, fmt.Sprintf(`[
		{"name":"_hidden_meta","type":"string","optional":true},
		{"name":"_account_id","type":"string"},
		{"name":"_other","type":"string","optional":true},
		{"name":"prop__other","type":"string","optional":true},
		{"name":"first name","type":"string","optional":true},
		{"name":%q,"type":"string","optional":true},
		{"name":%q,"type":"string","optional":true},
		{"name":"fine.name-1","type":"string","optional":true}
	]`, long, long+"y"))
	want := map[string]string{ // prop -> argument
		"_hidden_meta": "prop__hidden_meta",
		"_account_id":  "prop__account_id",
		"prop__other":  "prop__other", // a valid name never moves
		"first name":   "first_name",
		"fine.name-1":  "fine.name-1",
	}
	for prop, name := range want {
		a, ok := tr.ArgForProp(prop)
		if !ok || a.Name != name {
			t.Errorf("ArgForProp(%q) = %q, %v; want %q", prop, a.Name, ok, name)
		}
		b, ok := tr.Arg(name)
		if !ok || b.Prop != prop {
			t.Errorf("Arg(%q).Prop = %q, %v; want %q", name, b.Prop, ok, prop)
		}
	}
	other, _ := tr.ArgForProp("_other")
	if other.Name == "prop__other" || !strings.HasPrefix(other.Name, "prop__other_") {
		t.Errorf("_other -> %q, want a distinct prop__other_<hash>", other.Name)
	}
	a1, _ := tr.ArgForProp(long)
	a2, _ := tr.ArgForProp(long + "y")
	if a1.Name == a2.Name || len(a1.Name) > 64 || len(a2.Name) > 64 {
		t.Errorf("long names -> %q, %q: want distinct names of at most 64 characters", a1.Name, a2.Name)
	}
	// The reserved argument keeps its meaning; the prop was renamed.
	if got := property(t, tr, ArgAccountID); got != `{"type":"string"}` {
		t.Errorf("_account_id property = %s", got)
	}
	req := rootSchema(t, tr)["required"]
	if !reflect.DeepEqual(req, []any{"prop__account_id"}) {
		t.Errorf("required = %v", req)
	}
	if _, ok := tr.Arg(ArgAccountID); ok {
		t.Error("Arg(_account_id) found: reserved arguments are not Args")
	}
}

func TestTranslateErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, props, want string
	}{
		{"no name", `[{"name":"a","type":"string"},{"type":"integer"}]`, `prop 1 (type "integer") has no name`},
		{"duplicate", `[{"name":"a","type":"string"},{"name":"b","type":"string"},{"name":"a","type":"app","app":"x"}]`, `props 0 and 2 are both named "a"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Translate(decodeProps(t, tc.props), Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestTranslateRequiredAndDefaults(t *testing.T) {
	t.Parallel()
	tr := mustTranslate(t, `[
		{"name":"plain","type":"string"},
		{"name":"optional","type":"string","optional":true},
		{"name":"defaulted","type":"integer","default":3},
		{"name":"emptyDefault","type":"string","default":""},
		{"name":"nullDefault","type":"string","default":null},
		{"name":"z","type":"boolean"},
		{"name":"a","type":"string[]"}
	]`)
	if got := rootSchema(t, tr)["required"]; !reflect.DeepEqual(got, []any{"a", "nullDefault", "plain", "z"}) {
		t.Errorf("required = %v, want sorted [a nullDefault plain z]", got)
	}
	a, _ := tr.Arg("defaulted")
	if a.Required || string(a.Default) != "3" {
		t.Errorf("defaulted: Required=%v Default=%s", a.Required, a.Default)
	}
	if got := property(t, tr, "emptyDefault"); got != `{"default":"","type":"string"}` {
		t.Errorf("emptyDefault = %s", got)
	}
}

func TestTranslateDynamic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, props string
		want        bool
	}{
		{"static", `[{"name":"a","type":"string"}]`, false},
		{"visible reload", `[{"name":"a","type":"string","reloadProps":true}]`, true},
		{"hidden reload", `[{"name":"g","type":"string[]","hidden":true,"reloadProps":true},{"name":"a","type":"string"}]`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := mustTranslate(t, tc.props)
			if tr.Dynamic != tc.want {
				t.Errorf("Dynamic = %v, want %v", tr.Dynamic, tc.want)
			}
			if got := rootSchema(t, tr)["additionalProperties"]; got != tc.want {
				t.Errorf("additionalProperties = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTranslateArgFields(t *testing.T) {
	t.Parallel()
	tr := mustTranslate(t, `[{"name":"sheetId","type":"string","label":"Spreadsheet","description":"The [sheet](https://x.test)",
		"remoteOptions":true,"useQuery":true,"reloadProps":true,"withLabel":true,"default":"s1",
		"options":[{"label":"Budget","value":"s1"}]}]`)
	a, ok := tr.Arg("sheetId")
	if !ok {
		t.Fatal("no arg sheetId")
	}
	want := Arg{Name: "sheetId", Prop: "sheetId", Type: "string", Label: "Spreadsheet", Description: "The sheet (https://x.test)",
		RemoteOptions: true, UseQuery: true, ReloadProps: true, WithLabel: true, Default: []byte(`"s1"`),
		Options: []pdclient.PropOption{{Label: "Budget", Value: []byte(`"s1"`)}}}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("Arg = %+v\nwant %+v", a, want)
	}
}

func TestTranslateEmptyAndDeterministic(t *testing.T) {
	t.Parallel()
	tr, err := Translate(nil, Options{App: "x"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"object","properties":{"_account_id":{"type":"string"}},"additionalProperties":false}`
	if string(tr.Schema) != want {
		t.Errorf("empty schema:\n got %s\nwant %s", tr.Schema, want)
	}
	props := decodeProps(t, `[{"name":"m","type":"object","default":{"z":1,"a":[2,{"y":true}]}},{"name":"s","type":"string","options":["b","a"]}]`)
	first, _ := Translate(props, Options{})
	for range 20 {
		again, _ := Translate(props, Options{})
		if string(again.Schema) != string(first.Schema) {
			t.Fatalf("schema bytes differ between runs:\n%s\n%s", first.Schema, again.Schema)
		}
	}
	// properties follow prop order, reserved arguments last
	s := string(first.Schema)
	if !(strings.Index(s, `"m":`) < strings.Index(s, `"s":`) && strings.Index(s, `"s":`) < strings.Index(s, `"_account_id"`)) {
		t.Errorf("property order is not prop order: %s", s)
	}
}
