package tools

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// TestResultJSONMatchesEncodingJSON: the hand-written structuredContent, as
// mcp-go writes it, is byte for byte what encoding/json writes for the same
// Result.
func TestResultJSONMatchesEncodingJSON(t *testing.T) {
	d := int64(42)
	odd := "a\"b\\c\n\r\t\b\f\x01\x1f<tag> & \u2028\u2029 é 日本 \xff\xfe end"
	cases := []Result{
		{},
		{Status: StatusSuccess},
		{Status: StatusSuccess, Summary: "Sent message to #general", Action: "slack-send", Version: "0.0.5", App: "slack", AccountID: "apn_1",
			Ret:        json.RawMessage(`{"ok":true,"ts":"1.2","message":{"text":"<b>&</b>"}}`),
			Exports:    map[string]json.RawMessage{"b": json.RawMessage(`[1,2]`), "a": json.RawMessage(`"x"`), "z": nil},
			ExecutedAt: "2025-01-06T09:00:00Z", DurationMS: &d, Resource: &Resource{ID: "x", URL: "https://e.com/a?b=1&c=2"}},
		{Status: StatusError, Errors: []string{odd, ""}, Notes: []string{"n1", odd}, ConnectURL: "https://pipedream.com/_static/connect.html?token=a&app=b",
			RetryAfterSeconds: 30, Truncated: true, HTTPStatus: 404, Headers: map[string]string{"b": "2", "a": odd}, StashID: "s1",
			Files: []StashFile{{Path: "/tmp/a.txt", S3Key: "k", URL: "https://s3/x?a&b", ContentType: "text/plain", Content: "resource"}}},
		{Status: odd, Summary: odd, Action: odd, Version: odd, App: odd, AccountID: odd, ExecutedAt: odd, StashID: odd},
		{Status: StatusTimeout, Next: "not encoded", Head: "not encoded", Exports: map[string]json.RawMessage{}, Errors: []string{}},
	}
	for i, r := range cases {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := r.appendJSON(nil)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		// As mcp-go writes it: a json.RawMessage, compacted with HTML
		// escapes (ret and exports are appended as they came).
		got, err := json.Marshal(json.RawMessage(raw))
		if err != nil {
			t.Fatalf("case %d: %s: %v", i, raw, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("case %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "a\"b\\c\n\x00<>&", "\u2028\u2029é", "\xff\xc3", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q:\n got %s\nwant %s", s, got, want)
		}
	})
}

// TestToolResultRawStructured: mcp-go sends the hand-written bytes, and they
// read back as the Result the audit line sees.
func TestToolResultRawStructured(t *testing.T) {
	r := Result{Status: StatusSuccess, Summary: "ok", Action: "a", Ret: json.RawMessage(`{"id":1}`)}
	res := toolResult(r, 1<<20)
	if len(res.RawStructuredContent) == 0 {
		t.Fatal("no RawStructuredContent")
	}
	wire, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		StructuredContent Result `json:"structuredContent"`
	}
	if err := json.Unmarshal(wire, &back); err != nil {
		t.Fatal(err)
	}
	if sc, ok := res.StructuredContent.(Result); !ok || sc.Status != back.StructuredContent.Status || string(back.StructuredContent.Ret) != `{"id":1}` {
		t.Errorf("structuredContent on the wire %s, StructuredContent %#v", wire, res.StructuredContent)
	}
}

// TestResultJSONEveryField: a Result with every encoded field set (by
// reflection, so a field added to Result later is set too) encodes as
// encoding/json encodes it: appendJSON cannot silently miss a new field.
func TestResultJSONEveryField(t *testing.T) {
	var r Result
	fill(reflect.ValueOf(&r).Elem())
	want, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := r.appendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(json.RawMessage(raw)); !bytes.Equal(got, want) {
		t.Errorf("appendJSON differs from encoding/json with every field set (a field added to Result needs appendJSON too):\n got %s\nwant %s", got, want)
	}
}

// fill sets every exported field of v (a struct) to a value that is not
// zero: strings, numbers, booleans, pointers, slices and maps, recursively.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.String:
		v.SetString("x")
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(7)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Slice:
		if v.Type() == reflect.TypeFor[json.RawMessage]() {
			v.SetBytes([]byte(`{"k":1}`))
			return
		}
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0))
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	}
}
