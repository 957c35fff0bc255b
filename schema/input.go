package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// inputSchemaURL names the in-memory resource of an InputSchema.
const inputSchemaURL = "mem:///workflow-input.json"

// anyObject is the InputSchema of empty input: any JSON object, sent as given.
const anyObject = `{"type":"object","properties":{},"additionalProperties":true}`

// ErrNotObject matches the error of CompileInputSchema for a schema whose
// "type" is not "object": a tool's arguments are always an object.
var ErrNotObject = errors.New(`schema: the input schema must have "type": "object" (the arguments are the request body)`)

// InputSchema is a compiled JSON Schema written by an operator for arguments
// that are sent on as they are (a workflow's input_schema, the arguments being
// the request body). Unlike a Validator it coerces nothing. It is safe for
// concurrent use.
type InputSchema struct {
	raw    json.RawMessage
	schema *jsonschema.Schema
	fields map[string]string // top-level property -> "Title: description"
	takes  string            // "a, b, c": the top-level properties, sorted, for unknown-field errors
}

// CompileInputSchema compiles raw, a JSON Schema of an object; empty raw means
// any JSON object. A schema without "type" is taken as "type": "object". It
// fails when raw is not a JSON object, when its type is another (an error
// matching ErrNotObject), or when it does not compile (a *CompileError). It
// never loads a $ref.
func CompileInputSchema(raw []byte) (*InputSchema, error) {
	out := json.RawMessage(anyObject)
	if len(bytes.TrimSpace(raw)) > 0 {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("schema: the input schema is not a JSON object: %w", err)
		}
		t, typed := m["type"]
		switch {
		case typed && t != "object":
			return nil, ErrNotObject
		case typed:
			out = raw
		default:
			m["type"] = "object"
			b, err := json.Marshal(m)
			if err != nil {
				return nil, fmt.Errorf("schema: the input schema: %w", err)
			}
			out = b
		}
	}
	s, err := compile(inputSchemaURL, out)
	if err != nil {
		return nil, err
	}
	fields := topFields(out)
	return &InputSchema{raw: out, schema: s, fields: fields, takes: fieldList(fields)}, nil
}

// topFields returns "Title: description" by top-level property name.
func topFields(raw json.RawMessage) map[string]string {
	var top struct {
		Properties map[string]struct {
			Title       string `json:"title"`
			Description string `json:"description"`
		} `json:"properties"`
	}
	_ = json.Unmarshal(raw, &top) // compiled, so an object; odd properties give no descriptions
	fields := make(map[string]string, len(top.Properties))
	for k, p := range top.Properties {
		fields[k] = strings.TrimSpace(strings.Trim(p.Title+": "+p.Description, ": "))
	}
	return fields
}

// JSON returns the schema as tools/list shows it: as given, or with "type":
// "object" added (keys then sorted), or the schema of any object.
func (s *InputSchema) JSON() json.RawMessage { return s.raw }

// Validate checks raw, the arguments of a tools/call (empty or null means {}).
// It returns them exactly as given ({} when absent) when they are valid, else
// one FieldError per problem, sorted by field: the validator's words for a
// wrong value, each missing and each unknown field named with the field's
// description or the fields the tool takes.
func (s *InputSchema) Validate(raw json.RawMessage) (json.RawMessage, []FieldError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		raw = json.RawMessage("{}")
	}
	obj, errs := decodeArgs(raw)
	if errs != nil {
		return nil, errs
	}
	errs = check(s.schema, obj, func(e *jsonschema.ValidationError) []FieldError {
		return s.leafErrors(e, obj)
	})
	if errs != nil {
		return nil, errs
	}
	return raw, nil
}

// quotedName finds the property names the validator quotes in its messages
// ("missing properties: 'a', 'b'", "additionalProperties 'x' not allowed").
var quotedName = regexp.MustCompile(`'((?:[^'\\]|\\.)*)'`)

// leafErrors words one failed keyword: the validator's message, except that
// missing and unknown fields are named one by one.
func (s *InputSchema) leafErrors(e *jsonschema.ValidationError, inst any) []FieldError {
	field, _ := locate(inst, pointer(e.InstanceLocation))
	var msg func(name string) string
	switch keyword(e) {
	case "required":
		msg = func(name string) string {
			if d := s.fields[name]; d != "" && field == "" {
				return "required field is missing (" + d + ")"
			}
			return "required field is missing"
		}
	case "additionalProperties":
		msg = func(string) string {
			if field == "" {
				return "unknown field (this tool takes: " + s.takes + ")"
			}
			return "unknown field"
		}
	default:
		return []FieldError{{Field: field, Message: e.Message}}
	}
	var out []FieldError
	for _, m := range quotedName.FindAllStringSubmatch(e.Message, -1) {
		name := strings.ReplaceAll(m[1], `\'`, `'`)
		out = append(out, FieldError{Field: join(field, name), Message: msg(name)})
	}
	return out
}

// fieldList names the fields, sorted, or says there are none.
func fieldList(fields map[string]string) string {
	if len(fields) == 0 {
		return "no fields"
	}
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	return listNames(names)
}
