package schema

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// ConfiguredProps turns validated arguments into configured_props, keyed by prop
// name:
//   - arguments are mapped back to their props (renamed props get their names);
//   - props not given get their default, when they have one;
//   - withLabel values are wrapped as {"__lv": {"label", "value"}} (for arrays,
//     {"__lv": [{"label", "value"}, ...]}, as connect-react sends them), the label
//     taken from the matching static option, else the value as text; a value that
//     is already wrapped is left alone;
//   - arguments the schema does not list (dynamic tools accept them: they are the
//     fields a reload reveals) are passed through under their own names;
//   - reserved arguments and app props are left out: the tool layer sets the app
//     prop to the account.
func (t *Translation) ConfiguredProps(a Args) map[string]any {
	out := make(map[string]any, len(t.Args)+len(a.Values))
	for k, v := range a.Values {
		if _, isArg := t.byName[k]; isArg || IsReservedArg(k) || t.isAppProp(k) {
			continue
		}
		out[k] = v
	}
	for i, arg := range t.Args {
		v, ok := a.Values[arg.Name]
		if !ok {
			// Decoded once by Translate; each call gets its own copy.
			v, ok = cloneJSON(t.defaults[i].v), t.defaults[i].ok
		}
		if !ok {
			continue
		}
		if arg.WithLabel {
			v = t.withLabel(i, v)
		}
		out[arg.Prop] = v
	}
	return out
}

// cloneJSON is a deep copy of a decoded JSON value (objects and arrays are
// copied; scalars are immutable and shared).
func cloneJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = cloneJSON(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneJSON(e)
		}
		return out
	}
	return v
}

// MissingRequired reports the required arguments of t that a does not carry (by
// argument or prop name). It serves after a props reload: a holds the arguments
// validated against the static schema, t the reloaded props.
func (t *Translation) MissingRequired(a Args) []FieldError {
	var out []FieldError
	for _, arg := range t.Args {
		if !arg.Required {
			continue
		}
		if _, ok := a.Values[arg.Name]; ok {
			continue
		}
		if _, ok := a.Values[arg.Prop]; ok {
			continue
		}
		d := labelled(arg.Label, arg.Description)
		msg := "required field is missing"
		if d != "" {
			msg += " (" + d + ")"
		}
		out = append(out, FieldError{Field: arg.Name, Message: msg, Description: d})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

func (t *Translation) isAppProp(name string) bool {
	for _, p := range t.AppProps {
		if p.Name == name {
			return true
		}
	}
	return false
}

// withLabel wraps the value of a withLabel argument.
func (t *Translation) withLabel(i int, v any) any {
	if m, ok := v.(map[string]any); ok {
		if _, wrapped := m["__lv"]; wrapped {
			return v
		}
	}
	arg := t.Args[i]
	pair := func(x any) map[string]any {
		return map[string]any{"label": t.label(arg, x), "value": x}
	}
	if list, ok := v.([]any); ok && strings.HasSuffix(arg.Type, "[]") {
		items := make([]any, len(list))
		for j, x := range list {
			items[j] = pair(x)
		}
		return map[string]any{"__lv": items}
	}
	return map[string]any{"__lv": pair(v)}
}

// label is the label of the static option whose value is x, else x as text.
func (t *Translation) label(arg Arg, x any) string {
	c := canon(x)
	for _, o := range arg.Options {
		if o.Label == "" {
			continue
		}
		if ov, err := decode(o.Value); err == nil && canon(ov) == c {
			return o.Label
		}
	}
	switch y := x.(type) {
	case string:
		return y
	case json.Number:
		return string(y)
	case bool:
		return strconv.FormatBool(y)
	case nil:
		return ""
	}
	return c
}
