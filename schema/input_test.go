package schema

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestCompileInputSchema(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     string // the advertised schema, or the error's text
		wantErr  bool
	}{
		{"empty is any object", "", anyObject, false},
		{"blank is any object", " \n", anyObject, false},
		{"kept as given", `{"type":"object","required":["q"]}`, `{"type":"object","required":["q"]}`, false},
		{"type added", `{"required":["q"]}`, `{"required":["q"],"type":"object"}`, false},
		{"not an object schema", `{"type":"array"}`, ErrNotObject.Error(), true},
		{"not a JSON object", `[1]`, "schema: the input schema is not a JSON object", true},
		{"does not compile", `{"type":"object","properties":{"n":{"minimum":"x"}}}`,
			"schema: the input schema does not compile: at /properties/n/minimum: expected number, but got string", true},
		{"references are not loaded", `{"type":"object","properties":{"n":{"$ref":"https://example.com/s.json"}}}`,
			"schema references are not loaded (https://example.com/s.json)", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := CompileInputSchema([]byte(tc.in))
			switch {
			case tc.wantErr && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			case !tc.wantErr && err != nil:
				t.Errorf("unexpected error %v", err)
			case !tc.wantErr && string(s.JSON()) != tc.want:
				t.Errorf("schema = %s, want %s", s.JSON(), tc.want)
			}
		})
	}
}

func TestCompileInputSchemaErrorKinds(t *testing.T) {
	t.Parallel()
	if _, err := CompileInputSchema([]byte(`{"type":["object","null"]}`)); !errors.Is(err, ErrNotObject) {
		t.Errorf("a type list: err = %v, want ErrNotObject", err)
	}
	_, err := CompileInputSchema([]byte(`{"properties":{"a":{"type":"strin"},"b":{"minLength":-1}}}`))
	var ce *CompileError
	if !errors.As(err, &ce) || errors.Unwrap(err) == nil {
		t.Fatalf("err = %v (%T), want a *CompileError with its cause", err, err)
	}
	joined := strings.Join(ce.Problems, "; ")
	for _, want := range []string{"at /properties/a/type:", "at /properties/b/minLength:"} {
		if !strings.Contains(joined, want) {
			t.Errorf("problems %q lack %q", ce.Problems, want)
		}
	}
}

func TestInputSchemaValidate(t *testing.T) {
	t.Parallel()
	s, err := CompileInputSchema([]byte(`{"type":"object","properties":{` +
		`"customer":{"type":"string","title":"Customer","description":"The customer's ID"},` +
		`"amount":{"type":"number","minimum":0},` +
		`"lines":{"type":"array","items":{"type":"object","properties":{"sku":{"type":"string"}},"required":["sku"],"additionalProperties":false}}},` +
		`"required":["customer","amount"],"additionalProperties":false}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, raw string
		want      []string // FieldError.Error() lines, in order
	}{
		{"missing with descriptions", `{}`, []string{
			"amount: required field is missing",
			"customer: required field is missing (Customer: The customer's ID)",
		}},
		{"null is {}", `null`, []string{
			"amount: required field is missing",
			"customer: required field is missing (Customer: The customer's ID)",
		}},
		{"library words for a value", `{"customer":"c1","amount":"12"}`, []string{"amount: expected number, but got string"}},
		{"bounds", `{"customer":"c1","amount":-1}`, []string{"amount: must be >= 0 but found -1"}},
		{"unknown at the top", `{"customer":"c1","amount":1,"extra":true}`, []string{"extra: unknown field (this tool takes: amount, customer, lines)"}},
		{"nested", `{"customer":"c1","amount":1,"lines":[{"sku":"a"},{"x":1}]}`, []string{
			"lines[1].sku: required field is missing",
			"lines[1].x: unknown field",
		}},
		{"number out of range", `{"customer":"c1","amount":1e999999999}`, []string{"amount: number out of range (at most 400 characters, exponent within ±400)"}},
		{"not an object", `[1,2]`, []string{"the arguments must be a JSON object, got array of 2 items"}},
		{"not JSON", `{"a":`, []string{"the arguments are not valid JSON: unexpected EOF"}},
		{"trailing data", `{} {}`, []string{"the arguments are not valid JSON: trailing data after the JSON value"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			body, errs := s.Validate(json.RawMessage(tc.raw))
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if !reflect.DeepEqual(got, tc.want) || body != nil {
				t.Errorf("errors\n got: %q\nwant: %q (body %s)", got, tc.want, body)
			}
		})
	}
}

func TestInputSchemaValidateKeepsTheBody(t *testing.T) {
	t.Parallel()
	free, err := CompileInputSchema(nil)
	if err != nil {
		t.Fatal(err)
	}
	for raw, want := range map[string]string{
		"":                     "{}",
		" null ":               "{}",
		`{"n":1.50,"b":[1e2]}`: `{"n":1.50,"b":[1e2]}`,
		" {\"a\": \"x\"}\n":    `{"a": "x"}`,
	} {
		body, errs := free.Validate(json.RawMessage(raw))
		if errs != nil || string(body) != want {
			t.Errorf("%q: body %s, errors %v; want %s", raw, body, errs, want)
		}
	}
	none, err := CompileInputSchema([]byte(`{"additionalProperties":false}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, errs := none.Validate(json.RawMessage(`{"a":1}`)); len(errs) != 1 || errs[0].Error() != "a: unknown field (this tool takes: no fields)" {
		t.Errorf("errors = %v", errs)
	}
}
