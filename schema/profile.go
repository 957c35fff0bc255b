package schema

// This file reshapes input schemas for hosts whose rules are stricter than
// JSON Schema's (DESIGN.md "Tool definitions stay lean"), and maps the
// arguments a model writes against a reshaped schema back to the arguments of
// the original one, so that every profile runs exactly the same call:
//
//   - portable: the schema as translated; Claude, OpenAI function calling
//     (non-strict) and Gemini's parametersJsonSchema accept it.
//   - openai-strict: OpenAI's strict function calling (Structured Outputs):
//     every property required, optional ones typed [T, "null"],
//     "additionalProperties": false on every object, no "default" (said in
//     words instead), only the keywords strict mode supports.
//   - gemini: the Gemini API's `parameters` field (an OpenAPI 3.0 subset): no
//     additionalProperties, one type per schema, enums only on strings (other
//     enums are listed in words), only the fields of Gemini's Schema.
//
// In both strict profiles a free-form object (one without properties) becomes
// a JSON-encoded string with the same description, a value of any type
// likewise, and an object that takes fields it does not list (a tool whose
// fields depend on others, a workflow body) gets one more property,
// _more_fields, a JSON-encoded object of those fields. MapArgsBack undoes all
// of it: it drops the nulls of optional properties, decodes the JSON-encoded
// values and merges _more_fields.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Profile is a shape of tool input schemas for one family of hosts.
type Profile string

// The schema profiles.
const (
	// ProfilePortable is the schema as translated (the default).
	ProfilePortable Profile = "portable"
	// ProfileOpenAIStrict passes OpenAI's strict function calling.
	ProfileOpenAIStrict Profile = "openai-strict"
	// ProfileGemini passes the Gemini API's `parameters` (OpenAPI subset).
	ProfileGemini Profile = "gemini"
)

// Profiles are the schema profiles, the default first.
var Profiles = []Profile{ProfilePortable, ProfileOpenAIStrict, ProfileGemini}

// ProfileNames are the names of the schema profiles, the default first.
func ProfileNames() []string {
	out := make([]string, len(Profiles))
	for i, p := range Profiles {
		out[i] = string(p)
	}
	return out
}

