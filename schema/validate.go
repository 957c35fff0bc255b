package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// toolSchemaURL names the in-memory resource of a Validator; nothing is ever
// loaded from it.
const toolSchemaURL = "mem:///tool-input.json"

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
	s, err := compile(toolSchemaURL, t.Schema)
	if err != nil {
		return nil, err
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
	// Stash is the reserved _stash argument (false when absent).
	Stash bool
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
	obj, errs := decodeArgs(raw)
	if errs != nil {
		return a, errs
	}
	// The reserved arguments are accepted by every tool, also where the schema
	// leaves them out (_dynamic_props_id is listed only on tools with
	// dependent fields, and not on a reloaded schema without them).
	reserved, errs := v.unlistedReserved(obj)
	a.Notes = v.coerceArgs(obj)
	errs = append(errs, check(v.schema, obj, func(e *jsonschema.ValidationError) []FieldError {
		return v.leafErrors(e, obj)
	})...)
	if len(errs) > 0 {
		errs = sortErrors(errs)
	}
	maps.Copy(obj, reserved)
	for k, x := range obj {
		switch k {
		case ArgAccountID:
			a.AccountID, _ = x.(string)
		case ArgDynamicPropsID:
			a.DynamicPropsID, _ = x.(string)
		case ArgStash:
			a.Stash, _ = x.(bool)
		default:
			a.Values[k] = x
		}
	}
	return a, errs
}

// unlistedReserved takes the reserved arguments the schema does not list out
// of obj: the string values, and an error for any other value but null.
func (v *Validator) unlistedReserved(obj map[string]any) (map[string]any, []FieldError) {
	out := map[string]any{}
	var errs []FieldError
	for _, k := range []string{ArgAccountID, ArgDynamicPropsID} {
		x, given := obj[k]
		if _, listed := v.props[k]; listed || !given {
			continue
		}
		delete(obj, k)
		switch x.(type) {
		case string:
			out[k] = x
		case nil:
		default:
			errs = append(errs, FieldError{Field: k, Message: "expected string, got " + describe(x)})
		}
	}
	return out, errs
}

// coerceArgs coerces the known arguments of obj in place, in name order, and
// drops nulls that mean "not given"; it returns a note per change.
func (v *Validator) coerceArgs(obj map[string]any) []string {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var notes []string
	for _, k := range keys {
		n := v.props[k]
		if obj[k] == nil && ((n != nil && n.typ != "") || (n == nil && v.t.Dynamic)) {
			delete(obj, k)
			notes = append(notes, k+": null was treated as not given")
			continue
		}
		if n != nil {
			obj[k] = coerce(n, obj[k], k, &notes)
		}
	}
	return notes
}

var (
	integerText = regexp.MustCompile(`^[+-]?[0-9]+$`)
	numberText  = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)
)

// noter records one coercion of the value at a path.
type noter func(format string, args ...any)

// coerce returns x converted to n's type when the conversion is unambiguous (see
// Validate), appending a note per conversion; otherwise x unchanged.
func coerce(n *node, x any, path string, notes *[]string) any {
	note := func(format string, args ...any) {
		*notes = append(*notes, path+": "+fmt.Sprintf(format, args...))
	}
	switch n.typ {
	case "integer":
		return coerceInteger(x, note)
	case "number":
		return coerceNumber(x, note)
	case "boolean":
		return coerceBoolean(x, note)
	case "string":
		if num, ok := x.(json.Number); ok {
			note("the number %s was read as the string %q", num, string(num))
			return string(num)
		}
	case "array":
		return coerceArray(n, x, path, notes, note)
	case "object":
		return coerceObject(n, x, path, notes, note)
	}
	return x
}

// coerceInteger reads a string of digits as an integer.
func coerceInteger(x any, note noter) any {
	s, ok := x.(string)
	if !ok {
		return x
	}
	t := strings.TrimSpace(s)
	if len(t) > maxNumberLen || !integerText.MatchString(t) {
		return x
	}
	i, _ := new(big.Int).SetString(strings.TrimPrefix(t, "+"), 10)
	num := json.Number(i.String())
	note("the string %s was read as the integer %s", quoted(s), num)
	return num
}

