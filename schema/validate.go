package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// schemaURL names the in-memory schema resource; nothing is ever loaded from it.
const schemaURL = "mem:///tool-input.json"

// Validator checks tool arguments against one tool's compiled schema.
type Validator struct {
	t      *Translation
	schema *jsonschema.Schema
	props  map[string]*node // root properties by name, reserved arguments included
	takes  string           // "a, b, c": the argument names, for unknown-field errors
}

// NewValidator compiles t's schema once. It fails only when t was not built by
// Translate or its schema does not compile (a bug: Translate's output always does).
func NewValidator(t *Translation) (*Validator, error) {
	if t == nil || t.root == nil {
		return nil, errors.New("schema: NewValidator needs a Translation built by Translate")
	}
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	// No $ref is ever emitted; refuse any load so that compiling can never
	// touch the network or the file system.
	c.LoadURL = func(s string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("schema: refusing to load %s", s)
	}
	if err := c.AddResource(schemaURL, bytes.NewReader(t.Schema)); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	s, err := c.Compile(schemaURL)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	v := &Validator{t: t, schema: s, props: make(map[string]*node, len(t.root.props))}
	names := make([]string, 0, len(t.root.props))
	for _, f := range t.root.props {
		v.props[f.name] = f.node
		names = append(names, f.name)
	}
	v.takes = listNames(names)
	return v, nil
}

// FieldError is one problem with the arguments, written for an agent to act on.
type FieldError struct {
	// Field is the path of the bad value: "count", "sql.query", "tags[2]"; "" for
	// the arguments as a whole.
	Field string
	// Message says what was expected and what was given. For a missing required
	// field it ends with the field's label and description in parentheses.
	Message string
	// Description is the field's label and short description, when known.
	Description string
}

// Error returns "field: message" (just the message when Field is "").
func (e FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// String is Error.
func (e FieldError) String() string { return e.Error() }

// Args are validated arguments.
type Args struct {
	// Values holds the arguments by argument name, coerced, reserved arguments
	// removed. Numbers are json.Number, so integers stay exact.
	Values map[string]any
	// AccountID and DynamicPropsID are the reserved arguments ("" when absent).
	AccountID, DynamicPropsID string
	// Notes say which values were coerced, one sentence each ("count: the string
	// "42" was read as the integer 42"); the tool layer shows them in the result.
	Notes []string
}

// Validate checks raw, the arguments of a tools/call (empty or null means {}).
// Before validating it coerces what agents commonly get wrong when the intent is
// unambiguous, and reports each coercion in Args.Notes:
//   - a numeric string for an integer or number field ("42" -> 42);
//   - "true"/"false" (any case) for a boolean field;
//   - a number for a string field (12345 -> "12345");
//   - a single value for an array field ("x" -> ["x"]), and a string holding a
//     JSON array for an array field;
//   - a string holding a JSON object for an object field;
//   - null for a typed field, which is treated as not given.
//
// Items of arrays and known fields of objects are coerced the same way. It returns
// one FieldError per problem, sorted by field; Args is filled in either case.
func (v *Validator) Validate(raw json.RawMessage) (Args, []FieldError) {
	a := Args{Values: make(map[string]any)}
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = json.RawMessage("{}")
	}
	val, err := decode(raw)
	if err != nil {
		return a, []FieldError{{Message: "the arguments are not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")}}
	}
	if val == nil {
		val = map[string]any{}
	}
	obj, ok := val.(map[string]any)
	if !ok {
		return a, []FieldError{{Message: "the arguments must be a JSON object, got " + describe(val)}}
	}

	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		n := v.props[k]
		if obj[k] == nil && ((n != nil && n.typ != "") || (n == nil && v.t.Dynamic)) {
			delete(obj, k)
			a.Notes = append(a.Notes, k+": null was treated as not given")
			continue
		}
		if n != nil {
			obj[k] = coerce(n, obj[k], k, &a.Notes)
		}
	}

	var errs []FieldError
	if path, bad := firstInsaneNumber(obj, ""); bad {
		// Never handed to jsonschema, which panics on such numbers.
		errs = []FieldError{{Field: path, Message: fmt.Sprintf("number out of range (at most %d characters, exponent within ±%d)", maxNumberLen, maxNumberExponent)}}
	} else if err := v.schema.Validate(obj); err != nil {
		errs = v.fieldErrors(err, obj)
	}
	for k, x := range obj {
		switch k {
		case ArgAccountID:
			a.AccountID, _ = x.(string)
		case ArgDynamicPropsID:
			a.DynamicPropsID, _ = x.(string)
		default:
			a.Values[k] = x
		}
	}
	return a, errs
}