// ParseProfile reads a profile name (case-insensitive), with an error that
// lists the valid ones.
func ParseProfile(s string) (Profile, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, p := range Profiles {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("%q is not a schema profile: use %s", s, strings.Join(ProfileNames(), ", "))
}

// CheckProfile reports whether s names a schema profile.
func CheckProfile(s string) error {
	_, err := ParseProfile(s)
	return err
}

// ArgMoreFields is the property the strict profiles add to an object schema
// that takes fields it does not list: those fields, as a JSON-encoded object.
const ArgMoreFields = "_more_fields"

const (
	moreFieldsDescription = "Fields not listed here (such as those pipedream_describe reveals), as a JSON-encoded object."
	encodedObjectNote     = "Send the object JSON-encoded, as a string."
	encodedValueNote      = "Send the value JSON-encoded, as a string."
)

// Keywords each profile keeps; any other is dropped (the translator emits none
// of them; operator-written workflow schemas may).
var (
	// https://platform.openai.com/docs/guides/structured-outputs#supported-schemas
	strictKeywords = []string{"type", "title", "description", "enum", "const", "properties", "required", "additionalProperties", "items", "anyOf", "$ref", "$defs", "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minItems", "maxItems"}
	// https://ai.google.dev/api/caching#Schema (additionalProperties is not one)
	geminiKeywords = []string{"type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties", "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf", "propertyOrdering", "default", "items", "minimum", "maximum"}
)

// ApplyProfile returns the input schema raw reshaped for profile p; the
// portable profile returns raw as it is. It fails only when raw is not a JSON
// object or p is not a profile. The output is compact and depends only on raw
// and p.
func ApplyProfile(raw json.RawMessage, p Profile) (json.RawMessage, error) {
	if p == ProfilePortable || p == "" {
		return raw, nil
	}
	if p != ProfileOpenAIStrict && p != ProfileGemini {
		return nil, CheckProfile(string(p))
	}
	root, ok := parseObject(raw)
	if !ok {
		return nil, errors.New("schema: the input schema is not a JSON object")
	}
	return shape(root, p, true, false).encode(), nil
}

// shape reshapes one schema object; optional says that the parent object does
// not require it.
func shape(s jsonObject, p Profile, root, optional bool) jsonObject {
	strict := p == ProfileOpenAIStrict
	if !root && (kindOf(s) == "" || freeForm(s)) {
		return encodedString(s, strict, optional)
	}
	out := s.clone()
	if v, ok := out.get("oneOf"); ok {
		out.rename("oneOf", "anyOf", v)
	}
	keep := geminiKeywords
	if strict {
		keep = strictKeywords
	}
	var notes []string
	if strict {
		if d, ok := out.get("default"); ok {
			notes = append(notes, defaultNote(d))
		}
	}
	if !strict {
		if ts, nullable := typeList(out); ts != "" {
			out.set("type", jsonString(ts))
			if nullable {
				out.set("nullable", json.RawMessage("true"))
			}
		}
		if e, ok := out.get("enum"); ok && kindOf(s) != "string" {
			out.del("enum")
			notes = append(notes, "One of: "+enumText(e)+".")
		}
		// The Gemini API takes only these string formats.
		if f, ok := out.get("format"); ok && string(f) != `"enum"` && string(f) != `"date-time"` {
			out.del("format")
			var name string
			_ = json.Unmarshal(f, &name)
			notes = append(notes, "Format: "+name+".")
		}
	}
	out = out.only(keep)

	props, hasProps := parseObject(mustGet(out, "properties"))
	if !hasProps && root && kindOf(s) == "object" {
		props, hasProps = jsonObject{}, true // the root lists its properties, if none
	}
	if hasProps {
		req := requiredSet(out)
		shaped := make(jsonObject, 0, len(props)+1)
		for _, m := range props {
			ps, ok := parseObject(m.val)
			if !ok {
				shaped = append(shaped, m)
				continue
			}
			shaped = append(shaped, member{m.key, shape(ps, p, false, !req[m.key]).encode()})
		}
		if root && open(s) && shaped.index(ArgMoreFields) < 0 {
			carrier := jsonObject{{"type", jsonString("string")}, {"description", jsonString(moreFieldsDescription)}}
			shaped = append(shaped, member{ArgMoreFields, shape(carrier, p, false, true).encode()})
		}
		out.set("properties", shaped.encode())
		if strict {
			names := make([]string, len(shaped))
			for i, m := range shaped {
				names[i] = m.key
			}
			out.set("required", jsonStrings(names))
			out.set("additionalProperties", json.RawMessage("false"))
		}
	} else if strict && kindOf(s) == "object" {
		out.set("additionalProperties", json.RawMessage("false"))
	}
	if items, ok := parseObject(mustGet(out, "items")); ok {
		out.set("items", shape(items, p, false, false).encode())
	}
	if branches, ok := parseArray(mustGet(out, "anyOf")); ok {
		for i, b := range branches {
			if bs, ok := parseObject(b); ok {
				branches[i] = shape(bs, p, false, false).encode()
			}
		}
		if strict && optional {
			branches = append(branches, json.RawMessage(`{"type":"null"}`))
		}
		out.set("anyOf", encodeArray(branches))
	}
	if strict && optional {
		nullable(&out)
	}
	addNotes(&out, notes)
	return out
}

// encodedString is the string schema that replaces a free-form object or a
// value of any type: same title and description, plus how to send it.
func encodedString(s jsonObject, strict, optional bool) jsonObject {
	note := encodedValueNote
	if freeForm(s) {
		note = encodedObjectNote
	}
	out := jsonObject{{"type", jsonString("string")}}
	if t, ok := s.get("title"); ok {
		out = append(out, member{"title", t})
	}
	if d, ok := s.get("description"); ok {
		out = append(out, member{"description", d})
	}
	notes := []string{note}
	if d, ok := s.get("default"); ok {
		notes = append(notes, defaultNote(d))
	}
	addNotes(&out, notes)
	if strict && optional {
		nullable(&out)
	}
	return out
}

// defaultNote says a default in words, for a schema that cannot carry it.
func defaultNote(d json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, d) != nil {
		b.Reset()
		b.Write(d)
	}
	return sentence("Default: " + cut(b.String(), 200))
}

// nullable lets a strict schema take null: [T, "null"], and null in its enum.
func nullable(o *jsonObject) {
	t, ok := o.get("type")
	switch {
	case !ok:
		if _, union := o.get("anyOf"); !union {
			o.set("type", json.RawMessage(`["string","null"]`))
		}
	case t[0] == '"':
		o.set("type", encodeArray([]json.RawMessage{t, json.RawMessage(`"null"`)}))
	case t[0] == '[':
		list, _ := parseArray(t)
		if !slices.ContainsFunc(list, func(v json.RawMessage) bool { return string(v) == `"null"` }) {
			o.set("type", encodeArray(append(list, json.RawMessage(`"null"`))))
		}
	}
	if e, ok := o.get("enum"); ok {
		list, _ := parseArray(e)
		if !slices.ContainsFunc(list, func(v json.RawMessage) bool { return string(v) == "null" }) {
			o.set("enum", encodeArray(append(list, json.RawMessage("null"))))
		}
	}
}

