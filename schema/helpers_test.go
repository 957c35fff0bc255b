package schema

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
)

// decodeProps decodes a JSON list of props the way the client does.
func decodeProps(t testing.TB, js string) []pdclient.ConfigurableProp {
	t.Helper()
	var ps []pdclient.ConfigurableProp
	if err := json.Unmarshal([]byte(js), &ps); err != nil {
		t.Fatalf("bad test props: %v", err)
	}
	return ps
}

// mustTranslate translates a JSON list of props for the app "test".
func mustTranslate(t testing.TB, js string) *Translation {
	t.Helper()
	tr, err := Translate(decodeProps(t, js), Options{App: "test"})
	if err != nil {
		t.Fatalf("Translate: %v", err)
	}
	return tr
}

// mustValidator builds a validator for a JSON list of props.
func mustValidator(t testing.TB, js string) (*Translation, *Validator) {
	t.Helper()
	tr := mustTranslate(t, js)
	v, err := NewValidator(tr)
	if err != nil {
		t.Fatalf("NewValidator: %v", err)
	}
	return tr, v
}

// canonJSON re-encodes JSON text with sorted keys, for comparisons that ignore
// formatting but not content.
func canonJSON(t testing.TB, text string) string {
	t.Helper()
	v, err := decode([]byte(text))
	if err != nil {
		t.Fatalf("bad JSON %q: %v", text, err)
	}
	return canonValue(t, v)
}

// canonValue encodes a decoded value with sorted keys.
func canonValue(t testing.TB, v any) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSpace(buf.Bytes()))
}

// property returns the schema of one property as canonical JSON ("" if absent).
func property(t testing.TB, tr *Translation, name string) string {
	t.Helper()
	var root struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(tr.Schema, &root); err != nil {
		t.Fatal(err)
	}
	raw, ok := root.Properties[name]
	if !ok {
		return ""
	}
	return canonJSON(t, string(raw))
}

// rootSchema decodes the whole schema.
func rootSchema(t testing.TB, tr *Translation) map[string]any {
	t.Helper()
	v, err := decode(tr.Schema)
	if err != nil {
		t.Fatal(err)
	}
	return v.(map[string]any)
}