var (
	integerText = regexp.MustCompile(`^[+-]?[0-9]+$`)
	numberText  = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)
)

// coerce returns x converted to n's type when the conversion is unambiguous (see
// Validate), appending a note per conversion; otherwise x unchanged.
func coerce(n *node, x any, path string, notes *[]string) any {
	note := func(format string, args ...any) {
		*notes = append(*notes, path+": "+fmt.Sprintf(format, args...))
	}
	switch n.typ {
	case "integer":
		if s, ok := x.(string); ok {
			t := strings.TrimSpace(s)
			if len(t) <= maxNumberLen && integerText.MatchString(t) {
				i, _ := new(big.Int).SetString(strings.TrimPrefix(t, "+"), 10)
				num := json.Number(i.String())
				note("the string %s was read as the integer %s", quoted(s), num)
				return num
			}
		}
	case "number":
		if s, ok := x.(string); ok {
			if t := strings.TrimSpace(s); numberText.MatchString(t) {
				note("the string %s was read as the number %s", quoted(s), t)
				return json.Number(t)
			}
		}
	case "boolean":
		if s, ok := x.(string); ok {
			switch strings.ToLower(strings.TrimSpace(s)) {
			case "true":
				note("the string %s was read as true", quoted(s))
				return true
			case "false":
				note("the string %s was read as false", quoted(s))
				return false
			}
		}
	case "string":
		if num, ok := x.(json.Number); ok {
			note("the number %s was read as the string %q", num, string(num))
			return string(num)
		}
	case "array":
		if s, ok := x.(string); ok && strings.HasPrefix(strings.TrimSpace(s), "[") {
			if list, err := decode([]byte(s)); err == nil {
				if l, ok := list.([]any); ok {
					note("the string was read as a JSON array")
					x = l
				}
			}
		}
		list, ok := x.([]any)
		if !ok {
			note("a single value was read as a list of one")
			list = []any{x}
		}
		for i, it := range list {
			list[i] = coerce(n.items, it, fmt.Sprintf("%s[%d]", path, i), notes)
		}
		return list
	case "object":
		if s, ok := x.(string); ok && strings.HasPrefix(strings.TrimSpace(s), "{") {
			if m, err := decode([]byte(s)); err == nil {
				if _, ok := m.(map[string]any); ok {
					note("the string was read as a JSON object")
					x = m
				}
			}
		}
		if m, ok := x.(map[string]any); ok && len(n.props) > 0 {
			for _, f := range n.props {
				if fv, present := m[f.name]; present && fv != nil {
					m[f.name] = coerce(f.node, fv, path+"."+f.name, notes)
				}
			}
		}
	}
	return x
}

// fieldErrors turns a validation error into agent-readable field errors. The
// library only says where (keyword and instance location) and which keyword
// failed; the words come from the schema tree and the value.
func (v *Validator) fieldErrors(err error, inst any) []FieldError {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []FieldError{{Message: "the arguments could not be validated"}}
	}
	var out []FieldError
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			out = append(out, v.leafErrors(e, inst)...)
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)

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