// addNotes appends sentences to the description.
func addNotes(o *jsonObject, notes []string) {
	if len(notes) == 0 {
		return
	}
	desc := ""
	if d, ok := o.get("description"); ok {
		_ = json.Unmarshal(d, &desc)
	}
	if desc != "" {
		desc = sentence(desc) + " "
	}
	o.set("description", jsonString(desc+strings.Join(notes, " ")))
}

// kindOf is the type a schema describes: its type (the first one not "null"
// of a list), else what its keywords imply; "" for any value, "union" for
// anyOf, oneOf, allOf or $ref.
func kindOf(s jsonObject) string {
	if t, _ := typeList(s); t != "" {
		return t
	}
	if _, ok := s.get("type"); ok {
		return "" // a type list of null alone, or not a string: left alone
	}
	for _, k := range []string{"anyOf", "oneOf", "allOf", "$ref", "not"} {
		if _, ok := s.get(k); ok {
			return "union"
		}
	}
	switch {
	case s.has("properties"):
		return "object"
	case s.has("items"):
		return "array"
	}
	if e, ok := s.get("enum"); ok {
		if list, ok := parseArray(e); ok && len(list) > 0 {
			return jsonKind(list[0])
		}
	}
	if c, ok := s.get("const"); ok {
		return jsonKind(c)
	}
	return ""
}

// typeList is the schema's type, or the first of its type list that is not
// "null" (nullable then says whether "null" was in the list).
func typeList(s jsonObject) (t string, isNullable bool) {
	raw, ok := s.get("type")
	if !ok {
		return "", false
	}
	if json.Unmarshal(raw, &t) == nil {
		return t, false
	}
	var list []string
	if json.Unmarshal(raw, &list) != nil {
		return "", false
	}
	for _, x := range list {
		if x == "null" {
			isNullable = true
		} else if t == "" {
			t = x
		}
	}
	return t, isNullable
}

func jsonKind(v json.RawMessage) string {
	switch {
	case len(v) == 0:
		return ""
	case v[0] == '"':
		return "string"
	case v[0] == 't' || v[0] == 'f':
		return "boolean"
	case v[0] == '{':
		return "object"
	case v[0] == '[':
		return "array"
	case v[0] == 'n':
		return ""
	}
	if bytes.ContainsAny(v, ".eE") {
		return "number"
	}
	return "integer"
}

// freeForm reports whether s is an object schema without properties (any
// JSON object, or a map): the strict profiles send it JSON-encoded.
func freeForm(s jsonObject) bool {
	if kindOf(s) != "object" {
		return false
	}
	props, ok := parseObject(mustGet(s, "properties"))
	return !ok || len(props) == 0
}

// open reports whether an object schema takes fields it does not list.
func open(s jsonObject) bool {
	a, ok := s.get("additionalProperties")
	return !ok || string(a) != "false"
}

func requiredSet(s jsonObject) map[string]bool {
	var names []string
	_ = json.Unmarshal(mustGet(s, "required"), &names)
	out := make(map[string]bool, len(names))
	for _, n := range names {
		out[n] = true
	}
	return out
}

// enumText lists enum values as JSON, at most 1000 characters.
func enumText(e json.RawMessage) string {
	list, _ := parseArray(e)
	parts := make([]string, len(list))
	for i, v := range list {
		parts[i] = string(v)
	}
	return cut(strings.Join(parts, ", "), maxOptionList)
}