// coerceNumber reads a string holding a JSON number as that number.
func coerceNumber(x any, note noter) any {
	if s, ok := x.(string); ok {
		if t := strings.TrimSpace(s); numberText.MatchString(t) {
			note("the string %s was read as the number %s", quoted(s), t)
			return json.Number(t)
		}
	}
	return x
}

// coerceBoolean reads "true" and "false", in any case, as booleans.
func coerceBoolean(x any, note noter) any {
	s, ok := x.(string)
	if !ok {
		return x
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		note("the string %s was read as true", quoted(s))
		return true
	case "false":
		note("the string %s was read as false", quoted(s))
		return false
	}
	return x
}

// coerceArray reads a string holding a JSON array as the array and a single
// value as a list of one, then coerces the items.
func coerceArray(n *node, x any, path string, notes *[]string, note noter) any {
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
}

// coerceObject reads a string holding a JSON object as the object, then
// coerces its known fields.
func coerceObject(n *node, x any, path string, notes *[]string, note noter) any {
	if s, ok := x.(string); ok && strings.HasPrefix(strings.TrimSpace(s), "{") {
		if m, err := decode([]byte(s)); err == nil {
			if _, ok := m.(map[string]any); ok {
				note("the string was read as a JSON object")
				x = m
			}
		}
	}
	if m, ok := x.(map[string]any); ok {
		for _, f := range n.props {
			if fv, present := m[f.name]; present && fv != nil {
				m[f.name] = coerce(f.node, fv, path+"."+f.name, notes)
			}
		}
	}
	return x
}

// leafErrors explains one failed keyword. The library only says where (keyword
// and instance location) and which keyword failed; the words come from the
// schema tree and the value.
func (v *Validator) leafErrors(e *jsonschema.ValidationError, inst any) []FieldError {
	kwPath := pointer(e.KeywordLocation)
	if len(kwPath) == 0 {
		return []FieldError{{Message: "the arguments are not valid"}}
	}
	n, top := v.nodeAt(kwPath[:len(kwPath)-1])
	field, val := locate(inst, pointer(e.InstanceLocation))
	if n == nil {
		return []FieldError{{Field: field, Message: "is not valid"}}
	}
	desc := v.describeField(n, top, field)
	switch kwPath[len(kwPath)-1] {
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
		return v.missingFields(n, top, field, val)
	case "additionalProperties":
		return v.unknownFields(n, field, val)
	}
	return []FieldError{{Field: field, Message: "is not valid", Description: desc}}
}

// nodeAt follows a keyword path (properties/x/items/...) from the root to the
// schema node it names, or nil when the path leaves the tree; top is the
// top-level property the path goes through ("" at the root).
func (v *Validator) nodeAt(path []string) (n *node, top string) {
	n = v.t.root
	for i := 0; i < len(path) && n != nil; i++ {
		switch {
		case path[i] == "properties" && i+1 < len(path):
			i++
			if n == v.t.root {
				top = path[i]
			}
			n = n.prop(path[i])
		case path[i] == "items":
			n = n.items
		default:
			n = nil
		}
	}
	return n, top
}

// missingFields names each required property of n missing from val, the
// object at field.
func (v *Validator) missingFields(n *node, top, field string, val any) []FieldError {
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
}

// unknownFields names each property of val, the object at field, that n does
// not have, with the names it takes and a near match when there is one.
func (v *Validator) unknownFields(n *node, field string, val any) []FieldError {
	m, _ := val.(map[string]any)
	names := make([]string, 0, len(n.props))
	known := make(map[string]bool, len(n.props))
	for _, f := range n.props {
		names = append(names, f.name)
		known[f.name] = true
	}
	intro := "unknown field (this tool takes: " + v.takes + ")"
	if n != v.t.root {
		intro = "unknown field (allowed: " + listNames(names) + ")"
	}
	var out []FieldError
	for k := range m {
		if known[k] {
			continue
		}
		msg := intro
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
