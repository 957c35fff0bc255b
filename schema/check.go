package schema

// This file holds what every JSON Schema use of the project shares: compiling a
// schema, reading arguments, and walking a validation error down to the
// keywords that failed. Validator (action tools) and InputSchema (workflow
// tools) only word those keywords differently.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
)

// CompileError is a JSON Schema that does not compile: the meta-schema refused
// it, or it refers to a resource (nothing is ever loaded).
type CompileError struct {
	// Problems are the most specific findings, each with the place in the
	// schema it refers to: "at /properties/n/minimum: expected number, but got
	// string".
	Problems []string
	err      error
}

// Error reads like "schema: the input schema does not compile: at
// /properties/n/minimum: expected number, but got string".
func (e *CompileError) Error() string {
	return "schema: the input schema does not compile: " + strings.Join(e.Problems, "; ")
}

// Unwrap returns the compiler's error.
func (e *CompileError) Unwrap() error { return e.err }

// compile compiles one in-memory schema, draft 2020-12 unless it names another
// with $schema. It never loads anything, so that compiling can never touch the
// network or the file system: a $ref to another resource fails. Every failure
// is a *CompileError.
func compile(url string, raw []byte) (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	c.LoadURL = func(s string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("schema references are not loaded (%s)", s)
	}
	if err := c.AddResource(url, bytes.NewReader(raw)); err != nil {
		return nil, compileError(err)
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, compileError(err)
	}
	return s, nil
}

// compileError keeps the meta-schema's leaf messages of a compilation error,
// with the place in the schema they refer to; any other error as it is.
func compileError(err error) *CompileError {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return &CompileError{Problems: []string{err.Error()}, err: err}
	}
	var problems []string
	for _, leaf := range leaves(ve) {
		loc := leaf.InstanceLocation
		if loc == "" {
			loc = "/"
		}
		problems = append(problems, fmt.Sprintf("at %s: %s", loc, leaf.Message))
	}
	return &CompileError{Problems: problems, err: err}
}

// leaves returns the failed keywords of a validation error: the errors of its
// tree that have no causes, depth first.
func leaves(ve *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(ve.Causes) == 0 {
		return []*jsonschema.ValidationError{ve}
	}
	var out []*jsonschema.ValidationError
	for _, c := range ve.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}

// decodeArgs reads the arguments of a tools/call: empty or null means {}. It
// returns the object, or the one FieldError saying why there is none.
func decodeArgs(raw json.RawMessage) (map[string]any, []FieldError) {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = json.RawMessage("{}")
	}
	if obj, ok := decodeObject(raw); ok {
		return obj, nil
	}
	val, err := decode(raw)
	if err != nil {
		return nil, []FieldError{{Message: "the arguments are not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")}}
	}
	if val == nil {
		return map[string]any{}, nil
	}
	obj, ok := val.(map[string]any)
	if !ok {
		return nil, []FieldError{{Message: "the arguments must be a JSON object, got " + describe(val)}}
	}
	return obj, nil
}

// decodeObject is decode for the usual arguments, a valid JSON object,
// without a json.Decoder: one validating pass, then the top-level values
// read as decode reads them (strings, json.Number, booleans, null; nested
// values through decode). false for anything else (decode's errors and
// other kinds of values are worded there).
func decodeObject(raw []byte) (map[string]any, bool) {
	if !json.Valid(raw) {
		return nil, false
	}
	obj := make(map[string]any)
	ok := true
	isObj := pdclient.JSONFields(raw, func(k, v []byte) bool {
		x, err := decodeValue(v)
		if err != nil {
			ok = false
			return false
		}
		obj[string(k)] = x
		return true
	})
	return obj, ok && isObj
}

// decodeValue decodes one valid JSON value as decode does.
func decodeValue(v []byte) (any, error) {
	switch v[0] {
	case '"':
		if body := v[1 : len(v)-1]; bytes.IndexByte(body, '\\') < 0 && utf8.Valid(body) {
			return string(body), nil
		}
		var s string
		err := json.Unmarshal(v, &s)
		return s, err
	case 't':
		return true, nil
	case 'f':
		return false, nil
	case 'n':
		return nil, nil
	case '{', '[':
		return decode(v)
	default:
		return json.Number(v), nil
	}
}

// check validates obj against s and words each failed keyword with word. The
// errors come sorted by field, without duplicates. A number out of bounds is
// refused before validating (see maxNumberLen).
func check(s *jsonschema.Schema, obj map[string]any, word func(*jsonschema.ValidationError) []FieldError) (errs []FieldError) {
	if path, bad := firstInsaneNumber(obj, ""); bad {
		return []FieldError{{Field: path, Message: fmt.Sprintf("number out of range (at most %d characters, exponent within ±%d)", maxNumberLen, maxNumberExponent)}}
	}
	defer func() {
		// An operator-written schema may hold what the library cannot handle;
		// the call fails, the server does not.
		if r := recover(); r != nil {
			errs = []FieldError{{Message: fmt.Sprintf("the arguments could not be validated: %v", r)}}
		}
	}()
	err := s.Validate(obj)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []FieldError{{Message: "the arguments could not be validated: " + err.Error()}}
	}
	var out []FieldError
	for _, leaf := range leaves(ve) {
		out = append(out, word(leaf)...)
	}
	return sortErrors(out)
}

// sortErrors sorts field errors by field, then message, and drops duplicates.
func sortErrors(out []FieldError) []FieldError {
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Field != out[j].Field {
			return out[i].Field < out[j].Field
		}
		return out[i].Message < out[j].Message
	})
	dedup := out[:0]
	for i, e := range out {
		if i > 0 && e == out[i-1] {
			continue
		}
		dedup = append(dedup, e)
	}
	return dedup
}

// keyword is the failed keyword of a leaf error: the last token of its
// keyword location ("required", "type", ...).
func keyword(e *jsonschema.ValidationError) string {
	tokens := pointer(e.KeywordLocation)
	if len(tokens) == 0 {
		return ""
	}
	return tokens[len(tokens)-1]
}

// pointer splits a JSON pointer into unescaped tokens.
func pointer(p string) []string {
	if p == "" || p == "/" {
		return nil
	}
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, s := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return parts
}

// locate follows an instance pointer through the value and returns the field
// path in the form agents write ("a.b[2]") and the value found there.
func locate(v any, tokens []string) (string, any) {
	path := ""
	for _, tok := range tokens {
		switch x := v.(type) {
		case map[string]any:
			path = join(path, tok)
			v = x[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			path += "[" + tok + "]"
			if err != nil || i < 0 || i >= len(x) {
				return path, nil
			}
			v = x[i]
		default:
			return join(path, tok), nil
		}
	}
	return path, v
}

// join appends a property name to a field path.
func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