// leafErrors explains one failed keyword.
func (v *Validator) leafErrors(e *jsonschema.ValidationError, inst any) []FieldError {
	kwPath := pointer(e.KeywordLocation)
	if len(kwPath) == 0 {
		return []FieldError{{Message: "the arguments are not valid"}}
	}
	kw := kwPath[len(kwPath)-1]
	n, top := v.t.root, ""
	for i := 0; i < len(kwPath)-1; i++ {
		switch {
		case kwPath[i] == "properties" && i+1 < len(kwPath)-1:
			i++
			if n == v.t.root {
				top = kwPath[i]
			}
			n = n.prop(kwPath[i])
		case kwPath[i] == "items":
			n = n.items
		default:
			n = nil
		}
		if n == nil {
			break
		}
	}
	field, val := locate(inst, pointer(e.InstanceLocation))
	if n == nil {
		return []FieldError{{Field: field, Message: "is not valid"}}
	}
	desc := v.describeField(n, top, field)
	switch kw {
	case "type":
		return []FieldError{{Field: field, Message: "expected " + typeWords(n) + ", got " + describe(val), Description: desc}}
	case "enum":
		return []FieldError{{Field: field, Message: "must be one of " + enumWords(n.enum) + " (got " + valueWords(val) + ")", Description: desc}}
	case "minimum":
		if n.min != nil {
			return []FieldError{{Field: field, Message: "must be at least " + numberWords(*n.min) + " (got " + valueWords(val) + ")", Description: desc}}
		}
	case "maximum":
		if n.max != nil {
			return []FieldError{{Field: field, Message: "must be at most " + numberWords(*n.max) + " (got " + valueWords(val) + ")", Description: desc}}
		}
	case "required":
		m, _ := val.(map[string]any)
		var out []FieldError
		for _, name := range n.required {
			if _, ok := m[name]; ok {
				continue
			}
			child := join(field, name)
			t := top
			if n == v.t.root {
				t = name
			}
			d := v.describeField(n.prop(name), t, child)
			msg := "required field is missing"
			if d != "" {
				msg += " (" + d + ")"
			}
			out = append(out, FieldError{Field: child, Message: msg, Description: d})
		}
		return out
	case "additionalProperties":
		m, _ := val.(map[string]any)
		var out []FieldError
		names := make([]string, 0, len(n.props))
		known := make(map[string]bool, len(n.props))
		for _, f := range n.props {
			names = append(names, f.name)
			known[f.name] = true
		}
		takes := v.takes
		if n != v.t.root {
			takes = listNames(names)
		}
		for k := range m {
			if known[k] {
				continue
			}
			msg := "unknown field (this tool takes: " + takes + ")"
			if n != v.t.root {
				msg = "unknown field (allowed: " + takes + ")"
			}
			if i, ok := v.t.byProp[k]; ok && n == v.t.root {
				// the prop's own name, where the argument was renamed
				msg += "; did you mean " + strconv.Quote(v.t.Args[i].Name) + "?"
			} else if s := closest(k, names); s != "" {
				msg += "; did you mean " + strconv.Quote(s) + "?"
			}
			out = append(out, FieldError{Field: join(field, k), Message: msg})
		}
		return out
	}
	return []FieldError{{Field: field, Message: "is not valid", Description: desc}}
}

// describeField is "Label: short description" for a field: from the Arg for a
// top-level argument, from the schema node otherwise.
func (v *Validator) describeField(n *node, top, field string) string {
	if n == nil {
		return ""
	}
	if top != "" && top == field {
		if i, ok := v.t.byName[top]; ok {
			arg := v.t.Args[i]
			return labelled(arg.Label, arg.Description)
		}
	}
	return labelled(n.title, n.desc)
}

func labelled(label, desc string) string {
	d := short(desc, 120)
	switch {
	case label == "":
		return d
	case d == "" || d == label:
		return label
	}
	return label + ": " + d
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

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// typeWords names what a node expects.
func typeWords(n *node) string {
	switch n.typ {
	case "array":
		if n.items != nil && n.items.typ != "" {
			return "array of " + n.items.typ + "s"
		}
		return "array"
	case "":
		return "any JSON value"
	}
	return n.typ
}

// describe names the kind of a value and shows it when short.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "string " + quoted(x)
	case json.Number:
		return "number " + string(x)
	case bool:
		return "boolean " + strconv.FormatBool(x)
	case []any:
		if len(x) == 1 {
			return "array of 1 item"
		}
		return fmt.Sprintf("array of %d items", len(x))
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// valueWords shows a value briefly: strings quoted, numbers and booleans as they
// are, anything else by its kind.
func valueWords(v any) string {
	switch x := v.(type) {
	case string:
		return quoted(x)
	case json.Number:
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	}
	return describe(v)
}

func quoted(s string) string {
	return strconv.Quote(cut(s, 60))
}

func numberWords(f float64) string {
	var b bytes.Buffer
	writeNumber(&b, f)
	return b.String()
}

// enumWords lists enum values ("a", "b"), at most 20 of them.
func enumWords(enum []json.RawMessage) string {
	const max = 20
	parts := make([]string, 0, min(len(enum), max))
	for i, e := range enum {
		if i == max {
			return strings.Join(parts, ", ") + fmt.Sprintf(" … (%d more, see the tool's input schema)", len(enum)-max)
		}
		parts = append(parts, string(e))
	}
	return strings.Join(parts, ", ")
}

// listNames joins names, at most 40 of them.
func listNames(names []string) string {
	const max = 40
	if len(names) > max {
		return strings.Join(names[:max], ", ") + fmt.Sprintf(", … (%d more)", len(names)-max)
	}
	return strings.Join(names, ", ")
}

// closest returns the name that k matches when case, "_" and "-" are ignored
// (repo_fullname -> repoFullname), or "".
func closest(k string, names []string) string {
	norm := func(s string) string {
		return strings.ToLower(strings.NewReplacer("_", "", "-", "", ".", "").Replace(s))
	}
	nk := norm(k)
	if nk == "" {
		return ""
	}
	for _, n := range names {
		if norm(n) == nk {
			return n
		}
	}
	return ""
}