// MapArgsBack returns the arguments a model wrote against the schema original
// reshaped by profile p as the arguments of original itself: nulls of optional
// properties dropped, JSON-encoded objects and values decoded, _more_fields
// merged into the object it belongs to (never over a field given directly).
// The portable profile, arguments that are not an object and a schema that is
// not one return args as they are; what cannot be decoded stays as it is, for
// the validator to report. The only error is a _more_fields that is not a
// JSON-encoded object (a FieldError).
func MapArgsBack(p Profile, original, args json.RawMessage) (json.RawMessage, error) {
	if p == ProfilePortable || p == "" {
		return args, nil
	}
	s, ok := parseObject(original)
	if !ok {
		return args, nil
	}
	v, err := decode(bytes.TrimSpace(args))
	obj, isObj := v.(map[string]any)
	if err != nil || !isObj {
		return args, nil
	}
	if err := mapObject(s, obj, true); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(obj); err != nil {
		return args, nil
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// mapObject maps the fields of obj, an instance of the object schema s, in
// place.
func mapObject(s jsonObject, obj map[string]any, root bool) error {
	props, _ := parseObject(mustGet(s, "properties"))
	if root && open(s) && props.index(ArgMoreFields) < 0 {
		if more, given := obj[ArgMoreFields]; given {
			delete(obj, ArgMoreFields)
			fields, err := moreFields(more)
			if err != nil {
				return err
			}
			for k, x := range fields {
				if cur, set := obj[k]; !set || cur == nil {
					obj[k] = x
				}
			}
		}
	}
	req := requiredSet(s)
	for _, m := range props {
		x, given := obj[m.key]
		if !given {
			continue
		}
		if x == nil && !req[m.key] {
			delete(obj, m.key)
			continue
		}
		if ps, ok := parseObject(m.val); ok {
			obj[m.key] = mapValue(ps, x)
		}
	}
	return nil
}

// moreFields reads _more_fields: a JSON-encoded object (or an object).
func moreFields(v any) (map[string]any, error) {
	bad := FieldError{Field: ArgMoreFields, Message: "expected a JSON-encoded object of fields, got " + describe(v)}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return x, nil
	case string:
		if strings.TrimSpace(x) == "" {
			return nil, nil
		}
		d, err := decode([]byte(x))
		if m, ok := d.(map[string]any); ok && err == nil {
			return m, nil
		}
	}
	return nil, bad
}

// mapValue maps one value of schema s.
func mapValue(s jsonObject, v any) any {
	str, isStr := v.(string)
	switch {
	case freeForm(s):
		if isStr {
			if d, err := decode([]byte(str)); err == nil {
				if _, ok := d.(map[string]any); ok {
					return d
				}
			}
		}
	case kindOf(s) == "":
		if isStr {
			if d, err := decode([]byte(str)); err == nil {
				return d
			}
		}
	case kindOf(s) == "object":
		if m, ok := v.(map[string]any); ok {
			_ = mapObject(s, m, false)
		}
	case kindOf(s) == "array":
		items, ok := parseObject(mustGet(s, "items"))
		if list, isList := v.([]any); isList && ok {
			for i := range list {
				list[i] = mapValue(items, list[i])
			}
		}
	}
	return v
}

// member is one member of a JSON object, its value as raw JSON.
type member struct {
	key string
	val json.RawMessage
}

// object is a JSON object that keeps its members' order.
type jsonObject []member

// parseObject reads raw as an object; false when it is not one.
func parseObject(raw json.RawMessage) (jsonObject, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	var out jsonObject
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, false
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		out = append(out, member{k, v})
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, false
	}
	return out, true
}

// parseArray reads raw as an array of raw values; false when it is not one.
func parseArray(raw json.RawMessage) ([]json.RawMessage, bool) {
	var list []json.RawMessage
	if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &list) != nil {
		return nil, false
	}
	return list, true
}

func (o jsonObject) index(k string) int {
	for i, m := range o {
		if m.key == k {
			return i
		}
	}
	return -1
}

func (o jsonObject) get(k string) (json.RawMessage, bool) {
	if i := o.index(k); i >= 0 {
		return o[i].val, true
	}
	return nil, false
}

func (o jsonObject) has(k string) bool { return o.index(k) >= 0 }

func mustGet(o jsonObject, k string) json.RawMessage {
	v, _ := o.get(k)
	return v
}

// set replaces the value of k, or appends k.
func (o *jsonObject) set(k string, v json.RawMessage) {
	if i := o.index(k); i >= 0 {
		(*o)[i].val = v
		return
	}
	*o = append(*o, member{k, v})
}

func (o *jsonObject) del(k string) {
	if i := o.index(k); i >= 0 {
		*o = slices.Delete(*o, i, i+1)
	}
}

// rename replaces k by to (value v) in k's place.
func (o *jsonObject) rename(k, to string, v json.RawMessage) {
	if i := o.index(k); i >= 0 {
		o.del(to)
		if i = o.index(k); i >= 0 {
			(*o)[i] = member{to, v}
		}
	}
}

func (o jsonObject) clone() jsonObject { return slices.Clone(o) }

// only keeps the members named in keys.
func (o jsonObject) only(keys []string) jsonObject {
	return slices.DeleteFunc(o, func(m member) bool { return !slices.Contains(keys, m.key) })
}

// encode writes the object as compact JSON, members in order.
func (o jsonObject) encode() json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(&b, m.key)
		b.WriteByte(':')
		if err := json.Compact(&b, m.val); err != nil {
			b.WriteString("null")
		}
	}
	b.WriteByte('}')
	return b.Bytes()
}

func encodeArray(list []json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	writeArray(&b, len(list), func(i int) { _ = json.Compact(&b, list[i]) })
	return b.Bytes()
}

func jsonString(s string) json.RawMessage {
	var b bytes.Buffer
	writeString(&b, s)
	return b.Bytes()
}

func jsonStrings(ss []string) json.RawMessage {
	var b bytes.Buffer
	writeArray(&b, len(ss), func(i int) { writeString(&b, ss[i]) })
	return b.Bytes()
}
