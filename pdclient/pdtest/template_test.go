package pdtest

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestTemplates(t *testing.T) {
	t.Parallel()
	vals := map[string]any{"name": "Ada", "n": float64(3), "tags": []any{"a", "b"}, "flag": false}
	tests := []struct {
		tmpl string
		want any
	}{
		{`"{{name}}"`, "Ada"},
		{`"{{n}}"`, float64(3)},
		{`"#{{n}} by {{name}}"`, "#3 by Ada"},
		{`"{{tags}}"`, []any{"a", "b"}},
		{`"to {{tags}}"`, "to a, b"},
		{`"{{flag}}"`, false},
		{`"{{missing}}"`, nil},
		{`"x{{missing}}y"`, "xy"},
		{`"{{missing|[]}}"`, []any{}},
		{`"{{missing|{}}}"`, map[string]any{}},
		{`"{{missing|Sheet1}}!A1"`, "Sheet1!A1"},
		{`"{{missing|7}}"`, float64(7)},
		{`"{{$seq}}"`, 5},
		{`"{{$user}}"`, "u1"},
		{`{"list": ["{{name}}", "{{$inputCount}}"], "keep": 1}`, map[string]any{"list": []any{"Ada", 4}, "keep": float64(1)}},
		{`"{{unterminated"`, "{{unterminated"},
	}
	for _, tc := range tests {
		got := newTemplateContext(vals, "u1", 5).renderJSON(json.RawMessage(tc.tmpl))
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.tmpl, got, tc.want)
		}
	}
	c := newTemplateContext(vals, "u1", 1)
	if a, b := c.lookup("$id"), c.lookup("$id"); a != b || len(a.(string)) != 10 {
		t.Errorf("$id not stable within a run: %v %v", a, b)
	}
	if n, s := c.lookup("$num"), c.lookup("$numstr"); stringify(n) != s {
		t.Errorf("$numstr %v is not $num %v", s, n)
	}
	if newTemplateContext(vals, "u1", 1).lookup("$id") == c.lookup("$id") {
		t.Error("$id repeats across runs")
	}
}
